//! Canonical, domain-separated byte encodings of what gets signed.
//!
//! Each encoding is `DOMAIN || 0x00 || BCS(body)`. BCS (Binary Canonical
//! Serialization, the encoding Sui uses) gives one byte string per value; the
//! domain prefix makes a signature for one kind of message useless for any
//! other. Floats are encoded by their IEEE-754 bit pattern (BCS has no float
//! type), so a verifier that recomputes a weight bit-for-bit can compare it.
//!
//! A final report with a committee record is signed under
//! [`FINAL_REPORT_DOMAIN_V2`]: the v1 body followed by the record. One
//! without (a round queued before committees were recorded) keeps its v1
//! bytes, so earlier signatures still verify; removing the record from a v2
//! report changes the domain and the bytes, so its signature fails.

use serde::Serialize;

use crate::committee::CommitteeSelection;
use crate::report::{EnclaveReport, FinalReport};
use crate::verdict::{DetectorVerdict, Verdict};

/// Domain of enclave report signatures.
pub const ENCLAVE_REPORT_DOMAIN: &[u8] = b"verity/enclave-report/v1";
/// Domain of final report signatures (reports without a committee record).
pub const FINAL_REPORT_DOMAIN: &[u8] = b"verity/final-report/v1";
/// Domain of final report signatures that cover the committee record.
pub const FINAL_REPORT_DOMAIN_V2: &[u8] = b"verity/final-report/v2";

#[derive(Serialize)]
struct ReportBody<'a> {
    job_id: &'a str,
    round: u32,
    enclave_id: &'a str,
    media_sha256: [u8; 32],
    verdict: u8,
    confidence_bp: u16,
    detectors: Vec<DetectorBody<'a>>,
    attestation: &'a str,
    timestamp_ms: u64,
}

#[derive(Serialize)]
struct DetectorBody<'a> {
    name: &'a str,
    version: &'a str,
    verdict: u8,
    confidence_bp: u16,
    evidence: &'a [String],
}

#[derive(Serialize)]
struct FinalBody<'a> {
    job_id: &'a str,
    round: u32,
    media_sha256: [u8; 32],
    verdict: u8,
    confidence_bp: u16,
    agreement_rate_bits: u64,
    threshold_bits: u64,
    threshold_met: bool,
    min_enclaves: u32,
    tie: bool,
    consensus_timestamp: u64,
    votes: Vec<VoteBody<'a>>,
    models: Vec<ModelBody<'a>>,
    evidence: Vec<(&'a str, &'a str)>,
    aggregator_key: &'a [u8],
}

#[derive(Serialize)]
struct VoteBody<'a> {
    enclave_id: &'a str,
    report_digest: [u8; 32],
    verdict: u8,
    confidence_bp: u16,
    reputation_bits: u64,
    stake: u64,
    weight_bits: u64,
    attestation: &'a str,
}

#[derive(Serialize)]
struct CommitteeBody<'a> {
    rule: u8,
    escalated: bool,
    seed: &'a str,
    size: u32,
    candidates: Vec<(&'a str, u64)>,
    members: Vec<&'a str>,
}

fn committee_body(c: &CommitteeSelection) -> CommitteeBody<'_> {
    CommitteeBody {
        rule: c.rule.code(),
        escalated: c.escalated,
        seed: c.seed.as_str(),
        size: c.size,
        candidates: c
            .candidates
            .iter()
            .map(|x| (x.enclave_id.as_str(), x.weight.to_bits()))
            .collect(),
        members: c.members.iter().map(|m| m.as_str()).collect(),
    }
}

#[derive(Serialize)]
struct ModelBody<'a> {
    name: &'a str,
    verdict: u8,
    confidence_bp: u16,
    version: &'a str,
}

/// Stable one-byte code of a verdict.
pub fn verdict_code(v: Verdict) -> u8 {
    match v {
        Verdict::Real => 1,
        Verdict::AiGenerated => 2,
        Verdict::Uncertain => 3,
    }
}

/// Stable one-byte code of a detector verdict.
pub fn detector_verdict_code(v: DetectorVerdict) -> u8 {
    match v.verdict() {
        Some(v) => verdict_code(v),
        None => 0,
    }
}

fn framed(domain: &[u8], body: &impl Serialize) -> Vec<u8> {
    let encoded = bcs::to_bytes(body).expect("BCS encoding of plain structs cannot fail");
    let mut out = Vec::with_capacity(domain.len() + 1 + encoded.len());
    out.extend_from_slice(domain);
    out.push(0);
    out.extend_from_slice(&encoded);
    out
}

/// The bytes an enclave signs for `report`.
pub fn enclave_report_bytes(report: &EnclaveReport) -> Vec<u8> {
    let body = ReportBody {
        job_id: report.job_id.as_str(),
        round: report.round,
        enclave_id: report.enclave_id.as_str(),
        media_sha256: report.media_sha256.0,
        verdict: verdict_code(report.verdict),
        confidence_bp: report.confidence.basis_points(),
        detectors: report
            .detectors
            .iter()
            .map(|d| DetectorBody {
                name: &d.name,
                version: &d.version,
                verdict: detector_verdict_code(d.verdict),
                confidence_bp: d.confidence.basis_points(),
                evidence: &d.evidence,
            })
            .collect(),
        attestation: report.attestation.as_str(),
        timestamp_ms: report.timestamp_ms,
    };
    framed(ENCLAVE_REPORT_DOMAIN, &body)
}

/// The bytes the aggregator signs for `report` (its signature and digest excluded).
pub fn final_report_bytes(report: &FinalReport) -> Vec<u8> {
    let meta = &report.consensus_metadata;
    let body = FinalBody {
        job_id: report.job_id.as_str(),
        round: report.round,
        media_sha256: report.media_sha256.0,
        verdict: verdict_code(report.verdict),
        confidence_bp: report.confidence.basis_points(),
        agreement_rate_bits: meta.agreement_rate.to_bits(),
        threshold_bits: meta.threshold.to_bits(),
        threshold_met: meta.threshold_met,
        min_enclaves: meta.min_enclaves,
        tie: meta.tie,
        consensus_timestamp: meta.consensus_timestamp,
        votes: meta
            .votes
            .iter()
            .map(|v| VoteBody {
                enclave_id: v.enclave_id.as_str(),
                report_digest: v.report_digest.0,
                verdict: verdict_code(v.verdict),
                confidence_bp: v.confidence.basis_points(),
                reputation_bits: v.reputation.to_bits(),
                stake: v.stake,
                weight_bits: v.weight.to_bits(),
                attestation: v.attestation.as_str(),
            })
            .collect(),
        models: report
            .models
            .iter()
            .map(|(name, m)| ModelBody {
                name,
                verdict: detector_verdict_code(m.verdict),
                confidence_bp: m.confidence.basis_points(),
                version: &m.version,
            })
            .collect(),
        evidence: report
            .evidence
            .iter()
            .map(|e| (e.detector.as_str(), e.message.as_str()))
            .collect(),
        aggregator_key: &report.aggregator_key,
    };
    match &report.committee {
        None => framed(FINAL_REPORT_DOMAIN, &body),
        // BCS of a pair is the two encodings back to back: the v1 body, then the record.
        Some(c) => framed(FINAL_REPORT_DOMAIN_V2, &(body, committee_body(c))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ids::{EnclaveId, JobId, Sha256Digest};
    use crate::oracle::AttestationKind;
    use crate::report::DetectorResult;
    use crate::verdict::Confidence;

    fn report() -> EnclaveReport {
        EnclaveReport {
            job_id: "job_01jf0000000000000000000000".parse().unwrap(),
            round: 0,
            enclave_id: "enclave-1".parse::<EnclaveId>().unwrap(),
            media_sha256: Sha256Digest::of(b"image"),
            verdict: Verdict::AiGenerated,
            confidence: Confidence::from_f64(0.9),
            detectors: vec![DetectorResult {
                name: "png-text".into(),
                version: "1".into(),
                verdict: DetectorVerdict::AiGenerated,
                confidence: Confidence::from_f64(0.9),
                evidence: vec!["parameters chunk".into()],
            }],
            attestation: AttestationKind::DevInsecure,
            timestamp_ms: 1_700_000_000_000,
        }
    }

    #[test]
    fn encoding_is_domain_separated_and_field_sensitive() {
        let base = report();
        let bytes = enclave_report_bytes(&base);
        assert!(bytes.starts_with(b"verity/enclave-report/v1\0"));
        assert_eq!(bytes, enclave_report_bytes(&base.clone()));

        let mut other_job = base.clone();
        other_job.job_id = JobId::generate();
        let mut other_round = base.clone();
        other_round.round = 1;
        let mut other_conf = base.clone();
        other_conf.detectors[0].confidence = Confidence::from_f64(0.8);
        let mut other_evidence = base.clone();
        other_evidence.detectors[0].evidence.push("x".into());
        for changed in [other_job, other_round, other_conf, other_evidence] {
            assert_ne!(enclave_report_bytes(&changed), bytes);
        }
    }

    fn final_report(committee: Option<CommitteeSelection>) -> FinalReport {
        use crate::report::{ConsensusMetadata, Vote};
        let job: JobId = "job_01jf0000000000000000000000".parse().unwrap();
        let vote = |id: &str| Vote {
            enclave_id: id.parse().unwrap(),
            verdict: Verdict::Real,
            confidence: Confidence::from_f64(0.9),
            reputation: 0.8,
            stake: 1000,
            weight: 0.8 * 10f64.sqrt(),
            report_digest: Sha256Digest::of(id.as_bytes()),
            attestation: AttestationKind::DevInsecure,
        };
        FinalReport {
            job_id: job,
            round: 0,
            verdict: Verdict::Real,
            confidence: Confidence::from_f64(0.9),
            consensus_metadata: ConsensusMetadata {
                agreement_rate: 1.0,
                participating_enclaves: 2,
                consensus_timestamp: 1_700_000_000_500,
                threshold: 0.66,
                threshold_met: true,
                min_enclaves: 2,
                tie: false,
                votes: vec![vote("enclave-1"), vote("enclave-2")],
            },
            models: Default::default(),
            evidence: vec![],
            media_sha256: Sha256Digest::of(b"image"),
            committee,
            report_digest: Sha256Digest([0; 32]),
            aggregator_signature: vec![],
            aggregator_key: vec![7; 32],
        }
    }

    fn selection() -> CommitteeSelection {
        use crate::committee::Candidate;
        let candidates = ["enclave-1", "enclave-2", "enclave-3"]
            .iter()
            .map(|id| Candidate {
                enclave_id: id.parse().unwrap(),
                weight: 0.8 * 10f64.sqrt(),
            })
            .collect();
        CommitteeSelection::sample(
            &"job_01jf0000000000000000000000".parse().unwrap(),
            candidates,
            2,
        )
    }

    #[test]
    fn final_reports_without_a_committee_keep_their_v1_bytes() {
        let bytes = final_report_bytes(&final_report(None));
        assert!(bytes.starts_with(b"verity/final-report/v1\0"));
        // Pinned: a change here breaks every signature made before it.
        assert_eq!(
            Sha256Digest::of(&bytes).to_string(),
            "eac7f318f166febbd45fb2c7a20067ce2ea22e8b6e41e4d0cbdd25ef47ef862b"
        );
    }

    #[test]
    fn the_committee_record_is_signed_after_the_v1_body() {
        let v1 = final_report_bytes(&final_report(None));
        let v2 = final_report_bytes(&final_report(Some(selection())));
        assert!(v2.starts_with(b"verity/final-report/v2\0"));
        let body_v1 = &v1[FINAL_REPORT_DOMAIN.len() + 1..];
        let body_v2 = &v2[FINAL_REPORT_DOMAIN_V2.len() + 1..];
        assert!(body_v2.starts_with(body_v1));
        assert_eq!(
            Sha256Digest::of(&v2).to_string(),
            "9421c39fe15676ed4f9980e01f8f5e636472f02286579e965f2846bce91c4bae"
        );

        let mut other_weight = selection();
        other_weight.candidates[2].weight = 0.5;
        let mut other_members = selection();
        other_members.members.pop();
        let mut other_seed = selection();
        other_seed.seed = JobId::generate();
        let mut escalated = selection();
        escalated.escalated = true;
        let mut other_size = selection();
        other_size.size = 3;
        for changed in [
            other_weight,
            other_members,
            other_seed,
            escalated,
            other_size,
        ] {
            assert_ne!(final_report_bytes(&final_report(Some(changed))), v2);
        }
    }

    #[test]
    fn string_boundaries_cannot_be_shifted() {
        // Length prefixes stop "ab"+"c" from encoding like "a"+"bc".
        let mut a = report();
        a.detectors[0].name = "ab".into();
        a.detectors[0].version = "c".into();
        let mut b = report();
        b.detectors[0].name = "a".into();
        b.detectors[0].version = "bc".into();
        assert_ne!(enclave_report_bytes(&a), enclave_report_bytes(&b));
    }
}
