"""Writes the small JSON fixtures that the TypeScript tests (packages/runtime-cuda/test/embedded-model.test.ts)
check the shipped ONNX files and tokenizer against. Everything expected here is computed by PyTorch / the
Python tokenizer; the tests recompute it with onnxruntime-node / @huggingface/tokenizers.

<model>/fixtures/tokenizer.json    texts and their ids
<model>/fixtures/model.json        prefill, decode-with-past, batch-2-with-padding and 16-token greedy cases
<model>/fixtures/tree.json         a two-branch tree through model_tree.onnx (4-D mask)
<model>/fixtures/speculators.json  draft tokens and probabilities of both speculators
Logits are stored as slices (first LOGIT_SLICE vocab entries) plus per-position argmax, to keep files small.
"""
from __future__ import annotations

import argparse
import json
import os

import torch
from glimpse_convert.model import NEG

from . import config
from .speculator import ArcticSpeculator
from .tokenizer import Tokenizer
from .train_target import load_model

LOGIT_SLICE = 16


def r(t: torch.Tensor) -> list:
    return [round(float(x), 6) for x in t.reshape(-1)]


TOKENIZER_SAMPLES = [
    "const x = 42;\n",
    "export function add(a: number, b: number): number {\n  return a + b;\n}\n",
    '{\n  "name": "glimpse",\n  "version": "0.1.0",\n  "private": true\n}\n',
    "héllo wörld 🎉 — ünïcode 中文 and emoji 🚀\n",
    "\t\tindented with tabs\n    and spaces   \n\n",
    "it's we'll they've I'm you'd",
    "<|file|>let a = 1;\n<|edit|>Change `1` to `2`.<|rewrite|>let a = 2;\n<|endoftext|>",
    "<|fim_prefix|>function f() {\n  <|fim_suffix|>\n}\n<|fim_middle|>return 1;<|endoftext|>",
    "   leading spaces and trailing   ",
    "x=>x*2;arr.map((v,i)=>v+i).filter(Boolean)",
]


def slices(logits: torch.Tensor) -> dict:
    return {"logits_slice": r(logits[..., :LOGIT_SLICE]), "argmax": logits.argmax(-1).reshape(-1).tolist()}


@torch.no_grad()
def main() -> None:
    p = argparse.ArgumentParser(description=__doc__)
    cfg, _ = config.parse(p)
    ps = config.paths(cfg)
    out = os.path.join(ps["model"], "fixtures")
    os.makedirs(out, exist_ok=True)
    tok = Tokenizer.load(ps["tokenizer"])
    samples = list(TOKENIZER_SAMPLES)
    with open(os.path.join(ps["data"], "eval_prompts.jsonl"), encoding="utf-8") as f:
        held = [json.loads(l)["text"] for l in f]
    samples += [h[:300] for h in held[:20]]
    with open(os.path.join(out, "tokenizer.json"), "w", encoding="utf-8") as f:
        json.dump({"samples": [{"text": s, "ids": tok.encode(s)} for s in samples]}, f, ensure_ascii=False)

    m = load_model(cfg)
    c = m.cfg
    prompt = "export function clamp(value: number, min: number, max: number): number {\n"
    ids = torch.tensor([tok.encode(prompt)])
    n = ids.shape[1]
    logits, h, past = m(ids)
    fx = {"logit_slice": LOGIT_SLICE, "tolerance": 1e-4, "config": {"n_layers": c.n_layers, "n_kv_heads": c.n_kv_heads,
                                                                    "head_dim": c.d_model // c.n_heads, "hidden_size": c.d_model,
                                                                    "vocab_size": c.vocab_size}}
    fx["prefill"] = {"input_ids": ids[0].tolist(), **slices(logits[0]), "last_hidden_state_last": r(h[0, -1])}
    more = torch.tensor([tok.encode("  return Math.min(")])
    k = more.shape[1]
    l2, h2, past2 = m(more, torch.ones(1, n + k, dtype=torch.int64), torch.arange(n, n + k)[None], past)
    fx["decode"] = {"input_ids": more[0].tolist(), "past_length": n, **slices(l2[0]), "last_hidden_state_last": r(h2[0, -1])}
    # greedy: 16 tokens, one decode step at a time (exercises the KV cache loop end to end)
    g, cur, pk, L = [], l2[:, -1].argmax(-1), past2, n + k
    for _ in range(16):
        g.append(int(cur))
        lg, _, pk = m(cur[:, None], torch.ones(1, L + 1, dtype=torch.int64), torch.tensor([[L]]), pk)
        L += 1
        cur = lg[:, -1].argmax(-1)
    fx["greedy_after_decode"] = g
    # batch 2, left padding on row 1 (positions do not advance over padding)
    a = tok.encode("const items = [1, 2, 3];\n")
    b = tok.encode("let y = 0;\n")
    T = max(len(a), len(b))
    bids = torch.full((2, T), config.SPECIAL_TOKENS.index("<|pad|>"))
    mask = torch.zeros(2, T, dtype=torch.int64)
    for row, s in enumerate((a, b)):
        bids[row, T - len(s):] = torch.tensor(s)
        mask[row, T - len(s):] = 1
    pos = (mask.cumsum(1) - 1).clamp(min=0)
    bl, _, _ = m(bids, mask, pos)
    fx["batch_padding"] = {"input_ids": bids.tolist(), "attention_mask": mask.tolist(), "position_ids": pos.tolist(),
                           "last_logits_slice": r(bl[:, -1, :LOGIT_SLICE]), "last_argmax": bl[:, -1].argmax(-1).tolist()}
    with open(os.path.join(out, "model.json"), "w") as f:
        json.dump(fx, f)

    # tree: after the prompt, nodes [r, a1, a2, b1] with branches r-a1-a2 and r-b1
    nodes = tok.encode("  return value")[:3]
    nodes = (nodes + [nodes[-1]] * 3)[:3] + [tok.encode(" if")[0]]
    anc = [[0], [0, 1], [0, 1, 2], [0, 3]]
    mask4 = torch.full((1, 1, 4, n + 4), NEG)
    mask4[..., :n] = 0.0
    for i, aset in enumerate(anc):
        for j in aset:
            mask4[0, 0, i, n + j] = 0.0
    depth = [n + len(a_) - 1 for a_ in anc]
    tl, th, _ = m(torch.tensor([nodes]), mask4, torch.tensor([depth]), past)
    with open(os.path.join(out, "tree.json"), "w") as f:
        json.dump({"prefix_ids": ids[0].tolist(), "node_ids": nodes, "ancestors": anc, "position_ids": depth,
                   "mask_value": NEG, **slices(tl[0]), "last_hidden_state_slice": r(th[0, :, :8])}, f)

    # speculators: real hidden states of the target
    spec_fx = {}
    hs = torch.stack([h[0, -1], h2[0, -1]])
    last = torch.stack([logits[0, -1].argmax(), l2[0, -1].argmax()])
    for method in ("mlp", "lstm"):
        path = os.path.join(ps["distill"], f"speculator-{method}.pt")
        if not os.path.exists(path):
            continue
        sp = ArcticSpeculator(c.d_model, cfg.spec_inner_dim, c.vocab_size, cfg.n_predict, method, cfg.spec_tie_weights)
        sp.load_state_dict(torch.load(path))
        sp.eval()
        tids, probs = sp(hs, last)
        spec_fx[method] = {"token_ids": tids.tolist(), "probs": r(probs)}
    with open(os.path.join(out, "speculators.json"), "w") as f:
        json.dump({"hidden_state": [r(x) for x in hs], "last_token": last.tolist(), **spec_fx}, f)
    print(out)


if __name__ == "__main__":
    main()
