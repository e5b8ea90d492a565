//! Metadata blocks pulled out of an image container: PNG text chunks and XMP
//! packets (JPEG APP1, PNG iTXt, WebP `XMP ` chunk).
//!
//! Every reader is bounded: a block larger than [`MAX_TEXT_BYTES`] is reported
//! as skipped instead of being inflated or parsed, so a hostile file cannot
//! make a detector allocate without limit.

use img_parts::Bytes;
use img_parts::jpeg::Jpeg;
use img_parts::webp::WebP;

use crate::media::MediaFormat;

/// Largest text block (PNG text chunk, XMP packet) a detector will read.
pub const MAX_TEXT_BYTES: usize = 1 << 20;

/// JPEG APP1 signature of a standard XMP packet.
const XMP_APP1_SIGNATURE: &[u8] = b"http://ns.adobe.com/xap/1.0/\0";

/// PNG iTXt keyword under which XMP is stored.
pub const PNG_XMP_KEYWORD: &str = "XML:com.adobe.xmp";

/// One PNG text chunk (tEXt, zTXt or iTXt), decoded to a string.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TextChunk {
    /// The chunk's keyword, e.g. `parameters`.
    pub keyword: String,
    /// The decoded text.
    pub text: String,
}

/// What a reader found, with notes on what it could not read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Extracted<T> {
    /// The blocks read.
    pub items: Vec<T>,
    /// Why some (or all) blocks could not be read, for evidence.
    pub problems: Vec<String>,
}

impl<T> Default for Extracted<T> {
    fn default() -> Self {
        Extracted {
            items: Vec::new(),
            problems: Vec::new(),
        }
    }
}

/// Reads every text chunk of a PNG, including those after the image data.
pub fn png_text_chunks(bytes: &[u8]) -> Extracted<TextChunk> {
    let mut out = Extracted::default();
    let mut decoder = png::Decoder::new(std::io::Cursor::new(bytes));
    decoder.set_ignore_text_chunk(false);
    let mut reader = match decoder.read_info() {
        Ok(reader) => reader,
        Err(e) => {
            out.problems.push(format!("PNG header unreadable: {e}"));
            return out;
        }
    };
    collect_png_text(reader.info(), &mut out);
    let before_data = out.items.len() + out.problems.len();
    // Text may legally follow the image data; reading on costs an inflate of
    // the data stream, so a failure here only adds a note.
    match reader.finish() {
        Ok(()) => {
            let mut after = Extracted::default();
            collect_png_text(reader.info(), &mut after);
            out.items = after.items;
            out.problems = after.problems;
        }
        Err(e) => out.problems.push(format!(
            "PNG chunks after the first {before_data} text blocks unreadable: {e}"
        )),
    }
    out
}

fn collect_png_text(info: &png::Info<'_>, out: &mut Extracted<TextChunk>) {
    for chunk in &info.uncompressed_latin1_text {
        push_text(out, &chunk.keyword, chunk.text.clone());
    }
    for chunk in &info.compressed_latin1_text {
        let mut chunk = chunk.clone();
        match chunk.decompress_text_with_limit(MAX_TEXT_BYTES) {
            Ok(()) => match chunk.get_text() {
                Ok(text) => push_text(out, &chunk.keyword, text),
                Err(e) => out.problems.push(format!("zTXt '{}': {e}", chunk.keyword)),
            },
            Err(e) => out.problems.push(format!("zTXt '{}': {e}", chunk.keyword)),
        }
    }
    for chunk in &info.utf8_text {
        let mut chunk = chunk.clone();
        match chunk.decompress_text_with_limit(MAX_TEXT_BYTES) {
            Ok(()) => match chunk.get_text() {
                Ok(text) => push_text(out, &chunk.keyword, text),
                Err(e) => out.problems.push(format!("iTXt '{}': {e}", chunk.keyword)),
            },
            Err(e) => out.problems.push(format!("iTXt '{}': {e}", chunk.keyword)),
        }
    }
}

fn push_text(out: &mut Extracted<TextChunk>, keyword: &str, text: String) {
    if text.len() > MAX_TEXT_BYTES {
        out.problems.push(format!(
            "text chunk '{keyword}' is {} bytes, over the {MAX_TEXT_BYTES}-byte limit; skipped",
            text.len()
        ));
        return;
    }
    out.items.push(TextChunk {
        keyword: keyword.to_owned(),
        text,
    });
}

/// Reads the XMP packets of an image, whatever its container.
pub fn xmp_packets(bytes: &[u8], format: MediaFormat) -> Extracted<String> {
    match format {
        MediaFormat::Jpeg => jpeg_xmp(bytes),
        MediaFormat::Png => png_xmp(bytes),
        MediaFormat::WebP => webp_xmp(bytes),
    }
}

fn jpeg_xmp(bytes: &[u8]) -> Extracted<String> {
    let mut out = Extracted::default();
    let jpeg = match Jpeg::from_bytes(Bytes::copy_from_slice(bytes)) {
        Ok(jpeg) => jpeg,
        Err(e) => {
            out.problems.push(format!("JPEG segments unreadable: {e}"));
            return out;
        }
    };
    for segment in jpeg.segments_by_marker(0xE1) {
        if let Some(packet) = segment.contents().strip_prefix(XMP_APP1_SIGNATURE) {
            push_packet(&mut out, packet);
        }
    }
    out
}

fn png_xmp(bytes: &[u8]) -> Extracted<String> {
    let text = png_text_chunks(bytes);
    Extracted {
        items: text
            .items
            .into_iter()
            .filter(|c| c.keyword == PNG_XMP_KEYWORD)
            .map(|c| c.text)
            .collect(),
        problems: text.problems,
    }
}

fn webp_xmp(bytes: &[u8]) -> Extracted<String> {
    let mut out = Extracted::default();
    match WebP::from_bytes(Bytes::copy_from_slice(bytes)) {
        Ok(webp) => {
            for chunk in webp.chunks_by_id(*b"XMP ") {
                if let Some(data) = chunk.content().data() {
                    push_packet(&mut out, data);
                }
            }
        }
        Err(e) => out.problems.push(format!("WebP chunks unreadable: {e}")),
    }
    out
}

fn push_packet(out: &mut Extracted<String>, packet: &[u8]) {
    if packet.len() > MAX_TEXT_BYTES {
        out.problems.push(format!(
            "XMP packet is {} bytes, over the {MAX_TEXT_BYTES}-byte limit; skipped",
            packet.len()
        ));
        return;
    }
    match std::str::from_utf8(packet) {
        Ok(text) => out.items.push(text.to_owned()),
        Err(_) => out.problems.push("XMP packet is not UTF-8; skipped".into()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn png_with_text(chunks: &[(&str, &str)]) -> Vec<u8> {
        let mut out = Vec::new();
        {
            let mut enc = png::Encoder::new(&mut out, 2, 2);
            enc.set_color(png::ColorType::Grayscale);
            for (k, v) in chunks {
                enc.add_text_chunk((*k).into(), (*v).into()).unwrap();
            }
            let mut w = enc.write_header().unwrap();
            w.write_image_data(&[0, 1, 2, 3]).unwrap();
        }
        out
    }

    #[test]
    fn reads_png_text_chunks() {
        let png = png_with_text(&[("parameters", "a cat\nSteps: 20"), ("Software", "x")]);
        let got = png_text_chunks(&png);
        assert!(got.problems.is_empty(), "{:?}", got.problems);
        let keys: Vec<_> = got.items.iter().map(|c| c.keyword.as_str()).collect();
        assert_eq!(keys, ["parameters", "Software"]);
        assert_eq!(got.items[0].text, "a cat\nSteps: 20");
    }

    #[test]
    fn truncated_png_reports_a_problem() {
        let png = png_with_text(&[("parameters", "a cat")]);
        let got = png_text_chunks(&png[..png.len() - 20]);
        assert!(!got.problems.is_empty());
        let got = png_text_chunks(&png[..20]);
        assert!(got.items.is_empty() && !got.problems.is_empty());
    }

    #[test]
    fn oversized_xmp_is_skipped_with_a_note() {
        let mut out = Extracted::default();
        push_packet(&mut out, &vec![b' '; MAX_TEXT_BYTES + 1]);
        assert!(out.items.is_empty());
        assert!(out.problems[0].contains("over the"));
    }
}
