//! Fingerprints of image generators in metadata text: known product names,
//! AUTOMATIC1111 "infotext", ComfyUI node graphs and NovelAI's fields.
//!
//! These are plain-text conventions of the tools themselves; no crate knows
//! them, so they are written out here.

use serde_json::Value;

/// Generator names as they appear in `Software`, `Source` and similar fields,
/// lower-case, with the product they name.
const GENERATOR_NAMES: &[(&str, &str)] = &[
    ("stable diffusion", "Stable Diffusion"),
    ("stable-diffusion", "Stable Diffusion"),
    ("stablediffusion", "Stable Diffusion"),
    ("sdxl", "Stable Diffusion XL"),
    ("midjourney", "Midjourney"),
    ("dall-e", "DALL·E"),
    ("dall·e", "DALL·E"),
    ("dalle", "DALL·E"),
    ("novelai", "NovelAI"),
    ("comfyui", "ComfyUI"),
    ("firefly", "Adobe Firefly"),
    ("automatic1111", "AUTOMATIC1111"),
    ("invokeai", "InvokeAI"),
    ("fooocus", "Fooocus"),
    ("dreamstudio", "DreamStudio"),
    ("leonardo.ai", "Leonardo.Ai"),
    ("ideogram", "Ideogram"),
    ("craiyon", "Craiyon"),
    ("bing image creator", "Bing Image Creator"),
    ("flux.1", "FLUX.1"),
    ("google imagen", "Google Imagen"),
];

/// The generator a free-text field names, if any.
pub fn named_generator(text: &str) -> Option<&'static str> {
    let lower = text.to_lowercase();
    GENERATOR_NAMES
        .iter()
        .find(|(needle, _)| lower.contains(needle))
        .map(|(_, product)| *product)
}

/// The settings line of an AUTOMATIC1111 infotext, summarised for evidence.
///
/// A1111 writes the prompt, an optional `Negative prompt:` line, then one line
/// of `Key: value` pairs starting with `Steps:`. At least two further known
/// keys are required so that prose mentioning "steps" does not match.
pub fn a1111_infotext(text: &str) -> Option<String> {
    const KEYS: [&str; 6] = [
        "Sampler: ",
        "CFG scale: ",
        "Seed: ",
        "Size: ",
        "Model hash: ",
        "Model: ",
    ];
    let settings = text
        .lines()
        .rev()
        .find(|line| line.trim_start().starts_with("Steps: "))?;
    let known = KEYS.iter().filter(|k| settings.contains(*k)).count();
    if known < 2 {
        return None;
    }
    let summary: Vec<&str> = settings
        .split(", ")
        .filter(|kv| {
            ["Steps:", "Sampler:", "Model:", "Model hash:"]
                .iter()
                .any(|k| kv.starts_with(k))
        })
        .collect();
    Some(summary.join(", "))
}

/// The node types of a ComfyUI `prompt` graph (a JSON object of nodes, each
/// with a `class_type`), or `None` when the text is not such a graph.
pub fn comfyui_prompt(text: &str) -> Option<Vec<String>> {
    let Value::Object(nodes) = serde_json::from_str::<Value>(text).ok()? else {
        return None;
    };
    let mut classes: Vec<String> = nodes
        .values()
        .filter_map(|node| node.get("class_type")?.as_str().map(str::to_owned))
        .collect();
    if classes.is_empty() {
        return None;
    }
    classes.sort();
    classes.dedup();
    Some(classes)
}

/// Whether the text is a ComfyUI `workflow` (a JSON object with a `nodes` array).
pub fn comfyui_workflow(text: &str) -> bool {
    serde_json::from_str::<Value>(text)
        .ok()
        .and_then(|v| v.get("nodes").map(Value::is_array))
        .unwrap_or(false)
}

/// Whether a NovelAI `Comment` JSON carries generation settings.
pub fn novelai_comment(text: &str) -> bool {
    let Ok(Value::Object(fields)) = serde_json::from_str::<Value>(text) else {
        return false;
    };
    ["prompt", "steps", "sampler", "seed", "scale", "uc"]
        .iter()
        .filter(|k| fields.contains_key(**k))
        .count()
        >= 3
}

/// Shortens `text` to at most `max` characters for evidence.
pub fn excerpt(text: &str, max: usize) -> String {
    let flat: String = text
        .chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect();
    if flat.chars().count() <= max {
        flat
    } else {
        let cut: String = flat.chars().take(max).collect();
        format!("{cut}…")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_generators_case_insensitively() {
        assert_eq!(named_generator("Adobe Firefly 3"), Some("Adobe Firefly"));
        assert_eq!(named_generator("DALL·E 3"), Some("DALL·E"));
        assert_eq!(named_generator("Adobe Photoshop 25.1"), None);
        assert_eq!(named_generator("GIMP 2.10"), None);
    }

    #[test]
    fn recognises_infotext_but_not_prose() {
        let info = "a cat\nNegative prompt: dog\nSteps: 20, Sampler: Euler a, CFG scale: 7, Seed: 1, Model: v1-5";
        assert_eq!(
            a1111_infotext(info).as_deref(),
            Some("Steps: 20, Sampler: Euler a, Model: v1-5")
        );
        assert_eq!(a1111_infotext("Steps: climb them, then rest"), None);
        assert_eq!(a1111_infotext("no settings at all"), None);
    }

    #[test]
    fn recognises_comfyui_graphs() {
        let prompt =
            r#"{"3": {"class_type": "KSampler"}, "4": {"class_type": "CheckpointLoaderSimple"}}"#;
        assert_eq!(
            comfyui_prompt(prompt),
            Some(vec!["CheckpointLoaderSimple".into(), "KSampler".into()])
        );
        assert_eq!(comfyui_prompt(r#"{"a": 1}"#), None);
        assert_eq!(comfyui_prompt("not json"), None);
        assert!(comfyui_workflow(r#"{"nodes": []}"#));
        assert!(!comfyui_workflow(r#"{"nodes": 3}"#));
    }

    #[test]
    fn excerpt_is_bounded_and_flat() {
        assert_eq!(excerpt("a\nb", 10), "a b");
        assert_eq!(excerpt("abcdef", 3), "abc…");
    }
}
