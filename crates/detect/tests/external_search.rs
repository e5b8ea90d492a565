//! The external reverse-search port against a local server that speaks
//! TinEye's REST search protocol: matches become evidence with the crawl
//! dates as given, every failure is "provider unavailable" evidence, and the
//! image is sent only when the configuration enables the provider for that
//! enclave.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::extract::{Multipart, Path as UrlPath, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use serde_json::json;
use verity_core::DetectorVerdict;
use verity_detect::config::DetectConfig;
use verity_detect::external::{
    ExternalReverseSearch, ExternalSearchConfig, NAME, ProviderKind, TINEYE_ENDPOINT,
};
use verity_detect::{Detector, Media, MediaFormat};

const KEY: &str = "test-key-0123";

/// One request the server received.
#[derive(Debug, Default, Clone)]
struct Received {
    api_key: Option<String>,
    fields: BTreeMap<String, String>,
    file_name: Option<String>,
    content_type: Option<String>,
    image: Vec<u8>,
}

type Log = Arc<Mutex<Vec<Received>>>;

/// A TinEye-protocol server on a loopback port, on a runtime of its own.
struct Server {
    addr: SocketAddr,
    received: Log,
    runtime: Option<tokio::runtime::Runtime>,
}

impl Drop for Server {
    fn drop(&mut self) {
        if let Some(rt) = self.runtime.take() {
            rt.shutdown_background();
        }
    }
}

impl Server {
    fn start() -> Self {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .enable_all()
            .build()
            .unwrap();
        let received: Log = Arc::default();
        let app = axum::Router::new()
            .route("/{mode}/rest/search/", axum::routing::post(search))
            .with_state(received.clone());
        let listener = runtime
            .block_on(tokio::net::TcpListener::bind("127.0.0.1:0"))
            .unwrap();
        let addr = listener.local_addr().unwrap();
        runtime.spawn(async move { axum::serve(listener, app).await });
        Server {
            addr,
            received,
            runtime: Some(runtime),
        }
    }

    /// The REST base for a server behaviour.
    fn endpoint(&self, mode: &str) -> String {
        format!("http://{}/{mode}/rest/", self.addr)
    }

    fn requests(&self) -> Vec<Received> {
        self.received.lock().unwrap().clone()
    }
}

/// `POST /{mode}/rest/search/`: checks the key, records the form, answers as
/// `mode` says.
async fn search(
    State(log): State<Log>,
    UrlPath(mode): UrlPath<String>,
    headers: HeaderMap,
    mut form: Multipart,
) -> Response {
    let mut got = Received {
        api_key: headers
            .get("x-api-key")
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned),
        ..Received::default()
    };
    while let Ok(Some(field)) = form.next_field().await {
        let name = field.name().unwrap_or_default().to_owned();
        if name == "image_upload" {
            got.file_name = field.file_name().map(str::to_owned);
            got.content_type = field.content_type().map(str::to_owned);
            got.image = field.bytes().await.unwrap().to_vec();
        } else {
            got.fields.insert(name, field.text().await.unwrap());
        }
    }
    let key_ok = got.api_key.as_deref() == Some(KEY);
    log.lock().unwrap().push(got);
    if !key_ok {
        let body = json!({"code": 401, "messages": ["Invalid API key"], "results": {}});
        return (StatusCode::UNAUTHORIZED, axum::Json(body)).into_response();
    }
    match mode.as_str() {
        "ok" => axum::Json(found()).into_response(),
        "empty" => axum::Json(json!({
            "code": 200, "messages": [],
            "stats": {"total_results": 0, "total_backlinks": 0},
            "results": {"matches": []}
        }))
        .into_response(),
        "no-signature" => axum::Json(json!({
            "code": 400,
            "messages": ["The image is too simple to find matches."],
            "results": {}
        }))
        .into_response(),
        "slow" => {
            tokio::time::sleep(Duration::from_secs(5)).await;
            axum::Json(found()).into_response()
        }
        "garbage" => (StatusCode::OK, "<html>maintenance</html>").into_response(),
        _ => (StatusCode::INTERNAL_SERVER_ERROR, "upstream exploded").into_response(),
    }
}

/// A search answer with two matches, one backlink without a date.
fn found() -> serde_json::Value {
    json!({
        "code": 200,
        "messages": [],
        "stats": {"timestamp": "1700000000.0", "query_time": "0.42", "total_backlinks": 3,
                  "total_results": 2, "total_stock": 0, "total_collection": 0,
                  "total_filtered_results": 2},
        "results": {"matches": [
            {"image_url": "https://img.tineye.example/result/aaa", "domain": "news.example",
             "score": 92.5, "width": 640, "height": 427, "size": 273280, "format": "JPEG",
             "filesize": 51234, "overlay": "overlay/aaa", "tags": [],
             "backlinks": [
                {"url": "https://news.example/rocket.jpg",
                 "backlink": "https://news.example/2014/launch.html", "crawl_date": "2014-07-09"},
                {"url": "https://mirror.example/r.jpg",
                 "backlink": "https://mirror.example/a", "crawl_date": ""}
             ]},
            {"image_url": "https://img.tineye.example/result/bbb", "domain": "old.example",
             "score": 80.0, "tags": ["collection"],
             "backlinks": [
                {"url": "https://old.example/r.jpg",
                 "backlink": "https://old.example/gallery", "crawl_date": "2009-06-01"}
             ]}
        ]}
    })
}

fn jpeg() -> Vec<u8> {
    let img =
        image::RgbImage::from_fn(64, 48, |x, y| image::Rgb([(x * 4) as u8, (y * 5) as u8, 7]));
    let mut out = Vec::new();
    img.write_to(
        &mut std::io::Cursor::new(&mut out),
        image::ImageFormat::Jpeg,
    )
    .unwrap();
    out
}

fn config(endpoint: &str, timeout_ms: u64) -> ExternalSearchConfig {
    ExternalSearchConfig {
        enabled: true,
        provider: ProviderKind::Tineye,
        endpoint: endpoint.into(),
        api_key_env: "UNUSED".into(),
        timeout_ms,
        limit: 7,
        backlink_limit: 3,
    }
}

fn detector(endpoint: &str, key: &str, timeout_ms: u64) -> ExternalReverseSearch {
    ExternalReverseSearch::new(
        config(endpoint, timeout_ms)
            .provider_with_key(key.into())
            .unwrap(),
    )
}

#[test]
fn matches_become_evidence_with_crawl_dates_as_given() {
    let server = Server::start();
    let bytes = jpeg();
    let r =
        detector(&server.endpoint("ok"), KEY, 5_000).detect(&Media::new(&bytes, MediaFormat::Jpeg));
    assert_eq!(r.name, NAME);
    assert_eq!(r.verdict, DetectorVerdict::Uncertain, "{:?}", r.evidence);
    let text = r.evidence.join("\n");
    for want in [
        "tineye: 2 matching images on the web (2 returned)",
        "earliest crawl date reported by tineye: 2009-06-01 (https://old.example/gallery)",
        "match https://img.tineye.example/result/aaa on news.example, score 92.5",
        "page https://news.example/2014/launch.html crawled 2014-07-09",
        "page https://mirror.example/a crawled (date not given)",
        "not whether it is AI-generated",
    ] {
        assert!(text.contains(want), "missing {want:?} in\n{text}");
    }
    // The request is TinEye's: key header, multipart image and parameters.
    let requests = server.requests();
    assert_eq!(requests.len(), 1);
    let got = &requests[0];
    assert_eq!(got.api_key.as_deref(), Some(KEY));
    assert_eq!(got.image, bytes);
    assert_eq!(got.file_name.as_deref(), Some("image.jpg"));
    assert_eq!(got.content_type.as_deref(), Some("image/jpeg"));
    let fields: Vec<(&str, &str)> = got
        .fields
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect();
    assert_eq!(
        fields,
        [
            ("backlink_limit", "3"),
            ("limit", "7"),
            ("offset", "0"),
            ("order", "desc"),
            ("sort", "score")
        ]
    );
}

#[test]
fn no_match_is_not_applicable() {
    let server = Server::start();
    let r = detector(&server.endpoint("empty"), KEY, 5_000)
        .detect(&Media::new(&jpeg(), MediaFormat::Jpeg));
    assert_eq!(r.verdict, DetectorVerdict::NotApplicable);
    assert_eq!(r.evidence, ["tineye: no match on the web"]);
}

#[test]
fn failures_are_provider_unavailable_evidence() {
    let server = Server::start();
    let bytes = jpeg();
    let media = Media::new(&bytes, MediaFormat::Jpeg);
    // A port nobody listens on: bind one, then free it.
    let closed = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap();
    let cases = [
        (
            server.endpoint("ok"),
            "wrong-key",
            "HTTP 401, code Some(401)): Invalid API key",
        ),
        (
            server.endpoint("no-signature"),
            KEY,
            "code Some(400)): The image is too simple",
        ),
        (
            server.endpoint("boom"),
            KEY,
            "HTTP 500, code None): upstream exploded",
        ),
        (
            server.endpoint("garbage"),
            KEY,
            "unexpected answer: not TinEye JSON",
        ),
        (
            format!("http://{closed}/rest/"),
            KEY,
            "could not reach the provider",
        ),
    ];
    for (endpoint, key, want) in cases {
        let r = detector(&endpoint, key, 5_000).detect(&media);
        assert_eq!(r.verdict, DetectorVerdict::NotApplicable, "{endpoint}");
        assert!(
            r.evidence[0].starts_with("provider unavailable (tineye): ")
                && r.evidence[0].contains(want),
            "{endpoint}: {:?}",
            r.evidence
        );
        assert!(
            !r.evidence[0].contains(KEY),
            "the key leaked: {:?}",
            r.evidence
        );
    }
    let started = Instant::now();
    let r = detector(&server.endpoint("slow"), KEY, 300).detect(&media);
    assert!(
        started.elapsed() < Duration::from_secs(4),
        "{:?}",
        started.elapsed()
    );
    assert_eq!(r.verdict, DetectorVerdict::NotApplicable);
    assert_eq!(
        r.evidence,
        ["provider unavailable (tineye): no answer within 300ms"]
    );
}

#[test]
fn the_image_is_sent_only_where_the_configuration_enables_it() {
    let server = Server::start();
    let bytes = jpeg();
    let names = |c: &verity_detect::config::DetectorCatalog, enclave: &str| -> Vec<String> {
        c.ensemble_for(enclave)
            .describe()
            .into_iter()
            .map(|(n, _)| n)
            .collect()
    };
    let env = |name: &str| (name == "TEST_TINEYE_KEY").then(|| KEY.to_owned());
    let run = |text: &str, enclave: &str| {
        let config = DetectConfig::from_toml(text, Path::new(".")).unwrap();
        let catalog = config.instantiate_with_env(&env).unwrap();
        let has = names(&catalog, enclave).contains(&NAME.to_owned());
        catalog
            .ensemble_for(enclave)
            .run(&Media::new(&bytes, MediaFormat::Jpeg));
        has
    };
    let section = |enabled: bool| {
        format!(
            "[external_search]\nenabled = {enabled}\nprovider = \"tineye\"\n\
             endpoint = \"{}\"\napi_key_env = \"TEST_TINEYE_KEY\"\n",
            server.endpoint("ok")
        )
    };
    // Default configuration: no provider at all.
    assert!(!run("", "enclave-1"));
    assert!(DetectConfig::default().external_search.is_none());
    // Written out but disabled.
    assert!(!run(&section(false), "enclave-1"));
    // Enabled, with an enclave that opts out.
    let opted_out = format!(
        "{}\n[enclaves.enclave-2]\nexternal_search = false\n",
        section(true)
    );
    assert!(!run(&opted_out, "enclave-2"));
    assert_eq!(
        server.requests().len(),
        0,
        "an unconfigured enclave sent the image"
    );
    assert!(run(&opted_out, "enclave-1"));
    assert_eq!(server.requests().len(), 1);
    assert_eq!(server.requests()[0].image, bytes);

    // Misconfigurations are refused at start, naming the setting.
    let no_key = section(true).replace("TEST_TINEYE_KEY", "TEST_TINEYE_MISSING");
    let err = DetectConfig::from_toml(&no_key, Path::new("."))
        .unwrap()
        .instantiate_with_env(&env)
        .err()
        .unwrap();
    assert!(err.to_string().contains("TEST_TINEYE_MISSING"), "{err}");
    let forced = format!("{}\n[enclaves.e]\nexternal_search = true\n", section(false));
    let err = DetectConfig::from_toml(&forced, Path::new("."))
        .unwrap()
        .instantiate_with_env(&env)
        .err()
        .unwrap();
    assert!(err.to_string().contains("not enabled"), "{err}");
    let implicit = "[external_search]\nprovider = \"tineye\"\napi_key_env = \"K\"\n";
    let err = DetectConfig::from_toml(implicit, Path::new("."))
        .err()
        .unwrap();
    assert!(err.to_string().contains("enabled"), "{err}");
    assert_eq!(
        DetectConfig::from_toml(
            &section(true).replace(&server.endpoint("ok"), TINEYE_ENDPOINT),
            Path::new(".")
        )
        .unwrap()
        .external_search
        .unwrap()
        .endpoint,
        TINEYE_ENDPOINT
    );
}
