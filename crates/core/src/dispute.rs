//! Disputes (DESIGN.md §4): bonds, outcomes, slashing, rewards, bans and
//! which reports count towards reputation.
//!
//! A dispute re-verifies a completed job in a new round decided by an
//! escalated committee. Its outcome ([`judge`]):
//! - **overturned** when the new round's winning verdict differs from the
//!   disputed one, is not `UNCERTAIN`, is not a tie, and holds more than
//!   [`DisputePolicy::overturn_share`] of the new round's weight;
//! - **upheld** otherwise (the burden of proof is on the challenger).
//!
//! Money ([`settle`]): overturned → every oracle whose counted vote in the
//! disputed round matched the overturned verdict loses
//! `stake × slash_bps / 10 000` (to the treasury); the challenger gets the
//! bond back plus `Σ slashed × reward_bps / 10 000` from the treasury.
//! Upheld → the bond is forfeited to the oracles that voted for the upheld
//! verdict in the re-verification round, pro rata to their weight (integer
//! tokens; the remainder goes to the heaviest). A re-verification that
//! could not decide ([`DisputeState::Rejected`]) refunds the bond.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use crate::ids::EnclaveId;
use crate::report::FinalReport;
use crate::reputation::ScoredReport;
use crate::stake::{Account, EntryKind, Movement};
use crate::verdict::Verdict;

/// Where a dispute is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DisputeState {
    /// Accepted; the re-verification round is queued.
    PendingReverification,
    /// Enclaves of the escalated committee have started reporting.
    Reverifying,
    /// The re-verification confirmed the verdict; the bond is forfeited.
    Upheld,
    /// The re-verification reversed the verdict; the old majority is slashed.
    Overturned,
    /// The re-verification could not decide; the bond is refunded.
    Rejected,
}

impl DisputeState {
    /// The wire name.
    pub fn as_str(self) -> &'static str {
        match self {
            DisputeState::PendingReverification => "pending_reverification",
            DisputeState::Reverifying => "reverifying",
            DisputeState::Upheld => "upheld",
            DisputeState::Overturned => "overturned",
            DisputeState::Rejected => "rejected",
        }
    }

    /// Whether the dispute is still open.
    pub fn is_open(self) -> bool {
        matches!(
            self,
            DisputeState::PendingReverification | DisputeState::Reverifying
        )
    }
}

impl fmt::Display for DisputeState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for DisputeState {
    type Err = DisputeInputError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Ok(match s {
            "pending_reverification" => DisputeState::PendingReverification,
            "reverifying" => DisputeState::Reverifying,
            "upheld" => DisputeState::Upheld,
            "overturned" => DisputeState::Overturned,
            "rejected" => DisputeState::Rejected,
            other => {
                return Err(DisputeInputError::Invalid {
                    field: "state",
                    why: format!("unknown dispute state {other:?}"),
                });
            }
        })
    }
}

/// When repeated slashes ban an oracle.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BanPolicy {
    /// Slashes within [`Self::window_ms`] that ban (0 disables automatic bans).
    pub after_slashes: u32,
    /// The window, in milliseconds.
    pub window_ms: u64,
}

impl Default for BanPolicy {
    fn default() -> Self {
        BanPolicy {
            after_slashes: 3,
            window_ms: 30 * 24 * 3600 * 1000,
        }
    }
}

impl BanPolicy {
    /// The ban reason when slashes at `slash_times_ms` (Unix milliseconds)
    /// ban the oracle as of `now_ms`, else `None`.
    pub fn ban_reason(&self, slash_times_ms: &[u64], now_ms: u64) -> Option<String> {
        if self.after_slashes == 0 {
            return None;
        }
        let since = now_ms.saturating_sub(self.window_ms);
        let recent = slash_times_ms.iter().filter(|t| **t >= since).count();
        (recent >= self.after_slashes as usize).then(|| {
            format!(
                "automatically banned: slashed {recent} time{} within {} (limit {})",
                if recent == 1 { "" } else { "s" },
                humanize_ms(self.window_ms),
                self.after_slashes
            )
        })
    }
}

fn humanize_ms(ms: u64) -> String {
    let s = ms / 1000;
    match s {
        s if s >= 86_400 && s % 86_400 == 0 => format!("{}d", s / 86_400),
        s if s >= 3600 && s % 3600 == 0 => format!("{}h", s / 3600),
        s if s >= 60 && s % 60 == 0 => format!("{}m", s / 60),
        s => format!("{s}s"),
    }
}

/// The economic and procedural parameters of disputes.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct DisputePolicy {
    /// Bond a challenger posts (`VERITY_DISPUTE_BOND`).
    pub bond: u64,
    /// Share of stake a slash takes, in basis points (`VERITY_SLASH_FRACTION`).
    pub slash_bps: u16,
    /// Share of the slashed stake paid to a successful challenger, in basis points.
    pub reward_bps: u16,
    /// How long after a round is decided it may be disputed (milliseconds).
    pub window_ms: u64,
    /// Share of the new round's weight an overturning verdict needs (strictly more).
    pub overturn_share: f64,
    /// Automatic bans.
    pub ban: BanPolicy,
}

impl Default for DisputePolicy {
    fn default() -> Self {
        DisputePolicy {
            bond: 100,
            slash_bps: 1000,
            reward_bps: 5000,
            window_ms: 24 * 3600 * 1000,
            overturn_share: 0.5,
            ban: BanPolicy::default(),
        }
    }
}

impl DisputePolicy {
    /// What a slash takes from `stake` (rounded down).
    pub fn slash_amount(&self, stake: u64) -> u64 {
        (u128::from(stake) * u128::from(self.slash_bps) / 10_000) as u64
    }

    /// The challenger's reward out of `slashed` (rounded down).
    pub fn reward_amount(&self, slashed: u64) -> u64 {
        (u128::from(slashed) * u128::from(self.reward_bps) / 10_000) as u64
    }
}

/// A field of a dispute request that is missing or unacceptable.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DisputeInputError {
    /// Missing or empty.
    #[error("{0} is required")]
    Missing(&'static str),
    /// Longer than allowed.
    #[error("{field} is longer than {max} characters")]
    TooLong {
        /// The field.
        field: &'static str,
        /// Its limit.
        max: usize,
    },
    /// Present but malformed.
    #[error("{field}: {why}")]
    Invalid {
        /// The field.
        field: &'static str,
        /// Why.
        why: String,
    },
}

/// A fresh dispute id (`dsp_` + a lowercase ULID).
pub fn new_dispute_id() -> String {
    format!("dsp_{}", ulid::Ulid::new().to_string().to_lowercase())
}

/// A fresh evidence id (`ev_` + a lowercase ULID), valid as an `evidenceCID`.
pub fn new_evidence_id() -> String {
    format!("ev_{}", ulid::Ulid::new().to_string().to_lowercase())
}

/// Longest accepted `evidenceCID`.
pub const MAX_EVIDENCE_ID: usize = 256;
/// Longest accepted `reason`.
pub const MAX_REASON: usize = 2000;

/// Checks a Sui-style address: `0x` followed by 1 to 64 hex digits.
///
/// # Errors
/// [`DisputeInputError`] naming `challengerAddress`.
pub fn check_sui_address(address: &str) -> Result<(), DisputeInputError> {
    const FIELD: &str = "challengerAddress";
    if address.is_empty() {
        return Err(DisputeInputError::Missing(FIELD));
    }
    let hex = address
        .strip_prefix("0x")
        .ok_or_else(|| DisputeInputError::Invalid {
            field: FIELD,
            why: "a Sui address starts with 0x".into(),
        })?;
    if hex.is_empty() || hex.len() > 64 || !hex.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Err(DisputeInputError::Invalid {
            field: FIELD,
            why: "a Sui address is 0x followed by 1 to 64 hexadecimal digits".into(),
        });
    }
    Ok(())
}

/// Checks a free-text field: present, at most `max` characters, no control
/// characters other than newlines and tabs.
///
/// # Errors
/// [`DisputeInputError`] naming `field`.
pub fn check_text(field: &'static str, value: &str, max: usize) -> Result<(), DisputeInputError> {
    if value.trim().is_empty() {
        return Err(DisputeInputError::Missing(field));
    }
    if value.chars().count() > max {
        return Err(DisputeInputError::TooLong { field, max });
    }
    if value
        .chars()
        .any(|c| c.is_control() && !matches!(c, '\n' | '\t' | '\r'))
    {
        return Err(DisputeInputError::Invalid {
            field,
            why: "contains control characters".into(),
        });
    }
    Ok(())
}

/// How a re-verification ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// The verdict stands.
    Upheld,
    /// The verdict is reversed.
    Overturned,
}

/// Judges a dispute from the disputed verdict and the re-verification report.
pub fn judge(policy: &DisputePolicy, disputed: Verdict, reverified: &FinalReport) -> Outcome {
    let meta = &reverified.consensus_metadata;
    let changed = reverified.verdict != disputed && reverified.verdict != Verdict::Uncertain;
    if changed && !meta.tie && meta.agreement_rate > policy.overturn_share {
        Outcome::Overturned
    } else {
        Outcome::Upheld
    }
}

/// A slash decided by [`settle`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Slash {
    /// The slashed oracle.
    pub enclave_id: EnclaveId,
    /// Tokens taken.
    pub amount: u64,
}

/// What a settlement moves.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Settlement {
    /// Ledger movements, in order.
    pub movements: Vec<Movement>,
    /// Oracles slashed (each also in `movements`).
    pub slashes: Vec<Slash>,
}

/// The inputs of [`settle`].
#[derive(Debug, Clone)]
pub struct SettleInput<'a> {
    /// The dispute's id (names its escrow).
    pub dispute_id: &'a str,
    /// The challenger's address.
    pub challenger: &'a str,
    /// The bond in escrow.
    pub bond: u64,
    /// The disputed round's final report.
    pub disputed: &'a FinalReport,
    /// The re-verification round's final report.
    pub reverified: &'a FinalReport,
    /// Current stake of each oracle.
    pub stakes: &'a [(EnclaveId, u64)],
}

/// The ledger movements of a decided dispute.
pub fn settle(policy: &DisputePolicy, outcome: Outcome, input: &SettleInput<'_>) -> Settlement {
    let escrow = Account::Escrow(input.dispute_id.to_owned());
    let challenger = Account::Challenger(input.challenger.to_owned());
    let mut out = Settlement::default();
    match outcome {
        Outcome::Overturned => {
            let wrong = input.disputed.verdict;
            let mut total = 0u64;
            for vote in &input.disputed.consensus_metadata.votes {
                if vote.verdict != wrong {
                    continue;
                }
                let stake = input
                    .stakes
                    .iter()
                    .find(|(id, _)| *id == vote.enclave_id)
                    .map_or(0, |(_, s)| *s);
                let amount = policy.slash_amount(stake);
                if amount == 0 {
                    continue;
                }
                total += amount;
                out.movements.push(Movement::new(
                    EntryKind::Slash,
                    Some(Account::Oracle(vote.enclave_id.clone())),
                    Some(Account::Treasury),
                    amount,
                    format!(
                        "voted {} in round {} of {}, overturned to {} by dispute {}",
                        wrong,
                        input.disputed.round,
                        input.disputed.job_id,
                        input.reverified.verdict,
                        input.dispute_id
                    ),
                ));
                out.slashes.push(Slash {
                    enclave_id: vote.enclave_id.clone(),
                    amount,
                });
            }
            if input.bond > 0 {
                out.movements.push(Movement::new(
                    EntryKind::Refund,
                    Some(escrow),
                    Some(challenger.clone()),
                    input.bond,
                    format!("dispute {} overturned the verdict", input.dispute_id),
                ));
            }
            let reward = policy.reward_amount(total);
            if reward > 0 {
                out.movements.push(Movement::new(
                    EntryKind::Reward,
                    Some(Account::Treasury),
                    Some(challenger),
                    reward,
                    format!(
                        "reward from the stake slashed by dispute {}",
                        input.dispute_id
                    ),
                ));
            }
        }
        Outcome::Upheld => {
            out.movements = forfeit(input.dispute_id, input.bond, input.reverified);
        }
    }
    out
}

/// The bond split among the oracles that voted for `reverified`'s verdict.
fn forfeit(dispute_id: &str, bond: u64, reverified: &FinalReport) -> Vec<Movement> {
    let escrow = Account::Escrow(dispute_id.to_owned());
    let reason = format!("bond of upheld dispute {dispute_id}");
    let honest: Vec<_> = reverified
        .consensus_metadata
        .votes
        .iter()
        .filter(|v| v.verdict == reverified.verdict && v.weight > 0.0)
        .collect();
    let total_weight: f64 = honest.iter().map(|v| v.weight).sum();
    if bond == 0 {
        return Vec::new();
    }
    if honest.is_empty() || total_weight <= 0.0 {
        return vec![Movement::new(
            EntryKind::Forfeit,
            Some(escrow),
            Some(Account::Treasury),
            bond,
            reason,
        )];
    }
    let mut shares: Vec<(EnclaveId, u64, f64)> = honest
        .iter()
        .map(|v| {
            let share = (bond as f64 * v.weight / total_weight).floor() as u64;
            (v.enclave_id.clone(), share, v.weight)
        })
        .collect();
    let paid: u64 = shares.iter().map(|s| s.1).sum();
    // The remainder (from rounding down) goes to the heaviest voter, ties by id.
    if let Some(heaviest) = shares
        .iter_mut()
        .max_by(|a, b| a.2.total_cmp(&b.2).then_with(|| b.0.cmp(&a.0)))
    {
        heaviest.1 += bond.saturating_sub(paid);
    }
    shares
        .into_iter()
        .filter(|s| s.1 > 0)
        .map(|(id, amount, _)| {
            Movement::new(
                EntryKind::Forfeit,
                Some(escrow.clone()),
                Some(Account::Oracle(id)),
                amount,
                reason.clone(),
            )
        })
        .collect()
}

/// Whether a report counts towards reputation: `Some(correct)` when both the
/// report and the job's final verdict are `REAL` or `AI_GENERATED`. An
/// `UNCERTAIN` report is an abstention and a job decided `UNCERTAIN` has no
/// truth to score against: neither is scored.
pub fn score(report: Verdict, final_verdict: Verdict, at_ms: u64) -> Option<ScoredReport> {
    if report == Verdict::Uncertain || final_verdict == Verdict::Uncertain {
        return None;
    }
    Some(ScoredReport {
        correct: report == final_verdict,
        at_ms,
    })
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use super::*;
    use crate::AttestationKind;
    use crate::ids::{JobId, Sha256Digest};
    use crate::report::{ConsensusMetadata, Vote};
    use crate::stake::Ledger;
    use crate::verdict::Confidence;

    fn vote(id: &str, verdict: Verdict, weight: f64) -> Vote {
        Vote {
            enclave_id: id.parse().unwrap(),
            verdict,
            confidence: Confidence::from_f64(0.9),
            reputation: 0.8,
            stake: 1000,
            weight,
            report_digest: Sha256Digest::of(id.as_bytes()),
            attestation: AttestationKind::DevInsecure,
        }
    }

    fn report(round: u32, verdict: Verdict, agreement: f64, votes: Vec<Vote>) -> FinalReport {
        FinalReport {
            job_id: JobId::generate(),
            round,
            verdict,
            confidence: Confidence::from_f64(0.8),
            consensus_metadata: ConsensusMetadata {
                agreement_rate: agreement,
                participating_enclaves: votes.len() as u32,
                consensus_timestamp: 0,
                threshold: 0.66,
                threshold_met: agreement >= 0.66,
                min_enclaves: 2,
                tie: false,
                votes,
            },
            models: BTreeMap::new(),
            evidence: Vec::new(),
            media_sha256: Sha256Digest::of(b"m"),
            committee: None,
            report_digest: Sha256Digest::of(b"r"),
            aggregator_signature: Vec::new(),
            aggregator_key: Vec::new(),
        }
    }

    #[test]
    fn sui_addresses() {
        assert!(check_sui_address("0x1").is_ok());
        assert!(check_sui_address(&format!("0x{}", "aB".repeat(32))).is_ok());
        for bad in [
            "",
            "0x",
            "1234",
            "0xg1",
            &format!("0x{}", "a".repeat(65)),
            "0X12",
        ] {
            assert!(check_sui_address(bad).is_err(), "{bad:?} accepted");
        }
    }

    #[test]
    fn text_fields() {
        assert_eq!(
            check_text("reason", " ", 10),
            Err(DisputeInputError::Missing("reason"))
        );
        assert!(matches!(
            check_text("reason", &"x".repeat(11), 10),
            Err(DisputeInputError::TooLong { .. })
        ));
        assert!(check_text("reason", "a\u{0}b", 10).is_err());
        assert!(check_text("reason", "fine\nline", 10).is_ok());
    }

    #[test]
    fn judging() {
        let p = DisputePolicy::default();
        let real = report(1, Verdict::Real, 0.6, vec![]);
        assert_eq!(judge(&p, Verdict::AiGenerated, &real), Outcome::Overturned);
        assert_eq!(judge(&p, Verdict::Real, &real), Outcome::Upheld);
        let weak = report(1, Verdict::Real, 0.5, vec![]);
        assert_eq!(judge(&p, Verdict::AiGenerated, &weak), Outcome::Upheld);
        let unsure = report(1, Verdict::Uncertain, 0.9, vec![]);
        assert_eq!(judge(&p, Verdict::AiGenerated, &unsure), Outcome::Upheld);
    }

    #[test]
    fn overturn_slashes_old_majority_and_rewards_challenger() {
        let p = DisputePolicy::default();
        let disputed = report(
            0,
            Verdict::AiGenerated,
            0.67,
            vec![
                vote("liar-1", Verdict::AiGenerated, 2.5),
                vote("liar-2", Verdict::AiGenerated, 2.5),
                vote("honest-1", Verdict::Uncertain, 2.5),
            ],
        );
        let reverified = report(1, Verdict::Real, 0.6, vec![]);
        let stakes: Vec<(EnclaveId, u64)> = ["liar-1", "liar-2", "honest-1"]
            .iter()
            .map(|s| (s.parse().unwrap(), 1000))
            .collect();
        let input = SettleInput {
            dispute_id: "dsp_1",
            challenger: "0xab",
            bond: 100,
            disputed: &disputed,
            reverified: &reverified,
            stakes: &stakes,
        };
        let s = settle(&p, Outcome::Overturned, &input);
        assert_eq!(s.slashes.len(), 2);
        assert!(s.slashes.iter().all(|x| x.amount == 100));
        // Replay on top of the deposits: the challenger has bond + half of 200.
        let mut l = Ledger::new();
        for (id, stake) in &stakes {
            l.apply(&Movement::new(
                EntryKind::Stake,
                None,
                Some(Account::Oracle(id.clone())),
                *stake,
                "",
            ))
            .unwrap();
        }
        l.apply(&Movement::new(
            EntryKind::Bond,
            None,
            Some(Account::Escrow("dsp_1".into())),
            100,
            "",
        ))
        .unwrap();
        for m in &s.movements {
            l.apply(m).unwrap();
        }
        assert_eq!(l.balance(&Account::Challenger("0xab".into())), 200);
        assert_eq!(l.balance(&Account::Treasury), 100);
        assert_eq!(l.balance(&Account::Oracle("liar-1".parse().unwrap())), 900);
        assert_eq!(
            l.balance(&Account::Oracle("honest-1".parse().unwrap())),
            1000
        );
        assert_eq!(l.balance(&Account::Escrow("dsp_1".into())), 0);
        assert_eq!(l.total(), l.expected_total());
    }

    #[test]
    fn upheld_bond_goes_to_the_honest_pro_rata() {
        let p = DisputePolicy::default();
        let disputed = report(0, Verdict::AiGenerated, 1.0, vec![]);
        let reverified = report(
            1,
            Verdict::AiGenerated,
            0.8,
            vec![
                vote("a", Verdict::AiGenerated, 2.0),
                vote("b", Verdict::AiGenerated, 1.0),
                vote("c", Verdict::Real, 0.75),
            ],
        );
        let input = SettleInput {
            dispute_id: "dsp_2",
            challenger: "0x1",
            bond: 100,
            disputed: &disputed,
            reverified: &reverified,
            stakes: &[],
        };
        let s = settle(&p, Outcome::Upheld, &input);
        let paid: Vec<(String, u64)> = s
            .movements
            .iter()
            .map(|m| (m.to.as_ref().unwrap().to_string(), m.amount))
            .collect();
        assert_eq!(paid, vec![("oracle:a".into(), 67), ("oracle:b".into(), 33)]);
        assert!(s.slashes.is_empty());
    }

    #[test]
    fn bans_count_recent_slashes_only() {
        let ban = BanPolicy {
            after_slashes: 2,
            window_ms: 1000,
        };
        assert!(ban.ban_reason(&[10], 100).is_none());
        assert!(
            ban.ban_reason(&[10, 20], 100)
                .unwrap()
                .contains("slashed 2 times")
        );
        assert!(
            ban.ban_reason(&[10, 20], 5000).is_none(),
            "old slashes expire"
        );
        let off = BanPolicy {
            after_slashes: 0,
            window_ms: 1000,
        };
        assert!(off.ban_reason(&[1, 2, 3], 3).is_none());
    }

    #[test]
    fn scoring_skips_abstentions() {
        assert_eq!(score(Verdict::Uncertain, Verdict::Real, 1), None);
        assert_eq!(score(Verdict::Real, Verdict::Uncertain, 1), None);
        assert!(score(Verdict::Real, Verdict::Real, 1).unwrap().correct);
        assert!(
            !score(Verdict::AiGenerated, Verdict::Real, 1)
                .unwrap()
                .correct
        );
    }

    #[test]
    fn slash_amounts_round_down() {
        let p = DisputePolicy {
            slash_bps: 1000,
            ..DisputePolicy::default()
        };
        assert_eq!(p.slash_amount(1000), 100);
        assert_eq!(p.slash_amount(9), 0);
        assert_eq!(p.reward_amount(101), 50);
    }
}
