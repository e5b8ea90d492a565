//! The web UI, embedded in the binary: plain ES modules and one stylesheet
//! under `crates/node/assets/`, each compiled in with `include_str!`, so the
//! binary needs no files and the page works offline (no fonts or CDNs).
//!
//! Pages (`/`, `/jobs/{id}`, `/oracles`, `/log`) all serve `index.html`; the
//! client-side router in `app.js` picks the view. Assets are served under
//! `/assets/{name}` with an ETag, and every UI response carries a strict
//! Content-Security-Policy (scripts and styles from this origin only).

use axum::Router;
use axum::extract::Path;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;

use super::AppState;
use crate::error::ApiError;

/// Every embedded asset: (name, content type, content).
pub(crate) const ASSETS: &[(&str, &str, &str)] = &[
    (
        "index.html",
        "text/html; charset=utf-8",
        include_str!("../../assets/index.html"),
    ),
    (
        "style.css",
        "text/css; charset=utf-8",
        include_str!("../../assets/style.css"),
    ),
    (
        "icon.svg",
        "image/svg+xml",
        include_str!("../../assets/icon.svg"),
    ),
    ("app.js", JS, include_str!("../../assets/app.js")),
    ("api.js", JS, include_str!("../../assets/api.js")),
    ("dom.js", JS, include_str!("../../assets/dom.js")),
    ("check.js", JS, include_str!("../../assets/check.js")),
    ("verdict.js", JS, include_str!("../../assets/verdict.js")),
    ("chart.js", JS, include_str!("../../assets/chart.js")),
    ("oracles.js", JS, include_str!("../../assets/oracles.js")),
    ("ledger.js", JS, include_str!("../../assets/ledger.js")),
    ("merkle.js", JS, include_str!("../../assets/merkle.js")),
];

const JS: &str = "text/javascript; charset=utf-8";

/// Only this origin's scripts, styles and connections; images also from
/// `blob:` (the upload preview) and `data:`.
const CSP: &str = "default-src 'self'; img-src 'self' blob: data:; object-src 'none'; \
                   base-uri 'none'; frame-ancestors 'none'; form-action 'self'";

/// The UI's routes: the pages and `/assets/{name}`.
pub(super) fn routes() -> Router<AppState> {
    Router::new()
        .route("/", get(page))
        .route("/jobs/{job_id}", get(page))
        .route("/oracles", get(page))
        .route("/log", get(page))
        .route("/assets/{name}", get(asset))
}

/// A page of the UI: `index.html`, routed in the browser.
#[utoipa::path(get, path = "/", tag = "ui",
    summary = "The web UI (the same page serves /jobs/{jobId}, /oracles and /log)",
    responses((status = 200, description = "The single-page web UI", content_type = "text/html", body = String)))]
pub(super) async fn page(headers: HeaderMap) -> Response {
    serve("index.html", &headers).unwrap_or_else(|e| e.into_response())
}

/// `GET /assets/{name}`: an embedded asset (404 JSON for unknown names).
#[utoipa::path(get, path = "/assets/{name}", tag = "ui",
    summary = "A static asset of the web UI (ES module, stylesheet or icon)",
    params(("name" = String, Path, description = "File name, e.g. `app.js`")),
    responses(
        (status = 200, description = "The asset, with an `ETag`", body = String),
        (status = 304, description = "Unchanged since `If-None-Match`"),
        (status = 404, description = "No such asset", body = crate::http::openapi::ErrorBody)))]
pub(super) async fn asset(Path(name): Path<String>, headers: HeaderMap) -> Response {
    serve(&name, &headers).unwrap_or_else(|e| e.into_response())
}

fn serve(name: &str, headers: &HeaderMap) -> Result<Response, ApiError> {
    let (_, content_type, body) = ASSETS
        .iter()
        .find(|(n, _, _)| *n == name)
        .ok_or_else(|| ApiError::not_found("asset_not_found", format!("no asset {name}")))?;
    let etag = format!("\"{:016x}\"", fnv1a(body.as_bytes()));
    let fresh = headers
        .get(header::IF_NONE_MATCH)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.split(',').any(|t| t.trim() == etag));
    let common = [
        (
            header::ETAG,
            HeaderValue::from_str(&etag).expect("hex is a valid header"),
        ),
        (header::CACHE_CONTROL, HeaderValue::from_static("no-cache")),
        (
            header::CONTENT_SECURITY_POLICY,
            HeaderValue::from_static(CSP),
        ),
        (
            header::X_CONTENT_TYPE_OPTIONS,
            HeaderValue::from_static("nosniff"),
        ),
    ];
    if fresh {
        return Ok((StatusCode::NOT_MODIFIED, common).into_response());
    }
    Ok((
        common,
        [(header::CONTENT_TYPE, HeaderValue::from_static(content_type))],
        *body,
    )
        .into_response())
}

/// 64-bit FNV-1a: a stable content hash for ETags (not a security measure).
fn fnv1a(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325, |h, b| {
        (h ^ u64::from(*b)).wrapping_mul(0x0000_0100_0000_01b3)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_module_imported_by_the_ui_is_embedded() {
        let names: Vec<&str> = ASSETS.iter().map(|(n, _, _)| *n).collect();
        for (name, _, body) in ASSETS {
            for line in body.lines() {
                // `import … from './x.js';` and `<script src="/assets/x.js">`, `href="/assets/x"`.
                for marker in ["from './", "src=\"/assets/", "href=\"/assets/"] {
                    if let Some(rest) = line.split(marker).nth(1) {
                        let target = rest.split(['\'', '"']).next().unwrap();
                        assert!(
                            names.contains(&target),
                            "{name} refers to {target}, which is not embedded"
                        );
                    }
                }
            }
        }
    }

    #[test]
    fn no_asset_loads_anything_from_another_origin() {
        for (name, _, body) in ASSETS {
            for bad in ["http://", "https://", "//fonts.", "@import url("] {
                // The SVG namespace URI is an identifier, not a fetch.
                let stripped = body.replace("http://www.w3.org/2000/svg", "");
                assert!(!stripped.contains(bad), "{name} contains {bad}");
            }
        }
    }

    #[test]
    fn fnv1a_matches_the_reference_vectors() {
        assert_eq!(fnv1a(b""), 0xcbf2_9ce4_8422_2325);
        assert_eq!(fnv1a(b"a"), 0xaf63_dc4c_8601_ec8c);
        assert_eq!(fnv1a(b"foobar"), 0x8594_4171_f739_67e8);
    }
}
