"""Batched greedy generation with the KV cache (PyTorch), recording the hidden state behind every token.

Used for speculator distillation data, the speculator acceptance benchmark and the generation metrics.
Prompts are sorted by length and left-padded; positions follow the HF convention (padding does not count).
"""
from __future__ import annotations

import torch

from .model import GlimpseLM


@torch.no_grad()
def greedy(model: GlimpseLM, prompts: list[list[int]], max_new: int, batch: int = 32, eot: int | None = None,
           pad: int = 7) -> list[dict]:
    """Returns, per prompt (in input order): {"tokens": [...], "hidden": FloatTensor[n, d]} where hidden[j] is the
    final-norm hidden state that produced tokens[j]. Generation stops after `eot` when given."""
    model.eval()
    order = sorted(range(len(prompts)), key=lambda i: len(prompts[i]))
    results: list[dict | None] = [None] * len(prompts)
    for start in range(0, len(order), batch):
        idx = order[start : start + batch]
        b = len(idx)
        L = max(len(prompts[i]) for i in idx)
        ids = torch.full((b, L), pad, dtype=torch.int64)
        mask = torch.zeros(b, L, dtype=torch.int64)
        for r, i in enumerate(idx):
            p = prompts[i]
            ids[r, L - len(p) :] = torch.tensor(p)
            mask[r, L - len(p) :] = 1
        pos = (mask.cumsum(1) - 1).clamp(min=0)
        logits, h, past = model(ids, mask, pos)
        last_h = h[:, -1]
        nxt = logits[:, -1].argmax(-1)
        next_pos = pos[:, -1:] + 1
        toks, hids = [], []
        done = torch.zeros(b, dtype=torch.bool)
        for step in range(max_new):
            toks.append(nxt)
            hids.append(last_h)
            if eot is not None:
                done |= nxt == eot
                if bool(done.all()):
                    break
            if step == max_new - 1:
                break
            mask = torch.cat([mask, torch.ones(b, 1, dtype=torch.int64)], dim=1)
            logits, h, past = model(nxt[:, None], mask, next_pos, past)
            next_pos = next_pos + 1
            last_h = h[:, -1]
            nxt = logits[:, -1].argmax(-1)
        T = torch.stack(toks, 1)
        H = torch.stack(hids, 1)
        for r, i in enumerate(idx):
            t = T[r].tolist()
            n = len(t)
            if eot is not None and eot in t:
                n = t.index(eot) + 1
            results[i] = {"tokens": t[:n], "hidden": H[r, :n].clone()}
    return results  # type: ignore[return-value]
