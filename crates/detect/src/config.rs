//! The detection configuration (`detect.toml`): which detectors an enclave
//! runs, the C2PA trust anchors, the model slots and the ensemble policy, with
//! per-enclave overrides so that enclaves can hold genuinely independent
//! opinions.
//!
//! Every field has a default and [`DetectConfig::default`] needs no file:
//! all built-in detectors, no trust anchors, the seed's three model slots
//! (`primary`, `deepfake`, `sdxl`) declared but unconfigured (they report
//! "not configured", never a score), no reverse-search index, and no
//! external provider (no image ever leaves the machine).
//!
//! ```toml
//! [policy]
//! ai_threshold = 0.7
//! real_threshold = 0.3
//! weights = { primary = 2.0 }
//!
//! [c2pa]
//! trust_anchors = "anchors.pem"      # relative to this file
//!
//! [[models]]
//! name = "primary"
//! path = "models/primary.onnx"
//! sha256 = "…"
//!
//! [external_search]                 # off unless written out
//! enabled = true
//! provider = "tineye"
//! api_key_env = "TINEYE_API_KEY"
//!
//! [enclaves.enclave-2]
//! disable = ["exif-camera"]
//! models = ["sdxl"]
//! policy = { ai_threshold = 0.8, real_threshold = 0.2 }
//! ```

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use serde::Deserialize;
use verity_core::DetectorResult;

use crate::detector::{Detector, DetectorKind, Media};
use crate::detectors::{
    C2paConfig, C2paDetector, EvidenceMatch, ExifCamera, ExifGenerator, InvisibleWatermark,
    PngText, StealthPngInfo, XmpSourceType,
};
use crate::ensemble::{Ensemble, EnsemblePolicy};
use crate::external::{ExternalConfigError, ExternalReverseSearch, ExternalSearchConfig};
use crate::model::{ModelConfig, ModelDetector};
use crate::reverse::{ReverseSearch, ReverseSearchConfig};

/// Names of the built-in detectors, in ensemble order.
pub const BUILT_IN: [&str; 8] = [
    "c2pa",
    "xmp-digital-source-type",
    "png-text",
    "exif-generator",
    "stealth-pnginfo",
    "sd-invisible-watermark",
    "exif-camera",
    "dispute-evidence",
];

/// The seed's model slots, declared by default.
pub const SEED_SLOTS: [&str; 3] = ["primary", "deepfake", "sdxl"];

/// Errors loading or instantiating a detection configuration.
#[derive(Debug, thiserror::Error)]
pub enum DetectConfigError {
    /// The file could not be read.
    #[error("reading {path}: {source}")]
    Read {
        /// The file.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// The TOML is malformed or has unknown fields.
    #[error("detect config: {0}")]
    Parse(String),
    /// A value is out of range or names something unknown.
    #[error("detect config: {0}")]
    Invalid(String),
    /// The C2PA trust anchors were rejected.
    #[error("detect config: {0}")]
    C2pa(#[from] crate::detectors::C2paConfigError),
    /// A model could not be loaded.
    #[error("detect config: model {name}: {message}")]
    Model {
        /// The slot.
        name: String,
        /// Why.
        message: String,
    },
    /// The reverse-search index could not be opened.
    #[error("detect config: reverse search: {0}")]
    Reverse(String),
    /// The external reverse-search provider is misconfigured.
    #[error("detect config: {0}")]
    External(#[from] ExternalConfigError),
}

/// Ensemble thresholds and weights as written in the file.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct PolicyConfig {
    /// Mean probability of AI at or above which statistics say `AI_GENERATED`.
    pub ai_threshold: f64,
    /// Mean probability of AI at or below which statistics say `REAL`.
    pub real_threshold: f64,
    /// Weight per statistical detector name.
    pub weights: BTreeMap<String, f64>,
}

impl Default for PolicyConfig {
    fn default() -> Self {
        let p = EnsemblePolicy::default();
        PolicyConfig {
            ai_threshold: p.ai_threshold,
            real_threshold: p.real_threshold,
            weights: p.weights,
        }
    }
}

impl PolicyConfig {
    /// The policy, checked.
    ///
    /// # Errors
    /// [`DetectConfigError::Invalid`] for thresholds outside `[0, 1]`, a real
    /// threshold above the AI threshold, or a negative or non-finite weight.
    pub fn to_policy(&self) -> Result<EnsemblePolicy, DetectConfigError> {
        let unit = |v: f64| (0.0..=1.0).contains(&v);
        if !unit(self.ai_threshold) || !unit(self.real_threshold) {
            return Err(DetectConfigError::Invalid(
                "policy thresholds must be in [0, 1]".into(),
            ));
        }
        if self.real_threshold > self.ai_threshold {
            return Err(DetectConfigError::Invalid(
                "policy.real_threshold must not exceed policy.ai_threshold".into(),
            ));
        }
        if let Some((name, _)) = self
            .weights
            .iter()
            .find(|(_, w)| !w.is_finite() || **w < 0.0)
        {
            return Err(DetectConfigError::Invalid(format!(
                "policy.weights.{name} must be a finite, non-negative number"
            )));
        }
        Ok(EnsemblePolicy {
            ai_threshold: self.ai_threshold,
            real_threshold: self.real_threshold,
            weights: self.weights.clone(),
            ..EnsemblePolicy::default()
        })
    }
}

/// The `[c2pa]` section.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct C2paSection {
    /// PEM bundle of trust anchors (path, relative to the config file).
    pub trust_anchors: Option<PathBuf>,
}

/// Per-enclave overrides (`[enclaves.<id>]`).
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct EnclaveConfig {
    /// Built-in detectors this enclave does not run.
    pub disable: Vec<String>,
    /// Model slots this enclave runs (default: all declared).
    pub models: Option<Vec<String>>,
    /// Its own policy.
    pub policy: Option<PolicyConfig>,
    /// Whether it runs reverse search (default: when an index is configured).
    pub reverse_search: Option<bool>,
    /// Whether it asks the external provider (default: when one is enabled).
    pub external_search: Option<bool>,
}

/// The whole detection configuration.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct DetectConfig {
    /// Default policy.
    pub policy: PolicyConfig,
    /// Built-in detectors no enclave runs.
    pub disable: Vec<String>,
    /// C2PA settings.
    pub c2pa: C2paSection,
    /// Model slots.
    pub models: Vec<ModelConfig>,
    /// Reverse search over a local perceptual-hash index.
    pub reverse_search: Option<ReverseSearchConfig>,
    /// An external reverse-search provider (off unless `enabled = true`).
    pub external_search: Option<ExternalSearchConfig>,
    /// Per-enclave overrides, by enclave id.
    pub enclaves: BTreeMap<String, EnclaveConfig>,
    /// Directory relative paths are resolved against (the file's folder).
    #[serde(skip)]
    pub base_dir: PathBuf,
}

impl Default for DetectConfig {
    fn default() -> Self {
        DetectConfig {
            policy: PolicyConfig::default(),
            disable: Vec::new(),
            c2pa: C2paSection::default(),
            models: SEED_SLOTS.iter().map(|s| ModelConfig::slot(s)).collect(),
            reverse_search: None,
            external_search: None,
            enclaves: BTreeMap::new(),
            base_dir: PathBuf::from("."),
        }
    }
}

impl DetectConfig {
    /// Parses TOML; relative paths resolve against `base_dir`.
    ///
    /// # Errors
    /// [`DetectConfigError::Parse`] for malformed TOML or unknown fields.
    pub fn from_toml(text: &str, base_dir: &Path) -> Result<Self, DetectConfigError> {
        let mut config: DetectConfig =
            toml::from_str(text).map_err(|e| DetectConfigError::Parse(e.to_string()))?;
        config.base_dir = base_dir.to_owned();
        Ok(config)
    }

    /// Reads a TOML file.
    ///
    /// # Errors
    /// [`DetectConfigError::Read`] or [`DetectConfigError::Parse`].
    pub fn load(path: &Path) -> Result<Self, DetectConfigError> {
        let text = std::fs::read_to_string(path).map_err(|source| DetectConfigError::Read {
            path: path.to_owned(),
            source,
        })?;
        let base = path.parent().unwrap_or(Path::new(".")).to_owned();
        Self::from_toml(&text, &base)
    }

    /// The file at `path`, or the defaults when `path` is `None`.
    ///
    /// # Errors
    /// As [`Self::load`].
    pub fn load_or_default(path: Option<&Path>) -> Result<Self, DetectConfigError> {
        path.map_or_else(|| Ok(Self::default()), Self::load)
    }

    fn resolve(&self, p: &Path) -> PathBuf {
        if p.is_absolute() {
            p.to_owned()
        } else {
            self.base_dir.join(p)
        }
    }

    /// Loads every detector once (models, anchors, index) so that ensembles
    /// for many enclaves share them.
    ///
    /// # Errors
    /// [`DetectConfigError`] for unknown names, bad values, anchors that hold
    /// no certificate, a model whose file does not match its sha256 or cannot
    /// be loaded, or an unreadable index.
    pub fn instantiate(&self) -> Result<DetectorCatalog, DetectConfigError> {
        self.instantiate_with_env(&|name| std::env::var(name).ok())
    }

    /// As [`Self::instantiate`], reading secrets named in the file (the
    /// external provider's API key) through `env`.
    ///
    /// # Errors
    /// As [`Self::instantiate`].
    pub fn instantiate_with_env(
        &self,
        env: &dyn Fn(&str) -> Option<String>,
    ) -> Result<DetectorCatalog, DetectConfigError> {
        self.validate()?;
        let policy = self.policy.to_policy()?;
        let anchors = match &self.c2pa.trust_anchors {
            None => None,
            Some(p) => {
                let path = self.resolve(p);
                Some(
                    std::fs::read_to_string(&path)
                        .map_err(|source| DetectConfigError::Read { path, source })?,
                )
            }
        };
        let c2pa = C2paDetector::new(&C2paConfig {
            trust_anchors_pem: anchors,
        })?;
        let mut built_in: Vec<Arc<dyn Detector>> = Vec::new();
        for name in BUILT_IN {
            if self.disable.iter().any(|d| d == name) {
                continue;
            }
            let d: Arc<dyn Detector> = match name {
                "c2pa" => Arc::new(c2pa.clone()),
                "xmp-digital-source-type" => Arc::new(XmpSourceType),
                "png-text" => Arc::new(PngText),
                "exif-generator" => Arc::new(ExifGenerator),
                "stealth-pnginfo" => Arc::new(StealthPngInfo),
                "sd-invisible-watermark" => Arc::new(InvisibleWatermark),
                "dispute-evidence" => Arc::new(EvidenceMatch),
                _ => Arc::new(ExifCamera),
            };
            built_in.push(d);
        }
        let mut models = Vec::new();
        for m in &self.models {
            let detector =
                ModelDetector::load(m, &self.base_dir).map_err(|e| DetectConfigError::Model {
                    name: m.name.clone(),
                    message: e.to_string(),
                })?;
            models.push((m.name.clone(), Arc::new(detector) as Arc<dyn Detector>));
        }
        let reverse = match &self.reverse_search {
            None => None,
            Some(r) => Some(Arc::new(
                ReverseSearch::open(r, &self.base_dir)
                    .map_err(|e| DetectConfigError::Reverse(e.to_string()))?,
            ) as Arc<dyn Detector>),
        };
        let external = match &self.external_search {
            None => None,
            Some(x) => x
                .provider_from_env(env)?
                .map(|p| Arc::new(ExternalReverseSearch::new(p)) as Arc<dyn Detector>),
        };
        let mut enclaves = BTreeMap::new();
        for (id, e) in &self.enclaves {
            let policy = match &e.policy {
                Some(p) => p.to_policy()?,
                None => policy.clone(),
            };
            enclaves.insert(id.clone(), (e.clone(), policy));
        }
        Ok(DetectorCatalog {
            built_in,
            models,
            reverse,
            external,
            policy,
            enclaves,
        })
    }

    fn validate(&self) -> Result<(), DetectConfigError> {
        let known = |n: &String| BUILT_IN.contains(&n.as_str());
        for name in self
            .disable
            .iter()
            .chain(self.enclaves.values().flat_map(|e| e.disable.iter()))
        {
            if !known(name) {
                return Err(DetectConfigError::Invalid(format!(
                    "unknown detector {name:?} in disable (known: {})",
                    BUILT_IN.join(", ")
                )));
            }
        }
        let mut seen = std::collections::BTreeSet::new();
        for m in &self.models {
            if !seen.insert(m.name.as_str()) {
                return Err(DetectConfigError::Invalid(format!(
                    "model slot {:?} declared twice",
                    m.name
                )));
            }
            if BUILT_IN.contains(&m.name.as_str())
                || m.name == crate::reverse::NAME
                || m.name == crate::external::NAME
            {
                return Err(DetectConfigError::Invalid(format!(
                    "model slot {:?} clashes with a built-in detector",
                    m.name
                )));
            }
        }
        for (id, e) in &self.enclaves {
            for slot in e.models.iter().flatten() {
                if !seen.contains(slot.as_str()) {
                    return Err(DetectConfigError::Invalid(format!(
                        "enclaves.{id}.models names undeclared slot {slot:?}"
                    )));
                }
            }
            if e.reverse_search == Some(true) && self.reverse_search.is_none() {
                return Err(DetectConfigError::Invalid(format!(
                    "enclaves.{id}.reverse_search is on but no [reverse_search] index is configured"
                )));
            }
            if e.external_search == Some(true)
                && !self.external_search.as_ref().is_some_and(|x| x.enabled)
            {
                return Err(DetectConfigError::Invalid(format!(
                    "enclaves.{id}.external_search is on but [external_search] is not enabled"
                )));
            }
        }
        Ok(())
    }
}

/// Detectors loaded once, from which each enclave's ensemble is assembled.
pub struct DetectorCatalog {
    built_in: Vec<Arc<dyn Detector>>,
    models: Vec<(String, Arc<dyn Detector>)>,
    reverse: Option<Arc<dyn Detector>>,
    external: Option<Arc<dyn Detector>>,
    policy: EnsemblePolicy,
    enclaves: BTreeMap<String, (EnclaveConfig, EnsemblePolicy)>,
}

impl DetectorCatalog {
    /// The catalog of the default configuration (no files needed).
    pub fn standard() -> Self {
        DetectConfig::default()
            .instantiate()
            .expect("the default detection configuration is valid")
    }

    /// The ensemble enclave `enclave_id` runs: the shared detectors minus its
    /// overrides, under its policy.
    pub fn ensemble_for(&self, enclave_id: &str) -> Ensemble {
        let over = self.enclaves.get(enclave_id);
        let disabled = |name: &str| over.is_some_and(|(e, _)| e.disable.iter().any(|d| d == name));
        let mut detectors: Vec<Box<dyn Detector>> = Vec::new();
        for d in &self.built_in {
            if !disabled(d.name()) {
                detectors.push(Box::new(Shared(d.clone())));
            }
        }
        for (name, d) in &self.models {
            let wanted = over
                .and_then(|(e, _)| e.models.as_ref())
                .is_none_or(|list| list.contains(name));
            if wanted {
                detectors.push(Box::new(Shared(d.clone())));
            }
        }
        if let Some(r) = &self.reverse
            && over.and_then(|(e, _)| e.reverse_search).unwrap_or(true)
        {
            detectors.push(Box::new(Shared(r.clone())));
        }
        // The image leaves the machine only for enclaves that did not opt out
        // of a provider the operator enabled.
        if let Some(x) = &self.external
            && over.and_then(|(e, _)| e.external_search).unwrap_or(true)
        {
            detectors.push(Box::new(Shared(x.clone())));
        }
        let policy = over.map_or_else(|| self.policy.clone(), |(_, p)| p.clone());
        Ensemble::new(detectors, policy)
    }
}

/// A detector shared between ensembles.
struct Shared(Arc<dyn Detector>);

impl Detector for Shared {
    fn name(&self) -> &str {
        self.0.name()
    }
    fn version(&self) -> &str {
        self.0.version()
    }
    fn kind(&self) -> DetectorKind {
        self.0.kind()
    }
    fn detect(&self, media: &Media<'_>) -> DetectorResult {
        self.0.detect(media)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_config_needs_no_files_and_declares_the_seed_slots() {
        let catalog = DetectConfig::default().instantiate().unwrap();
        let names: Vec<String> = catalog
            .ensemble_for("enclave-1")
            .describe()
            .into_iter()
            .map(|(n, _)| n)
            .collect();
        let mut want: Vec<String> = BUILT_IN.iter().map(|s| s.to_string()).collect();
        want.extend(SEED_SLOTS.iter().map(|s| s.to_string()));
        assert_eq!(names, want);
    }

    #[test]
    fn enclaves_can_run_different_sets_and_policies() {
        let text = r#"
            disable = ["exif-camera"]
            [policy]
            ai_threshold = 0.75
            [[models]]
            name = "primary"
            [[models]]
            name = "sdxl"
            [enclaves.enclave-2]
            disable = ["png-text"]
            models = ["sdxl"]
            policy = { ai_threshold = 0.9, real_threshold = 0.1 }
        "#;
        let config = DetectConfig::from_toml(text, Path::new(".")).unwrap();
        let catalog = config.instantiate().unwrap();
        let one: Vec<String> = catalog
            .ensemble_for("enclave-1")
            .describe()
            .into_iter()
            .map(|d| d.0)
            .collect();
        let two: Vec<String> = catalog
            .ensemble_for("enclave-2")
            .describe()
            .into_iter()
            .map(|d| d.0)
            .collect();
        assert!(!one.contains(&"exif-camera".to_string()));
        assert!(one.contains(&"png-text".to_string()) && one.contains(&"primary".to_string()));
        assert!(!two.contains(&"png-text".to_string()));
        assert!(!two.contains(&"primary".to_string()) && two.contains(&"sdxl".to_string()));
        assert_eq!(catalog.ensemble_for("enclave-2").policy().ai_threshold, 0.9);
        assert_eq!(
            catalog.ensemble_for("enclave-1").policy().ai_threshold,
            0.75
        );
    }

    #[test]
    fn bad_configs_are_clear_errors() {
        let cases = [
            ("bogus = 1", "unknown field"),
            ("disable = [\"nope\"]", "unknown detector"),
            ("[policy]\nai_threshold = 1.5", "[0, 1]"),
            (
                "[policy]\nai_threshold = 0.2\nreal_threshold = 0.4",
                "must not exceed",
            ),
            (
                "[[models]]\nname = \"a\"\n[[models]]\nname = \"a\"",
                "declared twice",
            ),
            ("[enclaves.e]\nmodels = [\"x\"]", "undeclared slot"),
            (
                "[c2pa]\ntrust_anchors = \"/nonexistent/anchors.pem\"",
                "reading",
            ),
        ];
        for (text, want) in cases {
            let err = DetectConfig::from_toml(text, Path::new("."))
                .and_then(|c| c.instantiate().map(|_| ()))
                .err()
                .unwrap_or_else(|| panic!("{text:?} was accepted"));
            assert!(err.to_string().contains(want), "{text:?}: {err}");
        }
    }
}
