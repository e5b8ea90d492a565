//! Deterministic, stake-weighted committee selection.
//!
//! When more oracles are registered than a job uses, the committee is a
//! weighted sample without replacement (Efraimidis–Spirakis): each candidate
//! gets the key `ln(u) / weight` with `u` derived from
//! `SHA-256("verity/committee/v1" || job id || 0x00 || enclave id)`, and the
//! largest keys win. Anyone with the job id and the candidates' weights can
//! recompute the choice.

use sha2::{Digest, Sha256};

use crate::ids::{EnclaveId, JobId};

/// A candidate for a committee.
#[derive(Debug, Clone, PartialEq)]
pub struct Candidate {
    /// The oracle.
    pub enclave_id: EnclaveId,
    /// Its consensus weight.
    pub weight: f64,
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
