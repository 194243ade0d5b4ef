"""Reads and writes safetensors without the `safetensors` package (not in Debian).

Format: an 8-byte little-endian header length, a JSON header {name: {dtype, shape, data_offsets}}, then raw
little-endian data. Tensors are memory-mapped so a 0.5B checkpoint is never read whole into RAM; bf16 is widened
to fp32 by moving its 16 bits into the high half of a uint32 (bf16 is the top half of an fp32).
"""
from __future__ import annotations

import json
import os
import struct

import numpy as np

_NP = {"F32": np.float32, "F16": np.float16, "BF16": np.uint16}


def _header(path: str) -> tuple[dict, int]:
    with open(path, "rb") as f:
        (n,) = struct.unpack("<Q", f.read(8))
        return json.loads(f.read(n)), 8 + n


def bf16_to_f32(raw: np.ndarray) -> np.ndarray:
    return (raw.astype(np.uint32) << 16).view(np.float32)


def f32_to_bf16(x: np.ndarray) -> np.ndarray:
    """Round to nearest even, as torch does."""
    u = np.ascontiguousarray(x, dtype=np.float32).view(np.uint32)
    return ((u + 0x7FFF + ((u >> 16) & 1)) >> 16).astype(np.uint16)


class SafeTensors:
    """All tensors of a checkpoint folder: model.safetensors, or the shards named by model.safetensors.index.json."""

    def __init__(self, ckpt_dir: str):
        index = os.path.join(ckpt_dir, "model.safetensors.index.json")
        single = os.path.join(ckpt_dir, "model.safetensors")
        if os.path.exists(index):
            with open(index) as f:
                files = sorted(set(json.load(f)["weight_map"].values()))
        elif os.path.exists(single):
            files = ["model.safetensors"]
        else:
            raise FileNotFoundError(f"{ckpt_dir}: no model.safetensors or model.safetensors.index.json")
        self._where: dict[str, tuple[str, dict, int]] = {}
        for name in files:
            path = os.path.join(ckpt_dir, name)
            header, base = _header(path)
            for k, v in header.items():
                if k != "__metadata__":
                    self._where[k] = (path, v, base)

    def keys(self) -> list[str]:
        return list(self._where)

    def __contains__(self, name: str) -> bool:
        return name in self._where

    def get(self, name: str) -> np.ndarray:
        """The tensor as a float32 array (a fresh copy; the mapped file is released)."""
        if name not in self._where:
            raise KeyError(f"tensor {name} not in checkpoint")
        path, info, base = self._where[name]
        dt = info["dtype"]
        if dt not in _NP:
            raise ValueError(f"tensor {name}: dtype {dt} not supported (BF16, F16, F32)")
        begin, end = info["data_offsets"]
        shape = tuple(info["shape"])
        count = int(np.prod(shape)) if shape else 1
        if (end - begin) != count * np.dtype(_NP[dt]).itemsize:
            raise ValueError(f"tensor {name}: {end - begin} bytes for shape {shape} {dt}")
        raw = np.memmap(path, dtype=_NP[dt], mode="r", offset=base + begin, shape=(count,))
        out = bf16_to_f32(raw) if dt == "BF16" else raw.astype(np.float32)
        del raw
        return out.reshape(shape)


def write(path: str, tensors: dict[str, np.ndarray], metadata: dict | None = None) -> None:
    """Writes float arrays; uint16 arrays are taken as bf16 bits, float16 as F16, float32 as F32."""
    header: dict = {"__metadata__": metadata or {"format": "pt"}}
    off = 0
    kinds = {np.dtype(np.uint16): "BF16", np.dtype(np.float16): "F16", np.dtype(np.float32): "F32"}
    for k, a in tensors.items():
        header[k] = {"dtype": kinds[a.dtype], "shape": list(a.shape), "data_offsets": [off, off + a.nbytes]}
        off += a.nbytes
    hb = json.dumps(header, separators=(",", ":")).encode()
    hb += b" " * (-len(hb) % 8)  # the reference writer pads the header to 8 bytes
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(hb)))
        f.write(hb)
        for a in tensors.values():
            f.write(np.ascontiguousarray(a).tobytes())
