//! Reputation from scored history (DESIGN.md §4).
//!
//! A report is *scored* once its job's dispute window has closed: it is
//! correct when its verdict equals the job's final verdict (jobs whose final
//! verdict is `UNCERTAIN` are not scored). Each scored report earns
//! `sᵢ = floor + (1 − floor) × [correct]` and weighs `wᵢ = 0.5^(ageᵢ / half-life)`,
//! so old history decays. The reputation is the posterior-style blend
//!
//! ```text
//! reputation = (k × r₀ + Σ wᵢ sᵢ) / (k + Σ wᵢ)
//! ```
//!
//! where `r₀` is `ORACLE_REPUTATION` (what a new oracle starts with) and `k`
//! its strength in reports. The floor keeps history alone from driving a
//! weight to zero: excluding an oracle is the job of bans, which are explicit
//! and logged. With the defaults (`r₀` 0.8, `k` 5, floor 0.15), 85 correct of
//! 100 recent reports give `(4 + 85 + 2.25) / 105 = 0.869 → 0.87`.

/// One report whose correctness is known.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ScoredReport {
    /// Whether it matched the job's final verdict.
    pub correct: bool,
    /// When the report was made (Unix milliseconds).
    pub at_ms: u64,
}

/// Parameters of the reputation formula.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ReputationPolicy {
    /// `ORACLE_REPUTATION`: the starting reputation, in [0, 1].
    pub prior: f64,
    /// Weight of the prior, in reports.
    pub prior_strength: f64,
    /// Score of an incorrect report, in [0, 1).
    pub floor: f64,
    /// Age at which a report counts half (milliseconds); 0 disables decay.
    pub half_life_ms: u64,
}

/// Thirty days.
pub const DEFAULT_HALF_LIFE_MS: u64 = 30 * 24 * 3600 * 1000;

impl Default for ReputationPolicy {
    fn default() -> Self {
        ReputationPolicy {
            prior: 0.8,
            prior_strength: 5.0,
            floor: 0.15,
            half_life_ms: DEFAULT_HALF_LIFE_MS,
        }
    }
}

impl ReputationPolicy {
    /// The reputation that `history` earns as of `now_ms`.
    pub fn reputation(&self, history: &[ScoredReport], now_ms: u64) -> f64 {
        let (mut earned, mut weight) = (self.prior_strength * self.prior, self.prior_strength);
        for r in history {
            let w = self.decay(now_ms.saturating_sub(r.at_ms));
            let score = if r.correct { 1.0 } else { self.floor };
            earned += w * score;
            weight += w;
        }
        if weight <= 0.0 {
            return self.prior;
        }
        (earned / weight).clamp(0.0, 1.0)
    }

    fn decay(&self, age_ms: u64) -> f64 {
        if self.half_life_ms == 0 {
            return 1.0;
        }
        0.5_f64.powf(age_ms as f64 / self.half_life_ms as f64)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn history(correct: usize, total: usize, at_ms: u64) -> Vec<ScoredReport> {
        (0..total)
            .map(|i| ScoredReport {
                correct: i < correct,
                at_ms,
            })
            .collect()
    }

    #[test]
    fn seed_vector_85_of_100_gives_0_87() {
        let now = 1_800_000_000_000;
        let rep = ReputationPolicy::default().reputation(&history(85, 100, now), now);
        assert_eq!((rep * 100.0).round() / 100.0, 0.87);
    }

    #[test]
    fn new_oracle_starts_at_prior() {
        let policy = ReputationPolicy::default();
        assert_eq!(policy.reputation(&[], 0), 0.8);
    }

    #[test]
    fn mistakes_lower_and_successes_raise() {
        let policy = ReputationPolicy::default();
        let now = 10_000;
        assert!(policy.reputation(&history(0, 10, now), now) < 0.8);
        assert!(policy.reputation(&history(10, 10, now), now) > 0.8);
        assert!(policy.reputation(&history(0, 10_000, now), now) >= policy.floor);
    }

    #[test]
    fn old_mistakes_weigh_less_than_new_ones() {
        let policy = ReputationPolicy::default();
        let now = 10 * DEFAULT_HALF_LIFE_MS;
        let mut old_mistakes = history(0, 10, 0);
        old_mistakes.extend(history(10, 10, now));
        let mut new_mistakes = history(10, 10, 0);
        new_mistakes.extend(history(0, 10, now));
        assert!(policy.reputation(&old_mistakes, now) > policy.reputation(&new_mistakes, now));
    }
}
