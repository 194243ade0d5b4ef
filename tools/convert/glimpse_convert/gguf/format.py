"""The GGUF v3 container, written in one streaming pass (llama.cpp's ggml/include/gguf.h and docs/gguf.md).

Layout, all little-endian:
  "GGUF", u32 version 3, u64 tensor count, u64 metadata count
  metadata: key (u64 length + UTF-8), u32 value type, value (strings as key; arrays: u32 element type,
            u64 count, elements)
  tensor infos: name, u32 n_dims, u64 ne[n_dims] (ne[0] is the fastest-varying axis: numpy's shape reversed),
                u32 ggml type, u64 offset from the start of the data section (a multiple of the alignment)
  zero padding to `general.alignment` (default 32), then each tensor's bytes, each padded to the alignment.
Tensors are registered with their byte size and a function that makes the bytes, so a model is never held in
memory whole: the infos are written first, then each tensor is produced, written and dropped.
"""
from __future__ import annotations

import struct
from dataclasses import dataclass
from typing import Callable

import numpy as np

MAGIC = b"GGUF"
VERSION = 3
ALIGNMENT = 32


class ValueType:
    UINT8, INT8, UINT16, INT16, UINT32, INT32, FLOAT32, BOOL, STRING, ARRAY, UINT64, INT64, FLOAT64 = range(13)


_SCALAR = {ValueType.UINT8: "<B", ValueType.INT8: "<b", ValueType.UINT16: "<H", ValueType.INT16: "<h",
           ValueType.UINT32: "<I", ValueType.INT32: "<i", ValueType.FLOAT32: "<f", ValueType.BOOL: "<?",
           ValueType.UINT64: "<Q", ValueType.INT64: "<q", ValueType.FLOAT64: "<d"}
_ARRAY_NP = {ValueType.INT32: "<i4", ValueType.UINT32: "<u4", ValueType.FLOAT32: "<f4", ValueType.UINT8: "u1",
             ValueType.INT8: "i1"}


@dataclass(frozen=True)
class GgmlType:
    name: str
    id: int
    block: int  # elements per block
    block_bytes: int

    def nbytes(self, count: int) -> int:
        return count // self.block * self.block_bytes


F32 = GgmlType("F32", 0, 1, 4)
F16 = GgmlType("F16", 1, 1, 2)
Q4_0 = GgmlType("Q4_0", 2, 32, 18)  # f16 scale + 16 bytes of 4-bit values
Q8_0 = GgmlType("Q8_0", 8, 32, 34)  # f16 scale + 32 int8 values


def _str(s: str) -> bytes:
    b = s.encode("utf-8")
    return struct.pack("<Q", len(b)) + b


def _pad(n: int, align: int) -> int:
    return -n % align


@dataclass
class _Tensor:
    name: str
    shape: tuple[int, ...]  # numpy order
    type: GgmlType
    nbytes: int
    make: Callable[[], bytes]


class GGUFWriter:
    def __init__(self, alignment: int = ALIGNMENT):
        self.alignment = alignment
        self._kv: list[bytes] = []
        self._keys: set[str] = set()
        self._tensors: list[_Tensor] = []
        self.add("general.alignment", ValueType.UINT32, alignment)

    def add(self, key: str, vtype: int, value) -> None:
        """One metadata entry; arrays as add(key, ValueType.ARRAY, (element_type, values))."""
        if key in self._keys:
            raise ValueError(f"gguf: duplicate metadata key {key}")
        self._keys.add(key)
        self._kv.append(_str(key) + struct.pack("<I", vtype) + self._value(vtype, value))

    def _value(self, vtype: int, value) -> bytes:
        if vtype == ValueType.STRING:
            return _str(value)
        if vtype == ValueType.ARRAY:
            etype, items = value
            head = struct.pack("<IQ", etype, len(items))
            if etype == ValueType.STRING:
                return head + b"".join(_str(s) for s in items)
            if etype in _ARRAY_NP:
                return head + np.asarray(items, dtype=_ARRAY_NP[etype]).tobytes()
            return head + b"".join(struct.pack(_SCALAR[etype], v) for v in items)
        return struct.pack(_SCALAR[vtype], value)

    def add_tensor(self, name: str, shape: tuple[int, ...], gtype: GgmlType, make: Callable[[], bytes]) -> None:
        """A tensor of numpy shape `shape` stored as `gtype`; make() returns exactly its bytes, called once at write."""
        count = int(np.prod(shape)) if shape else 1
        if shape and shape[-1] % gtype.block:
            raise ValueError(f"gguf: {name}: rows of {shape[-1]} are not a multiple of the {gtype.name} block ({gtype.block})")
        if any(t.name == name for t in self._tensors):
            raise ValueError(f"gguf: duplicate tensor {name}")
        self._tensors.append(_Tensor(name, tuple(shape), gtype, gtype.nbytes(count), make))

    def write(self, path: str) -> int:
        """Writes the file; returns its size in bytes."""
        infos, offset = [], 0
        for t in self._tensors:
            ne = tuple(reversed(t.shape)) or (1,)
            infos.append(_str(t.name) + struct.pack("<I", len(ne)) + struct.pack(f"<{len(ne)}Q", *ne)
                         + struct.pack("<IQ", t.type.id, offset))
            offset += t.nbytes + _pad(t.nbytes, self.alignment)
        with open(path, "wb") as f:
            f.write(MAGIC + struct.pack("<IQQ", VERSION, len(self._tensors), len(self._kv)))
            for kv in self._kv:
                f.write(kv)
            for info in infos:
                f.write(info)
            f.write(b"\0" * _pad(f.tell(), self.alignment))
            for t in self._tensors:
                data = t.make()
                if len(data) != t.nbytes:
                    raise RuntimeError(f"gguf: {t.name}: made {len(data)} bytes, expected {t.nbytes}")
                f.write(data)
                f.write(b"\0" * _pad(len(data), self.alignment))
                del data
            return f.tell()
