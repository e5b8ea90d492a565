//! `verity eval MANIFEST|DIR`: runs an enclave's detection ensemble over a
//! labelled set and prints and writes (JSON and Markdown) a confusion matrix,
//! precision, recall and F1 per detector and for the ensemble, and the
//! ensemble's results per transform.
//!
//! Input: a JSON manifest (`{"root": DIR, "items": [{"file", "truth",
//! "transform"}]}`, as `scripts/build-eval-manifest.py` writes), or a folder
//! with `ai/` and `real/` subfolders. `--variants` adds, per item, variants
//! the project generates: PNG re-encode (metadata stripped), JPEG q95 and
//! q75, and half size.

use std::io::Cursor;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};
use clap::Args;
use serde::Deserialize;
use verity_detect::config::DetectConfig;
use verity_detect::eval::{LabelledItem, Truth, evaluate};

/// `verity eval`.
#[derive(Debug, Args)]
pub struct EvalArgs {
    /// A manifest (JSON) or a folder with `ai/` and `real/` subfolders.
    pub set: PathBuf,
    /// Root the manifest's files are relative to (default: its `root`, relative to the manifest).
    #[arg(long)]
    pub root: Option<PathBuf>,
    /// Detection configuration (default: built-in detectors, no models).
    #[arg(long, env = "VERITY_DETECT_CONFIG")]
    pub detect_config: Option<PathBuf>,
    /// Enclave whose ensemble to evaluate (per-enclave overrides apply).
    #[arg(long, default_value = "enclave-1")]
    pub enclave: String,
    /// Also evaluate generated variants of every item.
    #[arg(long)]
    pub variants: bool,
    /// Where to write eval.json and eval.md.
    #[arg(long, default_value = "verity-eval")]
    pub out: PathBuf,
}

#[derive(Deserialize)]
struct Manifest {
    #[serde(default)]
    root: Option<PathBuf>,
    items: Vec<ManifestItem>,
}

#[derive(Deserialize)]
struct ManifestItem {
    file: PathBuf,
    truth: String,
    #[serde(default)]
    transform: Option<String>,
}

fn truth(s: &str) -> Result<Truth> {
    match s {
        "AI_GENERATED" | "ai" => Ok(Truth::AiGenerated),
        "REAL" | "real" => Ok(Truth::Real),
        other => bail!("truth {other:?} is neither AI_GENERATED nor REAL"),
    }
}

fn load_set(args: &EvalArgs) -> Result<Vec<LabelledItem>> {
    let mut items = Vec::new();
    if args.set.is_dir() {
        for (folder, t) in [("ai", Truth::AiGenerated), ("real", Truth::Real)] {
            let dir = args.set.join(folder);
            if !dir.is_dir() {
                continue;
            }
            let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)?
                .filter_map(|e| e.ok().map(|e| e.path()))
                .filter(|p| p.is_file())
                .collect();
            files.sort();
            for f in files {
                items.push(LabelledItem {
                    name: f.display().to_string(),
                    truth: t,
                    transform: "original".into(),
                    bytes: std::fs::read(&f)?,
                });
            }
        }
        if items.is_empty() {
            bail!("{} has no files under ai/ or real/", args.set.display());
        }
        return Ok(items);
    }
    let text = std::fs::read_to_string(&args.set)
        .with_context(|| format!("reading {}", args.set.display()))?;
    let manifest: Manifest =
        serde_json::from_str(&text).with_context(|| format!("{}", args.set.display()))?;
    let base = args.set.parent().unwrap_or(Path::new("."));
    let root = match (&args.root, &manifest.root) {
        (Some(r), _) => r.clone(),
        (None, Some(r)) => base.join(r),
        (None, None) => base.to_owned(),
    };
    for item in manifest.items {
        let path = root.join(&item.file);
        let bytes = std::fs::read(&path)
            .with_context(|| format!("{} (set --root to the fixture folder)", path.display()))?;
        items.push(LabelledItem {
            name: item.file.display().to_string(),
            truth: truth(&item.truth)?,
            transform: item.transform.unwrap_or_else(|| "original".into()),
            bytes,
        });
    }
    Ok(items)
}

fn encode(image: &image::DynamicImage, format: image::ImageFormat, quality: u8) -> Option<Vec<u8>> {
    let mut out = Vec::new();
    match format {
        image::ImageFormat::Jpeg => {
            let encoder =
                image::codecs::jpeg::JpegEncoder::new_with_quality(Cursor::new(&mut out), quality);
            image.to_rgb8().write_with_encoder(encoder).ok()?;
        }
        _ => image.write_to(&mut Cursor::new(&mut out), format).ok()?,
    }
    Some(out)
}

/// Variants the project generates from one item.
fn variants(item: &LabelledItem) -> Vec<LabelledItem> {
    let Ok(image) = image::load_from_memory(&item.bytes) else {
        return Vec::new();
    };
    let half = image.resize_exact(
        (image.width() / 2).max(1),
        (image.height() / 2).max(1),
        image::imageops::FilterType::Triangle,
    );
    let made = [
        (
            "generated: png re-encode (metadata stripped)",
            encode(&image, image::ImageFormat::Png, 0),
        ),
        (
            "generated: jpeg q95 (image crate)",
            encode(&image, image::ImageFormat::Jpeg, 95),
        ),
        (
            "generated: jpeg q75 (image crate)",
            encode(&image, image::ImageFormat::Jpeg, 75),
        ),
        (
            "generated: half size png",
            encode(&half, image::ImageFormat::Png, 0),
        ),
    ];
    made.into_iter()
        .filter_map(|(transform, bytes)| {
            Some(LabelledItem {
                name: format!("{} [{transform}]", item.name),
                truth: item.truth,
                transform: transform.into(),
                bytes: bytes?,
            })
        })
        .collect()
}

/// Runs `verity eval`.
pub fn run(args: EvalArgs) -> Result<()> {
    let config = DetectConfig::load_or_default(args.detect_config.as_deref())?;
    let ensemble = config.instantiate()?.ensemble_for(&args.enclave);
    let mut items = load_set(&args)?;
    if args.variants {
        let generated: Vec<LabelledItem> = items
            .iter()
            .filter(|i| i.transform == "original" || i.transform == "png")
            .flat_map(variants)
            .collect();
        items.extend(generated);
    }
    let report = evaluate(&ensemble, &items);
    let markdown = report.to_markdown();
    println!("{markdown}");
    std::fs::create_dir_all(&args.out)
        .with_context(|| format!("creating {}", args.out.display()))?;
    std::fs::write(
        args.out.join("eval.json"),
        serde_json::to_string_pretty(&report)?,
    )?;
    std::fs::write(args.out.join("eval.md"), &markdown)?;
    eprintln!(
        "wrote {} and {}",
        args.out.join("eval.json").display(),
        args.out.join("eval.md").display()
    );
    Ok(())
}
