//! NovelAI's "stealth pnginfo": generation metadata hidden in the least
//! significant bits of the alpha channel (or of R, G, B), read column by
//! column: a 15-byte signature (`stealth_pnginfo`/`stealth_pngcomp` for alpha,
//! `stealth_rgbinfo`/`stealth_rgbcomp` for RGB), a 32-bit big-endian payload
//! length in bits, then the payload (gzip-compressed for `*comp`).
//!
//! The format is a convention of the NovelAI and `sd_webui_stealth_pnginfo`
//! tools with no crate; it survives metadata stripping but not lossy
//! re-encoding, so JPEG is not examined.

use std::io::Read;

use flate2::read::GzDecoder;
use image::{DynamicImage, GenericImageView};
use verity_core::{DetectorResult, DetectorVerdict};

use super::{finding, not_applicable};
use crate::detector::{Detector, DetectorKind, Media};
use crate::generator::{excerpt, named_generator};
use crate::media::MediaFormat;
use crate::metadata::MAX_TEXT_BYTES;

/// NovelAI alpha/RGB least-significant-bit metadata.
#[derive(Debug, Clone, Copy, Default)]
pub struct StealthPngInfo;

/// Which bits carry the stream.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Channel {
    Alpha,
    Rgb,
}

/// A payload found in an image.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StealthPayload {
    /// The signature read, e.g. `stealth_pngcomp`.
    pub signature: String,
    /// The payload, decoded to text when it could be.
    pub text: Result<String, String>,
}

/// Column-major least-significant bits of one channel set.
struct Bits<'a> {
    image: &'a DynamicImage,
    channel: Channel,
    index: u64,
    pending: [u8; 3],
    pending_len: usize,
}

impl Iterator for Bits<'_> {
    type Item = u8;
    fn next(&mut self) -> Option<u8> {
        if self.pending_len == 0 {
            let (w, h) = self.image.dimensions();
            if self.index >= u64::from(w) * u64::from(h) {
                return None;
            }
            let (x, y) = (
                (self.index / u64::from(h)) as u32,
                (self.index % u64::from(h)) as u32,
            );
            self.index += 1;
            let p = self.image.get_pixel(x, y).0;
            match self.channel {
                Channel::Alpha => self.pending = [p[3] & 1, 0, 0],
                Channel::Rgb => self.pending = [p[2] & 1, p[1] & 1, p[0] & 1],
            }
            self.pending_len = if self.channel == Channel::Alpha { 1 } else { 3 };
        }
        self.pending_len -= 1;
        // RGB bits are stored reversed so that popping yields R, G, B in order.
        Some(match self.channel {
            Channel::Alpha => self.pending[0],
            Channel::Rgb => self.pending[self.pending_len],
        })
    }
}

impl Bits<'_> {
    fn take_bytes(&mut self, n: usize) -> Option<Vec<u8>> {
        (0..n)
            .map(|_| (0..8).try_fold(0u8, |acc, _| Some(acc << 1 | self.next()?)))
            .collect()
    }

    fn take_u32(&mut self) -> Option<u32> {
        (0..32).try_fold(0u32, |acc, _| Some(acc << 1 | u32::from(self.next()?)))
    }
}

/// Reads a stealth payload from decoded pixels, if one is there.
pub fn read_payload(image: &DynamicImage) -> Option<StealthPayload> {
    let mut channels = vec![Channel::Rgb];
    if image.color().has_alpha() {
        channels.insert(0, Channel::Alpha);
    }
    channels
        .into_iter()
        .find_map(|channel| read_channel(image, channel))
}

fn read_channel(image: &DynamicImage, channel: Channel) -> Option<StealthPayload> {
    let mut bits = Bits {
        image,
        channel,
        index: 0,
        pending: [0; 3],
        pending_len: 0,
    };
    let signature = String::from_utf8(bits.take_bytes(15)?).ok()?;
    let (prefix, compressed) = match signature.as_str() {
        "stealth_pnginfo" => (Channel::Alpha, false),
        "stealth_pngcomp" => (Channel::Alpha, true),
        "stealth_rgbinfo" => (Channel::Rgb, false),
        "stealth_rgbcomp" => (Channel::Rgb, true),
        _ => return None,
    };
    if prefix != channel {
        return None;
    }
    let text = payload_text(&mut bits, compressed);
    Some(StealthPayload { signature, text })
}

fn payload_text(bits: &mut Bits<'_>, compressed: bool) -> Result<String, String> {
    let len_bits = bits.take_u32().ok_or("payload length cut off")? as usize;
    let len = len_bits / 8;
    if len > MAX_TEXT_BYTES {
        return Err(format!("declared payload of {len} bytes is over the limit"));
    }
    let raw = bits
        .take_bytes(len)
        .ok_or_else(|| format!("declared payload of {len} bytes runs past the image"))?;
    if !compressed {
        return Ok(String::from_utf8_lossy(&raw).into_owned());
    }
    let mut text = String::new();
    GzDecoder::new(raw.as_slice())
        .take(MAX_TEXT_BYTES as u64)
        .read_to_string(&mut text)
        .map_err(|e| format!("gzip payload unreadable: {e}"))?;
    Ok(text)
}

impl Detector for StealthPngInfo {
    fn name(&self) -> &str {
        "stealth-pnginfo"
    }
    fn version(&self) -> &str {
        "1.0.0"
    }
    fn kind(&self) -> DetectorKind {
        DetectorKind::Provenance
    }
    fn detect(&self, media: &Media<'_>) -> DetectorResult {
        if media.format() == MediaFormat::Jpeg {
            return not_applicable(self, vec!["JPEG is lossy: no LSB payload survives".into()]);
        }
        let image = match media.pixels() {
            Ok(image) => image,
            Err(e) => return not_applicable(self, vec![format!("pixels undecodable: {e}")]),
        };
        let Some(payload) = read_payload(image) else {
            return not_applicable(
                self,
                vec!["no stealth pnginfo signature in the LSBs".into()],
            );
        };
        let place = if payload.signature.contains("png") {
            "alpha-channel"
        } else {
            "RGB"
        };
        let mut evidence = vec![format!(
            "{place} LSB '{}' signature: generation metadata hidden by NovelAI-style tools",
            payload.signature
        )];
        let confidence = match &payload.text {
            Ok(text) => {
                let named = named_generator(text)
                    .map(|p| format!(", names {p}"))
                    .unwrap_or_default();
                evidence.push(format!("payload{named}: {}", excerpt(text, 160)));
                0.97
            }
            Err(why) => {
                evidence.push(format!(
                    "payload unreadable ({why}); the signature alone is specific"
                ));
                0.9
            }
        };
        finding(self, DetectorVerdict::AiGenerated, confidence, evidence)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use image::{Rgba, RgbaImage};

    /// Writes `bytes` column-major into the alpha LSBs of a w×h image.
    pub(crate) fn embed_alpha(w: u32, h: u32, bytes: &[u8]) -> DynamicImage {
        let mut img = RgbaImage::from_pixel(w, h, Rgba([10, 20, 30, 254]));
        let bits = bytes
            .iter()
            .flat_map(|b| (0..8).rev().map(move |i| (b >> i) & 1));
        for (i, bit) in bits.enumerate() {
            let (x, y) = ((i as u32) / h, (i as u32) % h);
            img.get_pixel_mut(x, y).0[3] = 254 | bit;
        }
        DynamicImage::ImageRgba8(img)
    }

    fn stream(sig: &[u8], payload: &[u8]) -> Vec<u8> {
        let mut s = sig.to_vec();
        s.extend(((payload.len() * 8) as u32).to_be_bytes());
        s.extend(payload);
        s
    }

    #[test]
    fn reads_an_uncompressed_alpha_payload() {
        let img = embed_alpha(
            40,
            30,
            &stream(b"stealth_pnginfo", b"{\"Software\":\"NovelAI\"}"),
        );
        let p = read_payload(&img).unwrap();
        assert_eq!(p.signature, "stealth_pnginfo");
        assert_eq!(p.text.unwrap(), "{\"Software\":\"NovelAI\"}");
    }

    #[test]
    fn lying_lengths_and_bad_gzip_are_reported_not_panics() {
        let mut s = b"stealth_pngcomp".to_vec();
        s.extend(u32::MAX.to_be_bytes());
        let p = read_payload(&embed_alpha(20, 20, &s)).unwrap();
        assert!(p.text.is_err());
        let p = read_payload(&embed_alpha(
            30,
            30,
            &stream(b"stealth_pngcomp", b"not gzip"),
        ))
        .unwrap();
        assert!(p.text.unwrap_err().contains("gzip"));
    }

    #[test]
    fn plain_images_carry_nothing() {
        let img = DynamicImage::ImageRgba8(RgbaImage::from_pixel(64, 64, Rgba([1, 2, 3, 255])));
        assert_eq!(read_payload(&img), None);
        let tiny = DynamicImage::ImageRgba8(RgbaImage::new(2, 2));
        assert_eq!(read_payload(&tiny), None);
    }
}
