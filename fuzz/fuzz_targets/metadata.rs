//! Container metadata readers and generator fingerprints: PNG text chunks,
//! XMP packets of each container, EXIF `UserComment`, XMP
//! `DigitalSourceType`, the metadata detectors, and the generator text
//! matchers, on any bytes.
#![no_main]

use libfuzzer_sys::fuzz_target;
use verity_detect::detectors::{ExifCamera, ExifGenerator, PngText, XmpSourceType};
use verity_detect::metadata::{png_text_chunks, xmp_packets};
use verity_detect::{Detector, Media, MediaFormat, generator};

fuzz_target!(|data: &[u8]| {
    for chunk in png_text_chunks(data).items {
        generators(&chunk.text);
    }
    let detectors: [&dyn Detector; 4] = [&XmpSourceType, &PngText, &ExifGenerator, &ExifCamera];
    for format in [MediaFormat::Jpeg, MediaFormat::Png, MediaFormat::WebP] {
        for packet in xmp_packets(data, format).items {
            let _ = verity_detect::detectors::xmp_source_types(&packet);
        }
        let media = Media::new(data, format);
        for d in detectors {
            let _ = d.detect(&media);
        }
    }
    let _ = verity_detect::detectors::exif_user_comment(data);
    let text = String::from_utf8_lossy(data);
    let _ = verity_detect::detectors::xmp_source_types(&text);
    generators(&text);
});

fn generators(text: &str) {
    let _ = generator::named_generator(text);
    let _ = generator::a1111_infotext(text);
    let _ = generator::comfyui_prompt(text);
    let _ = generator::comfyui_workflow(text);
    let _ = generator::novelai_comment(text);
    let e = generator::excerpt(text, 40);
    assert!(e.chars().count() <= 41, "excerpt longer than asked: {e:?}");
}
