"""Weights to GGML's storage types, byte for byte as ggml's reference quantizers (ggml-quants.c) write them.

Q8_0, per block of 32 values x: d = max|x| / 127, q = round(x / d) (halves away from zero, as C's roundf),
      stored as f16 d then 32 int8 q; value = q * d.
Q4_0, per block of 32: m = the value of largest magnitude (first one on ties), d = m / -8,
      q = min(15, trunc(x / d + 8.5)) in 0..15; stored as f16 d then 16 bytes, byte j holding element j in its
      low nibble and element j + 16 in its high nibble; value = (q - 8) * d.
Both scale by 1/d in float32 (d before its rounding to f16), as the reference does.
"""
from __future__ import annotations

import numpy as np

BLOCK = 32


def _blocks(x: np.ndarray) -> np.ndarray:
    x = np.ascontiguousarray(x, dtype=np.float32)
    if x.size % BLOCK or (x.ndim and x.shape[-1] % BLOCK):
        raise ValueError(f"quantize: rows of {x.shape[-1] if x.ndim else 1} values are not a multiple of {BLOCK}")
    return x.reshape(-1, BLOCK)


def _inverse(d: np.ndarray) -> np.ndarray:
    with np.errstate(divide="ignore"):
        return np.where(d == 0, np.float32(0), np.float32(1) / d).astype(np.float32)


def _round_half_away(v: np.ndarray) -> np.ndarray:
    """C's roundf, exactly: floor(|v| + 0.5) would round 0.49999997 up in float32."""
    a = np.abs(v)
    whole = np.floor(a)
    return np.sign(v) * (whole + np.floor(2 * (a - whole)))


def q8_0(x: np.ndarray) -> bytes:
    b = _blocks(x)
    d = (np.abs(b).max(axis=1, keepdims=True) / np.float32(127)).astype(np.float32)
    q = _round_half_away((b * _inverse(d)).astype(np.float32)).astype(np.int8)
    out = np.empty((b.shape[0], 34), np.uint8)
    out[:, :2] = d.astype("<f2").view(np.uint8)
    out[:, 2:] = q.view(np.uint8)
    return out.tobytes()


def q4_0(x: np.ndarray) -> bytes:
    b = _blocks(x)
    m = np.take_along_axis(b, np.abs(b).argmax(axis=1)[:, None], axis=1)
    d = (m / np.float32(-8)).astype(np.float32)
    v = ((b * _inverse(d)).astype(np.float32) + np.float32(8.5)).astype(np.float32)
    q = np.minimum(np.trunc(v), 15).astype(np.uint8)
    out = np.empty((b.shape[0], 18), np.uint8)
    out[:, :2] = d.astype("<f2").view(np.uint8)
    out[:, 2:] = q[:, :16] | (q[:, 16:] << 4)
    return out.tobytes()


def f16(x: np.ndarray) -> bytes:
    return np.ascontiguousarray(x, dtype="<f2").tobytes()


def f32(x: np.ndarray) -> bytes:
    return np.ascontiguousarray(x, dtype="<f4").tobytes()
