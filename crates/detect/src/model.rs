//! The ONNX model runner: model slots declared in the detection configuration,
//! run with `tract-onnx` (pure Rust, no native runtime).
//!
//! A slot ([`ModelConfig`]) names the file, its SHA-256, the input layout and
//! size, the resize/crop/normalisation, how output labels map to verdicts, the
//! threshold and a version. A model is loaded and optimised once
//! ([`ModelDetector::load`]) and shared by every ensemble; `run` takes `&self`
//! so that concurrent jobs share one plan (the enclave runs the ensemble on a
//! blocking thread).
//!
//! A slot without a model file reports "not configured" with
//! `NOT_APPLICABLE`: it never invents a score. A file that does not match its
//! declared SHA-256 is a configuration error (refused at start).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use image::imageops::FilterType;
use serde::Deserialize;
use sha2::{Digest, Sha256};
use tract_onnx::prelude::{IntoTValue, TypedRunnableModel, tvec};

/// tract's tensor type, for callers that build inputs themselves.
pub use tract_onnx::prelude::Tensor;
use verity_core::{DetectorResult, DetectorVerdict};

use crate::detector::{Detector, DetectorKind, Media};
use crate::detectors::{finding, not_applicable};

/// Order of the input tensor's axes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum Layout {
    /// Batch, channels, height, width (PyTorch exports).
    #[default]
    Nchw,
    /// Batch, height, width, channels (TensorFlow/Caffe conversions).
    Nhwc,
}

/// Channel order of the input.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum Channels {
    /// Red, green, blue.
    #[default]
    Rgb,
    /// Blue, green, red (Caffe models).
    Bgr,
}

/// What an output label means.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum LabelMeaning {
    /// The probability of this label counts for AI generation.
    AiGenerated,
    /// The probability of this label counts for a real capture.
    Real,
    /// Ignored.
    Other,
}

/// One model slot.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ModelConfig {
    /// Slot name; the key of the report's `models` map.
    pub name: String,
    /// The ONNX file (relative to the config file); absent → not configured.
    #[serde(default)]
    pub path: Option<PathBuf>,
    /// Expected SHA-256 of the file, hex (required with `path`).
    #[serde(default)]
    pub sha256: Option<String>,
    /// Model version reported with each result.
    #[serde(default = "default_version")]
    pub version: String,
    /// Input axes order.
    #[serde(default)]
    pub layout: Layout,
    /// Input width and height.
    #[serde(default = "default_size")]
    pub size: [u32; 2],
    /// Square side to resize to before a centre crop to `size` (absent:
    /// resize straight to `size`).
    #[serde(default)]
    pub resize: Option<u32>,
    /// Channel order.
    #[serde(default)]
    pub channels: Channels,
    /// Multiplier applied to 0–255 pixel values first.
    #[serde(default = "default_scale")]
    pub scale: f32,
    /// Per-channel mean subtracted after scaling (in `channels` order).
    #[serde(default)]
    pub mean: [f32; 3],
    /// Per-channel divisor applied after the mean.
    #[serde(default = "default_std")]
    pub std: [f32; 3],
    /// Output to read (node name; default: the model's first output).
    #[serde(default)]
    pub output: Option<String>,
    /// Apply a softmax to the output (for logits).
    #[serde(default)]
    pub softmax: bool,
    /// Label of each output index.
    #[serde(default)]
    pub labels: Vec<String>,
    /// What each label means.
    #[serde(default)]
    pub map: BTreeMap<String, LabelMeaning>,
    /// Probability of AI at or above which the slot votes `AI_GENERATED`;
    /// at or below `1 − threshold` it votes `REAL`; between, `UNCERTAIN`.
    #[serde(default = "default_threshold")]
    pub threshold: f64,
}

fn default_version() -> String {
    "unversioned".into()
}
fn default_size() -> [u32; 2] {
    [224, 224]
}
fn default_scale() -> f32 {
    1.0 / 255.0
}
fn default_std() -> [f32; 3] {
    [1.0, 1.0, 1.0]
}
fn default_threshold() -> f64 {
    0.5
}

impl ModelConfig {
    /// A declared slot with no model.
    pub fn slot(name: &str) -> Self {
        ModelConfig {
            name: name.into(),
            path: None,
            sha256: None,
            version: default_version(),
            layout: Layout::default(),
            size: default_size(),
            resize: None,
            channels: Channels::default(),
            scale: default_scale(),
            mean: [0.0; 3],
            std: default_std(),
            output: None,
            softmax: false,
            labels: Vec::new(),
            map: BTreeMap::new(),
            threshold: default_threshold(),
        }
    }

    fn check(&self) -> Result<(), ModelError> {
        let bad = |m: String| Err(ModelError::Config(m));
        if self.size[0] == 0 || self.size[1] == 0 || self.size[0] > 4096 || self.size[1] > 4096 {
            return bad("size must be within 1..=4096".into());
        }
        if let Some(r) = self.resize
            && (r < self.size[0] || r < self.size[1] || r > 8192)
        {
            return bad("resize must be at least the input size and at most 8192".into());
        }
        if !(0.5..=1.0).contains(&self.threshold) {
            return bad("threshold must be in [0.5, 1]".into());
        }
        if self.std.iter().any(|s| *s == 0.0 || !s.is_finite()) {
            return bad("std must be finite and non-zero".into());
        }
        if self.path.is_some() {
            if self.sha256.as_ref().is_none_or(|h| h.len() != 64) {
                return bad("a model path needs its sha256 (64 hex digits)".into());
            }
            if self.labels.is_empty() {
                return bad("labels must name each output index".into());
            }
            if let Some(l) = self.map.keys().find(|l| !self.labels.contains(l)) {
                return bad(format!("map names {l:?}, which is not in labels"));
            }
            if !self.map.values().any(|m| *m == LabelMeaning::AiGenerated) {
                return bad("map must mark at least one label AI_GENERATED".into());
            }
        }
        Ok(())
    }
}

/// Errors loading or running a model.
#[derive(Debug, thiserror::Error)]
pub enum ModelError {
    /// The slot's settings are inconsistent.
    #[error("{0}")]
    Config(String),
    /// The file does not match its declared SHA-256.
    #[error("{path}: sha256 {actual} does not match the configured {expected}")]
    Digest {
        /// The file.
        path: PathBuf,
        /// Its digest.
        actual: String,
        /// The configured digest.
        expected: String,
    },
    /// The file could not be read.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// tract could not load, optimise or run the model.
    #[error("tract: {0}")]
    Tract(String),
    /// The output does not have one value per label.
    #[error("model output has {got} values, labels name {want}")]
    Output {
        /// Values produced.
        got: usize,
        /// Labels declared.
        want: usize,
    },
}

/// A loaded, optimised model and its slot settings.
pub struct OnnxModel {
    config: ModelConfig,
    plan: Arc<TypedRunnableModel>,
}

impl std::fmt::Debug for OnnxModel {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OnnxModel")
            .field("name", &self.config.name)
            .finish_non_exhaustive()
    }
}

impl OnnxModel {
    /// Loads `path` (already checked against the slot's digest) with a fixed
    /// input shape and optimises it.
    ///
    /// # Errors
    /// [`ModelError::Tract`] when tract cannot load or optimise it.
    pub fn load(config: &ModelConfig, path: &Path) -> Result<Self, ModelError> {
        let [w, h] = config.size.map(|v| v as usize);
        let shape = match config.layout {
            Layout::Nchw => [1, 3, h, w],
            Layout::Nhwc => [1, h, w, 3],
        };
        use tract_onnx::prelude::{DatumExt, Framework, InferenceModelExt, IntoRunnable};
        let tract = |e: tract_onnx::prelude::TractError| ModelError::Tract(format!("{e:#}"));
        let mut model = tract_onnx::onnx().model_for_path(path).map_err(tract)?;
        model = model
            .with_input_fact(0, f32::fact(shape).into())
            .map_err(tract)?;
        if let Some(output) = &config.output {
            model.select_outputs_by_name([output]).map_err(tract)?;
        }
        let plan = model
            .into_optimized()
            .map_err(tract)?
            .into_runnable()
            .map_err(tract)?;
        Ok(OnnxModel {
            config: config.clone(),
            plan,
        })
    }

    /// The input tensor for `image`, preprocessed as the slot says.
    pub fn preprocess(&self, image: &image::DynamicImage) -> Tensor {
        preprocess(&self.config, image)
    }

    /// Runs the model on an already preprocessed input tensor and returns the
    /// output values (after the softmax when configured).
    ///
    /// # Errors
    /// [`ModelError::Tract`] when inference fails.
    pub fn run_tensor(&self, input: Tensor) -> Result<Vec<f32>, ModelError> {
        let outputs = self
            .plan
            .run(tvec![input.into_tvalue()])
            .map_err(|e| ModelError::Tract(format!("{e:#}")))?;
        let first = outputs
            .first()
            .ok_or_else(|| ModelError::Tract("the model produced no output".into()))?;
        let view = first
            .to_plain_array_view::<f32>()
            .map_err(|e| ModelError::Tract(format!("{e:#}")))?;
        let mut values: Vec<f32> = view.iter().copied().collect();
        if self.config.softmax {
            softmax(&mut values);
        }
        Ok(values)
    }

    /// Probability of AI for `image`, with the per-label outputs.
    ///
    /// # Errors
    /// [`ModelError`] when inference fails or the output does not match the
    /// labels.
    pub fn score(&self, image: &image::DynamicImage) -> Result<Score, ModelError> {
        let values = self.run_tensor(self.preprocess(image))?;
        score(&self.config, &values)
    }
}

/// What a model said about one image.
#[derive(Debug, Clone, PartialEq)]
pub struct Score {
    /// Probability of AI in [0, 1].
    pub p_ai: f64,
    /// Each label with its output value.
    pub outputs: Vec<(String, f32)>,
}

fn softmax(values: &mut [f32]) {
    let max = values.iter().copied().fold(f32::NEG_INFINITY, f32::max);
    let mut sum = 0.0;
    for v in values.iter_mut() {
        *v = (*v - max).exp();
        sum += *v;
    }
    if sum > 0.0 {
        for v in values.iter_mut() {
            *v /= sum;
        }
    }
}

/// Maps output values to a probability of AI: the AI labels' mass over the
/// AI and real labels' mass (or the AI mass alone when no label means real).
///
/// # Errors
/// [`ModelError::Output`] when there is not one value per label.
pub fn score(config: &ModelConfig, values: &[f32]) -> Result<Score, ModelError> {
    if values.len() != config.labels.len() {
        return Err(ModelError::Output {
            got: values.len(),
            want: config.labels.len(),
        });
    }
    let mass = |want: LabelMeaning| -> f64 {
        config
            .labels
            .iter()
            .zip(values)
            .filter(|(l, _)| config.map.get(*l) == Some(&want))
            .map(|(_, v)| f64::from(*v))
            .sum()
    };
    let (ai, real) = (mass(LabelMeaning::AiGenerated), mass(LabelMeaning::Real));
    let has_real = config.map.values().any(|m| *m == LabelMeaning::Real);
    let p_ai = if has_real && ai + real > 0.0 {
        ai / (ai + real)
    } else {
        ai
    };
    Ok(Score {
        p_ai: if p_ai.is_finite() {
            p_ai.clamp(0.0, 1.0)
        } else {
            0.5
        },
        outputs: config
            .labels
            .iter()
            .cloned()
            .zip(values.iter().copied())
            .collect(),
    })
}

/// The input tensor for `image` under `config`: RGB, resize (bilinear),
/// centre crop, channel order, `(v × scale − mean) / std`, layout.
pub fn preprocess(config: &ModelConfig, image: &image::DynamicImage) -> Tensor {
    let [w, h] = config.size;
    let rgb = image.to_rgb8();
    let cropped = match config.resize {
        Some(side) => {
            let resized = image::imageops::resize(&rgb, side, side, FilterType::Triangle);
            image::imageops::crop_imm(&resized, (side - w) / 2, (side - h) / 2, w, h).to_image()
        }
        None => image::imageops::resize(&rgb, w, h, FilterType::Triangle),
    };
    let (w, h) = (w as usize, h as usize);
    let mut data = vec![0f32; 3 * w * h];
    for (x, y, p) in cropped.enumerate_pixels() {
        let (x, y) = (x as usize, y as usize);
        for c in 0..3 {
            let source = match config.channels {
                Channels::Rgb => c,
                Channels::Bgr => 2 - c,
            };
            let v = (f32::from(p.0[source]) * config.scale - config.mean[c]) / config.std[c];
            let index = match config.layout {
                Layout::Nchw => c * h * w + y * w + x,
                Layout::Nhwc => (y * w + x) * 3 + c,
            };
            data[index] = v;
        }
    }
    let shape = match config.layout {
        Layout::Nchw => [1, 3, h, w],
        Layout::Nhwc => [1, h, w, 3],
    };
    Tensor::from_shape(&shape, &data).expect("shape matches the data")
}

fn sha256_file(path: &Path) -> Result<String, ModelError> {
    let mut file = std::fs::File::open(path).map_err(|source| ModelError::Io {
        path: path.to_owned(),
        source,
    })?;
    let mut hasher = Sha256::new();
    std::io::copy(&mut file, &mut hasher).map_err(|source| ModelError::Io {
        path: path.to_owned(),
        source,
    })?;
    Ok(hex::encode(hasher.finalize()))
}

/// A model slot as a detector: loaded, or "not configured" with the reason.
pub struct ModelDetector {
    name: String,
    version: String,
    state: SlotState,
}

enum SlotState {
    NotConfigured(String),
    Loaded(Box<OnnxModel>),
}

impl std::fmt::Debug for ModelDetector {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ModelDetector")
            .field("name", &self.name)
            .field("loaded", &matches!(self.state, SlotState::Loaded(_)))
            .finish()
    }
}

impl ModelDetector {
    /// Loads the slot's model once; a slot without a path, or whose file is
    /// absent, is "not configured".
    ///
    /// # Errors
    /// [`ModelError`] for inconsistent settings, a digest mismatch or a model
    /// tract cannot load.
    pub fn load(config: &ModelConfig, base_dir: &Path) -> Result<Self, ModelError> {
        config.check()?;
        let state = match &config.path {
            None => SlotState::NotConfigured(format!(
                "model slot {:?} not configured: no model file declared",
                config.name
            )),
            Some(p) => {
                let path = if p.is_absolute() {
                    p.clone()
                } else {
                    base_dir.join(p)
                };
                if !path.is_file() {
                    SlotState::NotConfigured(format!(
                        "model slot {:?} not configured: {} is absent",
                        config.name,
                        path.display()
                    ))
                } else {
                    let actual = sha256_file(&path)?;
                    let expected = config.sha256.clone().unwrap_or_default().to_lowercase();
                    if actual != expected {
                        return Err(ModelError::Digest {
                            path,
                            actual,
                            expected,
                        });
                    }
                    SlotState::Loaded(Box::new(OnnxModel::load(config, &path)?))
                }
            }
        };
        Ok(ModelDetector {
            name: config.name.clone(),
            version: config.version.clone(),
            state,
        })
    }

    /// Whether a model is loaded.
    pub fn is_loaded(&self) -> bool {
        matches!(self.state, SlotState::Loaded(_))
    }

    /// The loaded model, if any.
    pub fn model(&self) -> Option<&OnnxModel> {
        match &self.state {
            SlotState::Loaded(m) => Some(m),
            SlotState::NotConfigured(_) => None,
        }
    }
}

impl Detector for ModelDetector {
    fn name(&self) -> &str {
        &self.name
    }
    fn version(&self) -> &str {
        &self.version
    }
    fn kind(&self) -> DetectorKind {
        DetectorKind::Statistical
    }
    fn detect(&self, media: &Media<'_>) -> DetectorResult {
        let model = match &self.state {
            SlotState::NotConfigured(why) => return not_applicable(self, vec![why.clone()]),
            SlotState::Loaded(m) => m,
        };
        let pixels = match media.pixels() {
            Ok(p) => p,
            Err(e) => return not_applicable(self, vec![format!("pixels undecodable: {e}")]),
        };
        let s = match model.score(pixels) {
            Ok(s) => s,
            Err(e) => {
                return finding(
                    self,
                    DetectorVerdict::Uncertain,
                    0.5,
                    vec![format!("model failed on this image: {e}")],
                );
            }
        };
        let outputs: Vec<String> = s
            .outputs
            .iter()
            .map(|(l, v)| format!("{l}={v:.4}"))
            .collect();
        let mut evidence = vec![format!(
            "p(AI) = {:.4} (outputs: {})",
            s.p_ai,
            outputs.join(", ")
        )];
        let t = model.config.threshold;
        let (verdict, confidence) = if s.p_ai >= t {
            (DetectorVerdict::AiGenerated, s.p_ai)
        } else if s.p_ai <= 1.0 - t {
            (DetectorVerdict::Real, 1.0 - s.p_ai)
        } else {
            evidence.push(format!("between the thresholds {:.2} and {t:.2}", 1.0 - t));
            (DetectorVerdict::Uncertain, 0.5)
        };
        finding(self, verdict, confidence, evidence)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn two_labels() -> ModelConfig {
        let mut c = ModelConfig::slot("m");
        c.labels = vec!["real".into(), "fake".into()];
        c.map = [
            ("real".to_string(), LabelMeaning::Real),
            ("fake".to_string(), LabelMeaning::AiGenerated),
        ]
        .into();
        c
    }

    #[test]
    fn score_maps_labels_to_a_probability() {
        let c = two_labels();
        assert!((score(&c, &[0.2, 0.6]).unwrap().p_ai - 0.75).abs() < 1e-6);
        assert!(matches!(
            score(&c, &[0.5]),
            Err(ModelError::Output { got: 1, want: 2 })
        ));
        let mut v = vec![1.0f32, 1.0];
        softmax(&mut v);
        assert_eq!(v, [0.5, 0.5]);
    }

    #[test]
    fn preprocessing_follows_layout_channels_and_normalisation() {
        let img = image::DynamicImage::ImageRgb8(image::RgbImage::from_pixel(
            4,
            4,
            image::Rgb([10, 20, 30]),
        ));
        let mut c = two_labels();
        c.size = [2, 2];
        c.scale = 1.0;
        c.mean = [1.0, 2.0, 3.0];
        c.std = [1.0, 2.0, 3.0];
        c.channels = Channels::Bgr;
        c.layout = Layout::Nhwc;
        let t = preprocess(&c, &img);
        assert_eq!(t.shape(), [1, 2, 2, 3]);
        let v = t.to_plain_array_view::<f32>().unwrap();
        let first: Vec<f32> = v.iter().take(3).copied().collect();
        assert_eq!(first, [29.0, 9.0, 7.0 / 3.0]);
        c.layout = Layout::Nchw;
        assert_eq!(preprocess(&c, &img).shape(), [1, 3, 2, 2]);
    }

    #[test]
    fn unconfigured_slots_say_so_and_bad_slots_are_refused() {
        let d = ModelDetector::load(&ModelConfig::slot("primary"), Path::new(".")).unwrap();
        assert!(!d.is_loaded());
        let r = d.detect(&Media::new(b"", crate::MediaFormat::Png));
        assert_eq!(r.verdict, DetectorVerdict::NotApplicable);
        assert!(r.evidence[0].contains("not configured"));

        let mut absent = two_labels();
        absent.path = Some("/nonexistent/model.onnx".into());
        absent.sha256 = Some("0".repeat(64));
        let d = ModelDetector::load(&absent, Path::new(".")).unwrap();
        assert!(!d.is_loaded());

        let mut no_digest = absent.clone();
        no_digest.sha256 = None;
        assert!(ModelDetector::load(&no_digest, Path::new(".")).is_err());
        let mut bad_threshold = absent.clone();
        bad_threshold.threshold = 0.2;
        assert!(ModelDetector::load(&bad_threshold, Path::new(".")).is_err());
    }
}
