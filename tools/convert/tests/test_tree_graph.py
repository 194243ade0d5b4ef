"""tree_graph.build_tree against the torch Decoder (model.py, the reference the exported graphs are checked against)
in onnxruntime-node: batched tree-verification calls with padding, shared positions and a past cache, an empty
cache (prefill) and num_logits_to_keep, for each family's particulars (Qwen2 q/k/v biases and tied head, Qwen3
per-head norms and head_dim != hidden / heads, Llama untied head with every bias and llama3 RoPE); the interface is
the traced tree graph's; q4 and fp16 rewrites of it load and run.
Run with: cd tools/convert && /usr/bin/python3 -m unittest discover -s tests -v"""
from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import unittest
from unittest import mock

import numpy as np
import onnx
import torch

sys.path.insert(0, os.path.join(os.path.dirname(__file__), ".."))
sys.path.insert(0, os.path.dirname(__file__))
from glimpse_convert import export  # noqa: E402
from glimpse_convert.families import spec_from_config  # noqa: E402
from glimpse_convert.fp16 import to_fp16  # noqa: E402
from glimpse_convert.head_slices import slice_lm_head  # noqa: E402
from glimpse_convert.model import NEG, Decoder  # noqa: E402
from glimpse_convert.quantize import quantize  # noqa: E402
from glimpse_convert.random_checkpoint import make_config, weights  # noqa: E402
from glimpse_convert.tree_graph import build_tree  # noqa: E402
from test_export import signature  # noqa: E402

REPO = os.path.join(os.path.dirname(__file__), "..", "..", "..")
RUN = os.path.join(os.path.dirname(__file__), "..", "node", "run_graph.mjs")


def decoder(family: str, seed: int = 0) -> Decoder:
    cfg = make_config(family, "tiny", 300, 1, 2, "llama3", tied=family != "llama")
    rng = np.random.default_rng(seed)
    w = dict(weights(cfg, rng))
    if family == "llama":  # every optional bias, so the concatenated q/k/v and gate/up biases are exercised
        cfg.update(attention_bias=True, mlp_bias=True)
        hd, d, f = cfg["hidden_size"] // cfg["num_attention_heads"], cfg["hidden_size"], cfg["intermediate_size"]
        sizes = {"self_attn.q_proj": cfg["num_attention_heads"] * hd, "self_attn.k_proj": cfg["num_key_value_heads"] * hd,
                 "self_attn.v_proj": cfg["num_key_value_heads"] * hd, "self_attn.o_proj": d, "mlp.gate_proj": f,
                 "mlp.up_proj": f, "mlp.down_proj": d}
        for i in range(cfg["num_hidden_layers"]):
            for n, o in sizes.items():
                w[f"model.layers.{i}.{n}.bias"] = 0.3 * rng.standard_normal(o, dtype=np.float32)
    return Decoder(spec_from_config(cfg), w).eval()


def tree_call(dec: Decoder, b: int, s: int, past: int, seed: int = 1):
    """Inputs of a batched verification call: row 0 a chain, row 1 left padding in its cache, row 2 a tree (tokens
    1 and 2 both children of 0, 3 a child of 1: siblings share a position and do not see each other)."""
    sp = dec.spec
    g = torch.Generator().manual_seed(seed)
    ids = torch.randint(0, sp.vocab_size, (b, s), generator=g)
    pos = torch.arange(past, past + s).repeat(b, 1)
    keep = torch.zeros(b, s, past + s, dtype=torch.bool)
    for q in range(s):
        keep[:, q, : past + q + 1] = True
    if b > 1 and past >= 2:
        keep[1, :, :2] = False
        pos[1] -= 2
    if b > 2 and s >= 4:
        parent = [-1, 0, 0, 1]
        keep[2, :, past:] = False
        for q in range(4):
            j, depth = q, 0
            while j >= 0:
                keep[2, q, past + j] = True
                j, depth = parent[j], depth + (parent[j] >= 0)
            pos[2, q] = past + depth
    mask = torch.where(keep, torch.tensor(0.0), torch.tensor(NEG)).unsqueeze(1)
    kv = [torch.randn(b, sp.kv_heads, past, sp.head_dim, generator=g) for _ in range(2 * sp.layers)]
    return ids, mask, pos, kv


def run_onnx(m: onnx.ModelProto, feeds: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    with tempfile.TemporaryDirectory() as d:
        path = os.path.join(d, "g.onnx")
        onnx.save(m, path)
        spec = {}
        for name, a in feeds.items():
            a = np.ascontiguousarray(a)
            a.tofile(os.path.join(d, f"{len(spec)}.bin"))
            spec[name] = {"dtype": str(a.dtype), "dims": list(a.shape), "file": f"{len(spec)}.bin"}
        with open(os.path.join(d, "feeds.json"), "w") as f:
            json.dump(spec, f)
        r = subprocess.run(["node", RUN, path, d], capture_output=True, text=True, cwd=REPO)
        if r.returncode != 0:
            raise RuntimeError(r.stderr[-3000:])
        outs = json.loads(r.stdout.strip().splitlines()[-1])
        return {k: np.fromfile(os.path.join(d, v["file"]), np.float32).reshape(v["dims"]) for k, v in outs.items()}


def feeds_of(ids, mask, pos, kv, keep: int) -> dict[str, np.ndarray]:
    f = {"input_ids": ids.numpy(), "attention_mask": mask.numpy().astype(np.float32), "position_ids": pos.numpy(),
         "num_logits_to_keep": np.array(keep, np.int64)}
    for i, t in enumerate(kv):
        f[f"past_key_values.{i // 2}.{'value' if i % 2 else 'key'}"] = t.numpy()
    return f


class TreeGraphTest(unittest.TestCase):
    def check(self, dec: Decoder, m: onnx.ModelProto, b: int, s: int, past: int, keep: int, atol: float = 1e-4):
        ids, mask, pos, kv = tree_call(dec, b, s, past)
        pairs = [(kv[2 * i], kv[2 * i + 1]) for i in range(dec.spec.layers)]
        with torch.no_grad():
            logits, h, presents = dec(ids, mask, pos, pairs, torch.tensor(keep), append_only=True)
        got = run_onnx(m, feeds_of(ids, mask, pos, kv, keep))
        np.testing.assert_allclose(got["logits"], logits.numpy(), atol=atol, rtol=0)
        np.testing.assert_allclose(got["last_hidden_state"], h.numpy(), atol=atol, rtol=0)
        for i, (k, v) in enumerate(presents):
            np.testing.assert_allclose(got[f"present_append.{i}.key"], k.numpy(), atol=atol, rtol=0)
            np.testing.assert_allclose(got[f"present_append.{i}.value"], v.numpy(), atol=atol, rtol=0)

    def test_matches_the_torch_decoder_for_each_family(self):
        for family in ("qwen2", "qwen3", "llama"):
            dec = decoder(family)
            m = build_tree(dec)
            for b, s, past, keep in ((3, 4, 5, 0), (3, 4, 5, 2), (2, 6, 0, 0), (1, 1, 7, 1)):
                with self.subTest(family=family, batch=b, new=s, past=past, keep=keep):
                    self.check(dec, m, b, s, past, keep)

    def test_interface_is_the_traced_tree_graph(self):
        named = {"batch_size", "sequence_length", "total_sequence_length", "past_sequence_length", "num_logits"}
        for family in ("qwen2", "llama"):
            dec = decoder(family)
            with self.subTest(family=family):
                (got_in, got_out), (want_in, want_out) = signature(build_tree(dec)), signature(export.trace(dec, tree=True))
                self.assertEqual(got_in, want_in)
                self.assertEqual([o[:2] for o in got_out], [o[:2] for o in want_out])
                for (name, _, got), (_, _, want) in zip(got_out, want_out):
                    # where the trace lost a static size (a dim named by torch, e.g. "Addpresent_append.0.key_dim_1"),
                    # the built graph states it
                    self.assertEqual([g if w in named or isinstance(w, int) else "lost" for g, w in zip(got, want)],
                                     [w if w in named or isinstance(w, int) else "lost" for w in want], name)
                    self.assertTrue(all(isinstance(g, int) for g, w in zip(got, want) if w not in named and not isinstance(w, int)))

    def test_fewer_nodes_and_the_tied_head(self):
        dec = decoder("qwen2")
        m = build_tree(dec)
        # 28 nodes per layer (q/k/v biases included) + 23 once per call; the trace has about 215 per layer
        self.assertLessEqual(len(m.graph.node), 28 * dec.spec.layers + 23)
        head = [n for n in m.graph.node if n.output[0] == "logits"][0]
        transposed = [n for n in m.graph.node if n.op_type == "Transpose" and n.input[0] == "embed_tokens.weight"]
        self.assertEqual(len(transposed), 1)
        self.assertEqual((head.op_type, list(head.input)[1]), ("MatMul", transposed[0].output[0]))

    def test_the_head_in_vocabulary_slices_computes_the_same_logits(self):
        for family in ("qwen2", "llama"):  # tied (Transpose of the embedding) and untied (lm_head.weight)
            dec = decoder(family)
            one = build_tree(dec)
            head_bytes = dec.spec.vocab_size * dec.spec.hidden * 4
            self.assertIs(slice_lm_head(one, max_bytes=head_bytes), one)  # fits in one slice: unchanged
            m = slice_lm_head(build_tree(dec), max_bytes=head_bytes // 3)
            with self.subTest(family=family):
                ops = [n.op_type for n in m.graph.node]
                head = [n for n in m.graph.node if n.output[0] == "logits"][0]
                self.assertEqual((head.op_type, len(head.input)), ("Concat", 3))
                slices = [t for t in m.graph.initializer if t.name.startswith("lm_head.slice")]
                self.assertEqual(sorted(tuple(t.dims) for t in slices), [(dec.spec.hidden, 100)] * 3)  # vocabulary 300
                self.assertEqual(ops.count("Transpose"), [n.op_type for n in one.graph.node].count("Transpose") - (family == "qwen2"))
                self.assertNotIn("lm_head.weight", [t.name for t in m.graph.initializer])
                self.assertIn("embed_tokens.weight", [t.name for t in m.graph.initializer])  # the Gather's table
                for b, s, past, keep in ((3, 4, 5, 0), (1, 1, 7, 1)):
                    self.check(dec, m, b, s, past, keep)

    def test_q4_quantizes_every_projection_and_the_tied_head(self):
        dec = decoder("qwen2")
        with mock.patch("glimpse_convert.quantize.EMBED_F16_MIN", 1):  # the tiny embedding is halved too
            m = quantize(build_tree(dec), bits=4)
        ops = [n.op_type for n in m.graph.node]
        self.assertEqual(ops.count("MatMulNBits"), 5 * dec.spec.layers + 1)  # qkv, o, gate, up, down; the head
        self.assertNotIn("FusedMatMul", [n.op_type for n in m.graph.node if n.output[0] == "logits"])
        embed = [t for t in m.graph.initializer if t.name == "embed_tokens.weight"][0]
        self.assertEqual(embed.data_type, onnx.TensorProto.FLOAT16)  # the Gather's table, halved: nothing else reads it
        ids, mask, pos, kv = tree_call(dec, 2, 3, 4)
        got = run_onnx(m, feeds_of(ids, mask, pos, kv, 0))
        self.assertEqual(got["logits"].shape, (2, 3, dec.spec.vocab_size))
        self.assertTrue(np.isfinite(got["logits"]).all())

    def test_fp16_rewrite_runs_close_to_fp32(self):
        dec = decoder("qwen3")
        ids, mask, pos, kv = tree_call(dec, 3, 4, 5)
        with torch.no_grad():
            want, _, _ = dec(ids, mask, pos, [(kv[2 * i], kv[2 * i + 1]) for i in range(dec.spec.layers)],
                             torch.tensor(0), append_only=True)
        head_bytes = dec.spec.vocab_size * dec.spec.hidden * 4
        for sliced in (False, True):  # the converter slices a large head before the fp16 rewrite
            g = build_tree(dec)
            m = to_fp16(slice_lm_head(g, max_bytes=head_bytes // 3) if sliced else g)
            self.assertEqual([v.type.tensor_type.elem_type for v in m.graph.input][1], onnx.TensorProto.FLOAT)  # the mask
            f = feeds_of(ids, mask, pos, kv, 0)
            with tempfile.TemporaryDirectory() as d:
                path = os.path.join(d, "g.onnx")
                onnx.save(m, path)
                for k in list(f):  # float16 KV inputs, passed as their bits
                    if k.startswith("past_key_values."):
                        f[k] = f[k].astype(np.float16)
                got = run_fp16(path, f, d)
            with self.subTest(sliced=sliced):
                self.assertLess(np.abs(got - want.numpy()).max(), 0.1)


def run_fp16(path: str, feeds: dict[str, np.ndarray], d: str) -> np.ndarray:
    """The logits of an fp16 graph (float16 KV inputs and logits travel as raw bits through a small script)."""
    for i, (name, a) in enumerate(feeds.items()):
        np.ascontiguousarray(a).tofile(os.path.join(d, f"{i}.bin"))
    spec = {name: {"dtype": str(a.dtype), "dims": list(a.shape), "file": f"{i}.bin"} for i, (name, a) in enumerate(feeds.items())}
    script = ("const ort=require('onnxruntime-node');const fs=require('fs');const path=require('path');(async()=>{"
              "const [g,d]=process.argv.slice(1);const spec=JSON.parse(fs.readFileSync(path.join(d,'feeds.json')));"
              "const C={float32:Float32Array,int64:BigInt64Array,float16:Uint16Array};const feeds={};"
              "for(const [n,f] of Object.entries(spec)){const b=fs.readFileSync(path.join(d,f.file));"
              "feeds[n]=new ort.Tensor(f.dtype,new C[f.dtype](b.buffer.slice(b.byteOffset,b.byteOffset+b.byteLength)),f.dims);}"
              "const s=await ort.InferenceSession.create(g);const o=(await s.run(feeds)).logits;"
              "fs.writeFileSync(path.join(d,'logits.bin'),Buffer.from(o.data.buffer,o.data.byteOffset,o.data.byteLength));"
              "console.log(JSON.stringify(o.dims));})()")
    with open(os.path.join(d, "feeds.json"), "w") as f:
        json.dump(spec, f)
    r = subprocess.run(["node", "-e", script, path, d], capture_output=True, text=True, cwd=REPO)
    if r.returncode != 0:
        raise RuntimeError(r.stderr[-3000:])
    dims = json.loads(r.stdout.strip().splitlines()[-1])
    return np.fromfile(os.path.join(d, "logits.bin"), np.float16).astype(np.float32).reshape(dims)


if __name__ == "__main__":
    unittest.main()
