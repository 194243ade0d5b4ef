"""GGUF container and quantization bytes (glimpse_convert.gguf.format / quants), checked against blocks worked out
by hand and read back with the tests' own reader (test_gguf_reader.py). Run with
    cd tools/convert && /usr/bin/python3 -m unittest discover -s tests -v
"""
from __future__ import annotations

import os
import struct
import sys
import tempfile
import unittest

import numpy as np

sys.path.insert(0, os.path.join(os.path.dirname(__file__), ".."))
sys.path.insert(0, os.path.dirname(__file__))
from glimpse_convert.gguf import quants  # noqa: E402
from glimpse_convert.gguf.format import F16, F32, Q4_0, Q8_0, GGUFWriter, ValueType as T  # noqa: E402
from test_gguf_reader import read_gguf  # noqa: E402


def block(values: dict[int, float]) -> np.ndarray:
    x = np.zeros(32, np.float32)
    for i, v in values.items():
        x[i] = v
    return x


# Q8_0: amax 127 -> d = 1: q = x rounded, halves away from zero (2.5 -> 3, -2.5 -> -3, 0.5 -> 1; not to even)
Q8_A = block({0: 127, 1: -2.5, 2: 2.5, 3: 0.5, 4: -0.5, 5: 1.49, 6: -100.7})
Q8_A_BYTES = bytes([0x00, 0x3C, 0x7F, 0xFD, 0x03, 0x01, 0xFF, 0x01, 0x9B]) + bytes(25)  # f16 1.0 = 0x3C00
# amax 63.5 -> d = 0.5, 1/d = 2: 63.5 -> 127, -0.25 -> -0.5 -> -1, 0.75 -> 1.5 -> 2, 0.2 -> 0.4 -> 0, 0.3 -> 0.6 -> 1
Q8_C = block({0: 63.5, 1: -0.25, 2: 0.75, 3: 0.2, 4: -63.5, 5: 0.3})
Q8_C_BYTES = bytes([0x00, 0x38, 127, 0xFF, 2, 0, 0x81, 1]) + bytes(26)  # f16 0.5 = 0x3800; -127 = 0x81

# Q4_0: the value of largest magnitude m = -8 -> d = m / -8 = 1; q = min(15, trunc(x / d + 8.5)):
# x[0] -8 -> 0, x[16] 7 -> 15, x[1] 0.5 -> 9, x[17] -3.2 -> 5, x[2] 7.9 -> 16 -> 15, x[18] 0.49 -> 8, zeros -> 8;
# byte j = q[j] | q[j + 16] << 4
Q4_A = block({0: -8, 16: 7, 1: 0.5, 17: -3.2, 2: 7.9, 18: 0.49})
Q4_A_BYTES = bytes([0x00, 0x3C, 0xF0, 0x59, 0x8F]) + bytes([0x88]) * 13
# m = 4 (positive) -> d = -0.5, 1/d = -2: 4 -> 0, -4 -> 16 -> 15, 1 -> 6, zeros -> 8; f16 -0.5 = 0xB800
Q4_B = block({0: 4, 1: -4, 2: 1})
Q4_B_BYTES = bytes([0x00, 0xB8, 0x80, 0x8F, 0x86]) + bytes([0x88]) * 13
# equal magnitudes: the first one sets the sign: m = -2 -> d = 0.25 (f16 0x3400): -2 -> 0, 2 -> 16 -> 15
Q4_C = block({0: -2, 1: 2})
Q4_C_BYTES = bytes([0x00, 0x34, 0x80, 0x8F]) + bytes([0x88]) * 14


def decode_q8_0(raw: bytes) -> np.ndarray:
    out = []
    for i in range(0, len(raw), 34):
        d = struct.unpack("<e", raw[i:i + 2])[0]
        out += [q * d for q in struct.unpack("<32b", raw[i + 2:i + 34])]
    return np.array(out, np.float32)


def decode_q4_0(raw: bytes) -> np.ndarray:
    out = []
    for i in range(0, len(raw), 18):
        d = struct.unpack("<e", raw[i:i + 2])[0]
        qs = raw[i + 2:i + 18]
        out += [((qs[j] & 15) - 8) * d for j in range(16)] + [((qs[j] >> 4) - 8) * d for j in range(16)]
    return np.array(out, np.float32)


class QuantBytesTest(unittest.TestCase):
    def test_q8_0_blocks_worked_by_hand(self):
        x = np.stack([Q8_A, np.zeros(32, np.float32), Q8_C])  # one row per block; a zero block has d = 0, q = 0
        self.assertEqual(quants.q8_0(x), Q8_A_BYTES + bytes(34) + Q8_C_BYTES)

    def test_q4_0_blocks_worked_by_hand(self):
        x = np.concatenate([Q4_A, Q4_B, Q4_C]).reshape(1, 96)  # three blocks along one row
        self.assertEqual(quants.q4_0(x), Q4_A_BYTES + Q4_B_BYTES + Q4_C_BYTES)

    def test_random_rows_decode_within_one_step(self):
        x = np.random.default_rng(0).standard_normal((8, 64)).astype(np.float32)
        for enc, dec, steps in ((quants.q8_0, decode_q8_0, 127), (quants.q4_0, decode_q4_0, 8)):
            y = dec(enc(x)).reshape(x.shape)
            step = np.abs(x.reshape(-1, 32)).max(axis=1) / steps  # |d| per block
            err = np.abs(y - x).reshape(-1, 32).max(axis=1)
            self.assertTrue(np.all(err <= step * 1.01), enc.__name__)

    def test_rows_must_fit_blocks(self):
        with self.assertRaises(ValueError):
            quants.q8_0(np.zeros((2, 48), np.float32))

    def test_f16_and_f32(self):
        self.assertEqual(quants.f16(np.array([1.0, -2.0], np.float32)), bytes([0x00, 0x3C, 0x00, 0xC0]))
        self.assertEqual(quants.f32(np.array([1.0], np.float32)), bytes([0, 0, 0x80, 0x3F]))


class WriterTest(unittest.TestCase):
    def write(self, w: GGUFWriter) -> dict:
        with tempfile.TemporaryDirectory() as d:
            path = os.path.join(d, "t.gguf")
            size = w.write(path)
            self.assertEqual(size, os.path.getsize(path))
            with open(path, "rb") as f:
                return read_gguf(f.read())

    def test_metadata_and_tensors_round_trip(self):
        w = GGUFWriter()
        w.add("general.architecture", T.STRING, "llama")
        w.add("llama.block_count", T.UINT32, 6)
        w.add("llama.rope.freq_base", T.FLOAT32, 10000.0)
        w.add("tokenizer.ggml.add_bos_token", T.BOOL, False)
        w.add("tokenizer.ggml.tokens", T.ARRAY, (T.STRING, ["a", "Ġb", "<|x|>", "你好"]))
        w.add("tokenizer.ggml.token_type", T.ARRAY, (T.INT32, [1, 1, 3, 4]))
        w.add("some.floats", T.ARRAY, (T.FLOAT32, [0.5, -1.0]))
        m = np.arange(6, dtype=np.float32).reshape(2, 3)
        w.add_tensor("m.weight", (2, 3), F32, lambda: m.tobytes())
        w.add_tensor("v.weight", (4,), F16, lambda: np.ones(4, np.float16).tobytes())
        w.add_tensor("q.weight", (1, 32), Q8_0, lambda: Q8_A_BYTES)
        w.add_tensor("q4.weight", (1, 96), Q4_0, lambda: Q4_A_BYTES + Q4_B_BYTES + Q4_C_BYTES)
        g = self.write(w)
        self.assertEqual(g["version"], 3)
        self.assertEqual(g["kv"]["general.alignment"], (T.UINT32, 32))
        self.assertEqual(g["kv"]["general.architecture"], (T.STRING, "llama"))
        self.assertEqual(g["kv"]["llama.block_count"], (T.UINT32, 6))
        self.assertEqual(g["kv"]["llama.rope.freq_base"], (T.FLOAT32, 10000.0))
        self.assertEqual(g["kv"]["tokenizer.ggml.add_bos_token"], (T.BOOL, False))
        self.assertEqual(g["kv"]["tokenizer.ggml.tokens"], (T.ARRAY, (T.STRING, ["a", "Ġb", "<|x|>", "你好"])))
        self.assertEqual(g["kv"]["tokenizer.ggml.token_type"], (T.ARRAY, (T.INT32, [1, 1, 3, 4])))
        self.assertEqual(g["kv"]["some.floats"], (T.ARRAY, (T.FLOAT32, [0.5, -1.0])))
        t = g["tensors"]
        self.assertEqual([t[n]["ne"] for n in ("m.weight", "v.weight", "q.weight", "q4.weight")], [[3, 2], [4], [32, 1], [96, 1]])
        self.assertEqual([t[n]["type"] for n in ("m.weight", "v.weight", "q.weight", "q4.weight")], [0, 1, 8, 2])
        self.assertEqual(g["data_start"] % 32, 0)
        self.assertTrue(all(x["offset"] % 32 == 0 for x in t.values()))
        self.assertEqual(t["m.weight"]["data"], m.tobytes())
        self.assertEqual(t["v.weight"]["data"], bytes([0x00, 0x3C]) * 4)
        self.assertEqual(t["q.weight"]["data"], Q8_A_BYTES)
        self.assertEqual(t["q4.weight"]["data"], Q4_A_BYTES + Q4_B_BYTES + Q4_C_BYTES)

    def test_refuses_bad_input(self):
        w = GGUFWriter()
        with self.assertRaises(ValueError):
            w.add("general.alignment", T.UINT32, 32)  # written already
        with self.assertRaises(ValueError):
            w.add_tensor("q", (2, 48), Q8_0, lambda: b"")  # rows of 48 do not fit blocks of 32
        w.add_tensor("x", (4,), F32, lambda: bytes(12))  # 12 bytes made for 16
        with tempfile.TemporaryDirectory() as d, self.assertRaises(RuntimeError):
            w.write(os.path.join(d, "t.gguf"))


if __name__ == "__main__":
    unittest.main()
