//! Byzantine simulation — a **test and demonstration feature, off unless
//! explicitly enabled** (`VERITY_BYZANTINE_ENCLAVES`, see docs/DISPUTES.md).
//!
//! An honest enclave signs what its ensemble concluded. A Byzantine one is
//! configured to misbehave in a way the economy must catch:
//! - [`Byzantine::Lie`]: signs the opposite verdict (`REAL` ↔ `AI_GENERATED`,
//!   `UNCERTAIN` → `AI_GENERATED`) at confidence 0.95 — caught by disputes;
//! - [`Byzantine::Equivocate`]: signs its honest report and then a second,
//!   lying report for the same job round — caught as equivocation.
//!
//! Its reports are still validly signed by its own key: the point is that
//! signatures prove *who* said something, not that it is true.

use std::str::FromStr;

use verity_core::{Confidence, EnclaveReport, Verdict};

/// How a Byzantine enclave misbehaves.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Byzantine {
    /// Always signs the opposite verdict.
    Lie,
    /// Signs an honest report, then a conflicting one for the same round.
    Equivocate,
}

impl FromStr for Byzantine {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "lie" => Ok(Byzantine::Lie),
            "equivocate" => Ok(Byzantine::Equivocate),
            other => Err(format!(
                "unknown Byzantine behaviour {other:?} (lie, equivocate)"
            )),
        }
    }
}

/// The lie told about `verdict`.
pub fn opposite(verdict: Verdict) -> Verdict {
    match verdict {
        Verdict::Real => Verdict::AiGenerated,
        Verdict::AiGenerated | Verdict::Uncertain => Verdict::Real,
    }
}

/// `report` with its verdict replaced by the lie (and a confident 0.95).
pub fn lie_about(report: &EnclaveReport) -> EnclaveReport {
    let mut lied = report.clone();
    lied.verdict = match report.verdict {
        Verdict::Uncertain => Verdict::AiGenerated,
        v => opposite(v),
    };
    lied.confidence = Confidence::from_f64(0.95);
    lied
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_and_lies() {
        assert_eq!("lie".parse(), Ok(Byzantine::Lie));
        assert_eq!("equivocate".parse(), Ok(Byzantine::Equivocate));
        assert!("honest".parse::<Byzantine>().is_err());
        assert_eq!(opposite(Verdict::Real), Verdict::AiGenerated);
        assert_eq!(opposite(Verdict::AiGenerated), Verdict::Real);
    }
}
