//! Verdicts and confidences.

use std::fmt;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// What a verifier concludes about an image.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum Verdict {
    /// A real capture.
    Real,
    /// Generated (or substantially edited) by an AI model.
    AiGenerated,
    /// No decisive signal either way; never a guess.
    Uncertain,
}

impl Verdict {
    /// All verdicts, in their canonical (encoding) order.
    pub const ALL: [Verdict; 3] = [Verdict::Real, Verdict::AiGenerated, Verdict::Uncertain];

    /// The wire name, e.g. `AI_GENERATED`.
    pub fn as_str(self) -> &'static str {
        match self {
            Verdict::Real => "REAL",
            Verdict::AiGenerated => "AI_GENERATED",
            Verdict::Uncertain => "UNCERTAIN",
        }
    }
}

impl fmt::Display for Verdict {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// What one detector concludes; a detector may have nothing to say.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum DetectorVerdict {
    /// Signal for a real capture.
    Real,
    /// Signal for AI generation.
    AiGenerated,
    /// The detector ran but its signal is inconclusive.
    Uncertain,
    /// The detector found nothing it applies to (no metadata, model not configured…).
    NotApplicable,
}

impl DetectorVerdict {
    /// The verdict this detector votes for, if it votes at all.
    pub fn verdict(self) -> Option<Verdict> {
        match self {
            DetectorVerdict::Real => Some(Verdict::Real),
            DetectorVerdict::AiGenerated => Some(Verdict::AiGenerated),
            DetectorVerdict::Uncertain => Some(Verdict::Uncertain),
            DetectorVerdict::NotApplicable => None,
        }
    }
}

impl From<Verdict> for DetectorVerdict {
    fn from(v: Verdict) -> Self {
        match v {
            Verdict::Real => DetectorVerdict::Real,
            Verdict::AiGenerated => DetectorVerdict::AiGenerated,
            Verdict::Uncertain => DetectorVerdict::Uncertain,
        }
    }
}

/// A confidence in [0, 1], held in basis points so that what is signed is exact.
///
/// On the wire (JSON) it is a number such as `0.87`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct Confidence(u16);

impl Confidence {
    /// Certainty.
    pub const MAX: Confidence = Confidence(10_000);
    /// No confidence at all.
    pub const ZERO: Confidence = Confidence(0);

    /// From basis points (1/10 000); values above 10 000 are clamped.
    pub fn from_basis_points(bp: u16) -> Self {
        Confidence(bp.min(10_000))
    }

    /// From a fraction; NaN becomes 0 and the value is clamped to [0, 1].
    pub fn from_f64(x: f64) -> Self {
        if x.is_nan() {
            return Confidence::ZERO;
        }
        Confidence((x.clamp(0.0, 1.0) * 10_000.0).round() as u16)
    }

    /// Basis points (0..=10 000).
    pub fn basis_points(self) -> u16 {
        self.0
    }

    /// As a fraction in [0, 1].
    pub fn as_f64(self) -> f64 {
        f64::from(self.0) / 10_000.0
    }
}

impl Serialize for Confidence {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_f64(self.as_f64())
    }
}

impl<'de> Deserialize<'de> for Confidence {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let x = f64::deserialize(d)?;
        if !(0.0..=1.0).contains(&x) {
            return Err(serde::de::Error::custom("confidence must be within [0, 1]"));
        }
        let c = Confidence::from_f64(x);
        // Only values that round-trip exactly are accepted, so a signed value
        // cannot be shown differently from what was signed.
        if (c.as_f64() - x).abs() > 1e-9 {
            return Err(serde::de::Error::custom(
                "confidence has more than four decimals",
            ));
        }
        Ok(c)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn confidence_clamps_and_round_trips() {
        assert_eq!(Confidence::from_f64(1.7), Confidence::MAX);
        assert_eq!(Confidence::from_f64(-1.0), Confidence::ZERO);
        assert_eq!(Confidence::from_f64(f64::NAN), Confidence::ZERO);
        let c = Confidence::from_f64(0.8765);
        let json = serde_json::to_string(&c).unwrap();
        assert_eq!(json, "0.8765");
        assert_eq!(serde_json::from_str::<Confidence>(&json).unwrap(), c);
        assert!(serde_json::from_str::<Confidence>("0.12345").is_err());
        assert!(serde_json::from_str::<Confidence>("1.5").is_err());
    }

    #[test]
    fn verdict_wire_names() {
        assert_eq!(
            serde_json::to_string(&Verdict::AiGenerated).unwrap(),
            "\"AI_GENERATED\""
        );
        assert_eq!(
            serde_json::to_string(&DetectorVerdict::NotApplicable).unwrap(),
            "\"NOT_APPLICABLE\""
        );
    }
}
