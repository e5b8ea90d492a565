//! The OpenAPI 3.1 description (`GET /api/openapi.json`) and its offline
//! reference page (`GET /api/docs`: Swagger UI, its files vendored into the
//! binary by `utoipa-swagger-ui` with feature `vendored`; no download at build
//! or run time).
//!
//! Each handler carries its own `#[utoipa::path]` annotation next to its code;
//! [`ApiDoc`] gathers them. Response shapes built with `json!` are described by
//! the documentation types below (never constructed): the black-box test
//! `openapi` checks that live responses use only the fields described here, and
//! the unit test below that every route of the router is described.

#![allow(dead_code)] // documentation types: read by the derive macros only

use std::collections::BTreeMap;

use axum::Json;
use axum::Router;
use serde::Serialize;
use utoipa::openapi::{OpenApi as Spec, PathItem};
use utoipa::{Modify, OpenApi, ToSchema};
use utoipa_swagger_ui::{Config, SwaggerUi};

use super::AppState;

/// Where the reference page is served.
pub const DOCS_PATH: &str = "/api/docs";

/// The description, gathered from the handlers' annotations.
#[derive(OpenApi)]
#[openapi(
    info(
        title = "Verity",
        description = "Is this image a real capture or AI-generated? Several verifier enclaves analyse an \
            upload, sign their reports, and a reputation- and stake-weighted consensus decides; the \
            final report lists every vote so anyone can recompute it.\n\nErrors are JSON \
            `{success: false, error: {code, message}}` with 400 (bad input), 403 (unknown or banned \
            enclave), 404 (unknown job or route), 405, 409 (state conflict), 413 (too large), \
            415 (not JPEG/PNG/WebP) or 503 (not ready). Every response carries an `x-request-id`.",
        license(name = "Apache-2.0"),
    ),
    paths(
        super::upload::upload,
        super::jobs::get_job,
        super::sse::job_events,
        super::jobs::job_reports,
        super::jobs::retry_job,
        super::jobs::oracles,
        super::reports::submit_report,
        super::enclaves::nonce,
        super::enclaves::register,
        super::enclaves::started,
        super::enclaves::reload,
        super::ledger::checkpoint,
        super::ledger::checkpoints,
        super::ledger::proof,
        super::ledger::consistency,
        super::ledger::receipt,
        super::disputes::open,
        super::disputes::view,
        super::disputes::evidence,
        super::disputes::equivocations,
        super::disputes::stake,
        super::disputes::admin_register,
        super::disputes::admin_slash,
        super::disputes::admin_stake,
        super::disputes::admin_withdraw,
        super::disputes::admin_ban,
        super::disputes::admin_unban,
        super::ops::health,
        super::ops::ready,
        super::ops::metrics,
        openapi_json,
        docs_page,
        super::ui::page,
        super::ui::asset,
    ),
    components(schemas(
        ErrorBody, ErrorDetail, crate::uploads::UploadAccepted, UploadForm, Job, JobStatus,
        Verdict, DetectorVerdict, AttestationKind, FinalReport, ConsensusMetadata, Vote,
        ModelSummary, EvidenceItem, SignedReport, EnclaveReport, DetectorResult, ReportsView,
        RetryAccepted, OraclesView, OracleView, ReportAccepted, Registration, Attestation,
        Registered, NonceIssued, StartedNotice, Accepted, Health, Ready, ReadyChecks, Check,
        CommitteeSelection, CommitteeCandidate,
    )),
    modifiers(&Aliases),
    tags(
        (name = "jobs", description = "Upload an image and follow its verification"),
        (name = "oracles", description = "The verifier enclaves and their economics"),
        (name = "enclaves", description = "For remote enclave workers: registration, progress and signed reports"),
        (name = "log", description = "The transparency log: checkpoints, proofs, receipts"),
        (name = "disputes", description = "Disputes, evidence and equivocation proofs"),
        (name = "admin", description = "Operator endpoints (bearer VERITY_ADMIN_TOKEN)"),
        (name = "operations", description = "Liveness, readiness, metrics and this description"),
        (name = "ui", description = "The web UI"),
    )
)]
pub struct ApiDoc;

/// Routes that answer exactly like another documented one (same handler).
pub const ALIASES: &[(&str, &str)] = &[
    ("/api/job/{jobId}", "/api/jobs/{jobId}"),
    ("/healthz", "/health"),
    ("/jobs/{jobId}", "/"),
    ("/oracles", "/"),
    ("/log", "/"),
];

/// Adds [`ALIASES`] as their own paths (operation ids suffixed `_alias`).
struct Aliases;

impl Modify for Aliases {
    fn modify(&self, openapi: &mut Spec) {
        for (alias, of) in ALIASES {
            let Some(item) = openapi.paths.paths.get(*of).cloned() else {
                continue;
            };
            let mut item: PathItem = item;
            let name = alias.trim_start_matches('/').replace(['/', '{', '}'], "_");
            for op in [&mut item.get, &mut item.post].into_iter().flatten() {
                op.operation_id = Some(format!(
                    "{}_alias_{name}",
                    op.operation_id.clone().unwrap_or_default()
                ));
                op.summary = op.summary.clone().map(|s| format!("{s} (alias of {of})"));
            }
            if !alias.contains('{') {
                // A page alias has no path parameter; `{jobId}` is declared by the original.
                for op in [&mut item.get, &mut item.post].into_iter().flatten() {
                    op.parameters = None;
                }
            } else if *of == "/" {
                for op in [&mut item.get].into_iter().flatten() {
                    op.parameters = Some(vec![job_id_param()]);
                }
            }
            openapi.paths.paths.insert((*alias).to_owned(), item);
        }
    }
}

fn job_id_param() -> utoipa::openapi::path::Parameter {
    utoipa::openapi::path::ParameterBuilder::new()
        .name("jobId")
        .parameter_in(utoipa::openapi::path::ParameterIn::Path)
        .required(utoipa::openapi::Required::True)
        .description(Some("A job id, `job_` followed by a ULID"))
        .schema(Some(
            utoipa::openapi::ObjectBuilder::new()
                .schema_type(utoipa::openapi::schema::Type::String),
        ))
        .build()
}

/// The description as served.
pub fn spec() -> Spec {
    let mut spec = ApiDoc::openapi();
    spec.info.version = env!("CARGO_PKG_VERSION").to_owned();
    spec
}

/// The routes: `/api/openapi.json` and the reference page.
pub(super) fn routes() -> Router<AppState> {
    // The page reads the description from `/api/openapi.json`; the online
    // validator badge (a request to swagger.io) is turned off.
    let config = Config::new(["/api/openapi.json"])
        .validator_url("none")
        .try_it_out_enabled(false);
    let docs: Router<AppState> = SwaggerUi::new(DOCS_PATH).config(config).into();
    Router::new()
        .route("/api/openapi.json", axum::routing::get(openapi_json))
        .merge(docs)
}

/// `GET /api/openapi.json`.
#[utoipa::path(get, path = "/api/openapi.json", tag = "operations",
    summary = "This OpenAPI 3.1 description",
    responses((status = 200, description = "The OpenAPI document", content_type = "application/json")))]
pub(super) async fn openapi_json() -> Json<Spec> {
    static SPEC: std::sync::OnceLock<Spec> = std::sync::OnceLock::new();
    Json(SPEC.get_or_init(spec).clone())
}

/// Documents `GET /api/docs` (served by `utoipa-swagger-ui`).
#[utoipa::path(get, path = "/api/docs", tag = "operations",
    summary = "The API reference page (Swagger UI, served from the binary: works offline)",
    responses(
        (status = 303, description = "Redirect to `/api/docs/`, the page (its files under `/api/docs/…`)"),
        (status = 200, description = "An HTML page", content_type = "text/html")))]
fn docs_page() {}

// ---------------------------------------------------------------------------
// Documentation types: the shapes of JSON built with `json!` in the handlers,
// and of domain types serialized by `verity-core` and `verity-crypto`.

/// An error: `{success: false, error: {code, message}}`.
#[derive(Serialize, ToSchema)]
pub struct ErrorBody {
    /// Always false.
    success: bool,
    /// What went wrong.
    error: ErrorDetail,
}

/// The error's code and message.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ErrorDetail {
    /// Stable machine-readable code, e.g. `unsupported_media_type`, `job_not_found`.
    code: String,
    /// What went wrong, for people.
    message: String,
    /// The request's `x-request-id`: quote it when reporting a problem.
    request_id: Option<String>,
}

/// The multipart form of `POST /api/upload`.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct UploadForm {
    /// The image: JPEG, PNG or WebP.
    #[schema(format = Binary, value_type = String)]
    file: Vec<u8>,
    /// Optional submitter id (at most 256 bytes).
    user_id: Option<String>,
}

/// A job's lifecycle state.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum JobStatus {
    /// Stored and queued; no enclave started.
    Pending,
    /// Enclaves are working.
    Processing,
    /// Decided; `report` is present.
    Completed,
    /// Too few reports by the deadline; retryable.
    Failed,
    /// A dispute is open; the verdict may change.
    Disputed,
}

/// A verdict.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum Verdict {
    /// A real capture.
    Real,
    /// AI-generated.
    AiGenerated,
    /// No decision.
    Uncertain,
}

/// A detector's verdict.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum DetectorVerdict {
    /// A real capture.
    Real,
    /// AI-generated.
    AiGenerated,
    /// No decision.
    Uncertain,
    /// The detector had nothing to say about this image.
    NotApplicable,
}

/// How an enclave's keys are attested.
#[derive(Serialize, ToSchema)]
pub enum AttestationKind {
    /// A self-signed development statement: proves nothing about where the key lives.
    #[serde(rename = "dev-insecure")]
    DevInsecure,
    /// A verified AWS Nitro Enclaves attestation document.
    #[serde(rename = "nitro")]
    Nitro,
}

/// `GET /api/jobs/{jobId}`.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Job {
    /// Always true.
    success: bool,
    /// `job_` followed by a ULID.
    job_id: String,
    /// Lifecycle state.
    status: JobStatus,
    /// 0–100.
    progress: u32,
    /// The current round (0 first, +1 per retry or re-verification).
    round: u32,
    /// RFC 3339.
    created_at: String,
    /// RFC 3339.
    updated_at: String,
    /// SHA-256 of the upload, hex.
    media_hash: String,
    /// Id of the encrypted blob.
    #[serde(rename = "mediaCID")]
    media_cid: String,
    /// `local`, `s3` or `walrus`.
    storage_provider: String,
    /// Sniffed type.
    mime_type: String,
    /// Pixels.
    width: u32,
    /// Pixels.
    height: u32,
    /// The enclaves asked to report in this round.
    committee: Vec<String>,
    /// Reports stored for this round.
    reports_received: u32,
    /// RFC 3339: when the round stops waiting for reports.
    deadline: String,
    /// The submitter id, when one was given.
    user_id: Option<String>,
    /// Why the job failed.
    failure_reason: Option<String>,
    /// Whether `POST /api/jobs/{jobId}/retry` may be used.
    retryable: Option<bool>,
    /// The signed final report, once decided.
    report: Option<FinalReport>,
}

/// The aggregator's signed result for one round.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct FinalReport {
    /// The job.
    job_id: String,
    /// The round this report decides.
    round: u32,
    /// The consensus verdict.
    verdict: Verdict,
    /// `agreementRate ×` the weighted mean confidence of the winning votes, 0–1.
    confidence: f64,
    /// How the verdict was reached.
    consensus_metadata: ConsensusMetadata,
    /// Per-detector summaries by detector name.
    models: BTreeMap<String, ModelSummary>,
    /// Evidence from the winning votes.
    evidence: Vec<EvidenceItem>,
    /// SHA-256 of the media, hex.
    media_sha256: String,
    /// How the round's committee was chosen; signed (domain
    /// `verity/final-report/v2`). Absent in reports of rounds queued before it was recorded.
    committee: Option<CommitteeSelection>,
    /// SHA-256 of the canonical signed bytes, hex.
    report_digest: String,
    /// Ed25519 signature by the aggregator, hex.
    aggregator_signature: String,
    /// The aggregator's Ed25519 public key, hex.
    aggregator_key: String,
}

/// The record of a committee choice: recompute it with `core::committee`
/// (docs/DISPUTES.md "Committees").
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct CommitteeSelection {
    /// `verity/committee/v1` (stake-weighted sample of `size`, seeded by the
    /// job id) or `verity/committee/escalated/v1` (every candidate).
    rule: String,
    /// True for a re-verification's escalated committee.
    escalated: bool,
    /// The seed: the job id.
    seed: String,
    /// Members the rule asked for.
    size: u32,
    /// Every eligible oracle with its weight at the time, by enclave id.
    candidates: Vec<CommitteeCandidate>,
    /// The chosen members, by enclave id.
    members: Vec<String>,
}

/// An eligible oracle and its weight when the committee was chosen.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct CommitteeCandidate {
    /// The oracle.
    enclave_id: String,
    /// `reputation × sqrt(stake / 100)` at the time.
    weight: f64,
}

/// How the consensus was reached.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ConsensusMetadata {
    /// Winning weight ÷ total weight, 0–1.
    agreement_rate: f64,
    /// Counted reports.
    participating_enclaves: u32,
    /// Unix milliseconds.
    consensus_timestamp: u64,
    /// Share of weight needed (`CONSENSUS_THRESHOLD`).
    threshold: f64,
    /// Whether the winner reached it; below it the verdict is low-confidence only.
    threshold_met: bool,
    /// Distinct enclaves required (`MIN_ENCLAVES`).
    min_enclaves: u32,
    /// True when the top verdicts tied (the result is then `UNCERTAIN`).
    tie: bool,
    /// Every counted vote.
    votes: Vec<Vote>,
}

/// One counted vote, with what its weight was computed from.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Vote {
    /// The enclave.
    enclave_id: String,
    /// Its verdict.
    verdict: Verdict,
    /// Its confidence, 0–1.
    confidence: f64,
    /// Reputation when counted, 0–1.
    reputation: f64,
    /// Stake when counted.
    stake: u64,
    /// `reputation × sqrt(stake / 100)`.
    weight: f64,
    /// Digest of its signed report, hex.
    report_digest: String,
    /// How its key is attested.
    attestation: AttestationKind,
}

/// A detector's summary across the counted reports.
#[derive(Serialize, ToSchema)]
pub struct ModelSummary {
    /// Weighted majority of the detector's verdicts.
    verdict: DetectorVerdict,
    /// Weighted mean confidence of the enclaves that agree, 0–1.
    confidence: f64,
    /// Version(s), joined with `,` when enclaves differ.
    version: String,
}

/// Evidence a person can read.
#[derive(Serialize, ToSchema)]
pub struct EvidenceItem {
    /// The detector that found it.
    detector: String,
    /// What it found.
    message: String,
}

/// An enclave report with its signature.
#[derive(Serialize, ToSchema)]
pub struct SignedReport {
    /// The signed content.
    report: EnclaveReport,
    /// Ed25519 signature over the report's canonical bytes, hex.
    signature: String,
    /// Optional Ed25519 signature in the Sui Nautilus layout (docs/RECEIPT.md), hex.
    #[serde(rename = "nautilusSignature")]
    nautilus_signature: Option<String>,
}

/// What an enclave signs for one job round.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct EnclaveReport {
    /// The job.
    job_id: String,
    /// The round.
    round: u32,
    /// The signer.
    enclave_id: String,
    /// SHA-256 of the decrypted media, hex.
    media_sha256: String,
    /// The ensemble's verdict.
    verdict: Verdict,
    /// The ensemble's confidence, 0–1.
    confidence: f64,
    /// Every detector's result.
    detectors: Vec<DetectorResult>,
    /// How the enclave's key is attested.
    attestation: AttestationKind,
    /// Unix milliseconds.
    timestamp_ms: u64,
}

/// One detector's result inside an enclave report.
#[derive(Serialize, ToSchema)]
pub struct DetectorResult {
    /// Detector name.
    name: String,
    /// Detector or model version.
    version: String,
    /// What it concluded.
    verdict: DetectorVerdict,
    /// How sure, 0–1.
    confidence: f64,
    /// Evidence in words.
    evidence: Vec<String>,
}

/// `GET /api/jobs/{jobId}/reports`.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ReportsView {
    /// Always true.
    success: bool,
    /// The job.
    job_id: String,
    /// The current round.
    round: u32,
    /// Its signed enclave reports.
    reports: Vec<SignedReport>,
}

/// `POST /api/jobs/{jobId}/retry` → 202.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct RetryAccepted {
    /// Always true.
    success: bool,
    /// The job.
    job_id: String,
    /// The new round.
    round: u32,
    /// `PENDING`.
    status: JobStatus,
}

/// `GET /api/oracles`.
#[derive(Serialize, ToSchema)]
pub struct OraclesView {
    /// Always true.
    success: bool,
    /// Every registered enclave.
    oracles: Vec<OracleView>,
}

/// A registered enclave.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct OracleView {
    /// Its identity.
    enclave_id: String,
    /// 0–1.
    reputation: f64,
    /// Whole tokens.
    stake: u64,
    /// `reputation × sqrt(stake / 100)`.
    weight: f64,
    /// Times slashed.
    slashes: u32,
    /// Its reports counted in the consensus of decided rounds (every round,
    /// including rounds later overturned by a dispute).
    reports_counted: u64,
    /// Banned enclaves' reports are not counted.
    banned: bool,
    /// Why it was banned.
    ban_reason: Option<String>,
    /// How its keys are attested.
    attestation: AttestationKind,
    /// Ed25519 public key, hex.
    signing_key: String,
    /// X25519 public key, hex.
    encryption_key: String,
    /// RFC 3339.
    registered_at: String,
    /// The stored attestation: `{kind, pcr0Prefix, debug, verifiedAt, expiresAt,
    /// revokedAt, revokeReason, valid}` (docs/ATTESTATION.md); absent when none.
    attestation_status: Option<serde_json::Value>,
}

/// `POST /api/enclaves/reports` → 202 (new) or 200 (a duplicate of a stored report).
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ReportAccepted {
    /// Always true.
    success: bool,
    /// The report's digest, hex.
    report_digest: String,
    /// True when the same signed report was already stored.
    duplicate: bool,
}

/// `POST /api/enclaves/register`.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Registration {
    /// The identity.
    enclave_id: String,
    /// The attestation binding its keys.
    attestation: Attestation,
}

/// A development attestation (`kind: "dev-insecure"`), self-signed.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Attestation {
    /// `dev-insecure`.
    kind: String,
    /// The identity.
    enclave_id: String,
    /// Ed25519 public key, hex.
    signing_key: String,
    /// X25519 public key, hex.
    encryption_key: String,
    /// Unix milliseconds.
    issued_at_ms: u64,
    /// Ed25519 signature over the statement, hex.
    signature: String,
    /// The nonce from `POST /api/enclaves/nonce` it answers, hex (signed with the rest).
    nonce: Option<String>,
}

/// `POST /api/enclaves/nonce` → 201.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct NonceIssued {
    /// Always true.
    success: bool,
    /// 32 random bytes, hex.
    nonce: String,
    /// When it was issued.
    issued_at: String,
    /// When it stops being accepted.
    expires_at: String,
    /// Milliseconds from issue to expiry.
    expires_in_ms: u64,
}

/// `POST /api/enclaves/register` → 200.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Registered {
    /// Always true.
    success: bool,
    /// The identity.
    enclave_id: String,
    /// The attestation kind.
    attestation: AttestationKind,
    /// 0–1.
    reputation: f64,
    /// Whole tokens.
    stake: u64,
    /// Whether it is banned.
    banned: bool,
}

/// A signed "started" notice.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct StartedNotice {
    /// The job.
    job_id: String,
    /// The round.
    round: u32,
    /// The enclave.
    enclave_id: String,
    /// Unix milliseconds.
    timestamp_ms: u64,
    /// Ed25519 signature by the enclave, hex.
    signature: String,
}

/// `{success: true}`.
#[derive(Serialize, ToSchema)]
pub struct Accepted {
    /// Always true.
    success: bool,
}

/// `GET /health`.
#[derive(Serialize, ToSchema)]
pub struct Health {
    /// `ok`.
    status: String,
    /// The server's version.
    version: String,
}

/// `GET /readyz`.
#[derive(Serialize, ToSchema)]
pub struct Ready {
    /// True when every check passed.
    ready: bool,
    /// Each dependency.
    checks: ReadyChecks,
}

/// The dependencies `/readyz` checks.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ReadyChecks {
    /// The database.
    database: Check,
    /// The queue.
    queue: Check,
    /// The blob store.
    blob_store: Check,
}

/// One readiness check.
#[derive(Serialize, ToSchema)]
pub struct Check {
    /// Whether it answered.
    ok: bool,
    /// Why not.
    error: Option<String>,
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The router's paths, read from the `route` calls in the source of
    /// `mod.rs`, `ui.rs` and this file, with `{param}` names normalised.
    fn router_paths() -> Vec<String> {
        let sources = [
            include_str!("mod.rs"),
            include_str!("ui.rs"),
            include_str!("openapi.rs"),
        ];
        let mut paths = Vec::new();
        for source in sources {
            for piece in source.split(".route(").skip(1) {
                // A route call, its path literal possibly on the next line.
                if let Some(rest) = piece.trim_start().strip_prefix("\"/") {
                    paths.push(normalise(&format!("/{}", rest.split('"').next().unwrap())));
                }
            }
        }
        paths.push(normalise(DOCS_PATH));
        paths.sort();
        paths.dedup();
        paths
    }

    fn normalise(path: &str) -> String {
        let mut out = String::new();
        let mut in_param = false;
        for c in path.chars() {
            match c {
                '{' => {
                    in_param = true;
                    out.push_str("{}");
                }
                '}' => in_param = false,
                _ if in_param => {}
                _ => out.push(c),
            }
        }
        out
    }

    #[test]
    fn every_route_of_the_router_is_described() {
        let spec = spec();
        let described: Vec<String> = spec.paths.paths.keys().map(|p| normalise(p)).collect();
        let routes = router_paths();
        assert!(routes.len() > 15, "{routes:?}");
        for route in &routes {
            assert!(
                described.contains(route),
                "{route} is served but not described in the OpenAPI document"
            );
        }
        for path in &described {
            assert!(routes.contains(path), "{path} is described but not served");
        }
    }

    #[test]
    fn the_document_is_openapi_3_1_with_unique_operation_ids() {
        let value = serde_json::to_value(spec()).unwrap();
        assert!(value["openapi"].as_str().unwrap().starts_with("3.1."));
        let mut ids = Vec::new();
        for (path, item) in value["paths"].as_object().unwrap() {
            for (method, op) in item.as_object().unwrap() {
                let id = op["operationId"]
                    .as_str()
                    .unwrap_or_else(|| panic!("{method} {path} has no operationId"));
                assert!(!ids.contains(&id.to_owned()), "duplicate operationId {id}");
                ids.push(id.to_owned());
                assert!(
                    op["responses"].as_object().is_some_and(|r| !r.is_empty()),
                    "{method} {path} has no responses"
                );
            }
        }
    }
}
