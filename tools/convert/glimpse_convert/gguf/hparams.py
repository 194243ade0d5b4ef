"""Architecture metadata: the `general.*` and `{arch}.*` keys llama.cpp's loaders read, typed as they expect
(counts u32, floats f32): llama.cpp refuses a key stored with another type."""
from __future__ import annotations

from ..families import Spec, UnsupportedModel
from .format import GGUFWriter, ValueType as T

FILE_TYPE = {"f32": 0, "f16": 1, "q4_0": 2, "q8_0": 7}  # llama_ftype: ALL_F32, MOSTLY_F16, MOSTLY_Q4_0, MOSTLY_Q8_0
QUANT_VERSION = 2  # the current GGML quantization format version


def rope_kind(spec: Spec) -> str | None:
    s = spec.rope_scaling
    return None if s is None else s.get("rope_type", s.get("type"))


def add_hparams(w: GGUFWriter, spec: Spec, dtype: str, name: str) -> None:
    a = spec.family  # llama.cpp's architecture names are the families' own: llama, qwen2, qwen3
    kind = rope_kind(spec)
    if kind == "llama3" and a != "llama":
        raise UnsupportedModel(f"{a}: rope_scaling llama3 is written as a rope_freqs tensor, which llama.cpp's {a} does not read")
    w.add("general.architecture", T.STRING, a)
    w.add("general.name", T.STRING, name)
    w.add("general.file_type", T.UINT32, FILE_TYPE[dtype])
    if dtype in ("q8_0", "q4_0"):
        w.add("general.quantization_version", T.UINT32, QUANT_VERSION)
    w.add(f"{a}.vocab_size", T.UINT32, spec.vocab_size)
    w.add(f"{a}.context_length", T.UINT32, spec.max_positions)
    w.add(f"{a}.embedding_length", T.UINT32, spec.hidden)
    w.add(f"{a}.block_count", T.UINT32, spec.layers)
    w.add(f"{a}.feed_forward_length", T.UINT32, spec.ffn)
    w.add(f"{a}.attention.head_count", T.UINT32, spec.heads)
    w.add(f"{a}.attention.head_count_kv", T.UINT32, spec.kv_heads)
    # head_dim: llama.cpp assumes hidden / heads unless told (Qwen3 models differ)
    w.add(f"{a}.attention.key_length", T.UINT32, spec.head_dim)
    w.add(f"{a}.attention.value_length", T.UINT32, spec.head_dim)
    w.add(f"{a}.attention.layer_norm_rms_epsilon", T.FLOAT32, spec.eps)
    w.add(f"{a}.rope.freq_base", T.FLOAT32, spec.rope_theta)
    w.add(f"{a}.rope.dimension_count", T.UINT32, spec.head_dim)
    if kind == "linear":
        w.add(f"{a}.rope.scaling.type", T.STRING, "linear")
        w.add(f"{a}.rope.scaling.factor", T.FLOAT32, float(spec.rope_scaling["factor"]))
