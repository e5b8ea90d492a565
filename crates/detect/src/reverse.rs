//! Reverse search over a local index of known images, by perceptual hash.
//!
//! - [`phash`]: a 64-bit DCT perceptual hash (luma, 32×32 bilinear, 2-D
//!   DCT-II, the 8×8 lowest frequencies against their median). Re-encoding,
//!   resizing and metadata stripping move it by a few bits; different images
//!   differ in about half.
//! - [`HashIndex`]: a JSON Lines file of [`IndexEntry`] (hash, sha256,
//!   source, first-seen date as recorded when the image was added, optional
//!   label), written by `verity index add` and read by the detector.
//! - [`ReverseSearch`]: the detector. A match within `max_distance` bits is
//!   reported with its source and recorded first-seen date; a labelled match
//!   votes that label (a statistical signal: near-duplicates can be edits).
//!
//! Nothing leaves the machine: external search providers live behind their
//! own opt-in port ([`crate::external`]), and the index never holds the
//! images themselves.

use std::io::{BufRead, Write};
use std::path::{Path, PathBuf};

use image::DynamicImage;
use serde::{Deserialize, Serialize};
use verity_core::{DetectorResult, DetectorVerdict};

use crate::detector::{Detector, DetectorKind, Media};
use crate::detectors::{finding, not_applicable};

/// Detector name.
pub const NAME: &str = "reverse-search";

/// Side of the downscaled luma image the hash is computed on.
const SIDE: usize = 32;
/// Side of the low-frequency block that gives the 64 bits.
const LOW: usize = 8;

/// A 64-bit DCT perceptual hash of `image`.
pub fn phash(image: &DynamicImage) -> u64 {
    let small = image::imageops::resize(
        &image.to_luma32f(),
        SIDE as u32,
        SIDE as u32,
        image::imageops::FilterType::Triangle,
    );
    let pixels: Vec<f64> = small.pixels().map(|p| f64::from(p.0[0])).collect();
    let cos = cos_table();
    // Rows, then columns, keeping only the LOW×LOW corner.
    let mut rows = vec![0.0; SIDE * LOW];
    for y in 0..SIDE {
        for u in 0..LOW {
            rows[y * LOW + u] = (0..SIDE)
                .map(|x| pixels[y * SIDE + x] * cos[u * SIDE + x])
                .sum();
        }
    }
    let mut coeffs = [0.0f64; LOW * LOW];
    for v in 0..LOW {
        for u in 0..LOW {
            coeffs[v * LOW + u] = (0..SIDE)
                .map(|y| rows[y * LOW + u] * cos[v * SIDE + y])
                .sum();
        }
    }
    let mut sorted: Vec<f64> = coeffs[1..].to_vec();
    sorted.sort_by(f64::total_cmp);
    let median = (sorted[31] + sorted[32]) / 2.0;
    coeffs.iter().enumerate().fold(
        0u64,
        |h, (i, &c)| if c > median { h | 1 << (63 - i) } else { h },
    )
}

fn cos_table() -> Vec<f64> {
    let mut t = vec![0.0; LOW * SIDE];
    for k in 0..LOW {
        for n in 0..SIDE {
            t[k * SIDE + n] =
                (std::f64::consts::PI / SIDE as f64 * (n as f64 + 0.5) * k as f64).cos();
        }
    }
    t
}

/// Bits that differ between two hashes.
pub fn distance(a: u64, b: u64) -> u32 {
    (a ^ b).count_ones()
}

/// What an indexed image is known to be.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum KnownLabel {
    /// A known real capture.
    Real,
    /// A known AI-generated image.
    AiGenerated,
}

/// One known image.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct IndexEntry {
    /// The perceptual hash, 16 hex digits.
    pub phash: String,
    /// SHA-256 of the file, hex.
    pub sha256: String,
    /// Where it came from (a path, URL or collection name).
    pub source: String,
    /// When it was first seen, as recorded when it was added (RFC 3339).
    pub first_seen: String,
    /// What it is known to be, when known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub label: Option<KnownLabel>,
}

impl IndexEntry {
    /// The hash as a number.
    ///
    /// # Errors
    /// [`IndexError::Corrupt`] when it is not 16 hex digits.
    pub fn hash(&self) -> Result<u64, IndexError> {
        if self.phash.len() != 16 {
            return Err(IndexError::Corrupt(format!("bad phash {:?}", self.phash)));
        }
        u64::from_str_radix(&self.phash, 16)
            .map_err(|_| IndexError::Corrupt(format!("bad phash {:?}", self.phash)))
    }
}

/// Errors of the index.
#[derive(Debug, thiserror::Error)]
pub enum IndexError {
    /// The file could not be read or written.
    #[error("index {path}: {source}")]
    Io {
        /// The index file.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// A line is not a valid entry.
    #[error("index corrupt: {0}")]
    Corrupt(String),
}

/// A local index of known images (JSON Lines).
#[derive(Debug, Clone, Default)]
pub struct HashIndex {
    entries: Vec<(u64, IndexEntry)>,
}

/// One search hit.
#[derive(Debug, Clone, PartialEq)]
pub struct Hit<'a> {
    /// Hamming distance in bits.
    pub distance: u32,
    /// The indexed image.
    pub entry: &'a IndexEntry,
}

impl HashIndex {
    /// Reads an index; a missing file is an empty index.
    ///
    /// # Errors
    /// [`IndexError`] when the file cannot be read or a line is invalid.
    pub fn open(path: &Path) -> Result<Self, IndexError> {
        let file = match std::fs::File::open(path) {
            Ok(f) => f,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Self::default()),
            Err(source) => {
                return Err(IndexError::Io {
                    path: path.to_owned(),
                    source,
                });
            }
        };
        let mut index = HashIndex::default();
        for (n, line) in std::io::BufReader::new(file).lines().enumerate() {
            let line = line.map_err(|source| IndexError::Io {
                path: path.to_owned(),
                source,
            })?;
            if line.trim().is_empty() {
                continue;
            }
            let entry: IndexEntry = serde_json::from_str(&line)
                .map_err(|e| IndexError::Corrupt(format!("line {}: {e}", n + 1)))?;
            index.push(entry)?;
        }
        Ok(index)
    }

    /// Adds an entry in memory.
    ///
    /// # Errors
    /// [`IndexError::Corrupt`] when its hash is malformed.
    pub fn push(&mut self, entry: IndexEntry) -> Result<(), IndexError> {
        let hash = entry.hash()?;
        self.entries.push((hash, entry));
        Ok(())
    }

    /// Appends entries to the file at `path` (created when absent).
    ///
    /// # Errors
    /// [`IndexError::Io`] when the file cannot be written.
    pub fn append(path: &Path, entries: &[IndexEntry]) -> Result<(), IndexError> {
        let io = |source| IndexError::Io {
            path: path.to_owned(),
            source,
        };
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir).map_err(io)?;
        }
        let mut file = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(path)
            .map_err(io)?;
        for e in entries {
            let line = serde_json::to_string(e).expect("entries serialize");
            writeln!(file, "{line}").map_err(io)?;
        }
        file.sync_all().map_err(io)
    }

    /// Number of entries.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// Whether it is empty.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// Whether an entry with this sha256 exists.
    pub fn contains_sha256(&self, sha256: &str) -> bool {
        self.entries.iter().any(|(_, e)| e.sha256 == sha256)
    }

    /// Entries within `max_distance` bits of `hash`, nearest first (ties by
    /// earliest first-seen date).
    pub fn search(&self, hash: u64, max_distance: u32) -> Vec<Hit<'_>> {
        let mut hits: Vec<Hit<'_>> = self
            .entries
            .iter()
            .map(|(h, entry)| Hit {
                distance: distance(*h, hash),
                entry,
            })
            .filter(|h| h.distance <= max_distance)
            .collect();
        hits.sort_by(|a, b| {
            (a.distance, &a.entry.first_seen).cmp(&(b.distance, &b.entry.first_seen))
        });
        hits
    }
}

/// The `[reverse_search]` section of the detection configuration.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ReverseSearchConfig {
    /// The index file (relative to the config file).
    pub index: PathBuf,
    /// Largest Hamming distance that counts as a match (default 8 of 64).
    #[serde(default = "default_max_distance")]
    pub max_distance: u32,
}

fn default_max_distance() -> u32 {
    8
}

/// The reverse-search detector over a local index.
#[derive(Debug, Clone)]
pub struct ReverseSearch {
    index: HashIndex,
    max_distance: u32,
}

impl ReverseSearch {
    /// Opens the index named by `config`.
    ///
    /// # Errors
    /// [`IndexError`] when it cannot be read, or `max_distance` is over 32.
    pub fn open(config: &ReverseSearchConfig, base_dir: &Path) -> Result<Self, IndexError> {
        if config.max_distance > 32 {
            return Err(IndexError::Corrupt(
                "max_distance above 32 bits matches unrelated images".into(),
            ));
        }
        let path = if config.index.is_absolute() {
            config.index.clone()
        } else {
            base_dir.join(&config.index)
        };
        Ok(ReverseSearch {
            index: HashIndex::open(&path)?,
            max_distance: config.max_distance,
        })
    }

    /// A detector over an index already in memory.
    pub fn new(index: HashIndex, max_distance: u32) -> Self {
        ReverseSearch {
            index,
            max_distance,
        }
    }
}

impl Detector for ReverseSearch {
    fn name(&self) -> &str {
        NAME
    }
    fn version(&self) -> &str {
        "1.0.0 (dct-phash-64)"
    }
    fn kind(&self) -> DetectorKind {
        DetectorKind::Statistical
    }
    fn detect(&self, media: &Media<'_>) -> DetectorResult {
        let pixels = match media.pixels() {
            Ok(p) => p,
            Err(e) => return not_applicable(self, vec![format!("pixels undecodable: {e}")]),
        };
        let hash = phash(pixels);
        let hits = self.index.search(hash, self.max_distance);
        let Some(best) = hits.first() else {
            return not_applicable(
                self,
                vec![format!(
                    "no near-duplicate among {} indexed images (phash {hash:016x})",
                    self.index.len()
                )],
            );
        };
        let mut evidence: Vec<String> = hits
            .iter()
            .take(5)
            .map(|h| {
                format!(
                    "matches {} (distance {}/64, first seen {}{})",
                    h.entry.source,
                    h.distance,
                    h.entry.first_seen,
                    match h.entry.label {
                        Some(KnownLabel::Real) => ", known real",
                        Some(KnownLabel::AiGenerated) => ", known AI-generated",
                        None => "",
                    }
                )
            })
            .collect();
        // Closer matches are surer: 0.95 at distance 0, 0.6 at the limit.
        let closeness = 1.0 - f64::from(best.distance) / f64::from(self.max_distance.max(1));
        let confidence = 0.6 + 0.35 * closeness;
        match best.entry.label {
            Some(KnownLabel::Real) => finding(self, DetectorVerdict::Real, confidence, evidence),
            Some(KnownLabel::AiGenerated) => {
                finding(self, DetectorVerdict::AiGenerated, confidence, evidence)
            }
            None => {
                evidence.push("the match carries no label: provenance only".into());
                finding(self, DetectorVerdict::Uncertain, 0.5, evidence)
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fixture(path: &str) -> DynamicImage {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures");
        image::open(dir.join(path)).unwrap()
    }

    fn jpeg(image: &DynamicImage, quality: u8) -> DynamicImage {
        let mut out = Vec::new();
        let encoder = image::codecs::jpeg::JpegEncoder::new_with_quality(
            std::io::Cursor::new(&mut out),
            quality,
        );
        image.to_rgb8().write_with_encoder(encoder).unwrap();
        image::load_from_memory(&out).unwrap()
    }

    #[test]
    fn transforms_keep_the_hash_and_other_images_differ() {
        let rocket = fixture("watermark/rocket_clean.png");
        let h = phash(&rocket);
        let half = rocket.resize_exact(
            rocket.width() / 2,
            rocket.height() / 2,
            image::imageops::FilterType::Triangle,
        );
        for (what, other) in [
            ("half size", phash(&half)),
            ("jpeg q75", phash(&jpeg(&rocket, 75))),
            ("grey", phash(&DynamicImage::ImageLuma8(rocket.to_luma8()))),
        ] {
            assert!(distance(h, other) <= 4, "{what}: {}", distance(h, other));
        }
        let cat = phash(&fixture("metadata/no_metadata.jpg"));
        assert!(distance(h, cat) > 16, "{}", distance(h, cat));
    }

    #[test]
    fn search_orders_by_distance_then_first_seen() {
        let mut index = HashIndex::default();
        let entry = |hash: u64, source: &str, seen: &str| IndexEntry {
            phash: format!("{hash:016x}"),
            sha256: source.into(),
            source: source.into(),
            first_seen: seen.into(),
            label: None,
        };
        index
            .push(entry(0b111, "far", "2020-01-01T00:00:00Z"))
            .unwrap();
        index
            .push(entry(0, "late", "2024-01-01T00:00:00Z"))
            .unwrap();
        index
            .push(entry(0, "early", "2021-01-01T00:00:00Z"))
            .unwrap();
        index
            .push(entry(u64::MAX, "other", "2019-01-01T00:00:00Z"))
            .unwrap();
        let hits = index.search(0, 8);
        let sources: Vec<&str> = hits.iter().map(|h| h.entry.source.as_str()).collect();
        assert_eq!(sources, ["early", "late", "far"]);
        assert!(index.push(entry(0, "x", "y")).is_ok());
        let mut bad = entry(0, "x", "y");
        bad.phash = "zz".into();
        assert!(index.push(bad).is_err());
    }

    #[test]
    fn index_round_trips_through_its_file() {
        let dir = std::env::temp_dir().join(format!("verity-index-{}", std::process::id()));
        let path = dir.join("index.jsonl");
        let _ = std::fs::remove_file(&path);
        assert!(HashIndex::open(&path).unwrap().is_empty());
        let e = IndexEntry {
            phash: "00000000000000ff".into(),
            sha256: "ab".into(),
            source: "a.png".into(),
            first_seen: "2025-01-02T03:04:05Z".into(),
            label: Some(KnownLabel::Real),
        };
        HashIndex::append(&path, std::slice::from_ref(&e)).unwrap();
        HashIndex::append(&path, std::slice::from_ref(&e)).unwrap();
        let index = HashIndex::open(&path).unwrap();
        assert_eq!(index.len(), 2);
        assert!(index.contains_sha256("ab"));
        std::fs::write(&path, "{not json}\n").unwrap();
        assert!(matches!(
            HashIndex::open(&path),
            Err(IndexError::Corrupt(_))
        ));
        let _ = std::fs::remove_dir_all(&dir);
    }
}
