//! PNG text chunks written by image generators: AUTOMATIC1111 `parameters`,
//! ComfyUI `prompt`/`workflow`, NovelAI `Software`/`Source`/`Comment`,
//! InvokeAI's keys, and generator names in the usual descriptive keywords.

use verity_core::{DetectorResult, DetectorVerdict};

use super::{finding, not_applicable};
use crate::detector::{Detector, DetectorKind, Media};
use crate::generator::{
    a1111_infotext, comfyui_prompt, comfyui_workflow, excerpt, named_generator, novelai_comment,
};
use crate::media::MediaFormat;
use crate::metadata::{PNG_XMP_KEYWORD, TextChunk, png_text_chunks};

/// Generator metadata in PNG tEXt/zTXt/iTXt chunks.
#[derive(Debug, Clone, Copy, Default)]
pub struct PngText;

/// Keywords only InvokeAI writes.
const INVOKEAI_KEYWORDS: &[&str] = &[
    "invokeai_metadata",
    "invokeai_graph",
    "sd-metadata",
    "Dream",
];

/// What one chunk says, with the confidence it deserves.
fn read_chunk(chunk: &TextChunk) -> Option<(f64, String)> {
    let (key, text) = (chunk.keyword.as_str(), chunk.text.as_str());
    if key == PNG_XMP_KEYWORD {
        return None;
    }
    if let Some(settings) = a1111_infotext(text) {
        return Some((
            0.97,
            format!("PNG text '{key}' holds AUTOMATIC1111 generation settings ({settings})"),
        ));
    }
    match key {
        "prompt" => comfyui_prompt(text).map(|classes| {
            (
                0.97,
                format!(
                    "PNG text 'prompt' is a ComfyUI node graph ({})",
                    excerpt(&classes.join(", "), 120)
                ),
            )
        }),
        "workflow" if comfyui_workflow(text) => Some((
            0.95,
            "PNG text 'workflow' is a ComfyUI workflow (JSON with nodes)".into(),
        )),
        "Comment" if novelai_comment(text) => Some((
            0.9,
            format!(
                "PNG text 'Comment' holds NovelAI generation settings ({})",
                excerpt(text, 80)
            ),
        )),
        k if INVOKEAI_KEYWORDS.contains(&k) => Some((
            0.9,
            format!("PNG text '{k}' is InvokeAI generation metadata"),
        )),
        _ => named_generator(text).map(|product| {
            (
                0.9,
                format!(
                    "PNG text '{key}' = '{}' names the generator {product}",
                    excerpt(text, 80)
                ),
            )
        }),
    }
}

impl Detector for PngText {
    fn name(&self) -> &str {
        "png-text"
    }
    fn version(&self) -> &str {
        "1.0.0"
    }
    fn kind(&self) -> DetectorKind {
        DetectorKind::Provenance
    }
    fn detect(&self, media: &Media<'_>) -> DetectorResult {
        if media.format() != MediaFormat::Png {
            return not_applicable(self, vec!["not a PNG".into()]);
        }
        let chunks = png_text_chunks(media.bytes());
        let mut confidence: f64 = 0.0;
        let mut evidence = Vec::new();
        for (c, line) in chunks.items.iter().filter_map(read_chunk) {
            confidence = confidence.max(c);
            evidence.push(line);
        }
        if evidence.is_empty() {
            let keys: Vec<&str> = chunks.items.iter().map(|c| c.keyword.as_str()).collect();
            let mut notes = vec![if keys.is_empty() {
                "no PNG text chunks".to_owned()
            } else {
                format!("PNG text chunks ({}) name no generator", keys.join(", "))
            }];
            notes.extend(chunks.problems);
            return not_applicable(self, notes);
        }
        evidence.extend(chunks.problems);
        finding(self, DetectorVerdict::AiGenerated, confidence, evidence)
    }
}
