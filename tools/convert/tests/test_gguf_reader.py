"""A small GGUF v3 reader written for the tests, independent of glimpse_convert.gguf (it shares no code with the
writer), and a check of the reader itself on bytes laid out by hand. Run with
    cd tools/convert && /usr/bin/python3 -m unittest discover -s tests -v
"""
from __future__ import annotations

import struct
import unittest

# value type id -> struct format (GGUF spec: uint8, int8, uint16, int16, uint32, int32, float32, bool, string,
# array, uint64, int64, float64)
SCALARS = {0: "<B", 1: "<b", 2: "<H", 3: "<h", 4: "<I", 5: "<i", 6: "<f", 7: "<?", 10: "<Q", 11: "<q", 12: "<d"}
# ggml type id -> (values per block, bytes per block)
BLOCKS = {0: (1, 4), 1: (1, 2), 2: (32, 18), 8: (32, 34)}


class Cursor:
    def __init__(self, data: bytes):
        self.data, self.pos = data, 0

    def take(self, fmt: str):
        (v,) = struct.unpack_from(fmt, self.data, self.pos)
        self.pos += struct.calcsize(fmt)
        return v

    def string(self) -> str:
        n = self.take("<Q")
        s = self.data[self.pos:self.pos + n].decode("utf-8")
        self.pos += n
        return s

    def value(self, vtype: int):
        if vtype == 8:
            return self.string()
        if vtype == 9:
            etype, n = self.take("<I"), self.take("<Q")
            return (etype, [self.value(etype) for _ in range(n)])
        return self.take(SCALARS[vtype])


def read_gguf(data: bytes) -> dict:
    """{"version", "kv": {key: (type, value)}, "tensors": {name: {"ne", "type", "offset", "data"}}, "data_start"}."""
    c = Cursor(data)
    if data[:4] != b"GGUF":
        raise ValueError("not a GGUF file")
    c.pos = 4
    version, n_tensors, n_kv = c.take("<I"), c.take("<Q"), c.take("<Q")
    kv = {}
    for _ in range(n_kv):
        key = c.string()
        vtype = c.take("<I")
        kv[key] = (vtype, c.value(vtype))
    align = kv.get("general.alignment", (4, 32))[1]
    infos = []
    for _ in range(n_tensors):
        name = c.string()
        ne = [c.take("<Q") for _ in range(c.take("<I"))]
        infos.append((name, ne, c.take("<I"), c.take("<Q")))
    start = c.pos + (-c.pos % align)
    tensors = {}
    for name, ne, gtype, offset in infos:
        count = 1
        for n in ne:
            count *= n
        per, size = BLOCKS[gtype]
        nbytes = count // per * size
        tensors[name] = {"ne": ne, "type": gtype, "offset": offset,
                         "data": data[start + offset:start + offset + nbytes]}
    return {"version": version, "kv": kv, "tensors": tensors, "data_start": start, "alignment": align}


class ReaderTest(unittest.TestCase):
    def test_reads_bytes_laid_out_by_hand(self):
        def s(x: str) -> bytes:
            return struct.pack("<Q", len(x)) + x.encode()
        head = b"GGUF" + struct.pack("<IQQ", 3, 1, 3)
        kv = (s("general.alignment") + struct.pack("<II", 4, 32)
              + s("a.f") + struct.pack("<If", 6, 0.5)
              + s("t.list") + struct.pack("<IIQ", 9, 8, 2) + s("x") + s("yz"))
        info = s("w") + struct.pack("<I", 2) + struct.pack("<QQ", 3, 2) + struct.pack("<IQ", 0, 0)
        body = head + kv + info
        pad = b"\0" * (-len(body) % 32)
        data = struct.pack("<6f", 1, 2, 3, 4, 5, 6)
        g = read_gguf(body + pad + data)
        self.assertEqual(g["version"], 3)
        self.assertEqual(g["kv"]["a.f"], (6, 0.5))
        self.assertEqual(g["kv"]["t.list"], (9, (8, ["x", "yz"])))
        self.assertEqual(g["data_start"], len(body) + len(pad))
        self.assertEqual(g["tensors"]["w"]["ne"], [3, 2])
        self.assertEqual(struct.unpack("<6f", g["tensors"]["w"]["data"]), (1, 2, 3, 4, 5, 6))


if __name__ == "__main__":
    unittest.main()
