//! Per-request observability: request counts and latency by route, a tracing
//! span carrying the request id, and the request id inside JSON error bodies.
//!
//! - `verity_http_requests_total{method, route, status}`: a counter.
//! - `verity_http_request_duration_seconds{method, route}`: time to the
//!   response head (for an event stream, until the stream starts).
//! - `route` is the router's pattern (`/api/jobs/{job_id}`), never the raw
//!   path, so ids do not explode the label set; unknown paths are `unmatched`.
//! - Every error answered as JSON gets `error.requestId` (the `x-request-id`
//!   header, set by `SetRequestIdLayer`), so a user can quote it and an
//!   operator can find the request's log lines (their span has `request_id`).

use std::time::Instant;

use axum::body::{Body, to_bytes};
use axum::extract::{MatchedPath, Request};
use axum::http::{HeaderValue, header};
use axum::middleware::Next;
use axum::response::Response;
use tracing::Instrument;

/// Counter of requests.
pub const HTTP_REQUESTS: &str = "verity_http_requests_total";
/// Histogram of seconds to the response head.
pub const HTTP_DURATION: &str = "verity_http_request_duration_seconds";

/// Error bodies larger than this are passed through unchanged.
const MAX_ERROR_BODY: usize = 64 * 1024;

/// The middleware (`axum::middleware::from_fn(track)`).
pub(super) async fn track(request: Request, next: Next) -> Response {
    let start = Instant::now();
    let method = request.method().as_str().to_owned();
    let route = request
        .extensions()
        .get::<MatchedPath>()
        .map_or_else(|| "unmatched".to_owned(), |p| p.as_str().to_owned());
    let request_id = request
        .headers()
        .get("x-request-id")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_owned();
    let span =
        tracing::info_span!("request", request_id = %request_id, method = %method, route = %route);
    let response = next.run(request).instrument(span).await;
    let status = response.status();
    metrics::counter!(HTTP_REQUESTS, "method" => method.clone(), "route" => route.clone(),
        "status" => status.as_u16().to_string())
    .increment(1);
    metrics::histogram!(HTTP_DURATION, "method" => method, "route" => route)
        .record(start.elapsed().as_secs_f64());
    if (status.is_client_error() || status.is_server_error()) && !request_id.is_empty() {
        with_request_id(response, &request_id).await
    } else {
        response
    }
}

/// Adds `error.requestId` to a JSON error body.
async fn with_request_id(response: Response, request_id: &str) -> Response {
    let is_json = response
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/json"));
    if !is_json {
        return response;
    }
    let (mut parts, body) = response.into_parts();
    let Ok(bytes) = to_bytes(body, MAX_ERROR_BODY).await else {
        // Too large or unreadable: not one of ours; nothing sensible to return but the head.
        parts.headers.remove(header::CONTENT_LENGTH);
        return Response::from_parts(parts, Body::empty());
    };
    let mut value: serde_json::Value = match serde_json::from_slice(&bytes) {
        Ok(v) => v,
        Err(_) => return Response::from_parts(parts, Body::from(bytes)),
    };
    if let Some(error) = value.get_mut("error").and_then(|e| e.as_object_mut()) {
        error.insert("requestId".into(), serde_json::json!(request_id));
    }
    let out = serde_json::to_vec(&value).unwrap_or_else(|_| bytes.to_vec());
    parts
        .headers
        .insert(header::CONTENT_LENGTH, HeaderValue::from(out.len()));
    Response::from_parts(parts, Body::from(out))
}

#[cfg(test)]
mod tests {
    use axum::Router;
    use axum::http::StatusCode;
    use axum::routing::get;
    use tower::ServiceExt;
    use tower_http::request_id::{MakeRequestUuid, SetRequestIdLayer};

    use super::*;
    use crate::error::ApiError;

    fn app() -> Router {
        Router::new()
            .route("/ok/{id}", get(|| async { "fine" }))
            .route(
                "/bad",
                get(|| async { ApiError::bad_request("bad_thing", "that was bad") }),
            )
            .layer(axum::middleware::from_fn(track))
            .layer(SetRequestIdLayer::x_request_id(MakeRequestUuid))
    }

    async fn get_json(path: &str, id: Option<&str>) -> (StatusCode, Vec<u8>) {
        let mut request = Request::builder().uri(path);
        if let Some(id) = id {
            request = request.header("x-request-id", id);
        }
        let response = app()
            .oneshot(request.body(Body::empty()).unwrap())
            .await
            .unwrap();
        let status = response.status();
        (
            status,
            to_bytes(response.into_body(), 1 << 20)
                .await
                .unwrap()
                .to_vec(),
        )
    }

    #[tokio::test]
    async fn error_bodies_carry_the_request_id() {
        let (status, body) = get_json("/bad", Some("req-123")).await;
        assert_eq!(status, StatusCode::BAD_REQUEST);
        let value: serde_json::Value = serde_json::from_slice(&body).unwrap();
        assert_eq!(value["success"], false);
        assert_eq!(value["error"]["code"], "bad_thing");
        assert_eq!(value["error"]["message"], "that was bad");
        assert_eq!(value["error"]["requestId"], "req-123");
    }

    #[tokio::test]
    async fn a_generated_request_id_is_used_when_none_is_given() {
        let (_, body) = get_json("/bad", None).await;
        let value: serde_json::Value = serde_json::from_slice(&body).unwrap();
        let id = value["error"]["requestId"].as_str().unwrap();
        assert_eq!(id.len(), 36, "a UUID: {id}");
    }

    #[tokio::test]
    async fn successful_bodies_are_untouched() {
        let (status, body) = get_json("/ok/abc", Some("x")).await;
        assert_eq!(status, StatusCode::OK);
        assert_eq!(body, b"fine");
    }
}
