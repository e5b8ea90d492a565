//! Weighted consensus (DESIGN.md §3).
//!
//! Each counted report is a [`Ballot`]. Its weight is
//! `reputation × sqrt(stake / 100)`; the verdict with the largest total weight
//! wins and `agreementRate = winning weight / total weight`. The threshold is
//! enforced: below it `thresholdMet` is false and the verdict is only a
//! low-confidence lean.
//!
//! Determinism: ballots are ordered by enclave id before any arithmetic, so
//! the floating-point sums (and therefore every published number) do not
//! depend on the order reports arrived in.
//!
//! Ties: when the two heaviest verdicts are within `1e-9 ×` the total weight
//! of each other the outcome is `UNCERTAIN` with `tie = true`,
//! `thresholdMet = false` and confidence 0 — a split committee is not a verdict.

use std::collections::BTreeSet;

use crate::ids::{EnclaveId, Sha256Digest};
use crate::oracle::AttestationKind;
use crate::report::Vote;
use crate::verdict::{Confidence, Verdict};

/// Default `CONSENSUS_THRESHOLD`.
pub const DEFAULT_THRESHOLD: f64 = 0.66;
/// Default `MIN_ENCLAVES`.
pub const DEFAULT_MIN_ENCLAVES: u32 = 2;
/// Relative tolerance under which the two heaviest verdicts count as tied.
pub const TIE_TOLERANCE: f64 = 1e-9;

/// Consensus weight of a report: `reputation × sqrt(stake / 100)`.
pub fn weight(reputation: f64, stake: u64) -> f64 {
    reputation * (stake as f64 / 100.0).sqrt()
}

/// Why no consensus could be computed.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum ConsensusError {
    /// Fewer distinct enclaves reported than the rule requires.
    #[error("only {have} of the {need} enclave reports required for consensus")]
    TooFewReports {
        /// Reports available.
        have: u32,
        /// Reports required.
        need: u32,
    },
    /// The same enclave appears twice.
    #[error("enclave {0} reported more than once in one round")]
    DuplicateEnclave(EnclaveId),
    /// A ballot has a reputation outside [0, 1].
    #[error("enclave {0} has a reputation outside [0, 1]")]
    InvalidReputation(EnclaveId),
    /// The rule itself is invalid.
    #[error("invalid consensus rule: {0}")]
    InvalidRule(&'static str),
}

/// The consensus parameters: `CONSENSUS_THRESHOLD` and `MIN_ENCLAVES`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ConsensusRule {
    threshold: f64,
    min_enclaves: u32,
}

impl Default for ConsensusRule {
    fn default() -> Self {
        ConsensusRule {
            threshold: DEFAULT_THRESHOLD,
            min_enclaves: DEFAULT_MIN_ENCLAVES,
        }
    }
}

/// One counted report as consensus input.
#[derive(Debug, Clone, PartialEq)]
pub struct Ballot {
    /// The reporting enclave.
    pub enclave_id: EnclaveId,
    /// Its verdict.
    pub verdict: Verdict,
    /// Its confidence.
    pub confidence: Confidence,
    /// Its reputation when counted, in [0, 1].
    pub reputation: f64,
    /// Its stake when counted.
    pub stake: u64,
    /// Digest of its signed report.
    pub report_digest: Sha256Digest,
    /// Its attestation kind.
    pub attestation: AttestationKind,
}

/// The result of applying a [`ConsensusRule`] to ballots.
#[derive(Debug, Clone, PartialEq)]
pub struct ConsensusOutcome {
    /// The winning verdict (`UNCERTAIN` on a tie or with no weight at all).
    pub verdict: Verdict,
    /// `agreement_rate ×` weighted mean confidence of the winning ballots.
    pub confidence: Confidence,
    /// Winning weight / total weight, in [0, 1].
    pub agreement_rate: f64,
    /// Whether `agreement_rate >= threshold` (never on a tie).
    pub threshold_met: bool,
    /// Whether the two heaviest verdicts tied.
    pub tie: bool,
    /// Sum of all weights.
    pub total_weight: f64,
    /// Total weight per verdict, in [`Verdict::ALL`] order.
    pub tallies: [(Verdict, f64); 3],
    /// The counted votes, ordered by enclave id.
    pub votes: Vec<Vote>,
}

impl ConsensusRule {
    /// A rule with the given threshold (in (0, 1]) and minimum enclaves (≥ 1).
    ///
    /// # Errors
    /// [`ConsensusError::InvalidRule`] when either value is out of range.
    pub fn new(threshold: f64, min_enclaves: u32) -> Result<Self, ConsensusError> {
        if !(threshold > 0.0 && threshold <= 1.0) {
            return Err(ConsensusError::InvalidRule("threshold must be in (0, 1]"));
        }
        if min_enclaves == 0 {
            return Err(ConsensusError::InvalidRule(
                "min_enclaves must be at least 1",
            ));
        }
        Ok(ConsensusRule {
            threshold,
            min_enclaves,
        })
    }

    /// `CONSENSUS_THRESHOLD`.
    pub fn threshold(&self) -> f64 {
        self.threshold
    }

    /// `MIN_ENCLAVES`.
    pub fn min_enclaves(&self) -> u32 {
        self.min_enclaves
    }

    /// Computes the consensus of `ballots`.
    ///
    /// # Errors
    /// Too few ballots, a duplicate enclave or a reputation outside [0, 1].
    pub fn decide(&self, ballots: &[Ballot]) -> Result<ConsensusOutcome, ConsensusError> {
        let have = u32::try_from(ballots.len()).unwrap_or(u32::MAX);
        if have < self.min_enclaves {
            return Err(ConsensusError::TooFewReports {
                have,
                need: self.min_enclaves,
            });
        }
        let votes = canonical_votes(ballots)?;
        Ok(self.tally(votes))
    }

    fn tally(&self, votes: Vec<Vote>) -> ConsensusOutcome {
        let mut tallies = Verdict::ALL.map(|v| (v, 0.0_f64));
        for vote in &votes {
            let slot = Verdict::ALL
                .iter()
                .position(|v| *v == vote.verdict)
                .unwrap_or(0);
            tallies[slot].1 += vote.weight;
        }
        let total_weight: f64 = tallies.iter().map(|(_, w)| w).sum();
        let mut ranked = tallies;
        // Stable sort: among exactly equal weights the canonical verdict order decides,
        // but such ties are caught below anyway.
        ranked.sort_by(|a, b| b.1.total_cmp(&a.1));
        let (leader, top) = ranked[0];
        let runner_up = ranked[1].1;

        if total_weight <= 0.0 {
            return self.outcome(Verdict::Uncertain, 0.0, false, total_weight, tallies, votes);
        }
        let agreement_rate = (top / total_weight).clamp(0.0, 1.0);
        let tie = top - runner_up <= TIE_TOLERANCE * total_weight;
        if tie {
            return self.outcome(
                Verdict::Uncertain,
                agreement_rate,
                true,
                total_weight,
                tallies,
                votes,
            );
        }
        self.outcome(leader, agreement_rate, false, total_weight, tallies, votes)
    }

    fn outcome(
        &self,
        verdict: Verdict,
        agreement_rate: f64,
        tie: bool,
        total_weight: f64,
        tallies: [(Verdict, f64); 3],
        votes: Vec<Vote>,
    ) -> ConsensusOutcome {
        let confidence = if tie || total_weight <= 0.0 {
            Confidence::ZERO
        } else {
            Confidence::from_f64(agreement_rate * mean_confidence(&votes, verdict))
        };
        ConsensusOutcome {
            verdict,
            confidence,
            agreement_rate,
            threshold_met: !tie && total_weight > 0.0 && agreement_rate >= self.threshold,
            tie,
            total_weight,
            tallies,
            votes,
        }
    }
}

/// Validates ballots and turns them into votes ordered by enclave id.
fn canonical_votes(ballots: &[Ballot]) -> Result<Vec<Vote>, ConsensusError> {
    let mut seen = BTreeSet::new();
    let mut votes = Vec::with_capacity(ballots.len());
    for b in ballots {
        if !seen.insert(b.enclave_id.clone()) {
            return Err(ConsensusError::DuplicateEnclave(b.enclave_id.clone()));
        }
        if !(0.0..=1.0).contains(&b.reputation) {
            return Err(ConsensusError::InvalidReputation(b.enclave_id.clone()));
        }
        votes.push(Vote {
            enclave_id: b.enclave_id.clone(),
            verdict: b.verdict,
            confidence: b.confidence,
            reputation: b.reputation,
            stake: b.stake,
            weight: weight(b.reputation, b.stake),
            report_digest: b.report_digest,
            attestation: b.attestation,
        });
    }
    votes.sort_by(|a, b| a.enclave_id.cmp(&b.enclave_id));
    Ok(votes)
}

/// Weighted mean confidence of the votes for `verdict` (0 when they weigh nothing).
fn mean_confidence(votes: &[Vote], verdict: Verdict) -> f64 {
    let (sum, weight) = votes
        .iter()
        .filter(|v| v.verdict == verdict)
        .fold((0.0, 0.0), |(s, w), v| {
            (s + v.weight * v.confidence.as_f64(), w + v.weight)
        });
    if weight > 0.0 { sum / weight } else { 0.0 }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn ballot(id: &str, verdict: Verdict, reputation: f64, stake: u64) -> Ballot {
        Ballot {
            enclave_id: id.parse().unwrap(),
            verdict,
            confidence: Confidence::from_f64(0.9),
            reputation,
            stake,
            report_digest: Sha256Digest::of(id.as_bytes()),
            attestation: AttestationKind::DevInsecure,
        }
    }

    fn round2(x: f64) -> f64 {
        (x * 100.0).round() / 100.0
    }

    #[test]
    fn seed_vector_real_wins_below_threshold() {
        let ballots = [
            ballot("enclave-1", Verdict::Real, 0.9, 1000),
            ballot("enclave-2", Verdict::Real, 0.8, 500),
            ballot("enclave-3", Verdict::AiGenerated, 0.7, 1500),
        ];
        let out = ConsensusRule::default().decide(&ballots).unwrap();
        let weights: Vec<f64> = out.votes.iter().map(|v| round2(v.weight)).collect();
        assert_eq!(weights, vec![2.85, 1.79, 2.71]);
        assert_eq!(out.verdict, Verdict::Real);
        assert_eq!((out.agreement_rate * 1000.0).round() / 10.0, 63.1);
        assert!(!out.threshold_met, "63.1 % is below the 66 % threshold");
        assert!(!out.tie);
        // The same inputs pass a lower threshold: the threshold is what decides.
        let lenient = ConsensusRule::new(0.6, 2)
            .unwrap()
            .decide(&ballots)
            .unwrap();
        assert!(lenient.threshold_met);
    }

    #[test]
    fn unanimous_committee_meets_threshold() {
        let ballots = [
            ballot("a", Verdict::AiGenerated, 0.8, 1000),
            ballot("b", Verdict::AiGenerated, 0.8, 1000),
        ];
        let out = ConsensusRule::default().decide(&ballots).unwrap();
        assert_eq!(out.verdict, Verdict::AiGenerated);
        assert_eq!(out.agreement_rate, 1.0);
        assert!(out.threshold_met);
        assert_eq!(out.confidence, Confidence::from_f64(0.9));
    }

    #[test]
    fn exact_tie_is_uncertain_and_never_meets_threshold() {
        let ballots = [
            ballot("a", Verdict::Real, 0.8, 1000),
            ballot("b", Verdict::AiGenerated, 0.8, 1000),
        ];
        let rule = ConsensusRule::new(0.5, 2).unwrap();
        let out = rule.decide(&ballots).unwrap();
        assert!(out.tie);
        assert_eq!(out.verdict, Verdict::Uncertain);
        assert_eq!(out.agreement_rate, 0.5);
        assert!(
            !out.threshold_met,
            "a tie must not pass even a 50 % threshold"
        );
        assert_eq!(out.confidence, Confidence::ZERO);
    }

    #[test]
    fn zero_weight_is_uncertain() {
        let ballots = [
            ballot("a", Verdict::Real, 0.0, 1000),
            ballot("b", Verdict::AiGenerated, 0.9, 0),
        ];
        let out = ConsensusRule::default().decide(&ballots).unwrap();
        assert_eq!(out.verdict, Verdict::Uncertain);
        assert_eq!(out.agreement_rate, 0.0);
        assert!(!out.threshold_met);
    }

    #[test]
    fn too_few_and_duplicates_are_errors() {
        let rule = ConsensusRule::new(0.66, 3).unwrap();
        let two = [
            ballot("a", Verdict::Real, 0.8, 1000),
            ballot("b", Verdict::Real, 0.8, 1000),
        ];
        assert_eq!(
            rule.decide(&two),
            Err(ConsensusError::TooFewReports { have: 2, need: 3 })
        );
        let dup = [
            ballot("a", Verdict::Real, 0.8, 1000),
            ballot("a", Verdict::Real, 0.8, 1000),
        ];
        assert!(matches!(
            ConsensusRule::default().decide(&dup),
            Err(ConsensusError::DuplicateEnclave(_))
        ));
        assert!(ConsensusRule::new(0.0, 2).is_err());
        assert!(ConsensusRule::new(1.1, 2).is_err());
        assert!(ConsensusRule::new(0.66, 0).is_err());
    }

    #[test]
    fn bad_reputation_is_refused() {
        let ballots = [
            ballot("a", Verdict::Real, 1.5, 1000),
            ballot("b", Verdict::Real, 0.8, 1000),
        ];
        assert!(matches!(
            ConsensusRule::default().decide(&ballots),
            Err(ConsensusError::InvalidReputation(_))
        ));
    }

    fn arb_ballots() -> impl Strategy<Value = Vec<Ballot>> {
        prop::collection::vec(
            (0..3usize, 0.0..=1.0f64, 0..100_000u64, 0..=10_000u16),
            2..9,
        )
        .prop_map(|specs| {
            specs
                .into_iter()
                .enumerate()
                .map(|(i, (v, rep, stake, bp))| Ballot {
                    confidence: Confidence::from_basis_points(bp),
                    ..ballot(&format!("enclave-{i}"), Verdict::ALL[v], rep, stake)
                })
                .collect()
        })
    }

    proptest! {
        #[test]
        fn order_does_not_matter(ballots in arb_ballots(), seed in any::<u64>()) {
            let rule = ConsensusRule::default();
            let a = rule.decide(&ballots).unwrap();
            let mut shuffled = ballots.clone();
            // Deterministic Fisher–Yates driven by the seed.
            let mut s = seed;
            for i in (1..shuffled.len()).rev() {
                s = s.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
                shuffled.swap(i, (s >> 33) as usize % (i + 1));
            }
            let b = rule.decide(&shuffled).unwrap();
            prop_assert_eq!(a, b);
        }

        /// Weights and rates are signed by their bits and travel as JSON.
        #[test]
        fn every_finite_float_survives_json_bit_for_bit(bits in any::<u64>()) {
            let x = f64::from_bits(bits);
            prop_assume!(x.is_finite());
            let back: f64 = serde_json::from_str(&serde_json::to_string(&x).unwrap()).unwrap();
            prop_assert_eq!(back.to_bits(), x.to_bits());
        }

        #[test]
        fn agreement_rate_is_a_fraction(ballots in arb_ballots()) {
            let out = ConsensusRule::default().decide(&ballots).unwrap();
            prop_assert!((0.0..=1.0).contains(&out.agreement_rate));
            prop_assert!(out.confidence <= Confidence::MAX);
        }

        #[test]
        fn raising_the_threshold_never_helps(ballots in arb_ballots(), t1 in 0.01..=1.0f64, t2 in 0.01..=1.0f64) {
            let (low, high) = if t1 <= t2 { (t1, t2) } else { (t2, t1) };
            let at_low = ConsensusRule::new(low, 2).unwrap().decide(&ballots).unwrap();
            let at_high = ConsensusRule::new(high, 2).unwrap().decide(&ballots).unwrap();
            // Met at the higher threshold implies met at the lower one.
            prop_assert!(at_low.threshold_met || !at_high.threshold_met);
        }

        #[test]
        fn winner_holds_the_most_weight(ballots in arb_ballots()) {
            let out = ConsensusRule::default().decide(&ballots).unwrap();
            if !out.tie && out.total_weight > 0.0 {
                let win = out.tallies.iter().find(|(v, _)| *v == out.verdict).unwrap().1;
                prop_assert!(out.tallies.iter().all(|(_, w)| *w <= win));
            }
        }
    }
}
