#!/usr/bin/env bash
# Installs the training toolchain from Debian (no PyPI, no HF hub on these machines).
# The tools run under /usr/bin/python3: torch/onnx come from apt, not from the pyenv python on PATH.
# libopenblas0-pthread matters: without it torch falls back to the slow reference BLAS.
set -euo pipefail
SUDO=""
if [ "$(id -u)" != "0" ]; then SUDO="sudo"; fi
$SUDO apt-get update -qq
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends \
  python3-torch python3-onnx python3-numpy python3-regex libopenblas0-pthread
/usr/bin/python3 -c "import torch, onnx, numpy, regex; print('torch', torch.__version__, 'onnx', onnx.__version__)"
