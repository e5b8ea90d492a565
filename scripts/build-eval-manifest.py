#!/usr/bin/env python3
"""Writes eval/manifest.json, the labelled evaluation set for `verity eval`,
from the team's shared fixture manifests (shared/fixtures/media/*). Each item
names a file relative to the manifest's `root` (override with `verity eval
--root`), its truth and the transform that produced it. Files whose truth is
neither AI nor real (procedural `algorithmicMedia`, no metadata at all,
upstream files of unknown origin) are left out, with the reason listed.

Usage: python3 scripts/build-eval-manifest.py [SHARED_MEDIA_DIR]
"""
import json, os, sys

media = sys.argv[1] if len(sys.argv) > 1 else "../shared/fixtures/media"
items, skipped = [], []

def add(file, truth, group, transform):
    items.append({"file": file, "truth": truth, "group": group, "transform": transform})

wm = json.load(open(os.path.join(media, "watermark/manifest.json")))
for e in wm["entries"]:
    add(e["file"], "AI_GENERATED" if e["watermarked"] else "REAL", "watermark", e["transform"])

md = json.load(open(os.path.join(media, "metadata/manifest.json")))
for e in md if isinstance(md, list) else md["files"]:
    label = e["expected_label"]
    if label.startswith("AI_GENERATED"):
        add(e["file"], "AI_GENERATED", "metadata", "original")
    elif label.startswith("REAL"):
        add(e["file"], "REAL", "metadata", "original")
    else:
        skipped.append({"file": e["file"], "why": f"truth {label!r} is neither AI nor real"})

c2pa = {
    "c2pa/ai_trainedAlgorithmicMedia_c2pa.jpg": ("AI_GENERATED", "original"),
    "c2pa/ai_trainedAlgorithmicMedia_c2pa.png": ("AI_GENERATED", "original"),
    "c2pa/ai_compositeWithTrainedAlgorithmicMedia_c2pa.jpg": ("AI_GENERATED", "original"),
    "c2pa/ai_trainedAlgorithmicMedia_c2pa_TAMPERED.jpg": ("AI_GENERATED", "pixels edited after signing"),
    "c2pa/ai_c2pa_STRIPPED_by_reencode.jpg": ("AI_GENERATED", "re-encoded (manifest stripped)"),
    "c2pa/camera_digitalCapture_c2pa.jpg": ("REAL", "original"),
    "c2pa/src_astronaut.png": ("REAL", "original"),
    "c2pa/src_astronaut_q90.jpg": ("REAL", "jpeg q90"),
    "c2pa-upstream/ocsp.jpg": ("AI_GENERATED", "original"),
    "c2pa-upstream/firefly_thirdparty_gemini.png": ("AI_GENERATED", "original"),
}
for f, (truth, transform) in c2pa.items():
    add(f, truth, "c2pa", transform)
for f in ["c2pa-upstream/C.jpg", "c2pa-upstream/CA.jpg", "c2pa-upstream/XCA.jpg", "c2pa-upstream/libpng-test.png"]:
    skipped.append({"file": f, "why": "SDK test image of unknown (or procedural) origin"})

out = {
    "description": "Verity evaluation set built from shared/fixtures/media by scripts/build-eval-manifest.py. "
    "No real diffusion-model pixels: AI items carry provenance (metadata, C2PA, the SD watermark).",
    "root": "../../shared/fixtures/media",
    "items": items,
    "skipped": skipped,
}
os.makedirs("eval", exist_ok=True)
with open("eval/manifest.json", "w") as f:
    json.dump(out, f, indent=1)
    f.write("\n")
print(f"{len(items)} items, {len(skipped)} skipped")
