//! The detectors.

use crate::detector::Detector;

/// The standard set every enclave runs unless configured otherwise.
pub fn standard() -> Vec<Box<dyn Detector>> {
    Vec::new()
}
