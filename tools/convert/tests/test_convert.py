"""Checks of glimpse_convert that need no checkpoint: run with
    cd tools/convert && /usr/bin/python3 -m unittest discover -s tests -v
The MatMulNBits test runs onnxruntime-node (the repo's node_modules) on a one-node graph."""
from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import unittest

import numpy as np

sys.path.insert(0, os.path.join(os.path.dirname(__file__), ".."))
from glimpse_convert import safetensors_io  # noqa: E402
from glimpse_convert.families import UnsupportedModel, rope_inv_freq, spec_from_config  # noqa: E402
from glimpse_convert.quantize import dequantize, pack, quantize_blocks  # noqa: E402

BASE = {"vocab_size": 100, "hidden_size": 64, "intermediate_size": 128, "num_hidden_layers": 2,
        "num_attention_heads": 4, "num_key_value_heads": 2}


class SafetensorsTest(unittest.TestCase):
    def test_bf16_round_trip_and_values(self):
        x = np.array([1.0, -2.5, 3.140625, 1e-3, 65504.0], np.float32)
        with tempfile.TemporaryDirectory() as d:
            safetensors_io.write(os.path.join(d, "model.safetensors"), {"a": safetensors_io.f32_to_bf16(x), "b": x})
            st = safetensors_io.SafeTensors(d)
            # bf16 keeps 8 significant bits: 1e-3 (0x3A83126F) -> 0x3A83 = 2^-10 * (1 + 3/128), 65504 -> 65536
            np.testing.assert_array_equal(st.get("a"), np.array([1.0, -2.5, 3.140625, 2.0 ** -10 * (1 + 3 / 128), 65536.0], np.float32))
            np.testing.assert_array_equal(st.get("b"), x)

    def test_bf16_rounds_to_nearest_even(self):
        bits = np.array([0x3F808000, 0x3F818000, 0x3F808001], np.uint32)  # ties go to even, above a tie goes up
        self.assertEqual(safetensors_io.f32_to_bf16(bits.view(np.float32)).tolist(), [0x3F80, 0x3F82, 0x3F81])


class FamiliesTest(unittest.TestCase):
    def test_unsupported_architecture_names_it(self):
        with self.assertRaises(UnsupportedModel) as e:
            spec_from_config({**BASE, "architectures": ["MistralForCausalLM"]})
        self.assertIn("MistralForCausalLM", str(e.exception))
        self.assertIn("Qwen3ForCausalLM", str(e.exception))

    def test_family_flags(self):
        q2 = spec_from_config({**BASE, "architectures": ["Qwen2ForCausalLM"], "tie_word_embeddings": True})
        self.assertEqual((q2.qkv_bias, q2.o_bias, q2.qk_norm, q2.tied), (True, False, False, True))
        q3 = spec_from_config({**BASE, "architectures": ["Qwen3ForCausalLM"], "head_dim": 32})
        self.assertEqual((q3.qkv_bias, q3.qk_norm, q3.head_dim), (False, True, 32))
        ll = spec_from_config({**BASE, "architectures": ["LlamaForCausalLM"], "head_dim": None})
        self.assertEqual((ll.head_dim, ll.tied, ll.qkv_bias), (16, False, False))

    def test_llama3_rope_bands(self):
        # head_dim 8, theta 10000: inv_freq 1, 0.1, 0.01, 0.001 -> wavelengths 6.28, 62.8, 628, 6283.
        # original 1024, low 1 / high 4: long band > 1024 (6283) divided by 8; short < 256 (6.28, 62.8) kept;
        # 628 in between: smooth = (1024/628.3 - 1) / 3 = 0.2099, inv = (1 - s) * 0.01/8 + s * 0.01
        cfg = {**BASE, "architectures": ["LlamaForCausalLM"], "hidden_size": 32, "rope_theta": 10000.0,
               "rope_scaling": {"rope_type": "llama3", "factor": 8.0, "low_freq_factor": 1.0, "high_freq_factor": 4.0,
                                "original_max_position_embeddings": 1024}}
        got = rope_inv_freq(spec_from_config(cfg))
        s = (1024 / (2 * np.pi / 0.01) - 1) / 3
        np.testing.assert_allclose(got, [1.0, 0.1, (1 - s) * 0.01 / 8 + s * 0.01, 0.001 / 8], rtol=1e-5)
        lin = {**cfg, "rope_scaling": {"type": "linear", "factor": 4.0}}
        np.testing.assert_allclose(rope_inv_freq(spec_from_config(lin)), [0.25, 0.025, 0.0025, 0.00025], rtol=1e-5)


class MatMulNBitsTest(unittest.TestCase):
    def test_packing_matches_onnxruntime(self):
        import onnx
        from onnx import TensorProto, helper, numpy_helper
        rng = np.random.default_rng(0)
        k, n, m = 96, 40, 5  # 3 blocks of 32: an odd count exercises the packed zero points' last nibble
        w = rng.standard_normal((n, k)).astype(np.float32)
        a = rng.standard_normal((m, k)).astype(np.float32)
        with tempfile.TemporaryDirectory() as d:
            cases = []
            for bits in (4, 8):
                q, s, z = quantize_blocks(w, bits)
                bq, sc, zp = pack(q, s, z, bits)
                node = helper.make_node("MatMulNBits", ["A", "B", "S", "Z"], ["Y"], domain="com.microsoft", K=k, N=n,
                                        bits=bits, block_size=32, accuracy_level=0)
                g = helper.make_graph([node], "g", [helper.make_tensor_value_info("A", TensorProto.FLOAT, [m, k])],
                                      [helper.make_tensor_value_info("Y", TensorProto.FLOAT, [m, n])],
                                      [numpy_helper.from_array(bq, "B"), numpy_helper.from_array(sc, "S"),
                                       numpy_helper.from_array(zp, "Z")])
                path = os.path.join(d, f"b{bits}.onnx")
                onnx.save(helper.make_model(g, opset_imports=[helper.make_opsetid("", 17), helper.make_opsetid("com.microsoft", 1)]), path)
                want = a @ dequantize(q, s, z, k).T
                err = np.abs(a @ w.T - want).max()
                self.assertLess(err, 3.0 if bits == 4 else 0.3)  # the dequantized weight is close to the original
                cases.append((path, want))
            a.tofile(os.path.join(d, "a.bin"))
            script = ("const ort=require('onnxruntime-node');const fs=require('fs');(async()=>{const b=fs.readFileSync(process.argv[1]);"
                      "const a=new Float32Array(b.buffer,b.byteOffset,b.length/4);const out=[];for(const p of process.argv.slice(2)){"
                      "const s=await ort.InferenceSession.create(p);const y=(await s.run({A:new ort.Tensor('float32',a,[5,96])})).Y.data;"
                      "out.push(Array.from(y));}console.log(JSON.stringify(out));})()")
            repo = os.path.join(os.path.dirname(__file__), "..", "..", "..")
            r = subprocess.run(["node", "-e", script, os.path.join(d, "a.bin"), *[c[0] for c in cases]],
                               capture_output=True, text=True, cwd=repo, check=True)
            for (_, want), got in zip(cases, json.loads(r.stdout)):
                np.testing.assert_allclose(np.array(got, np.float32).reshape(m, n), want, atol=1e-4)


if __name__ == "__main__":
    unittest.main()
