//! `verity index add DIR` / `verity index search IMAGE`: the local
//! reverse-search index (perceptual hashes, JSON Lines). Images never leave
//! the machine; the index holds hashes, digests, sources and dates only.

use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};
use clap::{Args, Subcommand, ValueEnum};
use serde_json::json;
use sha2::{Digest, Sha256};
use verity_detect::reverse::{HashIndex, IndexEntry, KnownLabel, phash};

/// `verity index`.
#[derive(Debug, Args)]
pub struct IndexArgs {
    /// The index file.
    #[arg(
        long,
        env = "VERITY_INDEX",
        default_value = "verity-index.jsonl",
        global = true
    )]
    pub index: PathBuf,
    /// What to do.
    #[command(subcommand)]
    pub action: IndexAction,
}

/// A known label for added images.
#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum LabelArg {
    /// Known real captures.
    Real,
    /// Known AI-generated images.
    Ai,
}

/// `verity index` subcommands.
#[derive(Debug, Subcommand)]
pub enum IndexAction {
    /// Hash every JPEG/PNG/WebP under DIR (recursively) into the index.
    Add {
        /// Folder (or single image) to index.
        path: PathBuf,
        /// What these images are known to be.
        #[arg(long, value_enum)]
        label: Option<LabelArg>,
        /// First-seen date to record (RFC 3339); default: now.
        #[arg(long)]
        first_seen: Option<String>,
        /// Source to record (default: the file path).
        #[arg(long)]
        source: Option<String>,
    },
    /// Find near-duplicates of an image.
    Search {
        /// The image.
        image: PathBuf,
        /// Largest Hamming distance (of 64 bits) that counts as a match.
        #[arg(long, default_value_t = 8)]
        max_distance: u32,
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
}

/// Runs `verity index`.
pub fn run(args: IndexArgs) -> Result<()> {
    match args.action {
        IndexAction::Add {
            path,
            label,
            first_seen,
            source,
        } => add(&args.index, &path, label, first_seen, source),
        IndexAction::Search {
            image,
            max_distance,
            json,
        } => search(&args.index, &image, max_distance, json),
    }
}

fn images_under(path: &Path, out: &mut Vec<PathBuf>) -> Result<()> {
    if path.is_file() {
        out.push(path.to_owned());
        return Ok(());
    }
    let mut entries: Vec<PathBuf> = std::fs::read_dir(path)
        .with_context(|| format!("reading {}", path.display()))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .collect();
    entries.sort();
    for p in entries {
        if p.is_dir() {
            images_under(&p, out)?;
        } else if p.extension().and_then(|e| e.to_str()).is_some_and(|e| {
            ["jpg", "jpeg", "png", "webp"].contains(&e.to_ascii_lowercase().as_str())
        }) {
            out.push(p);
        }
    }
    Ok(())
}

fn hash_file(path: &Path) -> Result<(u64, String)> {
    let bytes = std::fs::read(path).with_context(|| format!("reading {}", path.display()))?;
    let image = image::load_from_memory(&bytes)
        .with_context(|| format!("{}: not a decodable image", path.display()))?;
    Ok((phash(&image), hex::encode(Sha256::digest(&bytes))))
}

fn add(
    index_path: &Path,
    path: &Path,
    label: Option<LabelArg>,
    first_seen: Option<String>,
    source: Option<String>,
) -> Result<()> {
    let first_seen = match first_seen {
        Some(s) => {
            humantime::parse_rfc3339_weak(&s)
                .with_context(|| format!("--first-seen {s:?} is not an RFC 3339 date"))?;
            s
        }
        None => humantime::format_rfc3339_seconds(std::time::SystemTime::now()).to_string(),
    };
    let mut files = Vec::new();
    images_under(path, &mut files)?;
    if files.is_empty() {
        bail!("no JPEG, PNG or WebP under {}", path.display());
    }
    let index = HashIndex::open(index_path)?;
    let mut added = Vec::new();
    let mut skipped = 0;
    for file in &files {
        let (hash, sha256) = match hash_file(file) {
            Ok(h) => h,
            Err(e) => {
                eprintln!("skipped: {e:#}");
                skipped += 1;
                continue;
            }
        };
        if index.contains_sha256(&sha256) || added.iter().any(|e: &IndexEntry| e.sha256 == sha256) {
            skipped += 1;
            continue;
        }
        added.push(IndexEntry {
            phash: format!("{hash:016x}"),
            sha256,
            source: source.clone().unwrap_or_else(|| file.display().to_string()),
            first_seen: first_seen.clone(),
            label: label.map(|l| match l {
                LabelArg::Real => KnownLabel::Real,
                LabelArg::Ai => KnownLabel::AiGenerated,
            }),
        });
    }
    HashIndex::append(index_path, &added)?;
    println!(
        "indexed {} images into {} ({} skipped: already indexed or undecodable)",
        added.len(),
        index_path.display(),
        skipped
    );
    Ok(())
}

fn search(index_path: &Path, image: &Path, max_distance: u32, as_json: bool) -> Result<()> {
    if !index_path.is_file() {
        bail!(
            "no index at {} (run `verity index add DIR`)",
            index_path.display()
        );
    }
    let index = HashIndex::open(index_path)?;
    let (hash, _) = hash_file(image)?;
    let hits = index.search(hash, max_distance);
    if as_json {
        let hits: Vec<_> = hits
            .iter()
            .map(|h| json!({ "distance": h.distance, "entry": h.entry }))
            .collect();
        println!(
            "{}",
            serde_json::to_string_pretty(
                &json!({ "phash": format!("{hash:016x}"), "matches": hits })
            )?
        );
        return Ok(());
    }
    if hits.is_empty() {
        println!(
            "no match within {max_distance} bits among {} images",
            index.len()
        );
    }
    for h in &hits {
        println!(
            "{:>2}/64  {}  first seen {}{}",
            h.distance,
            h.entry.source,
            h.entry.first_seen,
            match h.entry.label {
                Some(KnownLabel::Real) => "  (known real)",
                Some(KnownLabel::AiGenerated) => "  (known AI-generated)",
                None => "",
            }
        );
    }
    Ok(())
}
