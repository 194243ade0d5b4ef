"""The torch reference the exported graphs are checked against: an 8-token prompt, then 2 greedy decode steps.

Writes DIR/manifest.json + little-endian .bin files: the prompt, the reference's greedy tokens (fed to every
graph, so all of them see the same inputs) and its float32 logits at all 10 positions. node/parity.mjs replays
the same calls through onnxruntime-node and compares.
"""
from __future__ import annotations

import json
import os

import numpy as np
import torch

from .model import Decoder

PROMPT_LEN, DECODE_STEPS = 8, 2


def write_reference(model: Decoder, out_dir: str, seed: int = 1) -> dict:
    sp = model.spec
    rng = np.random.default_rng(seed)
    prompt = rng.integers(0, sp.vocab_size, PROMPT_LEN).astype(np.int64)
    rows, tokens = [], []
    with torch.no_grad():
        ids = torch.from_numpy(prompt).unsqueeze(0)
        pos = torch.arange(PROMPT_LEN).unsqueeze(0)
        mask = torch.ones(1, PROMPT_LEN, dtype=torch.int64)
        logits, _, past = model(ids, mask, pos, None, torch.tensor(0))
        rows.append(logits[0].numpy())
        for step in range(DECODE_STEPS):
            tok = int(logits[0, -1].argmax())
            tokens.append(tok)
            t = PROMPT_LEN + step
            logits, _, past = model(torch.tensor([[tok]]), torch.ones(1, t + 1, dtype=torch.int64),
                                    torch.tensor([[t]]), past, torch.tensor(1))
            rows.append(logits[0].numpy())
    ref = np.concatenate(rows, axis=0).astype(np.float32)  # [PROMPT_LEN + DECODE_STEPS, V]
    os.makedirs(out_dir, exist_ok=True)
    ref.tofile(os.path.join(out_dir, "logits.bin"))
    top2 = np.sort(ref, axis=-1)[:, -2:]
    manifest = {"prompt": prompt.tolist(), "decode_tokens": tokens, "vocab_size": sp.vocab_size,
                "layers": sp.layers, "kv_heads": sp.kv_heads, "head_dim": sp.head_dim,
                "logits": {"file": "logits.bin", "dims": list(ref.shape)},
                "min_top2_gap": float((top2[:, 1] - top2[:, 0]).min())}
    with open(os.path.join(out_dir, "manifest.json"), "w") as f:
        json.dump(manifest, f)
    return manifest
