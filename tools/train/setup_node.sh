#!/usr/bin/env bash
# Node packages for the tools' .mjs scripts when the workspace (npm ci at the repo root) is not installed.
# --ignore-scripts: onnxruntime-node's postinstall fetches CUDA binaries from an unreachable feed; the CPU
# binaries ship inside the package.
set -euo pipefail
cd "$(dirname "$0")"
mkdir -p work/node
cd work/node
[ -f package.json ] || echo '{"name":"glimpse-train-node","private":true}' > package.json
npm install --no-save --ignore-scripts --no-audit --no-fund onnxruntime-node@1.30.0 @huggingface/tokenizers@0.2.0
