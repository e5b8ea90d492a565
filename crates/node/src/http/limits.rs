//! What one client can make the server do (docs/SECURITY.md, "Limits"):
//! request header read timeout and size (enforced by the connection, see
//! [`super::server`]), request body idle and total timeouts, the JSON body
//! size, per-client-address rate limits on the routes that cost storage and
//! enclave work, and JSON error bodies for whatever the framework refuses.

use std::fmt;
use std::net::{IpAddr, Ipv6Addr, SocketAddr};
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::task::{Context, Poll};
use std::time::Duration;

use axum::body::{Body, Bytes, to_bytes};
use axum::extract::{ConnectInfo, Request, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use governor::clock::Clock;
use governor::{DefaultKeyedRateLimiter, Quota, RateLimiter};
use http_body::{Body as HttpBody, Frame, SizeHint};
use tokio::time::{Instant, Sleep};

use crate::error::ApiError;

/// Counter of requests refused by a rate limit, by route group.
pub const RATE_LIMITED: &str = "verity_http_rate_limited_total";

/// The server's request limits (`VERITY_*` settings of `verity serve`).
#[derive(Debug, Clone, PartialEq)]
pub struct HttpLimits {
    /// A client must send the whole request head within this (`VERITY_HEADER_READ_TIMEOUT`).
    pub header_read_timeout: Duration,
    /// Largest request head, request line included (`VERITY_MAX_HEADER_BYTES`); larger: 431.
    pub max_header_bytes: usize,
    /// Longest pause between two pieces of a request body (`VERITY_BODY_IDLE_TIMEOUT`); then 408.
    pub body_idle_timeout: Duration,
    /// Longest time to receive a whole request body (`VERITY_BODY_TIMEOUT`); then 408.
    pub body_timeout: Duration,
    /// Largest JSON (and other non-upload) request body (`VERITY_MAX_JSON_BYTES`); larger: 413.
    pub max_json_bytes: usize,
    /// Uploads per client address (`VERITY_RATE_UPLOAD`).
    pub upload_rate: RateLimit,
    /// Disputes per client address (`VERITY_RATE_DISPUTE`).
    pub dispute_rate: RateLimit,
    /// Evidence uploads per client address (`VERITY_RATE_EVIDENCE`).
    pub evidence_rate: RateLimit,
    /// Attestation nonces issued per client address (`VERITY_RATE_NONCE`):
    /// each one is a database row until it is pruned.
    pub nonce_rate: RateLimit,
    /// Rate-limit loopback clients too (`VERITY_RATE_LIMIT_LOOPBACK`); off by
    /// default so that local benchmarks, load tests and schema tests are not throttled.
    pub rate_limit_loopback: bool,
}

impl Default for HttpLimits {
    fn default() -> Self {
        HttpLimits {
            header_read_timeout: Duration::from_secs(10),
            max_header_bytes: 32 * 1024,
            body_idle_timeout: Duration::from_secs(30),
            body_timeout: Duration::from_secs(120),
            max_json_bytes: 64 * 1024,
            upload_rate: RateLimit::per_minute(60, 20),
            dispute_rate: RateLimit::per_minute(10, 5),
            evidence_rate: RateLimit::per_minute(30, 10),
            nonce_rate: RateLimit::per_minute(60, 20),
            rate_limit_loopback: false,
        }
    }
}

/// A per-client rate: `count` requests per `period`, in bursts of at most
/// `burst`; written `COUNT/UNIT[:BURST]` (`60/m:20`, `5/s`, `100/h`) or `off`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RateLimit {
    /// Requests per `period`; 0: no limit.
    pub count: u32,
    /// The period `count` is spread over.
    pub period: Duration,
    /// Requests a client may make at once before the rate applies.
    pub burst: u32,
}

impl RateLimit {
    /// No limit.
    pub const OFF: RateLimit = RateLimit {
        count: 0,
        period: Duration::from_secs(60),
        burst: 0,
    };

    /// `count` a minute in bursts of `burst`.
    pub const fn per_minute(count: u32, burst: u32) -> RateLimit {
        RateLimit {
            count,
            period: Duration::from_secs(60),
            burst,
        }
    }

    /// Whether this limits anything.
    pub fn is_off(&self) -> bool {
        self.count == 0
    }

    /// The governor quota; `None` when off.
    fn quota(&self) -> Option<Quota> {
        let count = std::num::NonZeroU32::new(self.count)?;
        let burst = std::num::NonZeroU32::new(self.burst.max(1))?;
        let every = self.period / count.get();
        Quota::with_period(every.max(Duration::from_nanos(1))).map(|q| q.allow_burst(burst))
    }
}

impl std::str::FromStr for RateLimit {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let s = s.trim();
        if matches!(s, "off" | "0" | "none") {
            return Ok(RateLimit::OFF);
        }
        let expected = || format!("{s:?}: expected COUNT/UNIT[:BURST] (e.g. 60/m:20, 5/s) or off");
        let (rate, burst) = match s.split_once(':') {
            Some((rate, burst)) => (rate, Some(burst)),
            None => (s, None),
        };
        let (count, unit) = rate.split_once('/').ok_or_else(expected)?;
        let count: u32 = count.trim().parse().map_err(|_| expected())?;
        let period = match unit.trim() {
            "s" | "sec" | "second" => Duration::from_secs(1),
            "m" | "min" | "minute" => Duration::from_secs(60),
            "h" | "hour" => Duration::from_secs(3600),
            _ => return Err(expected()),
        };
        let burst = match burst {
            Some(b) => b.trim().parse().map_err(|_| expected())?,
            None => count,
        };
        if count > 0 && burst == 0 {
            return Err(format!("{s:?}: the burst must be at least 1"));
        }
        Ok(RateLimit {
            count,
            period,
            burst,
        })
    }
}

impl fmt::Display for RateLimit {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.is_off() {
            return f.write_str("off");
        }
        let unit = match self.period.as_secs() {
            1 => "s",
            3600 => "h",
            _ => "m",
        };
        write!(f, "{}/{unit}:{}", self.count, self.burst)
    }
}

/// A per-client-address limiter for one group of routes.
#[derive(Clone)]
pub(crate) struct Limiter {
    /// The route group, for messages and metrics (`upload`, `dispute`, `evidence`, `nonce`).
    name: &'static str,
    inner: Option<Arc<DefaultKeyedRateLimiter<IpAddr>>>,
    limit_loopback: bool,
    checks: Arc<AtomicU64>,
}

/// Forget idle clients every this many checks, so the table stays small.
const PRUNE_EVERY: u64 = 1024;

impl Limiter {
    /// A limiter for `name` at `rate`.
    pub(crate) fn new(name: &'static str, rate: RateLimit, limit_loopback: bool) -> Limiter {
        Limiter {
            name,
            inner: rate.quota().map(|q| Arc::new(RateLimiter::keyed(q))),
            limit_loopback,
            checks: Arc::new(AtomicU64::new(0)),
        }
    }

    /// `Err(wait)` when the client at `ip` must wait before trying again.
    fn check(&self, ip: IpAddr) -> Result<(), Duration> {
        let Some(limiter) = &self.inner else {
            return Ok(());
        };
        let ip = client_key(ip);
        if ip.is_loopback() && !self.limit_loopback {
            return Ok(());
        }
        if self.checks.fetch_add(1, Ordering::Relaxed) % PRUNE_EVERY == PRUNE_EVERY - 1 {
            limiter.retain_recent();
            limiter.shrink_to_fit();
        }
        limiter
            .check_key(&ip)
            .map_err(|not_until| not_until.wait_time_from(limiter.clock().now()))
    }
}

/// The address a client is limited by: IPv4-mapped addresses as IPv4, and
/// IPv6 by its /64 (one host usually holds a whole /64).
fn client_key(ip: IpAddr) -> IpAddr {
    match ip.to_canonical() {
        IpAddr::V6(v6) if !v6.is_loopback() => {
            let s = v6.segments();
            IpAddr::V6(Ipv6Addr::new(s[0], s[1], s[2], s[3], 0, 0, 0, 0))
        }
        other => other,
    }
}

/// Route middleware: 429 `rate_limited` with `Retry-After` when the client's
/// address is over its rate. Requests without a peer address (in-process
/// calls) share one bucket.
pub(crate) async fn rate_limit(
    State(limiter): State<Limiter>,
    request: Request,
    next: Next,
) -> Response {
    let ip = request
        .extensions()
        .get::<ConnectInfo<SocketAddr>>()
        .map_or(IpAddr::from([0, 0, 0, 0]), |c| c.0.ip());
    match limiter.check(ip) {
        Ok(()) => next.run(request).await,
        Err(wait) => {
            let seconds = wait.as_secs() + u64::from(wait.subsec_nanos() > 0);
            let seconds = seconds.max(1);
            metrics::counter!(RATE_LIMITED, "route" => limiter.name).increment(1);
            tracing::debug!(client = %client_key(ip), route = limiter.name, "rate limited");
            let mut response = ApiError::new(
                StatusCode::TOO_MANY_REQUESTS,
                "rate_limited",
                format!(
                    "too many {} requests from this address; retry in {seconds} s",
                    limiter.name
                ),
            )
            .into_response();
            response
                .headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from(seconds));
            response
        }
    }
}

/// The request body timeouts, for [`body_deadline`].
#[derive(Debug, Clone, Copy)]
pub(crate) struct BodyTimeouts {
    /// Longest pause between two body frames.
    pub idle: Duration,
    /// Longest time for the whole body, from the request head on.
    pub total: Duration,
}

/// Middleware: a request body that pauses longer than the idle timeout, or
/// takes longer than the total timeout, fails its reader, and whatever the
/// handler answered is replaced by 408 `body_timeout` (a slowloris-style
/// upload holds a connection for at most the total timeout).
pub(crate) async fn body_deadline(
    State(timeouts): State<BodyTimeouts>,
    request: Request,
    next: Next,
) -> Response {
    if request.body().is_end_stream() {
        return next.run(request).await;
    }
    let timed_out = Arc::new(AtomicBool::new(false));
    let request = request.map(|body| {
        Body::new(DeadlineBody {
            inner: body,
            idle: timeouts.idle,
            idle_timer: Box::pin(tokio::time::sleep(timeouts.idle)),
            total_timer: Box::pin(tokio::time::sleep(timeouts.total)),
            timed_out: timed_out.clone(),
        })
    });
    let response = next.run(request).await;
    if !timed_out.load(Ordering::Acquire) {
        return response;
    }
    let mut response = ApiError::new(
        StatusCode::REQUEST_TIMEOUT,
        "body_timeout",
        format!(
            "the request body was not received in time (at most {} s in all, {} s between pieces)",
            timeouts.total.as_secs_f64(),
            timeouts.idle.as_secs_f64()
        ),
    )
    .into_response();
    // The rest of the body is never read: the connection cannot be reused.
    response
        .headers_mut()
        .insert(header::CONNECTION, HeaderValue::from_static("close"));
    response
}

/// A request body with an idle and a total deadline.
struct DeadlineBody {
    inner: Body,
    idle: Duration,
    idle_timer: Pin<Box<Sleep>>,
    total_timer: Pin<Box<Sleep>>,
    timed_out: Arc<AtomicBool>,
}

impl HttpBody for DeadlineBody {
    type Data = Bytes;
    type Error = axum::BoxError;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Self::Data>, Self::Error>>> {
        let this = &mut *self;
        if let Poll::Ready(frame) = Pin::new(&mut this.inner).poll_frame(cx) {
            if frame.is_some() {
                let next = Instant::now() + this.idle;
                this.idle_timer.as_mut().reset(next);
            }
            return Poll::Ready(frame.map(|f| f.map_err(Into::into)));
        }
        let total = this.total_timer.as_mut().poll(cx).is_ready();
        if total || this.idle_timer.as_mut().poll(cx).is_ready() {
            this.timed_out.store(true, Ordering::Release);
            let which = if total { "total" } else { "idle" };
            return Poll::Ready(Some(Err(format!("request body {which} timeout").into())));
        }
        Poll::Pending
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}

/// Plain-text rejection bodies longer than this are not quoted.
const MAX_REJECTION_TEXT: usize = 4 * 1024;

/// Middleware: an error answered without a JSON body (an extractor's
/// rejection, a body limit, a layer's refusal) gets the API's error shape,
/// `{success: false, error: {code, message}}`, with the same status.
pub(crate) async fn json_errors(request: Request, next: Next) -> Response {
    let response = next.run(request).await;
    let status = response.status();
    if !(status.is_client_error() || status.is_server_error()) || is_json(&response) {
        return response;
    }
    let (parts, body) = response.into_parts();
    let text = to_bytes(body, MAX_REJECTION_TEXT)
        .await
        .map(|b| String::from_utf8_lossy(&b).trim().to_owned())
        .unwrap_or_default();
    let message = if text.is_empty() {
        status.canonical_reason().unwrap_or("error").to_owned()
    } else {
        text
    };
    let mut out = ApiError::new(status, code_for(status), message).into_response();
    // Keep what the refusal said besides its body (Allow, Retry-After, Connection…).
    for (name, value) in &parts.headers {
        if *name != header::CONTENT_TYPE && *name != header::CONTENT_LENGTH {
            out.headers_mut().append(name.clone(), value.clone());
        }
    }
    out
}

fn is_json(response: &Response) -> bool {
    response
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| {
            v.starts_with("application/json") || v.starts_with("application/problem+json")
        })
}

/// The error code of a framework rejection with `status`.
fn code_for(status: StatusCode) -> &'static str {
    match status {
        StatusCode::BAD_REQUEST => "bad_request",
        StatusCode::UNAUTHORIZED => "unauthorized",
        StatusCode::FORBIDDEN => "forbidden",
        StatusCode::NOT_FOUND => "not_found",
        StatusCode::METHOD_NOT_ALLOWED => "method_not_allowed",
        StatusCode::REQUEST_TIMEOUT => "body_timeout",
        StatusCode::LENGTH_REQUIRED => "length_required",
        StatusCode::PAYLOAD_TOO_LARGE => "body_too_large",
        StatusCode::UNSUPPORTED_MEDIA_TYPE => "unsupported_media_type",
        StatusCode::UNPROCESSABLE_ENTITY => "invalid_body",
        StatusCode::TOO_MANY_REQUESTS => "rate_limited",
        StatusCode::SERVICE_UNAVAILABLE => "unavailable",
        s if s.is_server_error() => "internal",
        _ => "bad_request",
    }
}

#[cfg(test)]
mod tests {
    use axum::Router;
    use axum::http::Request as HttpRequest;
    use axum::routing::{get, post};
    use tower::ServiceExt;

    use super::*;

    #[test]
    fn rates_parse_and_print() {
        let r: RateLimit = "60/m:20".parse().unwrap();
        assert_eq!(r, RateLimit::per_minute(60, 20));
        assert_eq!(r.to_string(), "60/m:20");
        let r: RateLimit = "5/s".parse().unwrap();
        assert_eq!((r.count, r.period, r.burst), (5, Duration::from_secs(1), 5));
        assert!("off".parse::<RateLimit>().unwrap().is_off());
        assert_eq!(RateLimit::OFF.to_string(), "off");
        for bad in ["", "60", "60/week", "x/m", "5/m:x", "5/m:0", "-1/s"] {
            assert!(bad.parse::<RateLimit>().is_err(), "{bad:?} parsed");
        }
    }

    #[test]
    fn a_client_over_its_burst_waits_and_others_do_not() {
        let limiter = Limiter::new("upload", RateLimit::per_minute(6, 2), true);
        let a: IpAddr = "203.0.113.7".parse().unwrap();
        let b: IpAddr = "203.0.113.8".parse().unwrap();
        assert!(limiter.check(a).is_ok());
        assert!(limiter.check(a).is_ok());
        let wait = limiter.check(a).unwrap_err();
        assert!(
            wait > Duration::from_secs(5) && wait <= Duration::from_secs(10),
            "{wait:?}"
        );
        assert!(
            limiter.check(b).is_ok(),
            "another address has its own bucket"
        );
        // An IPv4-mapped IPv6 address is the same client.
        assert!(
            limiter
                .check("::ffff:203.0.113.7".parse().unwrap())
                .is_err()
        );
        // Two addresses in one IPv6 /64 share a bucket.
        let v6a: IpAddr = "2001:db8:1:2::1".parse().unwrap();
        let v6b: IpAddr = "2001:db8:1:2:ffff::9".parse().unwrap();
        assert!(limiter.check(v6a).is_ok());
        assert!(limiter.check(v6b).is_ok());
        assert!(limiter.check(v6a).is_err());
    }

    #[test]
    fn loopback_is_exempt_only_when_configured() {
        let lo: IpAddr = "127.0.0.1".parse().unwrap();
        let exempt = Limiter::new("dispute", RateLimit::per_minute(1, 1), false);
        assert!((0..10).all(|_| exempt.check(lo).is_ok()));
        let limited = Limiter::new("dispute", RateLimit::per_minute(1, 1), true);
        assert!(limited.check(lo).is_ok());
        assert!(limited.check(lo).is_err());
        let off = Limiter::new("dispute", RateLimit::OFF, true);
        assert!((0..10).all(|_| off.check(lo).is_ok()));
    }

    async fn send(app: Router, request: Request) -> (StatusCode, Response) {
        let response = app.oneshot(request).await.unwrap();
        (response.status(), response)
    }

    async fn json_of(response: Response) -> serde_json::Value {
        serde_json::from_slice(&to_bytes(response.into_body(), 1 << 20).await.unwrap()).unwrap()
    }

    #[tokio::test]
    async fn the_limiter_answers_429_with_retry_after() {
        let limiter = Limiter::new("upload", RateLimit::per_minute(1, 1), true);
        let app = Router::new().route(
            "/u",
            post(|| async { "ok" })
                .layer(axum::middleware::from_fn_with_state(limiter, rate_limit)),
        );
        let request = || {
            let mut r = HttpRequest::post("/u").body(Body::empty()).unwrap();
            r.extensions_mut()
                .insert(ConnectInfo(SocketAddr::from(([198, 51, 100, 1], 4000))));
            r
        };
        assert_eq!(send(app.clone(), request()).await.0, StatusCode::OK);
        let (status, response) = send(app, request()).await;
        assert_eq!(status, StatusCode::TOO_MANY_REQUESTS);
        let retry: u64 = response.headers()[header::RETRY_AFTER]
            .to_str()
            .unwrap()
            .parse()
            .unwrap();
        assert!((1..=60).contains(&retry), "{retry}");
        let body = json_of(response).await;
        assert_eq!(body["success"], false);
        assert_eq!(body["error"]["code"], "rate_limited");
    }

    #[tokio::test]
    async fn a_stalled_body_is_cut_with_408() {
        let timeouts = BodyTimeouts {
            idle: Duration::from_millis(200),
            total: Duration::from_secs(60),
        };
        let app = Router::new()
            .route(
                "/echo",
                post(|body: Bytes| async move { format!("{} bytes", body.len()) }),
            )
            .layer(axum::middleware::from_fn(json_errors))
            .layer(axum::middleware::from_fn_with_state(
                timeouts,
                body_deadline,
            ));
        let (tx, rx) = tokio::sync::mpsc::channel::<Result<Bytes, std::io::Error>>(4);
        tx.send(Ok(Bytes::from_static(b"some"))).await.unwrap();
        let body = Body::from_stream(tokio_stream::wrappers::ReceiverStream::new(rx));
        let (status, response) = send(app, HttpRequest::post("/echo").body(body).unwrap()).await;
        drop(tx);
        assert_eq!(status, StatusCode::REQUEST_TIMEOUT);
        assert_eq!(response.headers()[header::CONNECTION], "close");
        assert_eq!(json_of(response).await["error"]["code"], "body_timeout");
    }

    #[tokio::test]
    async fn a_trickled_body_is_cut_by_the_total_timeout() {
        let timeouts = BodyTimeouts {
            idle: Duration::from_millis(500),
            total: Duration::from_secs(1),
        };
        let app = Router::new()
            .route(
                "/echo",
                post(|body: Bytes| async move { body.len().to_string() }),
            )
            .layer(axum::middleware::from_fn(json_errors))
            .layer(axum::middleware::from_fn_with_state(
                timeouts,
                body_deadline,
            ));
        let (tx, rx) = tokio::sync::mpsc::channel::<Result<Bytes, std::io::Error>>(1);
        let trickle = tokio::spawn(async move {
            // A byte every 100 ms: never idle for long, never done.
            while tx.send(Ok(Bytes::from_static(b"x"))).await.is_ok() {
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
        });
        let body = Body::from_stream(tokio_stream::wrappers::ReceiverStream::new(rx));
        let started = Instant::now();
        let (status, response) = send(app, HttpRequest::post("/echo").body(body).unwrap()).await;
        trickle.abort();
        assert_eq!(status, StatusCode::REQUEST_TIMEOUT);
        let took = started.elapsed();
        assert!(
            took >= Duration::from_secs(1) && took < Duration::from_secs(10),
            "{took:?}"
        );
        assert_eq!(json_of(response).await["error"]["code"], "body_timeout");
    }

    #[tokio::test]
    async fn framework_rejections_become_json_errors() {
        #[derive(serde::Deserialize)]
        struct Shape {
            #[allow(dead_code)]
            n: u32,
        }
        let app = Router::new()
            .route(
                "/json",
                post(|axum::Json(_): axum::Json<Shape>| async { "ok" }),
            )
            .route(
                "/n/{n}",
                get(
                    |axum::extract::Path(n): axum::extract::Path<u32>| async move { n.to_string() },
                ),
            )
            .layer(axum::middleware::from_fn(json_errors));
        let json = |body: &'static str, ct: &'static str| {
            HttpRequest::post("/json")
                .header(header::CONTENT_TYPE, ct)
                .body(Body::from(body))
                .unwrap()
        };
        let cases = [
            (
                json("{\"n\": \"x\"}", "application/json"),
                422,
                "invalid_body",
            ),
            (json("{not json", "application/json"), 400, "bad_request"),
            (
                json("{\"n\": 1}", "text/plain"),
                415,
                "unsupported_media_type",
            ),
            (
                HttpRequest::get("/n/abc").body(Body::empty()).unwrap(),
                400,
                "bad_request",
            ),
        ];
        for (request, status, code) in cases {
            let (got, response) = send(app.clone(), request).await;
            assert_eq!(got.as_u16(), status);
            assert!(is_json(&response));
            let body = json_of(response).await;
            assert_eq!(body["success"], false);
            assert_eq!(body["error"]["code"], code, "{body}");
            assert!(!body["error"]["message"].as_str().unwrap().is_empty());
        }
        let (ok, _) = send(app, json("{\"n\": 1}", "application/json")).await;
        assert_eq!(ok, StatusCode::OK);
    }
}
