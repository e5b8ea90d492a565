/// Verity enclave reports in the Nautilus layout.
///
/// An enclave signs `bcs(IntentMessage { intent: 0, timestamp_ms, payload:
/// VerityReport { … } })` with its Ed25519 key (see
/// `verity_crypto::nautilus`), so a report can be checked on chain with
/// Nautilus' `enclave::verify_signature(enclave, INTENT, timestamp_ms,
/// report, signature)` or, given the raw key, with `verify` below.
module verity::report;

use std::string::String;
use sui::bcs;
use sui::ed25519;

/// Intent scope of Verity enclave reports.
const INTENT: u8 = 0;

/// The chain-checkable summary of an enclave report.
public struct VerityReport has copy, drop, store {
    job_id: String,
    round: u64,
    enclave_id: String,
    media_sha256: vector<u8>,
    verdict: u8,
    confidence_bp: u64,
    report_digest: vector<u8>,
}

/// Nautilus' intent message.
public struct IntentMessage<T: drop> has copy, drop {
    intent: u8,
    timestamp_ms: u64,
    data: T,
}

/// A report value.
public fun new(
    job_id: String,
    round: u64,
    enclave_id: String,
    media_sha256: vector<u8>,
    verdict: u8,
    confidence_bp: u64,
    report_digest: vector<u8>,
): VerityReport {
    VerityReport { job_id, round, enclave_id, media_sha256, verdict, confidence_bp, report_digest }
}

/// The bytes an enclave signs for `report` at `timestamp_ms`.
public fun signed_bytes(report: VerityReport, timestamp_ms: u64): vector<u8> {
    bcs::to_bytes(&IntentMessage { intent: INTENT, timestamp_ms, data: report })
}

/// Whether `signature` is `public_key`'s signature of `report` at `timestamp_ms`.
public fun verify(
    report: VerityReport,
    timestamp_ms: u64,
    public_key: &vector<u8>,
    signature: &vector<u8>,
): bool {
    ed25519::ed25519_verify(signature, public_key, &signed_bytes(report, timestamp_ms))
}

/// The verdict code (1 REAL, 2 AI_GENERATED, 3 UNCERTAIN; see verity-core canonical).
public fun verdict(report: &VerityReport): u8 { report.verdict }
