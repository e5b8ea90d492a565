//! C2PA Content Credentials: the active manifest of a JPEG (APP11) or PNG
//! (`caBX`), validated with the `c2pa` crate (pure-Rust crypto, no network).
//!
//! What is reported:
//! - the validation state: *valid and trusted* (signer chains to a configured
//!   trust anchor), *valid, untrusted signer* (intact, but nobody vouches for
//!   the signer), or *invalid* (tampered: a hash or signature fails), with the
//!   failure codes;
//! - the claim generator, the signer (common name, issuer) and signing time;
//! - the IPTC `digitalSourceType` of every `c2pa.created` / `c2pa.opened`
//!   action in the active manifest and in its ingredients' manifests, and the
//!   vendor parameter `com.adobe.digitalSourceType` some tools write instead.
//!
//! Verdicts:
//! - `trainedAlgorithmicMedia` → `AI_GENERATED`;
//!   `compositeWithTrainedAlgorithmicMedia` (or an AI-generated ingredient)
//!   → `AI_GENERATED` with "AI-edited" evidence. Higher confidence when the
//!   signer is trusted; still `AI_GENERATED` at a lower confidence when the
//!   manifest is invalid (the content changed after an AI tool declared it).
//! - `digitalCapture` → `REAL` only from a trusted, valid manifest; from an
//!   untrusted signer it is a claim anyone can make → `UNCERTAIN`.
//! - `algorithmicMedia`, no source type, or an unreadable manifest →
//!   `UNCERTAIN` with the reason. No manifest → not applicable.
//!
//! A malformed or tampered manifest is evidence, never a crash: the reader is
//! also run under `catch_unwind` because it parses hostile input.

use std::io::Cursor;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::Arc;

use c2pa::{Context, Manifest, Reader, ValidationState};
use serde_json::Value;
use verity_core::{DetectorResult, DetectorVerdict};

use super::{finding, not_applicable};
use crate::detector::{Detector, DetectorKind, Media};

/// Configuration of the C2PA detector.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct C2paConfig {
    /// PEM bundle of trust-anchor root certificates. Signers chaining to one
    /// of them are *trusted*; without anchors every signer is untrusted.
    pub trust_anchors_pem: Option<String>,
}

/// Errors building the C2PA detector.
#[derive(Debug, thiserror::Error)]
pub enum C2paConfigError {
    /// The trust anchors are not a PEM bundle of certificates.
    #[error("C2PA trust anchors: no PEM certificate in the bundle")]
    NoCertificate,
    /// The `c2pa` crate rejected the settings.
    #[error("C2PA settings rejected: {0}")]
    Settings(String),
}

/// The C2PA detector; build once, share between threads.
#[derive(Clone)]
pub struct C2paDetector {
    context: Arc<Context>,
    anchored: bool,
}

impl std::fmt::Debug for C2paDetector {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("C2paDetector")
            .field("anchored", &self.anchored)
            .finish_non_exhaustive()
    }
}

impl C2paDetector {
    /// A detector validating against `config`'s trust anchors, with OCSP and
    /// remote-manifest fetching off (an enclave has no network).
    ///
    /// # Errors
    /// [`C2paConfigError`] when the anchors hold no certificate or the SDK
    /// rejects the settings.
    pub fn new(config: &C2paConfig) -> Result<Self, C2paConfigError> {
        let anchors = match &config.trust_anchors_pem {
            Some(pem) if !pem.contains("-----BEGIN CERTIFICATE-----") => {
                return Err(C2paConfigError::NoCertificate);
            }
            other => other.clone(),
        };
        let mut settings = serde_json::json!({
            "verify": {
                "verify_after_reading": true,
                "ocsp_fetch": false,
                "remote_manifest_fetch": false,
            },
        });
        if let Some(pem) = &anchors {
            settings["trust"] = serde_json::json!({ "trust_anchors": pem });
        }
        let context = Context::new()
            .with_settings(settings)
            .map_err(|e| C2paConfigError::Settings(e.to_string()))?;
        Ok(C2paDetector {
            context: Arc::new(context),
            anchored: anchors.is_some(),
        })
    }

    /// Whether trust anchors are configured.
    pub fn has_trust_anchors(&self) -> bool {
        self.anchored
    }
}

impl Default for C2paDetector {
    fn default() -> Self {
        C2paDetector::new(&C2paConfig::default()).expect("default C2PA settings are valid")
    }
}

/// The three states a reader of Content Credentials distinguishes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Validity {
    /// Intact, signer chains to a configured trust anchor.
    Trusted,
    /// Intact, signer not on any configured trust list.
    Untrusted,
    /// A hash, signature or structure check failed.
    Invalid,
}

/// What one `digitalSourceType` declaration says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SourceDeclaration {
    /// The action (`c2pa.created`, `c2pa.opened`…).
    pub action: String,
    /// The code (last segment of the IPTC URI).
    pub code: String,
    /// Where: `active manifest` or `ingredient manifest <label>`.
    pub place: String,
    /// Whether it came from the vendor parameter rather than the standard field.
    pub vendor: bool,
}

/// A summary of a manifest store, as the detector reads it.
#[derive(Debug, Clone, PartialEq)]
pub struct C2paSummary {
    /// Validation state.
    pub validity: Validity,
    /// Failure codes (excluding `signingCredential.untrusted`).
    pub failures: Vec<String>,
    /// Claim generator of the active manifest.
    pub claim_generator: Option<String>,
    /// Signer common name and issuer.
    pub signer: Option<String>,
    /// Signing time.
    pub signed_at: Option<String>,
    /// Source-type declarations of created/opened actions.
    pub declarations: Vec<SourceDeclaration>,
}

/// Reads and validates the manifest store in `bytes`.
///
/// # Errors
/// `Ok(None)` when there is no manifest; `Err` with a message when one is
/// present but cannot be read (corrupt JUMBF, undecodable claim).
pub fn read_summary(
    context: &Arc<Context>,
    bytes: &[u8],
    mime: &str,
) -> Result<Option<C2paSummary>, String> {
    let run = || Reader::from_shared_context(context).with_stream(mime, Cursor::new(bytes));
    let reader = match catch_unwind(AssertUnwindSafe(run)) {
        Ok(Ok(reader)) => reader,
        Ok(Err(c2pa::Error::JumbfNotFound)) | Ok(Err(c2pa::Error::ProvenanceMissing)) => {
            return Ok(None);
        }
        Ok(Err(e)) => return Err(format!("C2PA manifest present but unreadable: {e}")),
        Err(_) => return Err("C2PA reader failed on this file (malformed manifest)".into()),
    };
    Ok(Some(summarize(&reader)))
}

fn summarize(reader: &Reader) -> C2paSummary {
    let mut failures: Vec<String> = reader
        .validation_status()
        .unwrap_or_default()
        .iter()
        .map(|s| s.code().to_owned())
        .filter(|c| c != "signingCredential.untrusted")
        .collect();
    failures.dedup();
    let validity = match reader.validation_state() {
        ValidationState::Invalid => Validity::Invalid,
        ValidationState::Trusted => Validity::Trusted,
        ValidationState::Valid => Validity::Untrusted,
    };
    let mut summary = C2paSummary {
        validity,
        failures,
        claim_generator: None,
        signer: None,
        signed_at: None,
        declarations: Vec::new(),
    };
    let Some(active) = reader.active_manifest() else {
        return summary;
    };
    summary.claim_generator = claim_generator(active);
    if let Some(info) = active.signature_info() {
        summary.signer = match (&info.common_name, &info.issuer) {
            (Some(cn), Some(issuer)) => Some(format!("{cn} (issued by {issuer})")),
            (Some(cn), None) => Some(cn.clone()),
            (None, Some(issuer)) => Some(format!("issued by {issuer}")),
            (None, None) => None,
        };
        summary.signed_at = info.time.clone();
    }
    declarations(active, "active manifest", &mut summary.declarations);
    for ingredient in active.ingredients() {
        if let Some(label) = ingredient.active_manifest()
            && let Some(manifest) = reader.get_manifest(label)
        {
            let place = format!("ingredient manifest {label}");
            declarations(manifest, &place, &mut summary.declarations);
        }
    }
    summary
}

fn claim_generator(manifest: &Manifest) -> Option<String> {
    if let Some(g) = manifest.claim_generator() {
        return Some(g.to_owned());
    }
    let info = manifest.claim_generator_info.as_ref()?;
    let parts: Vec<String> = info
        .iter()
        .map(|i| match i.version.as_deref() {
            Some(v) => format!("{}/{v}", i.name),
            None => i.name.clone(),
        })
        .collect();
    (!parts.is_empty()).then(|| parts.join(" "))
}

fn declarations(manifest: &Manifest, place: &str, out: &mut Vec<SourceDeclaration>) {
    for assertion in manifest.assertions() {
        let label = assertion.label();
        if label != "c2pa.actions" && label != "c2pa.actions.v2" {
            continue;
        }
        let Ok(value) = assertion.value() else {
            continue;
        };
        let Some(actions) = value.get("actions").and_then(Value::as_array) else {
            continue;
        };
        for action in actions {
            let name = action.get("action").and_then(Value::as_str).unwrap_or("");
            if name != "c2pa.created" && name != "c2pa.opened" {
                continue;
            }
            let standard = action.get("digitalSourceType").and_then(Value::as_str);
            let vendor = action
                .get("parameters")
                .and_then(|p| p.get("com.adobe.digitalSourceType"))
                .and_then(Value::as_str);
            for (uri, is_vendor) in [(standard, false), (vendor, true)] {
                if let Some(code) = uri.map(code_of).filter(|c| !c.is_empty()) {
                    out.push(SourceDeclaration {
                        action: name.to_owned(),
                        code,
                        place: place.to_owned(),
                        vendor: is_vendor,
                    });
                }
            }
        }
    }
}

fn code_of(uri: &str) -> String {
    uri.trim()
        .trim_end_matches('/')
        .rsplit('/')
        .next()
        .unwrap_or("")
        .to_owned()
}

/// The verdict and confidence a summary supports, and its reading.
pub fn judge(summary: &C2paSummary) -> (DetectorVerdict, f64, String) {
    let active_ai = |code: &str| {
        summary
            .declarations
            .iter()
            .any(|d| d.code == code && d.place == "active manifest" && !d.vendor)
    };
    let any = |code: &str| summary.declarations.iter().any(|d| d.code == code);
    let trained_in_active = active_ai("trainedAlgorithmicMedia");
    let composite = any("compositeWithTrainedAlgorithmicMedia");
    let trained_anywhere = any("trainedAlgorithmicMedia");
    let (base, reading) = if trained_in_active {
        (0.95, "declares the image was created by a trained AI model")
    } else if composite || trained_anywhere {
        (
            0.9,
            "AI-edited: declares AI-generated content in the image or its ingredients",
        )
    } else if any("digitalCapture") {
        return match summary.validity {
            Validity::Trusted => (
                DetectorVerdict::Real,
                0.9,
                "a trusted signer declares a digital capture".into(),
            ),
            Validity::Untrusted => (
                DetectorVerdict::Uncertain,
                0.5,
                "declares a digital capture, but the signer is not trusted: a claim, not proof"
                    .into(),
            ),
            Validity::Invalid => (
                DetectorVerdict::Uncertain,
                0.5,
                "declares a digital capture, but the manifest is invalid".into(),
            ),
        };
    } else if any("algorithmicMedia") {
        return (
            DetectorVerdict::Uncertain,
            0.5,
            "declares algorithmicMedia: synthetic, but not ML-generated".into(),
        );
    } else {
        return (
            DetectorVerdict::Uncertain,
            0.5,
            "no digitalSourceType declared by a created/opened action".into(),
        );
    };
    let confidence = match summary.validity {
        Validity::Trusted => base + 0.04,
        Validity::Untrusted => base - 0.05,
        Validity::Invalid => base - 0.3,
    };
    let reading = if summary.validity == Validity::Invalid {
        format!("{reading} (the manifest is invalid: the content changed after it was signed)")
    } else {
        reading.to_owned()
    };
    (DetectorVerdict::AiGenerated, confidence, reading)
}

impl Detector for C2paDetector {
    fn name(&self) -> &str {
        "c2pa"
    }
    fn version(&self) -> &str {
        "1.0.0 (c2pa-rs 0.90.22)"
    }
    fn kind(&self) -> DetectorKind {
        DetectorKind::Provenance
    }
    fn detect(&self, media: &Media<'_>) -> DetectorResult {
        let summary = match read_summary(&self.context, media.bytes(), media.format().mime()) {
            Ok(None) => return not_applicable(self, vec!["no C2PA manifest".into()]),
            Ok(Some(summary)) => summary,
            Err(why) => return finding(self, DetectorVerdict::Uncertain, 0.5, vec![why]),
        };
        let (verdict, confidence, reading) = judge(&summary);
        let mut evidence = vec![match summary.validity {
            Validity::Trusted => "C2PA manifest valid; signer trusted".to_owned(),
            Validity::Untrusted if self.anchored => {
                "C2PA manifest valid; signer not chained to a configured trust anchor".to_owned()
            }
            Validity::Untrusted => {
                "C2PA manifest valid; signer untrusted (no trust anchors configured)".to_owned()
            }
            Validity::Invalid => format!(
                "C2PA manifest INVALID (tampered): {}",
                summary.failures.join(", ")
            ),
        }];
        if let Some(g) = &summary.claim_generator {
            evidence.push(format!("claim generator: {g}"));
        }
        if let Some(s) = &summary.signer {
            evidence.push(format!("signer: {s}"));
        }
        if let Some(t) = &summary.signed_at {
            evidence.push(format!("signed at: {t}"));
        }
        for d in &summary.declarations {
            let field = if d.vendor {
                "parameters.com.adobe.digitalSourceType"
            } else {
                "digitalSourceType"
            };
            evidence.push(format!("{} {}: {field} = {}", d.place, d.action, d.code));
        }
        evidence.push(reading);
        finding(self, verdict, confidence, evidence)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn summary(validity: Validity, codes: &[(&str, &str)]) -> C2paSummary {
        C2paSummary {
            validity,
            failures: vec![],
            claim_generator: None,
            signer: None,
            signed_at: None,
            declarations: codes
                .iter()
                .map(|(code, place)| SourceDeclaration {
                    action: "c2pa.created".into(),
                    code: (*code).into(),
                    place: (*place).into(),
                    vendor: false,
                })
                .collect(),
        }
    }

    #[test]
    fn mapping_follows_the_source_type_and_the_trust() {
        use DetectorVerdict as D;
        let a = "active manifest";
        let cases = [
            (Validity::Trusted, "trainedAlgorithmicMedia", D::AiGenerated),
            (
                Validity::Untrusted,
                "trainedAlgorithmicMedia",
                D::AiGenerated,
            ),
            (Validity::Invalid, "trainedAlgorithmicMedia", D::AiGenerated),
            (
                Validity::Untrusted,
                "compositeWithTrainedAlgorithmicMedia",
                D::AiGenerated,
            ),
            (Validity::Trusted, "digitalCapture", D::Real),
            (Validity::Untrusted, "digitalCapture", D::Uncertain),
            (Validity::Invalid, "digitalCapture", D::Uncertain),
            (Validity::Trusted, "algorithmicMedia", D::Uncertain),
        ];
        for (validity, code, want) in cases {
            let (got, conf, _) = judge(&summary(validity, &[(code, a)]));
            assert_eq!(got, want, "{validity:?} {code}");
            assert!((0.0..=1.0).contains(&conf));
        }
        let (_, trusted, _) = judge(&summary(
            Validity::Trusted,
            &[("trainedAlgorithmicMedia", a)],
        ));
        let (_, invalid, _) = judge(&summary(
            Validity::Invalid,
            &[("trainedAlgorithmicMedia", a)],
        ));
        assert!(trusted > invalid);
    }

    #[test]
    fn an_ai_ingredient_makes_an_ai_edit() {
        let s = summary(
            Validity::Untrusted,
            &[("trainedAlgorithmicMedia", "ingredient manifest x")],
        );
        let (verdict, _, reading) = judge(&s);
        assert_eq!(verdict, DetectorVerdict::AiGenerated);
        assert!(reading.contains("AI-edited"));
    }

    #[test]
    fn anchors_must_hold_a_certificate() {
        let bad = C2paConfig {
            trust_anchors_pem: Some("not a pem".into()),
        };
        assert!(matches!(
            C2paDetector::new(&bad),
            Err(C2paConfigError::NoCertificate)
        ));
    }
}
