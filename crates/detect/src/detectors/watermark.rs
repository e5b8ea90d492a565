//! The Stable Diffusion invisible watermark: a decoder compatible with the
//! `invisible-watermark` package's `dwtDct` method (`imwatermark` 0.2.0,
//! `EmbedMaxDct` with scales `[0, 36, 36]`, block 4), which Stability's
//! reference scripts and diffusers use to mark SD v1 and SDXL outputs.
//!
//! The scheme, as the reference decoder reads it:
//! 1. BGR → YUV exactly as OpenCV converts 8-bit images (fixed point, 14-bit
//!    shift); only the U channel carries the mark. The image is cropped to a
//!    multiple of 4 in both directions.
//! 2. One-level Haar DWT; the LL band (computed in the same floating-point
//!    order as PyWavelets, rows then columns) is cut into 4×4 blocks in raster
//!    order, block `n` carrying bit `n mod len`.
//! 3. In each block, the coefficient with the largest magnitude other than the
//!    first: bit = `|v| mod 36 > 18`.
//! 4. Per bit, the mean of its votes; `mean × 255 > 127` gives 1.
//!
//! Images under 256×256 pixels are refused, as the reference decoder does.
//! diffusers' SDXL watermarker embeds on a float image, where OpenCV centres U
//! on 0.5 instead of 128; the mark then sits on a grid shifted by 255 in LL
//! units, which the 8-bit decoder misreads. The detector therefore also runs
//! that float variant and keeps whichever decode matches a payload better.
//!
//! Payloads and Stability's thresholds (for 48 bits; the same fractions are
//! used for the 136-bit SD v1 payload): ≤ 27 matching bits none, 28–33
//! partial, 34–35 likely, ≥ 36 very likely.

use image::RgbImage;
use image::metadata::Orientation;
use verity_core::{DetectorResult, DetectorVerdict};

use super::{finding, not_applicable};
use crate::detector::{Detector, DetectorKind, Media};

/// Quantisation step of the reference embedder for the U channel.
pub const SCALE: f64 = 36.0;
/// Block size in the LL band.
pub const BLOCK: usize = 4;
/// The reference decoder refuses images with fewer pixels than this.
pub const MIN_PIXELS: u64 = 256 * 256;

/// A known watermark payload.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Payload {
    /// Display name.
    pub name: &'static str,
    /// The bits, most significant first.
    pub bits: Vec<bool>,
}

/// The payloads the detector looks for: SD v1's `StableDiffusionV1` (136
/// bits) and SDXL's `0xB3EC907BB19E` (48 bits).
pub fn known_payloads() -> Vec<Payload> {
    vec![
        Payload {
            name: "SD v1 \"StableDiffusionV1\"",
            bits: bytes_to_bits(b"StableDiffusionV1"),
        },
        Payload {
            name: "SDXL 0xB3EC907BB19E",
            bits: bytes_to_bits(&[0xB3, 0xEC, 0x90, 0x7B, 0xB1, 0x9E]),
        },
    ]
}

fn bytes_to_bits(bytes: &[u8]) -> Vec<bool> {
    bytes
        .iter()
        .flat_map(|b| (0..8).rev().map(move |i| b >> i & 1 == 1))
        .collect()
}

/// Stability's reading of a match count.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Strength {
    /// Chance level.
    None,
    /// Some agreement; not enough to conclude.
    Partial,
    /// Likely watermarked.
    Likely,
    /// Very likely watermarked.
    VeryLikely,
}

impl Strength {
    /// Strength of `matched` bits out of `len` (thresholds 28/34/36 of 48,
    /// as fractions for other lengths).
    pub fn of(matched: usize, len: usize) -> Strength {
        // Integer comparisons: matched/len >= k/48 ⇔ 48·matched >= k·len.
        let scaled = matched * 48;
        if scaled >= 36 * len {
            Strength::VeryLikely
        } else if scaled >= 34 * len {
            Strength::Likely
        } else if scaled >= 28 * len {
            Strength::Partial
        } else {
            Strength::None
        }
    }

    /// The label Stability's script prints.
    pub fn label(self) -> &'static str {
        match self {
            Strength::None => "none",
            Strength::Partial => "partial",
            Strength::Likely => "likely",
            Strength::VeryLikely => "very_likely",
        }
    }
}

/// Which U channel the decoder reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Variant {
    /// OpenCV's 8-bit conversion (U centred on 128): the reference decoder.
    EightBit,
    /// OpenCV's float conversion (U centred on 0.5): diffusers' float path.
    FloatOffset,
}

/// Per-block bits of the U channel's LL band in raster order, or `None` when
/// the image is too small.
pub fn block_bits(rgb: &RgbImage, variant: Variant) -> Option<Vec<bool>> {
    let (w, h) = (rgb.width() as usize, rgb.height() as usize);
    if (w as u64) * (h as u64) < MIN_PIXELS {
        return None;
    }
    let (cw, ch) = (w / 4 * 4, h / 4 * 4);
    let u = u_plane(rgb, cw, ch, variant);
    let (lw, lh) = (cw / 2, ch / 2);
    let ll = haar_ll(&u, cw, ch, variant);
    let (bw, bh) = (lw / BLOCK, lh / BLOCK);
    let mut bits = Vec::with_capacity(bw * bh);
    for bi in 0..bh {
        for bj in 0..bw {
            // The largest magnitude after the first element (numpy argmax:
            // the first index wins a tie).
            let mut best = 0.0f64;
            let mut best_abs = -1.0f64;
            for k in 1..BLOCK * BLOCK {
                let v = ll[(bi * BLOCK + k / BLOCK) * lw + bj * BLOCK + k % BLOCK];
                if v.abs() > best_abs {
                    best_abs = v.abs();
                    best = v;
                }
            }
            bits.push(best.abs() % SCALE > 0.5 * SCALE);
        }
    }
    Some(bits)
}

/// Majority vote of `blocks` for a payload of `len` bits, as the reference
/// does it (`mean × 255 > 127`).
pub fn vote(blocks: &[bool], len: usize) -> Vec<bool> {
    let mut ones = vec![0usize; len];
    let mut total = vec![0usize; len];
    for (n, &b) in blocks.iter().enumerate() {
        total[n % len] += 1;
        ones[n % len] += usize::from(b);
    }
    ones.iter()
        .zip(&total)
        .map(|(&o, &t)| t > 0 && (o as f64 / t as f64) * 255.0 > 127.0)
        .collect()
}

/// Decodes `len` bits from an image with the given variant (`None` when the
/// image is under 256×256 pixels).
pub fn decode(rgb: &RgbImage, len: usize, variant: Variant) -> Option<Vec<bool>> {
    block_bits(rgb, variant).map(|b| vote(&b, len))
}

fn u_plane(rgb: &RgbImage, cw: usize, ch: usize, variant: Variant) -> Vec<f64> {
    let stride = rgb.width() as usize * 3;
    let raw = rgb.as_raw();
    let mut u = Vec::with_capacity(cw * ch);
    for row in raw.chunks_exact(stride).take(ch) {
        for p in row[..cw * 3].chunks_exact(3) {
            u.push(match variant {
                Variant::EightBit => u_8bit(p[0], p[1], p[2]),
                Variant::FloatOffset => u_float(p[0], p[1], p[2]),
            });
        }
    }
    u
}

/// OpenCV's 8-bit BGR→YUV U value (fixed point, shift 14, rounding).
pub fn u_8bit(r: u8, g: u8, b: u8) -> f64 {
    const SHIFT: i32 = 14;
    const HALF: i32 = 1 << (SHIFT - 1);
    let (r, g, b) = (i32::from(r), i32::from(g), i32::from(b));
    let y = (r * 4899 + g * 9617 + b * 1868 + HALF) >> SHIFT;
    let u = (((b - y) * 8061 + HALF) >> SHIFT) + 128;
    f64::from(u.clamp(0, 255))
}

/// OpenCV's float BGR→YUV U value (delta 0.5) on a 0–255 float image.
pub fn u_float(r: u8, g: u8, b: u8) -> f64 {
    let (r, g, b) = (f32::from(r), f32::from(g), f32::from(b));
    let y = r * 0.299 + g * 0.587 + b * 0.114;
    f64::from((b - y) * 0.492 + 0.5)
}

/// The LL band of a one-level Haar DWT in PyWavelets' arithmetic order
/// (pairs of rows, then pairs of columns; float64 for 8-bit input, float32
/// for float input).
fn haar_ll(u: &[f64], cw: usize, ch: usize, variant: Variant) -> Vec<f64> {
    let (lw, lh) = (cw / 2, ch / 2);
    let mut ll = Vec::with_capacity(lw * lh);
    for i in 0..lh {
        let (top, bottom) = (&u[2 * i * cw..][..cw], &u[(2 * i + 1) * cw..][..cw]);
        for j in 0..lw {
            ll.push(match variant {
                Variant::EightBit => {
                    let c = std::f64::consts::FRAC_1_SQRT_2;
                    let a = c * top[2 * j] + c * bottom[2 * j];
                    let b = c * top[2 * j + 1] + c * bottom[2 * j + 1];
                    c * a + c * b
                }
                Variant::FloatOffset => {
                    let c = std::f32::consts::FRAC_1_SQRT_2;
                    let f = |v: f64| v as f32;
                    let a = c * f(top[2 * j]) + c * f(bottom[2 * j]);
                    let b = c * f(top[2 * j + 1]) + c * f(bottom[2 * j + 1]);
                    f64::from(c * a + c * b)
                }
            });
        }
    }
    ll
}

/// The best match of one image against the known payloads.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WatermarkMatch {
    /// The payload.
    pub payload: &'static str,
    /// Which decoder variant matched best.
    pub variant: Variant,
    /// Bits decoded.
    pub decoded: Vec<bool>,
    /// Bits that agree with the payload.
    pub matched: usize,
    /// Payload length.
    pub len: usize,
    /// Stability's reading.
    pub strength: Strength,
}

/// Decodes both variants against every known payload and keeps the best
/// match (`None` when the image is under 256×256 pixels).
pub fn best_match(rgb: &RgbImage) -> Option<WatermarkMatch> {
    let payloads = known_payloads();
    let mut best: Option<WatermarkMatch> = None;
    for variant in [Variant::EightBit, Variant::FloatOffset] {
        let blocks = block_bits(rgb, variant)?;
        for p in &payloads {
            let decoded = vote(&blocks, p.bits.len());
            let matched = decoded.iter().zip(&p.bits).filter(|(a, b)| a == b).count();
            let m = WatermarkMatch {
                payload: p.name,
                variant,
                strength: Strength::of(matched, p.bits.len()),
                decoded,
                matched,
                len: p.bits.len(),
            };
            let better = match &best {
                None => true,
                Some(b) => (m.strength, m.matched * b.len) > (b.strength, b.matched * m.len),
            };
            if better {
                best = Some(m);
            }
        }
    }
    best
}

/// Renders bits as a `0`/`1` string.
pub fn bit_string(bits: &[bool]) -> String {
    bits.iter().map(|&b| if b { '1' } else { '0' }).collect()
}

/// The Stable Diffusion `dwtDct` invisible watermark detector.
#[derive(Debug, Clone, Copy, Default)]
pub struct InvisibleWatermark;

impl Detector for InvisibleWatermark {
    fn name(&self) -> &str {
        "sd-invisible-watermark"
    }
    fn version(&self) -> &str {
        "1.0.0 (imwatermark 0.2.0 dwtDct)"
    }
    fn kind(&self) -> DetectorKind {
        DetectorKind::Provenance
    }
    fn detect(&self, media: &Media<'_>) -> DetectorResult {
        let pixels = match media.pixels() {
            Ok(p) => p,
            Err(e) => return not_applicable(self, vec![format!("pixels undecodable: {e}")]),
        };
        let (w, h) = (pixels.width(), pixels.height());
        if u64::from(w) * u64::from(h) < MIN_PIXELS {
            return not_applicable(
                self,
                vec![format!(
                    "image {w}×{h} is under 256×256 pixels: the watermark decoder refuses it"
                )],
            );
        }
        let Some(stored) = match_pixels(pixels) else {
            return not_applicable(self, vec!["image too small for the decoder".into()]);
        };
        let orientation = media.orientation().unwrap_or(Orientation::NoTransforms);
        let (m, where_) = if stored.strength >= Strength::Likely
            || orientation == Orientation::NoTransforms
        {
            (stored, "stored pixel orientation".to_owned())
        } else {
            // An editor that rotated the pixels and recorded the rotation
            // in EXIF leaves the mark aligned with the displayed image.
            let mut upright = pixels.clone();
            upright.apply_orientation(orientation);
            match match_pixels(&upright) {
                Some(c) if c.strength > stored.strength => (
                    c,
                    format!(
                        "EXIF-corrected orientation (Orientation {}; not found in stored pixel orientation)",
                        orientation.to_exif()
                    ),
                ),
                _ => (
                    stored,
                    format!(
                        "stored pixel orientation (EXIF Orientation {} tried as well)",
                        orientation.to_exif()
                    ),
                ),
            }
        };
        judge(self, &m, &where_)
    }
}

/// The best match of `pixels` as they are laid out.
fn match_pixels(pixels: &image::DynamicImage) -> Option<WatermarkMatch> {
    // JPEGs decode to RGB8 already: borrow instead of copying.
    match pixels.as_rgb8() {
        Some(rgb) => best_match(rgb),
        None => best_match(&pixels.to_rgb8()),
    }
}

/// The detector's result for the best match, found in `where_`.
fn judge(detector: &InvisibleWatermark, m: &WatermarkMatch, where_: &str) -> DetectorResult {
    let variant = match m.variant {
        Variant::EightBit => "8-bit decoder",
        Variant::FloatOffset => "float-offset decoder (diffusers' float path)",
    };
    let line = format!(
        "{}: {}/{} bits match with the {variant} in the {where_} ({})",
        m.payload,
        m.matched,
        m.len,
        m.strength.label()
    );
    match m.strength {
        Strength::VeryLikely => finding(
            detector,
            DetectorVerdict::AiGenerated,
            0.95,
            vec![
                line,
                "Stable Diffusion invisible watermark present: very likely".into(),
            ],
        ),
        Strength::Likely => finding(
            detector,
            DetectorVerdict::AiGenerated,
            0.85,
            vec![line, "Stable Diffusion invisible watermark: likely".into()],
        ),
        Strength::Partial => finding(
            detector,
            DetectorVerdict::Uncertain,
            0.5,
            vec![
                line,
                "partial match: above chance, below Stability's threshold".into(),
            ],
        ),
        Strength::None => not_applicable(
            detector,
            vec![line, "no Stable Diffusion watermark found".into()],
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn payload_bits_are_the_published_ones() {
        let p = known_payloads();
        assert_eq!(p[0].bits.len(), 136);
        assert_eq!(
            bit_string(&p[1].bits),
            "101100111110110010010000011110111011000110011110"
        );
    }

    #[test]
    fn thresholds_are_stabilitys() {
        assert_eq!(Strength::of(27, 48), Strength::None);
        assert_eq!(Strength::of(28, 48), Strength::Partial);
        assert_eq!(Strength::of(33, 48), Strength::Partial);
        assert_eq!(Strength::of(34, 48), Strength::Likely);
        assert_eq!(Strength::of(35, 48), Strength::Likely);
        assert_eq!(Strength::of(36, 48), Strength::VeryLikely);
        assert_eq!(Strength::of(102, 136), Strength::VeryLikely);
        assert_eq!(Strength::of(101, 136), Strength::Likely);
    }

    #[test]
    fn opencv_u_vectors() {
        // Values computed with OpenCV 5.0 cvtColor(COLOR_BGR2YUV) on uint8.
        assert_eq!(u_8bit(0, 0, 0), 128.0);
        assert_eq!(u_8bit(255, 255, 255), 128.0);
        assert_eq!(u_8bit(0, 0, 255), 239.0);
        assert_eq!(u_8bit(255, 255, 0), 17.0);
    }

    #[test]
    fn votes_follow_the_reference_rule() {
        // 1 of 2 votes: 0.5 × 255 = 127.5 > 127 → 1; 1 of 3 → 0.
        assert_eq!(vote(&[true, false, false, false], 2), [true, false]);
        assert_eq!(
            vote(&[true, false, false, false, false, false], 2),
            [false, false]
        );
    }

    #[test]
    fn small_images_are_refused() {
        let img = RgbImage::new(255, 255);
        assert!(decode(&img, 48, Variant::EightBit).is_none());
        let img = RgbImage::new(512, 128);
        assert!(decode(&img, 48, Variant::EightBit).is_some());
    }
}
