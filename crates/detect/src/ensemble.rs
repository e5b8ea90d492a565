//! The per-enclave ensemble: run every detector, then combine.
//!
//! Policy, in order:
//! 1. Decisive provenance outranks statistics. Any provenance detector voting
//!    `AI_GENERATED` decides `AI_GENERATED` (a generator's fingerprint is
//!    specific; a capture claim is cheap to forge, so AI evidence wins a
//!    conflict). Otherwise a provenance `REAL` decides `REAL`.
//! 2. Statistical detectors are combined by a weighted mean of their
//!    probability of AI; at or above `ai_threshold` → `AI_GENERATED`, at or
//!    below `real_threshold` → `REAL`, between → `UNCERTAIN`.
//! 3. Hints never decide; with no decisive or statistical signal the verdict
//!    is `UNCERTAIN`, never a guess.

use std::collections::BTreeMap;

use verity_core::{Confidence, DetectorResult, DetectorVerdict, Verdict};

use crate::detector::{Detector, DetectorKind, Media};

/// Thresholds and weights of the ensemble.
#[derive(Debug, Clone, PartialEq)]
pub struct EnsemblePolicy {
    /// Mean probability of AI at or above which statistics say `AI_GENERATED`.
    pub ai_threshold: f64,
    /// Mean probability of AI at or below which statistics say `REAL`.
    pub real_threshold: f64,
    /// Weight per statistical detector name (1.0 when absent).
    pub weights: BTreeMap<String, f64>,
    /// Confidence given to an `UNCERTAIN` outcome.
    pub uncertain_confidence: Confidence,
}

impl Default for EnsemblePolicy {
    fn default() -> Self {
        EnsemblePolicy {
            ai_threshold: 0.7,
            real_threshold: 0.3,
            weights: BTreeMap::new(),
            uncertain_confidence: Confidence::from_f64(0.5),
        }
    }
}

/// What the ensemble concluded, with every detector's result.
#[derive(Debug, Clone, PartialEq)]
pub struct EnsembleOutcome {
    /// The enclave's verdict.
    pub verdict: Verdict,
    /// Its confidence.
    pub confidence: Confidence,
    /// Each detector's result, in ensemble order.
    pub results: Vec<DetectorResult>,
}

/// The detectors an enclave runs, and how it combines them.
pub struct Ensemble {
    detectors: Vec<Box<dyn Detector>>,
    policy: EnsemblePolicy,
}

impl Ensemble {
    /// An ensemble of `detectors` under `policy`.
    pub fn new(detectors: Vec<Box<dyn Detector>>, policy: EnsemblePolicy) -> Self {
        Ensemble { detectors, policy }
    }

    /// The policy it combines results under.
    pub fn policy(&self) -> &EnsemblePolicy {
        &self.policy
    }

    /// Names and versions of the detectors, in order.
    pub fn describe(&self) -> Vec<(String, String)> {
        self.detectors
            .iter()
            .map(|d| (d.name().to_owned(), d.version().to_owned()))
            .collect()
    }

    /// Runs every detector on `media` and combines the results.
    pub fn run(&self, media: &Media<'_>) -> EnsembleOutcome {
        let kinds: Vec<DetectorKind> = self.detectors.iter().map(|d| d.kind()).collect();
        let results: Vec<DetectorResult> = self.detectors.iter().map(|d| d.detect(media)).collect();
        let (verdict, confidence) = self.combine(&kinds, &results);
        EnsembleOutcome {
            verdict,
            confidence,
            results,
        }
    }

    fn combine(&self, kinds: &[DetectorKind], results: &[DetectorResult]) -> (Verdict, Confidence) {
        let provenance = |want: DetectorVerdict| {
            kinds
                .iter()
                .zip(results)
                .filter(|(k, r)| **k == DetectorKind::Provenance && r.verdict == want)
                .map(|(_, r)| r.confidence)
                .max()
        };
        if let Some(c) = provenance(DetectorVerdict::AiGenerated) {
            return (Verdict::AiGenerated, c);
        }
        if let Some(c) = provenance(DetectorVerdict::Real) {
            return (Verdict::Real, c);
        }
        self.statistical(kinds, results)
            .unwrap_or((Verdict::Uncertain, self.policy.uncertain_confidence))
    }

    fn statistical(
        &self,
        kinds: &[DetectorKind],
        results: &[DetectorResult],
    ) -> Option<(Verdict, Confidence)> {
        let (mut sum, mut weight) = (0.0, 0.0);
        for (kind, r) in kinds.iter().zip(results) {
            let p_ai = match (kind, r.verdict) {
                (DetectorKind::Statistical, DetectorVerdict::AiGenerated) => r.confidence.as_f64(),
                (DetectorKind::Statistical, DetectorVerdict::Real) => 1.0 - r.confidence.as_f64(),
                _ => continue,
            };
            let w = self.policy.weights.get(&r.name).copied().unwrap_or(1.0);
            sum += w * p_ai;
            weight += w;
        }
        if weight <= 0.0 {
            return None;
        }
        let p = sum / weight;
        Some(if p >= self.policy.ai_threshold {
            (Verdict::AiGenerated, Confidence::from_f64(p))
        } else if p <= self.policy.real_threshold {
            (Verdict::Real, Confidence::from_f64(1.0 - p))
        } else {
            (Verdict::Uncertain, self.policy.uncertain_confidence)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::media::MediaFormat;

    struct Fixed(&'static str, DetectorKind, DetectorVerdict, f64);

    impl Detector for Fixed {
        fn name(&self) -> &str {
            self.0
        }
        fn version(&self) -> &str {
            "test"
        }
        fn kind(&self) -> DetectorKind {
            self.1
        }
        fn detect(&self, _: &Media<'_>) -> DetectorResult {
            DetectorResult {
                name: self.0.into(),
                version: "test".into(),
                verdict: self.2,
                confidence: Confidence::from_f64(self.3),
                evidence: vec![],
            }
        }
    }

    fn run(detectors: Vec<Fixed>) -> EnsembleOutcome {
        let boxed = detectors
            .into_iter()
            .map(|d| Box::new(d) as Box<dyn Detector>)
            .collect();
        Ensemble::new(boxed, EnsemblePolicy::default()).run(&Media::new(b"", MediaFormat::Png))
    }

    use DetectorKind::*;
    use DetectorVerdict as D;

    #[test]
    fn no_signal_is_uncertain() {
        let out = run(vec![
            Fixed("a", Provenance, D::NotApplicable, 0.0),
            Fixed("b", Hint, D::Real, 0.3),
        ]);
        assert_eq!(out.verdict, Verdict::Uncertain);
        assert_eq!(out.results.len(), 2);
    }

    #[test]
    fn provenance_outranks_statistics_and_ai_wins_conflicts() {
        let out = run(vec![
            Fixed("model", Statistical, D::Real, 0.99),
            Fixed("xmp", Provenance, D::Real, 0.8),
            Fixed("png", Provenance, D::AiGenerated, 0.95),
        ]);
        assert_eq!(
            (out.verdict, out.confidence),
            (Verdict::AiGenerated, Confidence::from_f64(0.95))
        );
        let out = run(vec![
            Fixed("model", Statistical, D::AiGenerated, 0.99),
            Fixed("c2pa", Provenance, D::Real, 0.9),
        ]);
        assert_eq!(out.verdict, Verdict::Real);
    }

    #[test]
    fn statistics_need_a_clear_mean() {
        let ai = run(vec![
            Fixed("m1", Statistical, D::AiGenerated, 0.9),
            Fixed("m2", Statistical, D::AiGenerated, 0.8),
        ]);
        assert_eq!(ai.verdict, Verdict::AiGenerated);
        let split = run(vec![
            Fixed("m1", Statistical, D::AiGenerated, 0.9),
            Fixed("m2", Statistical, D::Real, 0.9),
        ]);
        assert_eq!(split.verdict, Verdict::Uncertain);
        let real = run(vec![Fixed("m1", Statistical, D::Real, 0.9)]);
        assert_eq!(real.verdict, Verdict::Real);
    }
}
