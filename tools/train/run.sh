#!/usr/bin/env bash
# Rebuilds the embedded model end to end, or any stages of it.
#
#   tools/train/run.sh                 # FULL: writes models/glimpse-coder-tiny (about 1.5 h on 2 cores)
#   tools/train/run.sh --smoke         # SMOKE: tiny data, few steps, a few minutes; writes to a scratch dir
#   tools/train/run.sh --smoke train export parity   # only these stages, in this order
#
# Stages: sources corpus tokenizer data train export parity distill speculators evaluate fixtures bench card test
# (default: all of them, in that order). SMOKE writes to $GLIMPSE_SMOKE_DIR (default tools/train/work/smoke),
# never to models/. A rerun of `train` resumes from the last checkpoint (chunks of at most 2 h).
# Needs: tools/train/setup.sh (Debian python3-torch & co) and Node 20 with onnxruntime-node (npm ci at the
# repo root, or tools/train/setup_node.sh).
set -euo pipefail
HERE="$(cd "$(dirname "$0")" && pwd)"
cd "$HERE"
PY="${PYTHON:-/usr/bin/python3}"  # the Debian python that has torch, not the pyenv one on PATH
CONFIG=full
if [ "${1:-}" = "--smoke" ]; then CONFIG=smoke; shift; fi
STAGES=("$@")
if [ ${#STAGES[@]} -eq 0 ]; then
  STAGES=(sources corpus tokenizer data train export parity distill speculators evaluate fixtures bench card test)
fi
if [ "$CONFIG" = smoke ]; then
  export GLIMPSE_SMOKE_DIR="${GLIMPSE_SMOKE_DIR:-$HERE/work/smoke}"
  OUT="$GLIMPSE_SMOKE_DIR"; MODEL="$OUT/model"; NPM_DIR="$OUT/npm"
else
  OUT="$HERE/work/full"; MODEL="$(cd "$HERE/../.." && pwd)/models/glimpse-coder-tiny"; NPM_DIR="$HERE/work/npm"
fi
mkdir -p "$OUT/metrics"
stage() { echo "== $1 ($CONFIG) $(date -u +%H:%M:%S)"; }
for s in "${STAGES[@]}"; do
  stage "$s"
  case "$s" in
    sources)     GLIMPSE_SMOKE=$([ "$CONFIG" = smoke ] && echo 1 || echo 0) ./fetch_sources.sh "$NPM_DIR" ;;
    corpus)      "$PY" -m glimpse_train.corpus --config "$CONFIG" ;;
    tokenizer)   "$PY" -m glimpse_train.tokenizer --config "$CONFIG" ;;
    data)        "$PY" -m glimpse_train.data --config "$CONFIG" ;;
    train)       "$PY" -m glimpse_train.train_target --config "$CONFIG" ;;
    export)      "$PY" -m glimpse_train.export_onnx --config "$CONFIG" 2>&1 | grep -v -i warning ;;
    parity)      "$PY" -m glimpse_train.parity --config "$CONFIG" && node node/parity.mjs "$OUT/parity" "$OUT/metrics/parity.json" ;;
    distill)     "$PY" -m glimpse_train.distill --config "$CONFIG" ;;
    speculators) "$PY" -m glimpse_train.train_speculator --config "$CONFIG" 2>&1 | grep -v -i warning ;;
    evaluate)    "$PY" -m glimpse_train.evaluate --config "$CONFIG" ;;
    fixtures)    "$PY" -m glimpse_train.fixtures --config "$CONFIG" ;;
    bench)       node node/bench_decode.mjs "$MODEL" "$OUT/metrics/bench.json" ;;
    card)        "$PY" -m glimpse_train.model_card --config "$CONFIG" ;;
    test)        (cd ../../packages/runtime-cuda && GLIMPSE_MODEL_DIR="$MODEL" npx vitest run test/embedded-model.test.ts) ;;
    *) echo "unknown stage $s" >&2; exit 2 ;;
  esac
done
echo "== done ($CONFIG) $(date -u +%H:%M:%S)"
