//! EXIF: generator names and AUTOMATIC1111 infotext (provenance), and camera
//! fields (a hint only: anyone can write `Make: Canon`).

use std::io::Cursor;

use exif::{Exif, Field, Reader, Tag, Value};
use verity_core::{DetectorResult, DetectorVerdict};

use super::{finding, not_applicable};
use crate::detector::{Detector, DetectorKind, Media};
use crate::generator::{a1111_infotext, excerpt, named_generator};

/// Generator names in EXIF text fields and A1111 infotext in `UserComment`.
#[derive(Debug, Clone, Copy, Default)]
pub struct ExifGenerator;

/// Camera make, model and capture time: a weak hint of a real capture.
#[derive(Debug, Clone, Copy, Default)]
pub struct ExifCamera;

/// Confidence of an A1111 infotext: the settings line is specific to the tool.
const INFOTEXT_CONFIDENCE: f64 = 0.95;
/// Confidence of a generator name in a free-text field: specific, but some
/// editors write their own name there when they merely touch a file.
const NAME_CONFIDENCE: f64 = 0.85;
/// Confidence of the camera hint; the ensemble never lets a hint decide.
const CAMERA_CONFIDENCE: f64 = 0.55;

enum ExifRead {
    Absent,
    Unreadable(String),
    Found(Box<Exif>, Vec<String>),
}

fn read_exif(bytes: &[u8]) -> ExifRead {
    let mut reader = Reader::new();
    reader.continue_on_error(true);
    match reader.read_from_container(&mut Cursor::new(bytes)) {
        Ok(exif) => ExifRead::Found(Box::new(exif), Vec::new()),
        Err(exif::Error::NotFound(_)) => ExifRead::Absent,
        Err(e) => {
            let mut problems = Vec::new();
            match e.distill_partial_result(|errs| {
                problems = errs
                    .iter()
                    .map(|e| format!("EXIF partly unreadable: {e}"))
                    .collect();
            }) {
                Ok(exif) => ExifRead::Found(Box::new(exif), problems),
                Err(e) => ExifRead::Unreadable(format!("EXIF unreadable: {e}")),
            }
        }
    }
}

/// The text of an ASCII field, lossily decoded.
fn ascii(field: &Field) -> Option<String> {
    match &field.value {
        Value::Ascii(parts) => {
            let joined: Vec<String> = parts
                .iter()
                .map(|p| String::from_utf8_lossy(p).trim().to_owned())
                .filter(|s| !s.is_empty())
                .collect();
            (!joined.is_empty()).then(|| joined.join(" "))
        }
        _ => None,
    }
}

/// Decodes an EXIF `UserComment`: an 8-byte character-code prefix, then text.
///
/// A1111 (through piexif) writes `UNICODE\0` + UTF-16 big-endian whatever the
/// TIFF byte order, while other writers follow it, so the byte order is taken
/// from where the zero bytes of ASCII-range characters fall.
pub fn user_comment(raw: &[u8]) -> Option<String> {
    let (code, body) = raw.split_at_checked(8)?;
    let text = match code {
        b"UNICODE\0" => {
            let big_endian = body.first() == Some(&0) || body.get(1) != Some(&0);
            let units: Vec<u16> = body
                .chunks_exact(2)
                .map(|p| {
                    if big_endian {
                        u16::from_be_bytes([p[0], p[1]])
                    } else {
                        u16::from_le_bytes([p[0], p[1]])
                    }
                })
                .collect();
            String::from_utf16_lossy(&units)
        }
        _ => String::from_utf8_lossy(body).into_owned(),
    };
    let text = text.trim_matches(|c: char| c == '\0' || c.is_whitespace());
    (!text.is_empty()).then(|| text.to_owned())
}

fn field_text(field: &Field) -> Option<String> {
    // The standard type is UNDEFINED, but writers also use BYTE.
    match (&field.value, field.tag) {
        (Value::Undefined(raw, _) | Value::Byte(raw), Tag::UserComment) => user_comment(raw),
        _ => ascii(field),
    }
}

impl Detector for ExifGenerator {
    fn name(&self) -> &str {
        "exif-generator"
    }
    fn version(&self) -> &str {
        "1.0.0"
    }
    fn kind(&self) -> DetectorKind {
        DetectorKind::Provenance
    }
    fn detect(&self, media: &Media<'_>) -> DetectorResult {
        let (exif, problems) = match read_exif(media.bytes()) {
            ExifRead::Absent => return not_applicable(self, vec!["no EXIF".into()]),
            ExifRead::Unreadable(why) => return not_applicable(self, vec![why]),
            ExifRead::Found(exif, problems) => (exif, problems),
        };
        let mut evidence = Vec::new();
        let mut confidence: f64 = 0.0;
        let tags = [
            Tag::Software,
            Tag::ImageDescription,
            Tag::Make,
            Tag::Model,
            Tag::UserComment,
        ];
        for field in exif.fields().filter(|f| tags.contains(&f.tag)) {
            let Some(text) = field_text(field) else {
                continue;
            };
            if let Some(settings) = a1111_infotext(&text) {
                evidence.push(format!(
                    "EXIF {} holds AUTOMATIC1111 generation settings ({settings})",
                    field.tag
                ));
                confidence = confidence.max(INFOTEXT_CONFIDENCE);
            } else if let Some(product) = named_generator(&text) {
                evidence.push(format!(
                    "EXIF {} = '{}' names the generator {product}",
                    field.tag,
                    excerpt(&text, 80)
                ));
                confidence = confidence.max(NAME_CONFIDENCE);
            }
        }
        if evidence.is_empty() {
            let mut notes = vec!["EXIF present; no generator named in it".to_owned()];
            notes.extend(problems);
            return not_applicable(self, notes);
        }
        evidence.extend(problems);
        finding(self, DetectorVerdict::AiGenerated, confidence, evidence)
    }
}

impl Detector for ExifCamera {
    fn name(&self) -> &str {
        "exif-camera"
    }
    fn version(&self) -> &str {
        "1.0.0"
    }
    fn kind(&self) -> DetectorKind {
        DetectorKind::Hint
    }
    fn detect(&self, media: &Media<'_>) -> DetectorResult {
        let exif = match read_exif(media.bytes()) {
            ExifRead::Absent => return not_applicable(self, vec!["no EXIF".into()]),
            ExifRead::Unreadable(why) => return not_applicable(self, vec![why]),
            ExifRead::Found(exif, _) => exif,
        };
        let value = |tag: Tag| exif.fields().filter(|f| f.tag == tag).find_map(ascii);
        let (make, model) = (value(Tag::Make), value(Tag::Model));
        if make.is_none() && model.is_none() {
            return not_applicable(self, vec!["EXIF has no camera make or model".into()]);
        }
        if let Some(product) = make.iter().chain(&model).find_map(|t| named_generator(t)) {
            return not_applicable(
                self,
                vec![format!("EXIF camera fields name the generator {product}")],
            );
        }
        let mut described: Vec<String> = [
            ("Make", make),
            ("Model", model),
            ("DateTimeOriginal", value(Tag::DateTimeOriginal)),
        ]
        .into_iter()
        .filter_map(|(k, v)| Some(format!("{k} '{}'", excerpt(&v?, 60))))
        .collect();
        described.insert(0, "EXIF camera fields:".into());
        let evidence = vec![
            described.join(" "),
            "camera EXIF is easily written by any tool: a weak hint, never a verdict alone".into(),
        ];
        finding(self, DetectorVerdict::Real, CAMERA_CONFIDENCE, evidence)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn user_comment_decodes_the_common_encodings() {
        let mut be = b"UNICODE\0".to_vec();
        be.extend("Steps: 20".encode_utf16().flat_map(u16::to_be_bytes));
        assert_eq!(user_comment(&be).as_deref(), Some("Steps: 20"));
        let mut le = b"UNICODE\0".to_vec();
        le.extend("Seed: 1".encode_utf16().flat_map(u16::to_le_bytes));
        assert_eq!(user_comment(&le).as_deref(), Some("Seed: 1"));
        assert_eq!(
            user_comment(b"ASCII\0\0\0hello\0").as_deref(),
            Some("hello")
        );
        assert_eq!(user_comment(b"short"), None);
        assert_eq!(user_comment(b"\0\0\0\0\0\0\0\0\0\0"), None);
    }

    #[test]
    fn odd_length_unicode_does_not_panic() {
        let mut odd = b"UNICODE\0".to_vec();
        odd.extend([0, b'a', 0]);
        assert_eq!(user_comment(&odd).as_deref(), Some("a"));
    }
}
