//! Metric names and the Prometheus recorder.

use metrics_exporter_prometheus::{PrometheusBuilder, PrometheusHandle};
use verity_core::FinalReport;
use verity_store::now_ms;

/// Uploads accepted (202).
pub const UPLOADS: &str = "verity_uploads_total";
/// Uploads refused, by `reason`.
pub const UPLOADS_REJECTED: &str = "verity_uploads_rejected_total";
/// Enclave reports accepted.
pub const REPORTS_ACCEPTED: &str = "verity_reports_accepted_total";
/// Enclave reports refused, by `reason`.
pub const REPORTS_REJECTED: &str = "verity_reports_rejected_total";
/// Equivocations detected.
pub const EQUIVOCATIONS: &str = "verity_equivocations_total";
/// Rounds decided, by `verdict` and `threshold_met`.
pub const CONSENSUS: &str = "verity_consensus_total";
/// Rounds failed for too few reports.
pub const JOBS_FAILED: &str = "verity_jobs_failed_total";
/// Enclave attestations verified and registered, by `kind`.
pub const ATTESTATIONS_ACCEPTED: &str = "verity_attestations_accepted_total";
/// Enclave attestations refused, by `reason`.
pub const ATTESTATIONS_REFUSED: &str = "verity_attestations_refused_total";
/// Attestation challenges issued (`POST /api/enclaves/nonce`).
pub const ATTESTATION_NONCES_ISSUED: &str = "verity_attestation_nonces_issued_total";
/// Enclave attestations revoked by a PCR allow-list reload.
pub const ATTESTATIONS_REVOKED: &str = "verity_attestations_revoked_total";
/// Reports refused because their key is not bound by a valid attestation, by `reason`.
pub const REPORTS_UNATTESTED: &str = "verity_reports_unattested_total";
/// Seconds from upload to a decided round.
pub const UPLOAD_TO_VERDICT: &str = "verity_upload_to_verdict_seconds";

/// Installs the process-wide Prometheus recorder once and returns its handle.
pub fn install() -> PrometheusHandle {
    static HANDLE: std::sync::OnceLock<PrometheusHandle> = std::sync::OnceLock::new();
    HANDLE
        .get_or_init(|| {
            let recorder = PrometheusBuilder::new()
                .set_buckets(&[
                    0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0,
                ])
                .expect("static buckets are valid")
                .build_recorder();
            let handle = recorder.handle();
            build_info(&recorder);
            // Another recorder may exist (tests embedding several nodes); keep ours for rendering.
            let _ = metrics::set_global_recorder(recorder);
            handle
        })
        .clone()
}

/// Constant 1, labelled with the version and build profile.
pub const BUILD_INFO: &str = "verity_build_info";
/// Unix time the process started, in seconds.
pub const START_TIME: &str = "verity_process_start_time_seconds";
/// Seconds from upload to each enclave's accepted report (first round), by `enclave`.
pub const ENCLAVE_REPORT: &str = "verity_enclave_report_seconds";

/// Records [`BUILD_INFO`] and [`START_TIME`] in `recorder`.
fn build_info(recorder: &metrics_exporter_prometheus::PrometheusRecorder) {
    metrics::with_local_recorder(recorder, || {
        let profile = if cfg!(debug_assertions) {
            "debug"
        } else {
            "release"
        };
        metrics::gauge!(BUILD_INFO, "version" => env!("CARGO_PKG_VERSION"), "profile" => profile)
            .set(1.0);
        metrics::gauge!(START_TIME).set(now_ms() as f64 / 1000.0);
    });
}

/// Records how long after the upload an enclave's report for round 0 was accepted.
pub fn record_report(enclave: &str, round: u32, job_created_ms: u64) {
    if round == 0 {
        let seconds = now_ms().saturating_sub(job_created_ms) as f64 / 1000.0;
        metrics::histogram!(ENCLAVE_REPORT, "enclave" => enclave.to_owned()).record(seconds);
    }
}

/// Counts a decided round.
pub fn record_decision(report: &FinalReport, created_ms: u64) {
    metrics::counter!(CONSENSUS, "verdict" => report.verdict.as_str(),
        "threshold_met" => if report.consensus_metadata.threshold_met { "true" } else { "false" })
    .increment(1);
    let seconds = now_ms().saturating_sub(created_ms) as f64 / 1000.0;
    metrics::histogram!(UPLOAD_TO_VERDICT).record(seconds);
}
