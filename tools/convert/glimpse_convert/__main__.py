"""python3 -m glimpse_convert --from CKPT_DIR --out OUT_DIR [--dtype fp32|fp16|int8|q4] [--no-parity]
python3 -m glimpse_convert --from DIR --to gguf --out FILE.gguf [--dtype f32|f16|q8_0|q4_0]

--to onnx (default): converts a Hugging Face checkpoint (config.json + safetensors, Llama / Qwen2 / Qwen3) into
OUT/onnx/model{S}.onnx (Optimum / transformers.js layout) and OUT/onnx/model_tree{S}.onnx (Glimpse's layout),
S = "" | "_fp16" | "_int8" | "_q4", then checks both in onnxruntime-node against the torch forward pass.
--to gguf: one GGUF file for llama.cpp, from a checkpoint or a Glimpse / transformers.js ONNX folder (fp32
onnx/model.onnx, e.g. the embedded model); needs numpy only (python3-onnx for ONNX folders), not torch.
One progress line per stage, then one JSON summary.
"""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time

from .families import UnsupportedModel

SUFFIX = {"fp32": "", "fp16": "_fp16", "int8": "_int8", "q4": "_q4"}
FP32_BAR = 1e-3
HERE = os.path.dirname(os.path.abspath(__file__))


def log(t0: float, msg: str) -> None:
    print(f"[{time.time() - t0:6.1f}s] {msg}", flush=True)


def transform(m, dtype: str):
    if dtype in ("fp32", "fp16"):
        from .head_slices import slice_lm_head
        m = slice_lm_head(m)
    if dtype == "fp16":
        from .fp16 import to_fp16
        return to_fp16(m)
    if dtype in ("q4", "int8"):
        from .quantize import quantize
        return quantize(m, bits=4 if dtype == "q4" else 8)
    return m


def parity(ref_dir: str, graphs: list[str]) -> list[dict]:
    node = os.environ.get("GLIMPSE_NODE", "node")
    script = os.path.join(HERE, "..", "node", "parity.mjs")
    r = subprocess.run([node, script, ref_dir, *graphs], capture_output=True, text=True)
    if r.returncode != 0:
        raise RuntimeError(f"parity.mjs failed:\n{r.stderr[-4000:]}")
    return [json.loads(line) for line in r.stdout.splitlines() if line.startswith("{")]


def gguf_main(a) -> int:
    from .gguf import convert_to_gguf  # numpy only: no torch on this path
    t0 = time.time()
    try:
        summary = convert_to_gguf(a.src, a.out, a.dtype or "f32", log=lambda msg: log(t0, msg))
    except (UnsupportedModel, FileNotFoundError, ValueError) as e:
        print(f"glimpse convert: {e}", file=sys.stderr)
        return 2
    except KeyError as e:
        print(f"glimpse convert: {a.src}: missing tensor {e}", file=sys.stderr)
        return 2
    print(json.dumps(summary))
    return 0


def main() -> int:
    ap = argparse.ArgumentParser(prog="glimpse_convert", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--from", dest="src", required=True,
                    help="checkpoint folder (config.json + *.safetensors; for --to gguf also an ONNX model folder)")
    ap.add_argument("--to", choices=("onnx", "gguf"), default="onnx", help="output format (default onnx)")
    ap.add_argument("--out", required=True, help="onnx: output folder (created; several --dtype runs add files); "
                                                 "gguf: the .gguf file")
    ap.add_argument("--dtype", default=None, help="onnx: fp32 (default) | fp16 | int8 | q4; "
                                                  "gguf: f32 (default) | f16 | q8_0 | q4_0")
    ap.add_argument("--no-parity", action="store_true", help="skip the onnxruntime-node check")
    ap.add_argument("--tree-graph", choices=("fused", "traced"), default="fused",
                    help="model_tree{S}.onnx: written node by node with fused ops (tree_graph.py, default) or traced "
                         "from model.py like model{S}.onnx (slower on CPU; for comparison)")
    ap.add_argument("--dequant-parity", action="store_true",
                    help="q4/int8: also check against a torch reference that uses the dequantized weights")
    a = ap.parse_args()
    if a.to == "gguf":
        return gguf_main(a)
    a.dtype = a.dtype or "fp32"
    if a.dtype not in SUFFIX:
        ap.error(f"--dtype {a.dtype}: not an ONNX dtype (choose {', '.join(sorted(SUFFIX))})")
    return onnx_main(a)


def onnx_main(a) -> int:
    import torch  # the ONNX path traces with PyTorch; imported here so --to gguf runs without it

    from . import export, files
    from .families import load_spec
    from .model import Decoder
    from .reference import write_reference
    from .safetensors_io import SafeTensors
    from .tree_graph import build_tree

    torch.set_num_threads(int(os.environ.get("GLIMPSE_CONVERT_THREADS", "2")))
    t0 = time.time()
    try:
        spec, ckpt = load_spec(a.src)
        weights = SafeTensors(a.src)
    except (UnsupportedModel, FileNotFoundError, KeyError, ValueError) as e:
        print(f"glimpse convert: {e}", file=sys.stderr)
        return 2
    log(t0, f"{spec.family}: hidden {spec.hidden}, {spec.layers} layers, {spec.heads}/{spec.kv_heads} heads, "
            f"head_dim {spec.head_dim}, vocab {spec.vocab_size}, tied {spec.tied}; dtype {a.dtype}")
    try:
        model = Decoder(spec, weights).eval()
    except KeyError as e:
        print(f"glimpse convert: {a.src}: missing tensor {e}", file=sys.stderr)
        return 2
    log(t0, f"loaded {sum(p.numel() for p in model.parameters()) / 1e6:.1f} M parameters")
    onnx_dir = os.path.join(a.out, "onnx")
    os.makedirs(onnx_dir, exist_ok=True)
    s = SUFFIX[a.dtype]
    written, graphs, external = [], [], []
    with tempfile.TemporaryDirectory(dir=os.environ.get("GLIMPSE_CONVERT_TMP")) as tmp:
        ref = write_reference(model, os.path.join(tmp, "ref")) if not a.no_parity else None
        if ref:
            log(t0, f"torch reference written (smallest top-2 logit gap {ref['min_top2_gap']:.3g})")
        if ref and a.dequant_parity and a.dtype in ("q4", "int8"):
            from .dequant_reference import DequantSource, dequant_spec
            dq = Decoder(dequant_spec(spec), DequantSource(weights, spec, 4 if a.dtype == "q4" else 8)).eval()
            write_reference(dq, os.path.join(tmp, "ref_dequant"))
            del dq
            log(t0, "dequantized torch reference written")
        for tree in (False, True):
            name = f"model_tree{s}.onnx" if tree else f"model{s}.onnx"
            if tree and a.tree_graph == "fused":
                m = build_tree(model)
                log(t0, f"built {name} ({len(m.graph.node)} nodes)")
            else:
                m = export.trace(model, tree)
                log(t0, f"traced {name}")
            m = transform(m, a.dtype)
            if a.dtype != "fp32":
                log(t0, f"{a.dtype} rewrite of {name}")
            out = export.save(m, os.path.join(onnx_dir, name))
            del m
            written += out
            graphs.append(name)
            if len(out) > 1:
                external.append(name)
            log(t0, f"saved {', '.join(os.path.basename(p) for p in out)}")
        del model
        files.write_config(ckpt, a.out, a.dtype, graphs, external)
        side = files.copy_side_files(a.src, a.out, ckpt)
        log(t0, f"config.json, {', '.join(side)}")
        results = []
        if ref:
            onnx_paths = [p for p in written if p.endswith(".onnx")]
            results = parity(os.path.join(tmp, "ref"), onnx_paths)
            for r in results:
                log(t0, f"parity {r['graph']}: max |logit diff| {r['max_abs_logit_diff']:.3g}, greedy "
                        f"{r['greedy_agree']}/{r['positions']}, num_logits_to_keep=1 diff {r['keep_last_diff']:.3g}")
            if os.path.isdir(os.path.join(tmp, "ref_dequant")):
                for r in parity(os.path.join(tmp, "ref_dequant"), onnx_paths):
                    results.append({**r, "reference": "dequantized"})
                    log(t0, f"dequantized parity {r['graph']}: max |logit diff| {r['max_abs_logit_diff']:.3g}, "
                            f"greedy {r['greedy_agree']}/{r['positions']}")
    worst = max((r["max_abs_logit_diff"] for r in results if "reference" not in r), default=None)
    keep_ok = all(r["keep_last_diff"] <= 1e-3 for r in results)
    ok = keep_ok and (a.dtype != "fp32" or worst is None or worst <= FP32_BAR)
    print(json.dumps({"ok": ok, "dtype": a.dtype, "files": {os.path.relpath(p, a.out): os.path.getsize(p) for p in written},
                      "bytes": sum(os.path.getsize(p) for p in written), "seconds": round(time.time() - t0, 1),
                      "max_abs_logit_diff": worst, "parity": results}))
    if not ok:
        print(f"glimpse convert: parity failed (fp32 bar {FP32_BAR})", file=sys.stderr)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
