"""`glimpse convert --to gguf`: a checkpoint folder (safetensors, or a Glimpse / transformers.js ONNX folder) to
one GGUF file llama.cpp loads: architecture metadata (hparams.py), tokenizer (vocab.py), tensors (tensors.py)."""
from __future__ import annotations

import os
import time

from ..families import load_spec
from .format import GGUFWriter
from .hparams import add_hparams
from .sources import open_weights
from .tensors import DTYPES, encode, plan
from .vocab import add_tokenizer

ALIASES = {"fp32": "f32", "fp16": "f16"}


def convert_to_gguf(src: str, out: str, dtype: str, log=lambda msg: None) -> dict:
    """Writes `out`; returns the summary. Raises UnsupportedModel / FileNotFoundError / KeyError (a missing
    tensor) / ValueError on a checkpoint it cannot convert."""
    t0 = time.time()
    dtype = ALIASES.get(dtype, dtype)
    if dtype not in DTYPES:
        raise ValueError(f"--dtype {dtype}: not a GGUF type (choose {', '.join(DTYPES)})")
    spec, cfg = load_spec(src)
    weights, kind = open_weights(src)
    log(f"{spec.family}: hidden {spec.hidden}, {spec.layers} layers, {spec.heads}/{spec.kv_heads} heads, head_dim "
        f"{spec.head_dim}, vocab {spec.vocab_size}, tied {spec.tied}; weights from {kind}; GGUF {dtype}")
    w = GGUFWriter()
    add_hparams(w, spec, dtype, os.path.basename(os.path.normpath(src)))
    tok = add_tokenizer(w, src, cfg, spec.vocab_size)
    log(f"tokenizer: {tok['tokens']} tokens, {tok['merges']} merges, pre-tokenizer {tok['pre']}")
    planned = plan(spec, weights, dtype)
    used = {p.source for p in planned}
    ignored = sorted(k for k in weights.keys() if k not in used and not (spec.tied and k == "lm_head.weight"))
    for p in planned:
        w.add_tensor(p.name, p.shape, p.type, lambda p=p: encode(p))
    os.makedirs(os.path.dirname(os.path.abspath(out)), exist_ok=True)
    tmp = out + ".part"  # a failed run leaves no half-written file under the real name
    try:
        size = w.write(tmp)
        os.replace(tmp, out)
    finally:
        if os.path.exists(tmp):
            os.remove(tmp)
    counts: dict[str, int] = {}
    for p in planned:
        counts[p.type.name] = counts.get(p.type.name, 0) + 1
    kept = {p.name: p.kept for p in planned if p.kept}
    log(f"wrote {out}: {size} bytes, {len(planned)} tensors {counts}")
    return {"ok": True, "to": "gguf", "dtype": dtype, "file": out, "bytes": size, "seconds": round(time.time() - t0, 1),
            "architecture": spec.family, "weights_from": kind, "tensors": counts, "kept": kept,
            "ignored": ignored[:20], "tokenizer": tok}
