//! External reverse-image search: an optional port, off by default.
//!
//! An external provider receives the image itself, so nothing here runs
//! unless the operator turns it on in the detection configuration
//! (`[external_search] enabled = true`, see [`ExternalSearchConfig`]); an
//! enclave can still opt out (`[enclaves.<id>] external_search = false`).
//!
//! - [`ReverseSearchProvider`]: the port: image bytes in, web matches out.
//! - [`TinEye`]: a client of TinEye's REST search API (`POST
//!   {endpoint}search/`, multipart `image_upload`, `x-api-key` header, JSON
//!   `{code, messages, stats, results: {matches: [{image_url, domain, score,
//!   backlinks: [{url, backlink, crawl_date}]}]}}`), the protocol TinEye's own
//!   client library speaks since its 2021 header-key scheme.
//! - [`ExternalReverseSearch`]: the detector that turns matches into evidence
//!   (matched URLs, crawl dates exactly as the provider gave them), and any
//!   failure into "provider unavailable" evidence, never a crash.

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use serde::Deserialize;
use verity_core::{DetectorResult, DetectorVerdict};

use crate::detector::{Detector, DetectorKind, Media};
use crate::detectors::{finding, not_applicable};
use crate::media::MediaFormat;

/// Detector name.
pub const NAME: &str = "reverse-search-external";

/// TinEye's REST base URL.
pub const TINEYE_ENDPOINT: &str = "https://api.tineye.com/rest/";

/// Largest response body read from a provider.
const MAX_RESPONSE_BYTES: usize = 4 * 1024 * 1024;
/// Longest provider string copied into evidence.
const MAX_EVIDENCE_CHARS: usize = 300;
/// Matches listed in the evidence.
const LISTED_MATCHES: usize = 5;

/// What a provider found on the web.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct WebMatches {
    /// Total results the provider reports (may exceed `matches.len()`).
    pub total_results: Option<u64>,
    /// The matches returned, best first as the provider ordered them.
    pub matches: Vec<WebMatch>,
}

/// One matching image on the web.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct WebMatch {
    /// URL of the matching image (the provider's copy or the original).
    pub image_url: Option<String>,
    /// Domain it was found on.
    pub domain: Option<String>,
    /// The provider's similarity score (TinEye: 0–100).
    pub score: Option<f64>,
    /// Pages where it appears.
    pub backlinks: Vec<WebBacklink>,
}

/// One page where a matching image appears.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct WebBacklink {
    /// URL of the image on that page.
    pub image_url: Option<String>,
    /// URL of the page.
    pub page_url: Option<String>,
    /// When the provider crawled it, as the provider wrote it.
    pub crawl_date: Option<String>,
}

/// Why a provider gave no answer.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum ProviderError {
    /// No complete answer within the configured timeout.
    #[error("no answer within {0:?}")]
    Timeout(Duration),
    /// The connection failed.
    #[error("could not reach the provider: {0}")]
    Transport(String),
    /// The provider answered with an error.
    #[error("the provider refused the search (HTTP {status}, code {code:?}): {messages}")]
    Refused {
        /// HTTP status.
        status: u16,
        /// The `code` field of the body, when there was one.
        code: Option<i64>,
        /// The provider's messages.
        messages: String,
    },
    /// The answer is not the protocol's JSON.
    #[error("unexpected answer: {0}")]
    Protocol(String),
}

/// The port: an external reverse-image search service.
pub trait ReverseSearchProvider: Send + Sync {
    /// Short name for evidence ("tineye").
    fn name(&self) -> &str;
    /// Searches the web for `image` (encoded as `format`).
    ///
    /// # Errors
    /// [`ProviderError`] when the provider gives no usable answer.
    fn search(&self, image: &[u8], format: MediaFormat) -> Result<WebMatches, ProviderError>;
}

/// Which provider protocol to speak.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ProviderKind {
    /// TinEye's REST search API.
    Tineye,
}

/// The `[external_search]` section of the detection configuration.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ExternalSearchConfig {
    /// Must be written out: images leave the machine only when `true`.
    pub enabled: bool,
    /// The protocol.
    pub provider: ProviderKind,
    /// REST base URL (default TinEye's).
    #[serde(default = "default_endpoint")]
    pub endpoint: String,
    /// Name of the environment variable that holds the API key.
    pub api_key_env: String,
    /// Whole-request timeout in milliseconds (default 10 000).
    #[serde(default = "default_timeout_ms")]
    pub timeout_ms: u64,
    /// Matches asked for (1–100, default 10).
    #[serde(default = "default_limit")]
    pub limit: u32,
    /// Backlinks asked for per match (1–100, default 10).
    #[serde(default = "default_limit")]
    pub backlink_limit: u32,
}

fn default_endpoint() -> String {
    TINEYE_ENDPOINT.into()
}

fn default_timeout_ms() -> u64 {
    10_000
}

fn default_limit() -> u32 {
    10
}

/// Why an `[external_search]` section cannot be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("external_search: {0}")]
pub struct ExternalConfigError(pub String);

impl ExternalSearchConfig {
    /// The provider it describes, reading the API key from the environment;
    /// `None` when `enabled = false`.
    ///
    /// # Errors
    /// [`ExternalConfigError`] for a bad endpoint, out-of-range numbers, or an
    /// API key variable that is unset or empty.
    pub fn provider(&self) -> Result<Option<Arc<dyn ReverseSearchProvider>>, ExternalConfigError> {
        self.provider_from_env(&|name| std::env::var(name).ok())
    }

    /// As [`Self::provider`], looking the key variable up with `env`.
    ///
    /// # Errors
    /// As [`Self::provider`].
    pub fn provider_from_env(
        &self,
        env: &dyn Fn(&str) -> Option<String>,
    ) -> Result<Option<Arc<dyn ReverseSearchProvider>>, ExternalConfigError> {
        if !self.enabled {
            return Ok(None);
        }
        let key = env(&self.api_key_env).unwrap_or_default();
        if key.trim().is_empty() {
            return Err(ExternalConfigError(format!(
                "api_key_env names {:?}, which is unset or empty",
                self.api_key_env
            )));
        }
        self.provider_with_key(key).map(Some)
    }

    /// The provider with an explicit key (for callers that hold the key).
    ///
    /// # Errors
    /// As [`Self::provider`], except for the key variable.
    pub fn provider_with_key(
        &self,
        api_key: String,
    ) -> Result<Arc<dyn ReverseSearchProvider>, ExternalConfigError> {
        let err = |m: String| ExternalConfigError(m);
        let mut endpoint = url::Url::parse(&self.endpoint)
            .map_err(|e| err(format!("endpoint {:?}: {e}", self.endpoint)))?;
        if !matches!(endpoint.scheme(), "http" | "https") {
            return Err(err(format!("endpoint {:?} is not http(s)", self.endpoint)));
        }
        // The search path is relative to the REST base, which must end in '/'.
        if !endpoint.path().ends_with('/') {
            endpoint.set_path(&format!("{}/", endpoint.path()));
        }
        if !(1..=600_000).contains(&self.timeout_ms) {
            return Err(err("timeout_ms must be 1–600000".into()));
        }
        if !(1..=100).contains(&self.limit) || !(1..=100).contains(&self.backlink_limit) {
            return Err(err("limit and backlink_limit must be 1–100".into()));
        }
        let search_url = endpoint
            .join("search/")
            .map_err(|e| err(format!("endpoint: {e}")))?;
        Ok(match self.provider {
            ProviderKind::Tineye => Arc::new(TinEye {
                search_url,
                api_key,
                timeout: Duration::from_millis(self.timeout_ms),
                limit: self.limit,
                backlink_limit: self.backlink_limit,
            }) as Arc<dyn ReverseSearchProvider>,
        })
    }
}

/// A client of TinEye's REST search API.
pub struct TinEye {
    search_url: url::Url,
    api_key: String,
    timeout: Duration,
    limit: u32,
    backlink_limit: u32,
}

impl fmt::Debug for TinEye {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Never print the key.
        f.debug_struct("TinEye")
            .field("search_url", &self.search_url.as_str())
            .field("timeout", &self.timeout)
            .field("limit", &self.limit)
            .finish_non_exhaustive()
    }
}

/// TinEye's response body (fields this client reads).
#[derive(Debug, Deserialize)]
struct TinEyeBody {
    code: Option<i64>,
    #[serde(default)]
    messages: Vec<serde_json::Value>,
    #[serde(default)]
    stats: Option<TinEyeStats>,
    #[serde(default)]
    results: Option<TinEyeResults>,
}

#[derive(Debug, Deserialize)]
struct TinEyeStats {
    total_results: Option<u64>,
}

#[derive(Debug, Deserialize)]
struct TinEyeResults {
    #[serde(default)]
    matches: Vec<TinEyeMatch>,
}

#[derive(Debug, Deserialize)]
struct TinEyeMatch {
    image_url: Option<String>,
    domain: Option<String>,
    score: Option<f64>,
    #[serde(default)]
    backlinks: Vec<TinEyeBacklink>,
}

#[derive(Debug, Deserialize)]
struct TinEyeBacklink {
    url: Option<String>,
    backlink: Option<String>,
    crawl_date: Option<String>,
}

impl TinEye {
    async fn request(
        &self,
        image: Vec<u8>,
        format: MediaFormat,
    ) -> Result<WebMatches, ProviderError> {
        let client = reqwest::Client::builder()
            .timeout(self.timeout)
            .build()
            .map_err(|e| ProviderError::Transport(e.to_string()))?;
        let extension = match format {
            MediaFormat::Jpeg => "jpg",
            MediaFormat::Png => "png",
            MediaFormat::WebP => "webp",
        };
        let part = reqwest::multipart::Part::bytes(image)
            .file_name(format!("image.{extension}"))
            .mime_str(format.mime())
            .map_err(|e| ProviderError::Transport(e.to_string()))?;
        let form = reqwest::multipart::Form::new()
            .part("image_upload", part)
            .text("offset", "0")
            .text("limit", self.limit.to_string())
            .text("backlink_limit", self.backlink_limit.to_string())
            .text("sort", "score")
            .text("order", "desc");
        let mut response = client
            .post(self.search_url.clone())
            .header("x-api-key", &self.api_key)
            .multipart(form)
            .send()
            .await
            .map_err(|e| self.transport(e))?;
        let status = response.status().as_u16();
        let mut body = Vec::new();
        while let Some(chunk) = response.chunk().await.map_err(|e| self.transport(e))? {
            if body.len() + chunk.len() > MAX_RESPONSE_BYTES {
                return Err(ProviderError::Protocol(format!(
                    "response larger than {MAX_RESPONSE_BYTES} bytes"
                )));
            }
            body.extend_from_slice(&chunk);
        }
        parse_tineye(status, &body)
    }

    fn transport(&self, e: reqwest::Error) -> ProviderError {
        if e.is_timeout() {
            ProviderError::Timeout(self.timeout)
        } else {
            // The error's chain says why (refused, DNS, TLS) without the key.
            let mut message = e.to_string();
            let mut source = std::error::Error::source(&e);
            while let Some(s) = source {
                message = format!("{message}: {s}");
                source = s.source();
            }
            ProviderError::Transport(message)
        }
    }
}

/// Reads a TinEye answer: an error unless both the HTTP status and the
/// body's `code` are 200, as TinEye's client library checks.
fn parse_tineye(status: u16, body: &[u8]) -> Result<WebMatches, ProviderError> {
    let parsed: Result<TinEyeBody, _> = serde_json::from_slice(body);
    let body = match parsed {
        Ok(b) => b,
        Err(e) if status == 200 => {
            return Err(ProviderError::Protocol(format!("not TinEye JSON: {e}")));
        }
        Err(_) => {
            return Err(ProviderError::Refused {
                status,
                code: None,
                messages: clip(&String::from_utf8_lossy(&body[..body.len().min(200)])),
            });
        }
    };
    if status != 200 || body.code != Some(200) {
        let messages: Vec<String> = body
            .messages
            .iter()
            .map(|m| match m {
                serde_json::Value::String(s) => clip(s),
                other => clip(&other.to_string()),
            })
            .collect();
        return Err(ProviderError::Refused {
            status,
            code: body.code,
            messages: messages.join("; "),
        });
    }
    let matches = body
        .results
        .map(|r| r.matches)
        .unwrap_or_default()
        .into_iter()
        .map(|m| WebMatch {
            image_url: present(m.image_url),
            domain: present(m.domain),
            score: m.score.filter(|s| s.is_finite()),
            backlinks: m
                .backlinks
                .into_iter()
                .map(|b| WebBacklink {
                    image_url: present(b.url),
                    page_url: present(b.backlink),
                    crawl_date: present(b.crawl_date),
                })
                .collect(),
        })
        .collect();
    Ok(WebMatches {
        total_results: body.stats.and_then(|s| s.total_results),
        matches,
    })
}

/// A provider string fit for evidence, or `None` when empty.
fn present(s: Option<String>) -> Option<String> {
    s.map(|s| clip(&s)).filter(|s| !s.is_empty())
}

/// Strips control characters and bounds the length of a provider string.
fn clip(s: &str) -> String {
    let clean: String = s.trim().chars().filter(|c| !c.is_control()).collect();
    if clean.chars().count() > MAX_EVIDENCE_CHARS {
        let cut: String = clean.chars().take(MAX_EVIDENCE_CHARS).collect();
        format!("{cut}…")
    } else {
        clean
    }
}

impl ReverseSearchProvider for TinEye {
    fn name(&self) -> &str {
        "tineye"
    }

    fn search(&self, image: &[u8], format: MediaFormat) -> Result<WebMatches, ProviderError> {
        // Detectors are synchronous and may be called from any thread,
        // including one inside an async runtime: run the request on a thread
        // of its own with a runtime of its own.
        let image = image.to_vec();
        std::thread::scope(|scope| {
            scope
                .spawn(|| {
                    let runtime = tokio::runtime::Builder::new_current_thread()
                        .enable_all()
                        .build()
                        .map_err(|e| ProviderError::Transport(e.to_string()))?;
                    runtime.block_on(self.request(image, format))
                })
                .join()
                .unwrap_or_else(|_| Err(ProviderError::Transport("client thread panicked".into())))
        })
    }
}

/// The detector over an external provider.
#[derive(Clone)]
pub struct ExternalReverseSearch {
    provider: Arc<dyn ReverseSearchProvider>,
}

impl ExternalReverseSearch {
    /// A detector asking `provider`.
    pub fn new(provider: Arc<dyn ReverseSearchProvider>) -> Self {
        ExternalReverseSearch { provider }
    }
}

impl Detector for ExternalReverseSearch {
    fn name(&self) -> &str {
        NAME
    }
    fn version(&self) -> &str {
        "1.0.0 (tineye rest search)"
    }
    fn kind(&self) -> DetectorKind {
        DetectorKind::Statistical
    }
    fn detect(&self, media: &Media<'_>) -> DetectorResult {
        let provider = self.provider.name();
        let found = match self.provider.search(media.bytes(), media.format()) {
            Ok(found) => found,
            Err(e) => {
                return not_applicable(
                    self,
                    vec![format!("provider unavailable ({provider}): {e}")],
                );
            }
        };
        if found.matches.is_empty() {
            return not_applicable(self, vec![format!("{provider}: no match on the web")]);
        }
        finding(
            self,
            DetectorVerdict::Uncertain,
            0.5,
            evidence(provider, &found),
        )
    }
}

/// Evidence lines for matches: counts, the earliest crawl date given, and
/// the first matches with their pages.
fn evidence(provider: &str, found: &WebMatches) -> Vec<String> {
    let mut lines = vec![match found.total_results {
        Some(total) => format!(
            "{provider}: {total} matching images on the web ({} returned)",
            found.matches.len()
        ),
        None => format!(
            "{provider}: {} matching images on the web",
            found.matches.len()
        ),
    }];
    // Only ISO dates are compared; anything else is listed as given.
    let earliest = found
        .matches
        .iter()
        .flat_map(|m| &m.backlinks)
        .filter_map(|b| {
            b.crawl_date
                .as_deref()
                .filter(|d| iso_date(d))
                .map(|d| (d, b))
        })
        .min_by_key(|(d, _)| *d);
    if let Some((date, b)) = earliest {
        lines.push(format!(
            "earliest crawl date reported by {provider}: {date} ({})",
            b.page_url
                .as_deref()
                .or(b.image_url.as_deref())
                .unwrap_or("no URL given")
        ));
    }
    for m in found.matches.iter().take(LISTED_MATCHES) {
        let mut line = format!(
            "match {}",
            m.image_url.as_deref().unwrap_or("(no image URL given)")
        );
        if let Some(d) = &m.domain {
            line.push_str(&format!(" on {d}"));
        }
        if let Some(s) = m.score {
            line.push_str(&format!(", score {s:.1}"));
        }
        for b in m.backlinks.iter().take(3) {
            line.push_str(&format!(
                "; page {} crawled {}",
                b.page_url.as_deref().unwrap_or("(not given)"),
                b.crawl_date.as_deref().unwrap_or("(date not given)")
            ));
        }
        lines.push(line);
    }
    lines.push(
        "a web match shows where the image was published before, not whether it is AI-generated"
            .into(),
    );
    lines
}

/// Whether `d` looks like `YYYY-MM-DD`.
fn iso_date(d: &str) -> bool {
    let b = d.as_bytes();
    b.len() == 10
        && b.iter().enumerate().all(|(i, c)| {
            if i == 4 || i == 7 {
                *c == b'-'
            } else {
                c.is_ascii_digit()
            }
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_tineyes_answer_and_refusals() {
        let ok = br#"{"code": 200, "messages": [], "stats": {"total_results": 3},
            "results": {"matches": [{"image_url": "https://img/a.jpg", "domain": "a.example",
              "score": 88.5, "backlinks": [{"url": "https://a.example/a.jpg",
              "backlink": "https://a.example/page", "crawl_date": "2012-05-01"},
              {"url": "", "backlink": "", "crawl_date": ""}]}]}}"#;
        let found = parse_tineye(200, ok).unwrap();
        assert_eq!(found.total_results, Some(3));
        assert_eq!(
            found.matches[0].backlinks[0].crawl_date.as_deref(),
            Some("2012-05-01")
        );
        assert_eq!(found.matches[0].backlinks[1], WebBacklink::default());
        let refused = br#"{"code": 400, "messages": ["NO_SIGNATURE_ERROR"], "results": {}}"#;
        assert!(matches!(
            parse_tineye(200, refused),
            Err(ProviderError::Refused {
                code: Some(400),
                ..
            })
        ));
        assert!(matches!(
            parse_tineye(200, b"<html>"),
            Err(ProviderError::Protocol(_))
        ));
        assert!(matches!(
            parse_tineye(502, b"Bad gateway"),
            Err(ProviderError::Refused { status: 502, .. })
        ));
    }

    #[test]
    fn evidence_keeps_dates_as_given_and_finds_the_earliest() {
        let backlink = |page: &str, date: Option<&str>| WebBacklink {
            image_url: None,
            page_url: Some(page.into()),
            crawl_date: date.map(str::to_owned),
        };
        let found = WebMatches {
            total_results: None,
            matches: vec![WebMatch {
                image_url: Some("https://img/1".into()),
                domain: None,
                score: None,
                backlinks: vec![
                    backlink("https://late", Some("2019-01-02")),
                    backlink("https://early", Some("2009-12-31")),
                    backlink("https://odd", Some("last tuesday")),
                    backlink("https://none", None),
                ],
            }],
        };
        let lines = evidence("tineye", &found);
        assert!(lines[1].contains("2009-12-31 (https://early)"), "{lines:?}");
        assert!(lines[2].contains("date not given") || lines[2].contains("last tuesday"));
        assert!(clip("a\u{0}b\nc").eq("abc"));
    }

    #[test]
    fn disabled_config_builds_no_provider_and_keys_are_required() {
        let mut config = ExternalSearchConfig {
            enabled: false,
            provider: ProviderKind::Tineye,
            endpoint: default_endpoint(),
            api_key_env: "VERITY_TEST_SURELY_UNSET_KEY".into(),
            timeout_ms: 1000,
            limit: 10,
            backlink_limit: 10,
        };
        assert!(config.provider().unwrap().is_none());
        config.enabled = true;
        assert!(
            config
                .provider()
                .err()
                .unwrap()
                .0
                .contains("unset or empty")
        );
        config.endpoint = "ftp://x/".into();
        assert!(config.provider_with_key("k".into()).is_err());
        config.endpoint = "http://127.0.0.1:9/rest".into();
        let p = config.provider_with_key("secret-key".into()).unwrap();
        assert_eq!(p.name(), "tineye");
    }
}
