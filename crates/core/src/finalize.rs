//! Assembling the (unsigned) final report from a consensus and its reports.
//!
//! Per-detector summaries (`models`) use the same weights as the consensus:
//! for each detector name, the heaviest of the verdicts the enclaves' copies
//! of that detector gave (ignoring `NOT_APPLICABLE` unless nothing else was
//! said), with the weighted mean confidence of the copies that agree.
//! Evidence comes from the reports that voted for the final verdict (all
//! reports when the verdict is `UNCERTAIN`), deduplicated, at most
//! [`MAX_EVIDENCE`] items.

use std::collections::{BTreeMap, BTreeSet};

use crate::consensus::{ConsensusOutcome, ConsensusRule};
use crate::ids::{JobId, Sha256Digest};
use crate::report::{ConsensusMetadata, EnclaveReport, EvidenceItem, FinalReport, ModelSummary};
use crate::verdict::{Confidence, DetectorVerdict, Verdict};

/// Most evidence items carried into a final report.
pub const MAX_EVIDENCE: usize = 64;

/// What the final report is about.
#[derive(Debug, Clone, PartialEq)]
pub struct RoundContext {
    /// The job.
    pub job_id: JobId,
    /// The round.
    pub round: u32,
    /// SHA-256 of the media.
    pub media_sha256: Sha256Digest,
    /// When consensus was computed (Unix milliseconds).
    pub timestamp_ms: u64,
}

/// Builds the final report for `outcome`, computed under `rule` from the
/// counted `reports`. Digest, signature and key are left empty for the signer.
pub fn assemble(
    ctx: &RoundContext,
    rule: &ConsensusRule,
    outcome: &ConsensusOutcome,
    reports: &[EnclaveReport],
) -> FinalReport {
    let weight_of = |r: &EnclaveReport| {
        outcome
            .votes
            .iter()
            .find(|v| v.enclave_id == r.enclave_id)
            .map_or(0.0, |v| v.weight)
    };
    FinalReport {
        job_id: ctx.job_id.clone(),
        round: ctx.round,
        verdict: outcome.verdict,
        confidence: outcome.confidence,
        consensus_metadata: ConsensusMetadata {
            agreement_rate: outcome.agreement_rate,
            participating_enclaves: outcome.votes.len() as u32,
            consensus_timestamp: ctx.timestamp_ms,
            threshold: rule.threshold(),
            threshold_met: outcome.threshold_met,
            min_enclaves: rule.min_enclaves(),
            tie: outcome.tie,
            votes: outcome.votes.clone(),
        },
        models: summarize_models(reports, &weight_of),
        evidence: collect_evidence(reports, outcome.verdict),
        media_sha256: ctx.media_sha256,
        committee: None,
        report_digest: Sha256Digest([0; 32]),
        aggregator_signature: Vec::new(),
        aggregator_key: Vec::new(),
    }
}

fn summarize_models(
    reports: &[EnclaveReport],
    weight_of: &dyn Fn(&EnclaveReport) -> f64,
) -> BTreeMap<String, ModelSummary> {
    let mut by_name: BTreeMap<&str, Vec<(DetectorVerdict, Confidence, f64, &str)>> =
        BTreeMap::new();
    for r in reports {
        let w = weight_of(r);
        for d in &r.detectors {
            by_name
                .entry(&d.name)
                .or_default()
                .push((d.verdict, d.confidence, w, &d.version));
        }
    }
    by_name
        .into_iter()
        .map(|(name, copies)| (name.to_owned(), summarize_detector(&copies)))
        .collect()
}

fn summarize_detector(copies: &[(DetectorVerdict, Confidence, f64, &str)]) -> ModelSummary {
    let options = [
        DetectorVerdict::Real,
        DetectorVerdict::AiGenerated,
        DetectorVerdict::Uncertain,
        DetectorVerdict::NotApplicable,
    ];
    let tally = |v: DetectorVerdict| copies.iter().filter(|c| c.0 == v).map(|c| c.2).sum::<f64>();
    let said_something = copies.iter().any(|c| c.0 != DetectorVerdict::NotApplicable);
    let mut best = (DetectorVerdict::NotApplicable, f64::NEG_INFINITY);
    let mut tied = false;
    for v in options {
        if said_something && v == DetectorVerdict::NotApplicable {
            continue;
        }
        let w = tally(v);
        if !copies.iter().any(|c| c.0 == v) {
            continue;
        }
        if w > best.1 {
            best = (v, w);
            tied = false;
        } else if w == best.1 {
            tied = true;
        }
    }
    let verdict = if tied {
        DetectorVerdict::Uncertain
    } else {
        best.0
    };
    let agreeing: Vec<_> = copies.iter().filter(|c| c.0 == verdict).collect();
    let total: f64 = agreeing.iter().map(|c| c.2).sum();
    let confidence = if total > 0.0 {
        Confidence::from_f64(agreeing.iter().map(|c| c.2 * c.1.as_f64()).sum::<f64>() / total)
    } else if agreeing.is_empty() {
        Confidence::ZERO
    } else {
        Confidence::from_f64(
            agreeing.iter().map(|c| c.1.as_f64()).sum::<f64>() / agreeing.len() as f64,
        )
    };
    let versions: BTreeSet<&str> = copies.iter().map(|c| c.3).collect();
    ModelSummary {
        verdict,
        confidence,
        version: versions.into_iter().collect::<Vec<_>>().join(","),
    }
}

fn collect_evidence(reports: &[EnclaveReport], verdict: Verdict) -> Vec<EvidenceItem> {
    let mut seen = BTreeSet::new();
    let mut out = Vec::new();
    for r in reports
        .iter()
        .filter(|r| verdict == Verdict::Uncertain || r.verdict == verdict)
    {
        for d in r
            .detectors
            .iter()
            .filter(|d| d.verdict != DetectorVerdict::NotApplicable)
        {
            for message in &d.evidence {
                let item = EvidenceItem {
                    detector: d.name.clone(),
                    message: message.clone(),
                };
                if out.len() < MAX_EVIDENCE && seen.insert(item.clone()) {
                    out.push(item);
                }
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::consensus::Ballot;
    use crate::oracle::AttestationKind;
    use crate::report::DetectorResult;

    fn report(enclave: &str, verdict: Verdict, detectors: Vec<DetectorResult>) -> EnclaveReport {
        EnclaveReport {
            job_id: "job_01jf0000000000000000000000".parse().unwrap(),
            round: 0,
            enclave_id: enclave.parse().unwrap(),
            media_sha256: Sha256Digest::of(b"m"),
            verdict,
            confidence: Confidence::from_f64(0.9),
            detectors,
            attestation: AttestationKind::DevInsecure,
            timestamp_ms: 1,
        }
    }

    fn det(name: &str, verdict: DetectorVerdict, conf: f64, evidence: &[&str]) -> DetectorResult {
        DetectorResult {
            name: name.into(),
            version: "1".into(),
            verdict,
            confidence: Confidence::from_f64(conf),
            evidence: evidence.iter().map(|s| s.to_string()).collect(),
        }
    }

    #[test]
    fn summaries_and_evidence_follow_the_winning_side() {
        let reports = vec![
            report(
                "a",
                Verdict::AiGenerated,
                vec![
                    det(
                        "png-text",
                        DetectorVerdict::AiGenerated,
                        0.95,
                        &["parameters chunk"],
                    ),
                    det("exif", DetectorVerdict::NotApplicable, 0.0, &["no EXIF"]),
                ],
            ),
            report(
                "b",
                Verdict::AiGenerated,
                vec![det(
                    "png-text",
                    DetectorVerdict::AiGenerated,
                    0.85,
                    &["parameters chunk"],
                )],
            ),
            report(
                "c",
                Verdict::Real,
                vec![det("png-text", DetectorVerdict::Real, 0.5, &["made up"])],
            ),
        ];
        let ballots: Vec<Ballot> = reports
            .iter()
            .map(|r| Ballot {
                enclave_id: r.enclave_id.clone(),
                verdict: r.verdict,
                confidence: r.confidence,
                reputation: 0.8,
                stake: 1000,
                report_digest: r.digest(),
                attestation: r.attestation,
            })
            .collect();
        let rule = ConsensusRule::default();
        let outcome = rule.decide(&ballots).unwrap();
        let ctx = RoundContext {
            job_id: reports[0].job_id.clone(),
            round: 0,
            media_sha256: Sha256Digest::of(b"m"),
            timestamp_ms: 9,
        };
        let fr = assemble(&ctx, &rule, &outcome, &reports);
        assert_eq!(fr.verdict, Verdict::AiGenerated);
        let png = &fr.models["png-text"];
        assert_eq!(png.verdict, DetectorVerdict::AiGenerated);
        assert_eq!(png.confidence, Confidence::from_f64(0.9));
        assert_eq!(fr.models["exif"].verdict, DetectorVerdict::NotApplicable);
        assert_eq!(
            fr.evidence,
            vec![EvidenceItem {
                detector: "png-text".into(),
                message: "parameters chunk".into()
            }]
        );
        assert_eq!(fr.consensus_metadata.participating_enclaves, 3);
    }
}
