//! Evaluation of an ensemble on a labelled set: a confusion matrix, precision,
//! recall and F1 per detector and for the ensemble, and the ensemble's results
//! per transform (robustness).
//!
//! "Positive" is `AI_GENERATED`. A detector that says `UNCERTAIN` or has
//! nothing to say *abstains*: abstentions are counted apart and count as
//! misses in recall (an undetected AI image is a miss whatever the reason),
//! never as errors in precision.

use std::collections::BTreeMap;

use serde::Serialize;
use verity_core::{DetectorVerdict, Verdict};

use crate::detector::Media;
use crate::ensemble::Ensemble;
use crate::media::sniff;

/// What an item truly is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum Truth {
    /// AI-generated (or AI-edited).
    AiGenerated,
    /// A real capture.
    Real,
}

/// One labelled image.
#[derive(Debug, Clone)]
pub struct LabelledItem {
    /// Display name (a path).
    pub name: String,
    /// The truth.
    pub truth: Truth,
    /// Which transform produced it (`original`, `jpeg q75 4:2:0`…).
    pub transform: String,
    /// The encoded image.
    pub bytes: Vec<u8>,
}

/// Counts of one classifier.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct Confusion {
    /// AI called AI.
    pub true_positive: u32,
    /// Real called AI.
    pub false_positive: u32,
    /// Real called real.
    pub true_negative: u32,
    /// AI called real.
    pub false_negative: u32,
    /// AI items it abstained on.
    pub abstain_ai: u32,
    /// Real items it abstained on.
    pub abstain_real: u32,
}

impl Confusion {
    /// Adds one prediction (`None` = abstain).
    pub fn add(&mut self, truth: Truth, predicted: Option<Truth>) {
        match (truth, predicted) {
            (Truth::AiGenerated, Some(Truth::AiGenerated)) => self.true_positive += 1,
            (Truth::Real, Some(Truth::AiGenerated)) => self.false_positive += 1,
            (Truth::Real, Some(Truth::Real)) => self.true_negative += 1,
            (Truth::AiGenerated, Some(Truth::Real)) => self.false_negative += 1,
            (Truth::AiGenerated, None) => self.abstain_ai += 1,
            (Truth::Real, None) => self.abstain_real += 1,
        }
    }

    /// TP / (TP + FP); `None` when it never said AI.
    pub fn precision(&self) -> Option<f64> {
        ratio(self.true_positive, self.true_positive + self.false_positive)
    }

    /// TP / all AI items (abstentions are misses); `None` without AI items.
    pub fn recall(&self) -> Option<f64> {
        ratio(
            self.true_positive,
            self.true_positive + self.false_negative + self.abstain_ai,
        )
    }

    /// Harmonic mean of precision and recall.
    pub fn f1(&self) -> Option<f64> {
        let (p, r) = (self.precision()?, self.recall()?);
        Some(if p + r == 0.0 {
            0.0
        } else {
            2.0 * p * r / (p + r)
        })
    }

    /// Share of items it did not abstain on.
    pub fn coverage(&self) -> Option<f64> {
        let total = self.total();
        ratio(total - self.abstain_ai - self.abstain_real, total)
    }

    /// Items counted.
    pub fn total(&self) -> u32 {
        self.true_positive
            + self.false_positive
            + self.true_negative
            + self.false_negative
            + self.abstain_ai
            + self.abstain_real
    }
}

fn ratio(num: u32, den: u32) -> Option<f64> {
    (den > 0).then(|| f64::from(num) / f64::from(den))
}

/// One item's outcome.
#[derive(Debug, Clone, Serialize)]
pub struct ItemOutcome {
    /// Its name.
    pub name: String,
    /// Its transform.
    pub transform: String,
    /// The truth.
    pub truth: Truth,
    /// The ensemble's verdict (`None` when the file is not an accepted image).
    pub verdict: Option<Verdict>,
    /// Detectors that voted AI.
    pub ai_votes: Vec<String>,
}

/// The evaluation's results.
#[derive(Debug, Clone, Serialize)]
pub struct EvalReport {
    /// Items evaluated.
    pub items: usize,
    /// The ensemble.
    pub ensemble: Confusion,
    /// Each detector, by name.
    pub detectors: BTreeMap<String, Confusion>,
    /// The ensemble per transform.
    pub transforms: BTreeMap<String, Confusion>,
    /// Every item.
    pub outcomes: Vec<ItemOutcome>,
}

fn predicted(v: DetectorVerdict) -> Option<Truth> {
    match v {
        DetectorVerdict::AiGenerated => Some(Truth::AiGenerated),
        DetectorVerdict::Real => Some(Truth::Real),
        DetectorVerdict::Uncertain | DetectorVerdict::NotApplicable => None,
    }
}

/// Runs `ensemble` on every item and tallies.
pub fn evaluate(ensemble: &Ensemble, items: &[LabelledItem]) -> EvalReport {
    let mut report = EvalReport {
        items: items.len(),
        ensemble: Confusion::default(),
        detectors: BTreeMap::new(),
        transforms: BTreeMap::new(),
        outcomes: Vec::new(),
    };
    for (name, _) in ensemble.describe() {
        report.detectors.insert(name, Confusion::default());
    }
    for item in items {
        let Ok(format) = sniff(&item.bytes) else {
            report.ensemble.add(item.truth, None);
            report
                .transforms
                .entry(item.transform.clone())
                .or_default()
                .add(item.truth, None);
            report.outcomes.push(ItemOutcome {
                name: item.name.clone(),
                transform: item.transform.clone(),
                truth: item.truth,
                verdict: None,
                ai_votes: vec![],
            });
            continue;
        };
        let out = ensemble.run(&Media::new(&item.bytes, format));
        let guess = match out.verdict {
            Verdict::AiGenerated => Some(Truth::AiGenerated),
            Verdict::Real => Some(Truth::Real),
            Verdict::Uncertain => None,
        };
        report.ensemble.add(item.truth, guess);
        report
            .transforms
            .entry(item.transform.clone())
            .or_default()
            .add(item.truth, guess);
        for r in &out.results {
            report
                .detectors
                .entry(r.name.clone())
                .or_default()
                .add(item.truth, predicted(r.verdict));
        }
        report.outcomes.push(ItemOutcome {
            name: item.name.clone(),
            transform: item.transform.clone(),
            truth: item.truth,
            verdict: Some(out.verdict),
            ai_votes: out
                .results
                .iter()
                .filter(|r| r.verdict == DetectorVerdict::AiGenerated)
                .map(|r| r.name.clone())
                .collect(),
        });
    }
    report
}

fn pct(v: Option<f64>) -> String {
    v.map_or_else(|| "—".into(), |v| format!("{:.1}%", v * 100.0))
}

fn row(name: &str, c: &Confusion) -> String {
    format!(
        "| {name} | {} | {} | {} | {} | {} | {} | {} | {} | {} |\n",
        c.true_positive,
        c.false_positive,
        c.true_negative,
        c.false_negative,
        c.abstain_ai + c.abstain_real,
        pct(c.precision()),
        pct(c.recall()),
        pct(c.f1()),
        pct(c.coverage()),
    )
}

impl EvalReport {
    /// The results as Markdown tables.
    pub fn to_markdown(&self) -> String {
        let header = "| | TP | FP | TN | FN | abstained | precision | recall | F1 | coverage |\n|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|\n";
        let mut md = format!(
            "## Ensemble and detectors ({} items; positive = AI_GENERATED)\n\n{header}",
            self.items
        );
        md.push_str(&row("**ensemble**", &self.ensemble));
        for (name, c) in &self.detectors {
            md.push_str(&row(name, c));
        }
        md.push_str("\n## Ensemble per transform\n\n");
        md.push_str(header);
        for (name, c) in &self.transforms {
            md.push_str(&row(name, c));
        }
        md
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn metrics_count_abstentions_as_misses_not_errors() {
        let mut c = Confusion::default();
        c.add(Truth::AiGenerated, Some(Truth::AiGenerated));
        c.add(Truth::AiGenerated, None);
        c.add(Truth::Real, None);
        c.add(Truth::Real, Some(Truth::Real));
        assert_eq!(c.precision(), Some(1.0));
        assert_eq!(c.recall(), Some(0.5));
        assert!((c.f1().unwrap() - 2.0 / 3.0).abs() < 1e-12);
        assert_eq!(c.coverage(), Some(0.5));
        assert_eq!(Confusion::default().precision(), None);
    }

    #[test]
    fn evaluation_tallies_per_detector_and_transform() {
        let ensemble = crate::config::DetectorCatalog::standard().ensemble_for("e");
        let items = vec![
            LabelledItem {
                name: "junk".into(),
                truth: Truth::Real,
                transform: "original".into(),
                bytes: b"not an image".to_vec(),
            },
            LabelledItem {
                name: "blank".into(),
                truth: Truth::AiGenerated,
                transform: "png".into(),
                bytes: {
                    let mut out = Vec::new();
                    image::DynamicImage::new_rgb8(16, 16)
                        .write_to(&mut std::io::Cursor::new(&mut out), image::ImageFormat::Png)
                        .unwrap();
                    out
                },
            },
        ];
        let r = evaluate(&ensemble, &items);
        assert_eq!(r.items, 2);
        assert_eq!(r.ensemble.abstain_real, 1);
        assert_eq!(r.ensemble.abstain_ai, 1);
        assert_eq!(r.transforms["png"].abstain_ai, 1);
        assert!(r.detectors.contains_key("c2pa"));
        let md = r.to_markdown();
        assert!(md.contains("| **ensemble** | 0 | 0 | 0 | 0 | 2 |"), "{md}");
    }
}
