"""The ONNX interface export.trace gives, checked against the committed embedded model's graphs: tools/train exports
models/glimpse-coder-tiny through this code, and the engine, the Arctic speculators (last_hidden_state) and
packages/runtime-cuda/test/fixtures-src/make_formats.py (which adds num_logits_to_keep itself) rely on that interface.
Run with: cd tools/convert && /usr/bin/python3 -m unittest discover -s tests -v"""
from __future__ import annotations

import json
import os
import sys
import unittest

import numpy as np
import onnx
import torch

sys.path.insert(0, os.path.join(os.path.dirname(__file__), ".."))
from glimpse_convert import export  # noqa: E402
from glimpse_convert.families import spec_from_config  # noqa: E402
from glimpse_convert.model import Decoder  # noqa: E402
from glimpse_convert.random_checkpoint import weights  # noqa: E402

MODEL = os.path.join(os.path.dirname(__file__), "..", "..", "..", "models", "glimpse-coder-tiny")


def signature(m: onnx.ModelProto) -> tuple[list, list]:
    """(name, element type, dims by name or size) of every graph input and output, in order."""
    def of(values):
        dims = lambda v: [d.dim_param or d.dim_value for d in v.type.tensor_type.shape.dim]  # noqa: E731
        return [(v.name, v.type.tensor_type.elem_type, dims(v)) for v in values]
    return of(m.graph.input), of(m.graph.output)


class ExportInterfaceTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        with open(os.path.join(MODEL, "config.json")) as f:
            cfg = json.load(f)
        cls.dec = Decoder(spec_from_config(cfg), dict(weights(cfg, np.random.default_rng(0)))).eval()

    def test_without_logits_to_keep_matches_the_committed_embedded_graphs(self):
        for tree, name in ((False, "model.onnx"), (True, "model_tree.onnx")):
            with self.subTest(name):
                want = signature(onnx.load(os.path.join(MODEL, "onnx", name)))
                self.assertEqual(signature(export.trace(self.dec, tree, logits_to_keep=False)), want)

    def test_default_adds_num_logits_to_keep_and_nothing_else(self):
        want_in, want_out = signature(onnx.load(os.path.join(MODEL, "onnx", "model_tree.onnx")))
        got_in, got_out = signature(export.trace(self.dec, tree=True))
        self.assertEqual(got_in[3], ("num_logits_to_keep", onnx.TensorProto.INT64, []))
        self.assertEqual(got_in[:3] + got_in[4:], want_in)
        self.assertEqual([o[0] for o in got_out], [o[0] for o in want_out])
        self.assertEqual(got_out[0][2], ["batch_size", "num_logits", self.dec.spec.vocab_size])

    def test_no_logits_to_keep_is_every_position(self):
        g = torch.Generator().manual_seed(0)
        ids = torch.randint(0, self.dec.spec.vocab_size, (2, 6), generator=g)
        mask, pos = torch.ones(2, 6, dtype=torch.int64), torch.arange(6).expand(2, 6)
        with torch.no_grad():
            all_logits, all_h, _ = self.dec(ids, mask, pos, None, None)
            zero_logits, zero_h, _ = self.dec(ids, mask, pos, None, torch.tensor(0))
            last_logits, _, _ = self.dec(ids, mask, pos, None, torch.tensor(2))
        self.assertEqual(tuple(all_logits.shape), (2, 6, self.dec.spec.vocab_size))
        self.assertTrue(torch.equal(all_logits, zero_logits) and torch.equal(all_h, zero_h))
        self.assertTrue(torch.equal(last_logits, all_logits[:, -2:]))


if __name__ == "__main__":
    unittest.main()
