//! IPTC `DigitalSourceType` in XMP (JPEG APP1, PNG iTXt, WebP `XMP ` chunk).
//!
//! Verdicts by source type (IPTC NewsCodes "digitalsourcetype"):
//! - `trainedAlgorithmicMedia` → `AI_GENERATED`.
//! - `compositeWithTrainedAlgorithmicMedia` → `AI_GENERATED`, "AI-edited".
//! - `algorithmicMedia` (procedural, no trained model) → `UNCERTAIN`: the
//!   image is synthetic but not ML-generated, which is neither answer the
//!   ensemble gives, so it lets the other detectors speak.
//! - `digitalCapture` and scans of film or prints → `REAL` at a modest
//!   confidence: it is a *claim*, and XMP is forgeable by anyone; the ensemble
//!   lets any AI evidence win over it.
//! - other codes (digital art, composites, screen captures…) → `UNCERTAIN`.

use quick_xml::Reader;
use quick_xml::events::{BytesStart, Event};
use verity_core::{DetectorResult, DetectorVerdict};

use super::{finding, not_applicable};
use crate::detector::{Detector, DetectorKind, Media};
use crate::metadata::xmp_packets;

/// IPTC/XMP `DigitalSourceType`.
#[derive(Debug, Clone, Copy, Default)]
pub struct XmpSourceType;

/// What one source-type code means here.
struct Meaning {
    verdict: DetectorVerdict,
    confidence: f64,
    reading: &'static str,
}

fn meaning(code: &str) -> Meaning {
    let (verdict, confidence, reading) = match code {
        "trainedAlgorithmicMedia" => (
            DetectorVerdict::AiGenerated,
            0.95,
            "created by a trained AI model",
        ),
        "compositeWithTrainedAlgorithmicMedia" => (
            DetectorVerdict::AiGenerated,
            0.9,
            "AI-edited: a composite that includes AI-generated elements",
        ),
        "algorithmicMedia" => (
            DetectorVerdict::Uncertain,
            0.5,
            "created by an algorithm without a trained model: synthetic, but not ML-generated",
        ),
        "digitalCapture" | "computationalCapture" | "negativeFilm" | "positiveFilm" | "print" => (
            DetectorVerdict::Real,
            0.6,
            "claims a capture from the real world (XMP is forgeable: a claim, not proof)",
        ),
        _ => (
            DetectorVerdict::Uncertain,
            0.5,
            "a source type that says neither capture nor AI generation",
        ),
    };
    Meaning {
        verdict,
        confidence,
        reading,
    }
}

/// Every `DigitalSourceType` value in an XMP packet (attribute, element text
/// or `rdf:resource`), as the last path segment of the code URI.
pub fn source_types(xmp: &str) -> Result<Vec<String>, String> {
    let mut reader = Reader::from_str(xmp);
    let mut found = Vec::new();
    let mut inside = false;
    loop {
        match reader.read_event() {
            Ok(Event::Start(e)) => {
                inside = is_source_type(e.local_name().as_ref());
                scan_attributes(&e, inside, &mut found);
            }
            Ok(Event::Empty(e)) => {
                scan_attributes(&e, is_source_type(e.local_name().as_ref()), &mut found);
            }
            Ok(Event::Text(t)) if inside => {
                if let Ok(text) = t.decode() {
                    push_code(&text, &mut found);
                }
            }
            Ok(Event::End(_)) => inside = false,
            Ok(Event::Eof) => return Ok(found),
            Ok(_) => {}
            Err(e) => {
                return if found.is_empty() {
                    Err(format!("XMP is not well-formed XML: {e}"))
                } else {
                    Ok(found)
                };
            }
        }
    }
}

fn is_source_type(local: &[u8]) -> bool {
    local == b"DigitalSourceType"
}

fn scan_attributes(e: &BytesStart<'_>, element_is_source_type: bool, found: &mut Vec<String>) {
    for attr in e.attributes().flatten() {
        let local = attr.key.local_name();
        let wanted = is_source_type(local.as_ref())
            || (element_is_source_type && local.as_ref() == b"resource");
        if wanted && let Ok(value) = attr.unescape_value() {
            push_code(&value, found);
        }
    }
}

fn push_code(value: &str, found: &mut Vec<String>) {
    let code = value
        .trim()
        .trim_end_matches('/')
        .rsplit('/')
        .next()
        .unwrap_or("");
    if !code.is_empty() {
        found.push(code.to_owned());
    }
}

impl Detector for XmpSourceType {
    fn name(&self) -> &str {
        "xmp-digital-source-type"
    }
    fn version(&self) -> &str {
        "1.0.0"
    }
    fn kind(&self) -> DetectorKind {
        DetectorKind::Provenance
    }
    fn detect(&self, media: &Media<'_>) -> DetectorResult {
        let packets = xmp_packets(media.bytes(), media.format());
        let mut notes = packets.problems;
        let mut codes = Vec::new();
        for packet in &packets.items {
            match source_types(packet) {
                Ok(found) => codes.extend(found),
                Err(why) => notes.push(why),
            }
        }
        if codes.is_empty() {
            if packets.items.is_empty() {
                notes.insert(0, "no XMP".into());
            } else {
                notes.insert(0, "XMP present; no DigitalSourceType in it".into());
            }
            return not_applicable(self, notes);
        }
        verdict_of(self, &codes, notes)
    }
}

/// AI evidence outranks a capture claim, which outranks the rest.
fn verdict_of(detector: &XmpSourceType, codes: &[String], notes: Vec<String>) -> DetectorResult {
    let rank = |v: DetectorVerdict| match v {
        DetectorVerdict::AiGenerated => 3,
        DetectorVerdict::Real => 2,
        DetectorVerdict::Uncertain => 1,
        DetectorVerdict::NotApplicable => 0,
    };
    let meanings: Vec<(&String, Meaning)> = codes.iter().map(|c| (c, meaning(c))).collect();
    let best = meanings
        .iter()
        .max_by(|a, b| {
            (rank(a.1.verdict), a.1.confidence)
                .partial_cmp(&(rank(b.1.verdict), b.1.confidence))
                .unwrap_or(std::cmp::Ordering::Equal)
        })
        .map(|(_, m)| (m.verdict, m.confidence))
        .unwrap_or((DetectorVerdict::NotApplicable, 0.0));
    let mut evidence: Vec<String> = meanings
        .iter()
        .map(|(code, m)| format!("XMP Iptc4xmpExt:DigitalSourceType = {code}: {}", m.reading))
        .collect();
    evidence.extend(notes);
    finding(detector, best.0, best.1, evidence)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_attribute_element_and_resource_forms() {
        let attr = r#"<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF xmlns:rdf="r"><rdf:Description xmlns:Iptc4xmpExt="i" Iptc4xmpExt:DigitalSourceType="http://cv.iptc.org/newscodes/digitalsourcetype/trainedAlgorithmicMedia"/></rdf:RDF></x:xmpmeta>"#;
        assert_eq!(source_types(attr).unwrap(), ["trainedAlgorithmicMedia"]);
        let element = r#"<a xmlns:I="i"><I:DigitalSourceType>http://cv.iptc.org/newscodes/digitalsourcetype/digitalCapture</I:DigitalSourceType></a>"#;
        assert_eq!(source_types(element).unwrap(), ["digitalCapture"]);
        let resource = r#"<a xmlns:I="i" xmlns:rdf="r"><I:DigitalSourceType rdf:resource="http://cv.iptc.org/newscodes/digitalsourcetype/algorithmicMedia"/></a>"#;
        assert_eq!(source_types(resource).unwrap(), ["algorithmicMedia"]);
    }

    #[test]
    fn malformed_xml_is_an_error_not_a_panic() {
        assert!(
            source_types("<a><b></a>").is_err() || source_types("<a><b></a>").unwrap().is_empty()
        );
        assert!(source_types("<<<<").is_err());
    }

    #[test]
    fn ai_outranks_a_capture_claim() {
        let codes = [
            "digitalCapture".to_owned(),
            "trainedAlgorithmicMedia".to_owned(),
        ];
        let r = verdict_of(&XmpSourceType, &codes, vec![]);
        assert_eq!(r.verdict, DetectorVerdict::AiGenerated);
        assert_eq!(r.evidence.len(), 2);
    }
}
