//! Deterministic, stake-weighted committee selection.
//!
//! When more oracles are registered than a job uses, the committee is a
//! weighted sample without replacement (Efraimidis–Spirakis): each candidate
//! gets the key `ln(u) / weight` with `u` derived from
//! `SHA-256("verity/committee/v1" || job id || 0x00 || enclave id)`, and the
//! largest keys win. Anyone with the job id and the candidates' weights can
//! recompute the choice.
//!
//! [`CommitteeSelection`] is the record of one choice (rule, seed, size,
//! every eligible candidate with its weight, the members); the aggregator
//! signs it into the final report and [`CommitteeSelection::check`]
//! recomputes it.

use std::collections::BTreeSet;

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::ids::{EnclaveId, JobId};

/// A candidate for a committee.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Candidate {
    /// The oracle.
    pub enclave_id: EnclaveId,
    /// Its consensus weight when the committee was chosen.
    pub weight: f64,
}

/// How a committee is chosen from its candidates.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum CommitteeRule {
    /// [`select_committee`]: a stake-weighted sample of `size` candidates
    /// seeded by the job id (a job's normal rounds).
    #[serde(rename = "verity/committee/v1")]
    WeightedSample,
    /// Every candidate serves (a re-verification's escalated committee).
    #[serde(rename = "verity/committee/escalated/v1")]
    Escalated,
}

impl CommitteeRule {
    /// Stable one-byte code (canonical encoding).
    pub fn code(self) -> u8 {
        match self {
            CommitteeRule::WeightedSample => 1,
            CommitteeRule::Escalated => 2,
        }
    }
}

/// The record of one committee choice: enough to recompute it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CommitteeSelection {
    /// The rule applied.
    pub rule: CommitteeRule,
    /// Whether this is an escalated (dispute) committee: `rule` is `Escalated`.
    pub escalated: bool,
    /// The seed of the sample: the job id.
    pub seed: JobId,
    /// How many members the rule asked for.
    pub size: u32,
    /// Every eligible oracle with its weight at the time, by enclave id.
    pub candidates: Vec<Candidate>,
    /// The chosen members, by enclave id.
    pub members: Vec<EnclaveId>,
}

/// Why a [`CommitteeSelection`] does not recompute.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum CommitteeError {
    /// A candidate is listed twice.
    #[error("candidate {0} is listed twice")]
    DuplicateCandidate(EnclaveId),
    /// A weight is negative or not a number.
    #[error("candidate {0} has an invalid weight")]
    BadWeight(EnclaveId),
    /// `escalated` contradicts `rule`.
    #[error("escalated is {escalated} but the rule is {rule:?}")]
    RuleMismatch {
        /// The stated flag.
        escalated: bool,
        /// The stated rule.
        rule: CommitteeRule,
    },
    /// The stated members are not what the rule gives.
    #[error("the rule chooses {expected:?}, the record says {stated:?}")]
    Members {
        /// What the rule gives.
        expected: Vec<EnclaveId>,
        /// What the record says.
        stated: Vec<EnclaveId>,
    },
    /// The stated size is not what the rule used.
    #[error("size {stated} does not fit the rule (expected {expected})")]
    Size {
        /// What the rule implies.
        expected: u32,
        /// What the record says.
        stated: u32,
    },
}

impl CommitteeSelection {
    /// Chooses `size` of `candidates` for `job` with [`select_committee`].
    pub fn sample(job: &JobId, mut candidates: Vec<Candidate>, size: usize) -> Self {
        candidates.sort_by(|a, b| a.enclave_id.cmp(&b.enclave_id));
        let members = select_committee(job, &candidates, size);
        CommitteeSelection {
            rule: CommitteeRule::WeightedSample,
            escalated: false,
            seed: job.clone(),
            size: u32::try_from(size).unwrap_or(u32::MAX),
            candidates,
            members,
        }
    }

    /// Every one of `candidates` serves (an escalated committee).
    pub fn escalated(job: &JobId, mut candidates: Vec<Candidate>) -> Self {
        candidates.sort_by(|a, b| a.enclave_id.cmp(&b.enclave_id));
        let members: Vec<EnclaveId> = candidates.iter().map(|c| c.enclave_id.clone()).collect();
        CommitteeSelection {
            rule: CommitteeRule::Escalated,
            escalated: true,
            seed: job.clone(),
            size: u32::try_from(members.len()).unwrap_or(u32::MAX),
            candidates,
            members,
        }
    }

    /// Recomputes the choice from the recorded rule, seed, size and candidates.
    ///
    /// # Errors
    /// The first way the record disagrees with its own rule.
    pub fn check(&self) -> Result<(), CommitteeError> {
        let mut seen = BTreeSet::new();
        for c in &self.candidates {
            if !seen.insert(&c.enclave_id) {
                return Err(CommitteeError::DuplicateCandidate(c.enclave_id.clone()));
            }
            if c.weight.is_nan() || c.weight < 0.0 {
                return Err(CommitteeError::BadWeight(c.enclave_id.clone()));
            }
        }
        if self.escalated != (self.rule == CommitteeRule::Escalated) {
            return Err(CommitteeError::RuleMismatch {
                escalated: self.escalated,
                rule: self.rule,
            });
        }
        let expected = match self.rule {
            CommitteeRule::WeightedSample => {
                select_committee(&self.seed, &self.candidates, self.size as usize)
            }
            CommitteeRule::Escalated => {
                let all: Vec<EnclaveId> = seen.into_iter().cloned().collect();
                if self.size as usize != all.len() {
                    return Err(CommitteeError::Size {
                        expected: all.len() as u32,
                        stated: self.size,
                    });
                }
                all
            }
        };
        if expected != self.members {
            return Err(CommitteeError::Members {
                expected,
                stated: self.members.clone(),
            });
        }
        Ok(())
    }
}

/// Picks `size` members from `candidates` for `job`; all of them when there are
/// no more than `size`. The result is ordered by enclave id.
pub fn select_committee(job: &JobId, candidates: &[Candidate], size: usize) -> Vec<EnclaveId> {
    let mut keyed: Vec<(f64, &EnclaveId)> = candidates
        .iter()
        .map(|c| (sample_key(job, &c.enclave_id, c.weight), &c.enclave_id))
        .collect();
    keyed.sort_by(|a, b| b.0.total_cmp(&a.0).then_with(|| a.1.cmp(b.1)));
    let mut chosen: Vec<EnclaveId> = keyed
        .into_iter()
        .take(size)
        .map(|(_, id)| id.clone())
        .collect();
    chosen.sort();
    chosen
}

fn sample_key(job: &JobId, enclave: &EnclaveId, weight: f64) -> f64 {
    let mut h = Sha256::new();
    h.update(b"verity/committee/v1");
    h.update(job.as_str().as_bytes());
    h.update([0]);
    h.update(enclave.as_str().as_bytes());
    let digest = h.finalize();
    let mut first = [0u8; 8];
    first.copy_from_slice(&digest[..8]);
    // u in (0, 1]: 53 random bits, never zero.
    let u = ((u64::from_be_bytes(first) >> 11) + 1) as f64 / (1u64 << 53) as f64;
    if weight > 0.0 {
        u.ln() / weight
    } else {
        f64::NEG_INFINITY
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn candidates(n: usize) -> Vec<Candidate> {
        (0..n)
            .map(|i| Candidate {
                enclave_id: format!("enclave-{i}").parse().unwrap(),
                weight: 1.0 + i as f64,
            })
            .collect()
    }

    #[test]
    fn everyone_serves_when_few() {
        let job = JobId::generate();
        assert_eq!(select_committee(&job, &candidates(3), 3).len(), 3);
        assert_eq!(select_committee(&job, &candidates(2), 3).len(), 2);
    }

    #[test]
    fn selection_is_deterministic_and_sized() {
        let job = JobId::generate();
        let mut cands = candidates(10);
        let a = select_committee(&job, &cands, 3);
        cands.reverse();
        assert_eq!(a, select_committee(&job, &cands, 3));
        assert_eq!(a.len(), 3);
    }

    #[test]
    fn heavier_oracles_serve_more_often() {
        let cands = vec![
            Candidate {
                enclave_id: "light".parse().unwrap(),
                weight: 0.1,
            },
            Candidate {
                enclave_id: "heavy".parse().unwrap(),
                weight: 10.0,
            },
            Candidate {
                enclave_id: "mid".parse().unwrap(),
                weight: 1.0,
            },
        ];
        let (mut heavy, mut light) = (0, 0);
        for _ in 0..400 {
            let chosen = select_committee(&JobId::generate(), &cands, 1);
            match chosen[0].as_str() {
                "heavy" => heavy += 1,
                "light" => light += 1,
                _ => {}
            }
        }
        assert!(heavy > 300, "heavy chosen {heavy} of 400");
        assert!(light < 20, "light chosen {light} of 400");
    }

    #[test]
    fn a_recorded_sample_rechecks_and_tampering_is_caught() {
        let job: JobId = "job_01jf0000000000000000000000".parse().unwrap();
        let record = CommitteeSelection::sample(&job, candidates(6), 3);
        assert_eq!(record.members.len(), 3);
        assert!(!record.escalated);
        assert_eq!(record.check(), Ok(()));

        // Another seed chooses other members (for one seed in 20 at least).
        assert!((0..20).any(|_| {
            let mut other = record.clone();
            other.seed = JobId::generate();
            other.check().is_err()
        }));
        let mut heavier = record.clone();
        let outsider = heavier
            .candidates
            .iter()
            .position(|c| !record.members.contains(&c.enclave_id))
            .unwrap();
        heavier.candidates[outsider].weight = 1e9;
        let mut swapped = record.clone();
        swapped.members[0] = heavier.candidates[outsider].enclave_id.clone();
        swapped.members.sort();
        let mut flagged = record.clone();
        flagged.escalated = true;
        let mut twice = record.clone();
        twice.candidates.push(twice.candidates[0].clone());
        let mut negative = record.clone();
        negative.candidates[0].weight = -1.0;
        for (what, bad) in [
            ("an outsider made heavy", heavier),
            ("a member swapped", swapped),
            ("escalated flag", flagged),
            ("duplicate candidate", twice),
            ("negative weight", negative),
        ] {
            assert!(bad.check().is_err(), "{what} passed");
        }
    }

    #[test]
    fn an_escalated_committee_is_every_candidate() {
        let job = JobId::generate();
        let record = CommitteeSelection::escalated(&job, candidates(5));
        assert_eq!(record.members.len(), 5);
        assert_eq!(record.size, 5);
        assert_eq!(record.check(), Ok(()));
        let mut short = record.clone();
        short.members.pop();
        short.size = 4;
        assert!(matches!(short.check(), Err(CommitteeError::Size { .. })));
        let mut dropped = record.clone();
        dropped.members.pop();
        assert!(matches!(
            dropped.check(),
            Err(CommitteeError::Members { .. })
        ));
    }

    #[test]
    fn the_record_round_trips_through_json() {
        let record = CommitteeSelection::sample(&JobId::generate(), candidates(4), 3);
        let json = serde_json::to_value(&record).unwrap();
        assert_eq!(json["rule"], "verity/committee/v1");
        assert_eq!(json["escalated"], false);
        assert_eq!(json["candidates"][0]["enclaveId"], "enclave-0");
        let back: CommitteeSelection = serde_json::from_value(json).unwrap();
        assert_eq!(back, record);
    }

    #[test]
    fn zero_weight_serves_last() {
        let cands = vec![
            Candidate {
                enclave_id: "zero".parse().unwrap(),
                weight: 0.0,
            },
            Candidate {
                enclave_id: "one".parse().unwrap(),
                weight: 1.0,
            },
        ];
        let chosen = select_committee(&JobId::generate(), &cands, 1);
        assert_eq!(chosen[0].as_str(), "one");
    }
}
