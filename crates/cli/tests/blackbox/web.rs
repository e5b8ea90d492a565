//! The web UI's assets, the OpenAPI description, `/metrics` and request ids,
//! against the real binary. (The UI itself is tested in a real browser by
//! `scripts/ci-browser.sh`.)

use std::collections::BTreeMap;

use serde_json::Value;

use crate::harness::{Options, Server, client, fixture};

/// A Prometheus text exposition parsed into `name{labels}` → value.
fn parse_metrics(text: &str) -> BTreeMap<String, f64> {
    let mut out = BTreeMap::new();
    for line in text.lines() {
        if line.is_empty() || line.starts_with('#') {
            if let Some(rest) = line.strip_prefix("# TYPE ") {
                let kind = rest.split_whitespace().nth(1).unwrap_or("");
                assert!(
                    ["counter", "gauge", "histogram", "summary", "untyped"].contains(&kind),
                    "bad TYPE line: {line}"
                );
            }
            continue;
        }
        let (series, value) = line
            .rsplit_once(' ')
            .unwrap_or_else(|| panic!("not a sample line: {line}"));
        let value: f64 = match value {
            "+Inf" => f64::INFINITY,
            "-Inf" => f64::NEG_INFINITY,
            v => v.parse().unwrap_or_else(|_| panic!("bad value in {line}")),
        };
        let name_end = series.find('{').unwrap_or(series.len());
        let name = &series[..name_end];
        assert!(
            !name.is_empty()
                && name
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == ':'),
            "bad metric name in {line}"
        );
        if name_end < series.len() {
            assert!(series.ends_with('}'), "unclosed labels in {line}");
        }
        out.insert(series.to_owned(), value);
    }
    out
}

/// The sum of every sample of `name` whose labels contain all of `labels`.
fn sum(metrics: &BTreeMap<String, f64>, name: &str, labels: &[&str]) -> f64 {
    metrics
        .iter()
        .filter(|(series, _)| {
            series.split('{').next() == Some(name) && labels.iter().all(|l| series.contains(l))
        })
        .map(|(_, v)| v)
        .sum()
}

async fn metrics(server: &Server) -> BTreeMap<String, f64> {
    let response = client().get(server.url("/metrics")).send().await.unwrap();
    assert_eq!(response.status(), 200);
    assert!(
        response.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/plain")
    );
    parse_metrics(&response.text().await.unwrap())
}

#[tokio::test]
async fn metrics_parse_and_count_an_upload_by_route() {
    let server = Server::start(Options::default()).await;
    let before = metrics(&server).await;
    let job = server
        .upload_ok(fixture("a1111_parameters.png"), "a.png")
        .await;
    server.wait_decided(&job).await;
    let after = metrics(&server).await;

    let uploads = |m: &BTreeMap<String, f64>| sum(m, "verity_uploads_total", &[]);
    assert_eq!(uploads(&after) - uploads(&before), 1.0, "{after:?}");
    let route = "route=\"/api/upload\"";
    assert_eq!(
        sum(
            &after,
            "verity_http_requests_total",
            &[route, "status=\"202\"", "method=\"POST\""]
        ) - sum(
            &before,
            "verity_http_requests_total",
            &[route, "status=\"202\""]
        ),
        1.0
    );
    assert!(
        sum(
            &after,
            "verity_http_request_duration_seconds_count",
            &[route]
        ) >= 1.0
    );
    // Ids never become labels: the job route is counted under its pattern.
    assert!(
        !after.keys().any(|k| k.contains(&job)),
        "a job id leaked into a label"
    );
    assert_eq!(sum(&after, "verity_build_info", &["version=\""]), 1.0);
    assert!(sum(&after, "verity_process_start_time_seconds", &[]) > 1.7e9);
    assert!(
        sum(
            &after,
            "verity_consensus_total",
            &["verdict=\"AI_GENERATED\""]
        ) >= 1.0
    );
    assert!(sum(&after, "verity_jobs", &["status=\"COMPLETED\""]) >= 1.0);
    if server.mode == crate::harness::Mode::Embedded {
        assert_eq!(
            sum(&after, "verity_enclave_report_seconds_count", &[]),
            3.0,
            "one latency sample per enclave report"
        );
    }
}

#[tokio::test]
async fn error_bodies_carry_the_request_id_of_the_response() {
    let server = Server::start(Options::default()).await;
    let response = client()
        .get(server.url("/api/jobs/job_nope"))
        .send()
        .await
        .unwrap();
    let id = response.headers()["x-request-id"]
        .to_str()
        .unwrap()
        .to_owned();
    assert_eq!(response.status(), 400);
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["success"], false);
    assert_eq!(body["error"]["requestId"], id.as_str());
    // A caller's own id is kept.
    let response = client()
        .get(server.url("/no/such/route"))
        .header("x-request-id", "support-ticket-42")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 404);
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["error"]["code"], "route_not_found");
    assert_eq!(body["error"]["requestId"], "support-ticket-42");
}

#[tokio::test]
async fn the_ui_is_embedded_and_loads_nothing_from_elsewhere() {
    let server = Server::start(Options::default()).await;
    let http = client();
    let page = http.get(server.url("/")).send().await.unwrap();
    assert_eq!(page.status(), 200);
    assert!(
        page.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/html")
    );
    let csp = page.headers()["content-security-policy"]
        .to_str()
        .unwrap()
        .to_owned();
    assert!(csp.contains("default-src 'self'"), "{csp}");
    let html = page.text().await.unwrap();
    // Every page of the UI is the same document.
    for path in ["/oracles", "/log", "/jobs/job_01JD5Y8ZP1W3Q9V4M2C7K6H0XR"] {
        let other = http.get(server.url(path)).send().await.unwrap();
        assert_eq!(other.status(), 200, "{path}");
        assert_eq!(other.text().await.unwrap(), html, "{path}");
    }
    // Every asset the page refers to is served; modules import only embedded modules.
    let mut pending: Vec<String> = html
        .split("/assets/")
        .skip(1)
        .map(|s| s.split('"').next().unwrap().to_owned())
        .collect();
    let mut seen = Vec::new();
    while let Some(name) = pending.pop() {
        if seen.contains(&name) {
            continue;
        }
        let response = http
            .get(server.url(&format!("/assets/{name}")))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 200, "/assets/{name}");
        let etag = response.headers()["etag"].to_str().unwrap().to_owned();
        let body = response.text().await.unwrap();
        assert!(
            !body.contains("https://"),
            "{name} refers to another origin"
        );
        for import in body.split("from './").skip(1) {
            pending.push(import.split('\'').next().unwrap().to_owned());
        }
        let again = http
            .get(server.url(&format!("/assets/{name}")))
            .header("if-none-match", &etag)
            .send()
            .await
            .unwrap();
        assert_eq!(again.status(), 304, "{name} revalidates by ETag");
        seen.push(name);
    }
    assert!(seen.len() >= 10, "{seen:?}");
    let missing = http
        .get(server.url("/assets/nope.js"))
        .send()
        .await
        .unwrap();
    assert_eq!(missing.status(), 404);
    let body: Value = missing.json().await.unwrap();
    assert_eq!(body["error"]["code"], "asset_not_found");
}

/// Resolves a local `$ref` (`#/components/schemas/X`).
fn resolve<'a>(spec: &'a Value, reference: &str) -> &'a Value {
    let pointer = reference
        .strip_prefix('#')
        .unwrap_or_else(|| panic!("non-local $ref {reference}"));
    spec.pointer(pointer)
        .unwrap_or_else(|| panic!("dangling $ref {reference}"))
}

fn check_refs(spec: &Value, node: &Value) {
    match node {
        Value::Object(map) => {
            if let Some(Value::String(r)) = map.get("$ref") {
                resolve(spec, r);
            }
            for v in map.values() {
                check_refs(spec, v);
            }
        }
        Value::Array(items) => items.iter().for_each(|v| check_refs(spec, v)),
        _ => {}
    }
}

/// The property names of component schema `name`, and the required ones.
fn schema_fields(spec: &Value, name: &str) -> (Vec<String>, Vec<String>) {
    let schema = &spec["components"]["schemas"][name];
    let props = schema["properties"]
        .as_object()
        .unwrap_or_else(|| panic!("schema {name} has no properties"));
    let required = schema["required"]
        .as_array()
        .map(|r| r.iter().map(|v| v.as_str().unwrap().to_owned()).collect())
        .unwrap_or_default();
    (props.keys().cloned().collect(), required)
}

/// `value`'s fields are all described by schema `name`, and its required ones are present.
fn assert_described(spec: &Value, name: &str, value: &Value) {
    let (props, required) = schema_fields(spec, name);
    let object = value
        .as_object()
        .unwrap_or_else(|| panic!("{name}: not an object: {value}"));
    for key in object.keys() {
        assert!(
            props.contains(key),
            "{name}: field `{key}` is not described"
        );
    }
    for key in &required {
        assert!(
            object.contains_key(key),
            "{name}: required field `{key}` is missing in {value}"
        );
    }
}

#[tokio::test]
async fn openapi_is_valid_3_1_describes_every_route_and_matches_the_responses() {
    let server = Server::start(Options::default()).await;
    let http = client();
    let response = http
        .get(server.url("/api/openapi.json"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let spec: Value = response.json().await.unwrap();
    assert!(
        spec["openapi"].as_str().unwrap().starts_with("3.1."),
        "{}",
        spec["openapi"]
    );
    assert_eq!(spec["info"]["title"], "Verity");
    assert!(spec["info"]["version"].is_string());
    check_refs(&spec, &spec);

    let job = server
        .upload_ok(fixture("xmp_dst_trainedAlgorithmicMedia.jpg"), "x.jpg")
        .await;
    let decided = server.wait_decided(&job).await;

    // Every operation is well formed, and the server answers it (no 404 route_not_found, no 405).
    let paths = spec["paths"].as_object().unwrap();
    for required in [
        "/api/upload",
        "/api/job/{jobId}",
        "/api/jobs/{jobId}",
        "/api/jobs/{jobId}/events",
        "/api/jobs/{jobId}/reports",
        "/api/jobs/{jobId}/retry",
        "/api/oracles",
        "/api/enclaves/reports",
        "/api/enclaves/register",
        "/api/enclaves/started",
        "/health",
        "/healthz",
        "/readyz",
        "/metrics",
        "/api/openapi.json",
        "/api/docs",
        "/",
    ] {
        assert!(paths.contains_key(required), "{required} is not described");
    }
    let mut operation_ids = Vec::new();
    for (path, item) in paths {
        for (method, op) in item.as_object().unwrap() {
            let id = op["operationId"].as_str().unwrap().to_owned();
            assert!(!operation_ids.contains(&id), "duplicate operationId {id}");
            operation_ids.push(id);
            assert!(!op["responses"].as_object().unwrap().is_empty());
            // Every `{param}` of the path is declared as a path parameter.
            for param in path
                .split('{')
                .skip(1)
                .map(|s| s.split('}').next().unwrap())
            {
                let declared = op["parameters"].as_array().is_some_and(|ps| {
                    ps.iter()
                        .any(|p| p["name"] == param && p["in"] == "path" && p["required"] == true)
                });
                assert!(
                    declared,
                    "{method} {path}: path parameter {param} not declared"
                );
            }
            let concrete = path.replace("{jobId}", &job).replace("{name}", "app.js");
            let url = server.url(&concrete);
            let answer = match method.as_str() {
                "get" => http.get(&url).send().await.unwrap(),
                "post" => http.post(&url).body("{}").send().await.unwrap(),
                other => panic!("unexpected method {other} on {path}"),
            };
            let status = answer.status().as_u16();
            assert_ne!(status, 405, "{method} {path}");
            if status == 404 {
                let body: Value = answer.json().await.unwrap_or(Value::Null);
                assert_ne!(
                    body["error"]["code"], "route_not_found",
                    "{method} {path} is described but not served"
                );
            } else if method == "get" && path != "/readyz" {
                // Some GETs need state this job may not have reached (a dispute,
                // a published checkpoint) or query parameters: those answer a
                // described 4xx JSON error, never a server error.
                assert!(status < 500, "GET {path}: {status}");
                if !answer.status().is_success() {
                    let body: Value = answer.json().await.unwrap_or(Value::Null);
                    assert_eq!(body["success"], false, "GET {path}: {status} {body}");
                }
            }
        }
    }

    // Live responses use only described fields (and every required one).
    assert_described(&spec, "Job", &decided);
    let report = &decided["report"];
    assert_described(&spec, "FinalReport", report);
    assert_described(&spec, "ConsensusMetadata", &report["consensusMetadata"]);
    for vote in report["consensusMetadata"]["votes"].as_array().unwrap() {
        assert_described(&spec, "Vote", vote);
    }
    for model in report["models"].as_object().unwrap().values() {
        assert_described(&spec, "ModelSummary", model);
    }
    assert_described(&spec, "CommitteeSelection", &report["committee"]);
    for candidate in report["committee"]["candidates"].as_array().unwrap() {
        assert_described(&spec, "CommitteeCandidate", candidate);
    }
    let oracles = server.oracles().await;
    assert_described(&spec, "OraclesView", &oracles);
    for oracle in oracles["oracles"].as_array().unwrap() {
        assert_described(&spec, "OracleView", oracle);
    }
    let reports: Value = http
        .get(server.url(&format!("/api/jobs/{job}/reports")))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_described(&spec, "ReportsView", &reports);
    for signed in reports["reports"].as_array().unwrap() {
        assert_described(&spec, "SignedReport", signed);
        assert_described(&spec, "EnclaveReport", &signed["report"]);
        for d in signed["report"]["detectors"].as_array().unwrap() {
            assert_described(&spec, "DetectorResult", d);
        }
    }
    let upload: Value = server
        .upload(fixture("no_metadata.jpg"), "n.jpg")
        .await
        .json()
        .await
        .unwrap();
    assert_described(&spec, "UploadAccepted", &upload);
    let health: Value = http
        .get(server.url("/health"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_described(&spec, "Health", &health);
    let ready: Value = http
        .get(server.url("/readyz"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_described(&spec, "Ready", &ready);
    let error: Value = http
        .get(server.url("/api/jobs/job_x"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_described(&spec, "ErrorBody", &error);
    assert_described(&spec, "ErrorDetail", &error["error"]);

    // The reference page is served from the binary and refers to nothing outside.
    let docs = http.get(server.url("/api/docs")).send().await.unwrap();
    assert_eq!(docs.status(), 200, "after the redirect to /api/docs/");
    let html = docs.text().await.unwrap();
    assert!(html.contains("swagger-ui"), "{html}");
    assert!(
        !html.contains("http://") && !html.contains("https://"),
        "{html}"
    );
    for asset in html
        .split("src=\"./")
        .chain(html.split("href=\"./"))
        .skip(1)
    {
        let name = asset.split('"').next().unwrap();
        if name.contains("swagger") || name.ends_with(".css") || name.ends_with(".js") {
            let response = http
                .get(server.url(&format!("/api/docs/{name}")))
                .send()
                .await
                .unwrap();
            assert_eq!(response.status(), 200, "/api/docs/{name}");
        }
    }
    let init = http
        .get(server.url("/api/docs/swagger-initializer.js"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(init.contains("\"url\": \"/api/openapi.json\""), "{init}");
    assert!(
        init.contains("\"validatorUrl\": \"none\""),
        "no call to the online validator: {init}"
    );
}
