#!/bin/sh
# Regenerates every parity fixture in test/fixtures/parity/byo/ (tiny random-weight models, small
# synthetic PNGs, expected outputs of the official pipelines). Needs a Python with torch,
# torchvision, onnx and Pillow: PYTHON=/path/to/python3 npm run byo:fixtures
set -e
cd "$(dirname "$0")"
PY="${PYTHON:-python3}"
for m in cnnspot univfd npr aeroblade fire; do
  "$PY" "$m.py" --self-test
done
"$PY" pil_cases.py
