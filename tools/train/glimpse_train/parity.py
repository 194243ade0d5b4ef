"""Writes ONNX-vs-PyTorch parity cases on shapes NOT used at export time (export used b=1, s=3, past=5).

Cases: past 0; batch 2 with left padding; past > 256 with 16 new tokens; batch 2 + padding + past 300;
the tree graph fed the causal 4-D mask equivalent to a 2-D case; and a real two-branch tree whose
expected outputs come from running each branch separately in PyTorch.
node/parity.mjs runs them with onnxruntime-node and reports max |diff| per output (bar: <= 1e-4).
"""
from __future__ import annotations

import argparse
import os

import numpy as np
import torch
from glimpse_convert.model import NEG, causal_bias

from . import bundle, config
from .model import GlimpseLM
from .train_target import load_model


def flat_past(past, c, b):
    hd = c.d_model // c.n_heads
    if past is None:
        return {f"past_key_values.{i}.{kv}": np.zeros((b, c.n_kv_heads, 0, hd), np.float32)
                for i in range(c.n_layers) for kv in ("key", "value")}
    return {f"past_key_values.{i}.{kv}": t.numpy() for i, (k, v) in enumerate(past) for kv, t in (("key", k), ("value", v))}


def expected(logits, h, presents, append_s: int = 0) -> dict:
    """The graph's outputs; append_s > 0: the tree graph's present_append (the last append_s positions only)."""
    out = {"logits": logits.numpy(), "last_hidden_state": h.numpy()}
    name = "present_append" if append_s else "present"
    for i, (k, v) in enumerate(presents):
        if append_s:
            k, v = k[:, :, -append_s:], v[:, :, -append_s:]
        out[f"{name}.{i}.key"] = k.numpy()
        out[f"{name}.{i}.value"] = v.numpy()
    return out


@torch.no_grad()
def run_case(w: bundle.Writer, m: GlimpseLM, name: str, b: int, past_len: int, s: int, pad: list[int], g: torch.Generator):
    """Left padding `pad[r]` tokens in row r of the prefix (or of the new tokens when past_len == 0)."""
    c = m.cfg
    total = past_len + s
    ids = torch.randint(8, c.vocab_size, (b, total), generator=g)
    mask = torch.ones(b, total, dtype=torch.int64)
    for r, p in enumerate(pad):
        mask[r, :p] = 0
    pos = (mask.cumsum(1) - 1).clamp(min=0)  # HF convention: padding does not advance positions
    past = None
    if past_len:
        _, _, past = m(ids[:, :past_len], mask[:, :past_len], pos[:, :past_len])
    new_ids, new_pos = ids[:, past_len:], pos[:, past_len:]
    logits, h, presents = m(new_ids, mask, new_pos, past)
    inputs = {"input_ids": new_ids.numpy(), "attention_mask": mask.numpy(), "position_ids": new_pos.numpy(), **flat_past(past, c, b)}
    w.case(name, "model.onnx", inputs, expected(logits, h, presents), f"b={b} past={past_len} s={s} pad={pad}")
    # the same inputs through the tree graph with the equivalent additive 4-D mask
    inputs4 = dict(inputs, attention_mask=causal_bias(mask, s).numpy())
    w.case(name + " [tree graph, 4-D mask]", "model_tree.onnx", inputs4, expected(logits, h, presents, append_s=s))


@torch.no_grad()
def tree_case(w: bundle.Writer, m: GlimpseLM, g: torch.Generator):
    """Prefix of 40 tokens, then a 5-node tree: root r, branch A = r a1 a2, branch B = r b1.
    Flattened order [r, a1, a2, b1]; each node sees the prefix and its ancestors only."""
    c = m.cfg
    prefix = torch.randint(8, c.vocab_size, (1, 40), generator=g)
    r, a1, a2, b1 = torch.randint(8, c.vocab_size, (4,), generator=g).tolist()
    _, _, past = m(prefix)
    nodes = torch.tensor([[r, a1, a2, b1]])
    depth = torch.tensor([[0, 1, 2, 1]]) + 40
    parent_sets = [[0], [0, 1], [0, 1, 2], [0, 3]]
    mask = torch.full((1, 1, 4, 44), NEG)
    mask[..., :40] = 0.0
    for i, anc in enumerate(parent_sets):
        for j in anc:
            mask[0, 0, i, 40 + j] = 0.0
    la, ha, pa = m(torch.tensor([[r, a1, a2]]), None, depth[:, :3], past, append_only=True)
    lb, hb, pb = m(torch.tensor([[r, b1]]), None, torch.tensor([[40, 41]]), past, append_only=True)
    logits = torch.cat([la, lb[:, 1:]], dim=1)
    h = torch.cat([ha, hb[:, 1:]], dim=1)
    # each node's K/V as its branch computed it
    presents = [(torch.cat([ka, kb[:, :, 1:]], dim=2), torch.cat([va, vb[:, :, 1:]], dim=2)) for (ka, va), (kb, vb) in zip(pa, pb)]
    inputs = {"input_ids": nodes.numpy(), "attention_mask": mask.numpy(), "position_ids": depth.numpy(), **flat_past(past, c, 1)}
    w.case("two-branch tree vs branches run separately", "model_tree.onnx", inputs,
           expected(logits, h, presents, append_s=4), "prefix 40, nodes r,a1,a2 | r,b1")


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__)
    cfg, _ = config.parse(p)
    torch.set_num_threads(2)
    m = load_model(cfg)
    out = os.path.join(cfg.out_dir, "parity")
    w = bundle.Writer(out)
    g = torch.Generator().manual_seed(7)
    run_case(w, m, "past 0, b=1, s=7", 1, 0, 7, [0], g)
    run_case(w, m, "past 0, b=2 left padding, s=9", 2, 0, 9, [3, 0], g)
    run_case(w, m, "past 300, b=1, 16 new tokens", 1, 300, 16, [0], g)
    run_case(w, m, "past 300, b=2 left padding, 16 new tokens", 2, 300, 16, [0, 37], g)
    run_case(w, m, "past 1, b=1, s=1 (decode step)", 1, 1, 1, [0], g)
    tree_case(w, m, g)
    w.close({"model_dir": cfg.model_dir})
    print(out)


if __name__ == "__main__":
    main()
