//! Media inspection: what an upload really is, before anything is stored.
//!
//! The type is sniffed from the bytes (never from a file name or header), the
//! container structure is walked to the end so that truncated files are
//! refused, and the declared dimensions are checked against limits so that a
//! decompression bomb never reaches a decoder.

use std::io::Cursor;

use image::{ImageFormat, ImageReader};

/// An accepted image format.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum MediaFormat {
    /// JPEG / JFIF / EXIF.
    Jpeg,
    /// PNG.
    Png,
    /// WebP (lossy, lossless or extended).
    WebP,
}

impl MediaFormat {
    /// The MIME type.
    pub fn mime(self) -> &'static str {
        match self {
            MediaFormat::Jpeg => "image/jpeg",
            MediaFormat::Png => "image/png",
            MediaFormat::WebP => "image/webp",
        }
    }

    /// Parses a MIME type produced by [`Self::mime`].
    pub fn from_mime(mime: &str) -> Option<Self> {
        match mime {
            "image/jpeg" => Some(MediaFormat::Jpeg),
            "image/png" => Some(MediaFormat::Png),
            "image/webp" => Some(MediaFormat::WebP),
            _ => None,
        }
    }

    /// The `image` crate's format.
    pub fn image_format(self) -> ImageFormat {
        match self {
            MediaFormat::Jpeg => ImageFormat::Jpeg,
            MediaFormat::Png => ImageFormat::Png,
            MediaFormat::WebP => ImageFormat::WebP,
        }
    }
}

/// Limits applied to uploads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MediaLimits {
    /// Largest accepted file, in bytes.
    pub max_bytes: usize,
    /// Largest accepted `width × height`.
    pub max_pixels: u64,
    /// Largest accepted width or height.
    pub max_side: u32,
}

impl Default for MediaLimits {
    fn default() -> Self {
        MediaLimits {
            max_bytes: 25 * 1024 * 1024,
            max_pixels: 50_000_000,
            max_side: 16_384,
        }
    }
}

/// What inspection learned about an accepted image.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MediaInfo {
    /// Sniffed format.
    pub format: MediaFormat,
    /// Width in pixels.
    pub width: u32,
    /// Height in pixels.
    pub height: u32,
}

/// Why an upload is refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MediaError {
    /// No bytes at all.
    #[error("the file is empty")]
    Empty,
    /// Larger than [`MediaLimits::max_bytes`].
    #[error("the file is {size} bytes; the limit is {limit}")]
    TooLarge {
        /// Size of the file.
        size: usize,
        /// The limit.
        limit: usize,
    },
    /// Not JPEG, PNG or WebP.
    #[error("not a supported image: {0}")]
    Unsupported(String),
    /// The container is cut short or inconsistent.
    #[error("malformed {format}: {reason}")]
    Malformed {
        /// The sniffed format.
        format: &'static str,
        /// What is wrong.
        reason: String,
    },
    /// Declared dimensions beyond the limits (a decompression bomb, or just too big).
    #[error("image is {width}×{height}; limits are {max_side} per side and {max_pixels} pixels")]
    TooManyPixels {
        /// Declared width.
        width: u32,
        /// Declared height.
        height: u32,
        /// Side limit.
        max_side: u32,
        /// Pixel limit.
        max_pixels: u64,
    },
}

/// Sniffs, walks and size-checks `bytes`.
///
/// # Errors
/// Any [`MediaError`]; nothing is decoded beyond headers.
pub fn inspect(bytes: &[u8], limits: &MediaLimits) -> Result<MediaInfo, MediaError> {
    if bytes.is_empty() {
        return Err(MediaError::Empty);
    }
    if bytes.len() > limits.max_bytes {
        return Err(MediaError::TooLarge {
            size: bytes.len(),
            limit: limits.max_bytes,
        });
    }
    let format = sniff(bytes)?;
    let walked = match format {
        MediaFormat::Jpeg => walk_jpeg(bytes),
        MediaFormat::Png => walk_png(bytes),
        MediaFormat::WebP => walk_webp(bytes),
    };
    walked.map_err(|reason| MediaError::Malformed {
        format: format.mime(),
        reason,
    })?;
    let (width, height) = ImageReader::with_format(Cursor::new(bytes), format.image_format())
        .into_dimensions()
        .map_err(|e| MediaError::Malformed {
            format: format.mime(),
            reason: e.to_string(),
        })?;
    let pixels = u64::from(width) * u64::from(height);
    if width == 0 || height == 0 {
        return Err(MediaError::Malformed {
            format: format.mime(),
            reason: "zero width or height".into(),
        });
    }
    if width > limits.max_side || height > limits.max_side || pixels > limits.max_pixels {
        return Err(MediaError::TooManyPixels {
            width,
            height,
            max_side: limits.max_side,
            max_pixels: limits.max_pixels,
        });
    }
    Ok(MediaInfo {
        format,
        width,
        height,
    })
}

/// The format the bytes really are.
///
/// # Errors
/// [`MediaError::Unsupported`] for anything but JPEG, PNG and WebP.
pub fn sniff(bytes: &[u8]) -> Result<MediaFormat, MediaError> {
    match image::guess_format(bytes) {
        Ok(ImageFormat::Jpeg) => Ok(MediaFormat::Jpeg),
        Ok(ImageFormat::Png) => Ok(MediaFormat::Png),
        Ok(ImageFormat::WebP) => Ok(MediaFormat::WebP),
        Ok(other) => Err(MediaError::Unsupported(format!(
            "{other:?} is not accepted (JPEG, PNG or WebP)"
        ))),
        Err(_) => Err(MediaError::Unsupported(
            "the bytes are not a known image format".into(),
        )),
    }
}

// The image decoders tolerate truncation (they fill missing rows), so the
// containers are walked here to tell a complete file from a cut-off one.

fn walk_png(b: &[u8]) -> Result<(), String> {
    let mut pos = 8;
    let mut first = true;
    loop {
        let header = b
            .get(pos..pos + 8)
            .ok_or("file ends before the IEND chunk (truncated)")?;
        let len = u32::from_be_bytes([header[0], header[1], header[2], header[3]]) as usize;
        let kind = &header[4..8];
        if first && kind != b"IHDR" {
            return Err("the first chunk is not IHDR".into());
        }
        first = false;
        let end = pos
            .checked_add(12)
            .and_then(|p| p.checked_add(len))
            .ok_or("chunk length overflows")?;
        if end > b.len() {
            return Err(format!(
                "chunk {} claims {len} bytes past the end of the file (truncated)",
                String::from_utf8_lossy(kind)
            ));
        }
        if kind == b"IEND" {
            return Ok(());
        }
        pos = end;
    }
}

fn walk_jpeg(b: &[u8]) -> Result<(), String> {
    let mut pos = 2;
    loop {
        // Skip fill bytes before a marker.
        while b.get(pos) == Some(&0xFF) && b.get(pos + 1) == Some(&0xFF) {
            pos += 1;
        }
        let (Some(&0xFF), Some(&marker)) = (b.get(pos), b.get(pos + 1)) else {
            return Err("file ends before the EOI marker (truncated)".into());
        };
        pos += 2;
        match marker {
            0xD9 => return Ok(()),
            0x01 | 0xD0..=0xD7 => continue,
            _ => {}
        }
        let len = b
            .get(pos..pos + 2)
            .map(|l| u16::from_be_bytes([l[0], l[1]]) as usize)
            .ok_or("segment length cut off (truncated)")?;
        if len < 2 || pos + len > b.len() {
            return Err(format!(
                "segment 0xFF{marker:02X} runs past the end (truncated)"
            ));
        }
        pos += len;
        if marker == 0xDA {
            pos = skip_entropy_coded(b, pos)?;
        }
    }
}

/// Returns the position of the next marker after entropy-coded data.
fn skip_entropy_coded(b: &[u8], mut pos: usize) -> Result<usize, String> {
    while pos + 1 < b.len() {
        if b[pos] == 0xFF {
            match b[pos + 1] {
                0x00 | 0xD0..=0xD7 | 0xFF => pos += 1,
                _ => return Ok(pos),
            }
        }
        pos += 1;
    }
    Err("scan data ends before the EOI marker (truncated)".into())
}

fn walk_webp(b: &[u8]) -> Result<(), String> {
    let riff = b.get(4..8).ok_or("RIFF header cut off")?;
    let declared = u32::from_le_bytes([riff[0], riff[1], riff[2], riff[3]]) as usize;
    let end = declared.checked_add(8).ok_or("RIFF size overflows")?;
    if end > b.len() {
        return Err(format!(
            "RIFF declares {end} bytes but the file has {} (truncated)",
            b.len()
        ));
    }
    let mut pos = 12;
    while pos < end {
        let header = b.get(pos..pos + 8).ok_or("chunk header cut off")?;
        let len = u32::from_le_bytes([header[4], header[5], header[6], header[7]]) as usize;
        let padded = len + (len & 1);
        pos = pos
            .checked_add(8 + padded)
            .ok_or("chunk length overflows")?;
        if pos > end + 1 {
            return Err("a chunk runs past the RIFF end (truncated)".into());
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use image::{ImageBuffer, Rgb};

    fn encode(format: ImageFormat, w: u32, h: u32) -> Vec<u8> {
        let img = ImageBuffer::from_fn(w, h, |x, y| Rgb([(x % 256) as u8, (y % 256) as u8, 7]));
        let mut out = Cursor::new(Vec::new());
        img.write_to(&mut out, format).unwrap();
        out.into_inner()
    }

    #[test]
    fn accepts_the_three_formats() {
        for (fmt, want) in [
            (ImageFormat::Jpeg, MediaFormat::Jpeg),
            (ImageFormat::Png, MediaFormat::Png),
            (ImageFormat::WebP, MediaFormat::WebP),
        ] {
            let info = inspect(&encode(fmt, 40, 30), &MediaLimits::default()).unwrap();
            assert_eq!((info.format, info.width, info.height), (want, 40, 30));
        }
    }

    #[test]
    fn refuses_truncated_files() {
        for fmt in [ImageFormat::Jpeg, ImageFormat::Png, ImageFormat::WebP] {
            let full = encode(fmt, 64, 64);
            let cut = &full[..full.len() * 2 / 3];
            assert!(
                matches!(
                    inspect(cut, &MediaLimits::default()),
                    Err(MediaError::Malformed { .. })
                ),
                "{fmt:?} truncated was accepted"
            );
        }
    }

    #[test]
    fn refuses_non_images_and_empty() {
        let limits = MediaLimits::default();
        assert_eq!(inspect(b"", &limits), Err(MediaError::Empty));
        assert!(matches!(
            inspect(b"hello, I am a text file", &limits),
            Err(MediaError::Unsupported(_))
        ));
        let gif = b"GIF89a\x01\x00\x01\x00\x00\x00\x00;";
        assert!(matches!(
            inspect(gif, &limits),
            Err(MediaError::Unsupported(_))
        ));
    }

    #[test]
    fn refuses_bombs_by_declared_size() {
        let png = encode(ImageFormat::Png, 1, 20_000);
        let err = inspect(&png, &MediaLimits::default()).unwrap_err();
        assert!(matches!(err, MediaError::TooManyPixels { .. }), "{err}");
        let tight = MediaLimits {
            max_pixels: 100,
            ..MediaLimits::default()
        };
        assert!(inspect(&encode(ImageFormat::Png, 20, 20), &tight).is_err());
    }

    #[test]
    fn refuses_oversized_files() {
        let tight = MediaLimits {
            max_bytes: 10,
            ..MediaLimits::default()
        };
        assert!(matches!(
            inspect(&encode(ImageFormat::Png, 8, 8), &tight),
            Err(MediaError::TooLarge { .. })
        ));
    }

    proptest::proptest! {
        #[test]
        fn never_panics_on_garbage(bytes in proptest::collection::vec(proptest::num::u8::ANY, 0..512)) {
            let _ = inspect(&bytes, &MediaLimits::default());
        }

        #[test]
        fn never_panics_on_mangled_images(cut in 0usize..2000, flip in 0usize..2000) {
            for fmt in [ImageFormat::Jpeg, ImageFormat::Png, ImageFormat::WebP] {
                let mut bytes = encode(fmt, 16, 16);
                let i = flip % bytes.len();
                bytes[i] ^= 0x5A;
                bytes.truncate(cut.max(1).min(bytes.len()));
                let _ = inspect(&bytes, &MediaLimits::default());
            }
        }
    }
}
