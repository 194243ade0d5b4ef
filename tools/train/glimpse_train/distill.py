"""Distillation data for the speculators: the target's own greedy generations and the hidden states behind them.

<out>/distill/train.pt  from training-split prompts (cfg.distill_prompts x cfg.distill_new_tokens tokens)
<out>/distill/eval.pt   from 100 held-out prompts (data/eval_prompts.jsonl): the acceptance benchmark
Each is a list of {"tokens": [...], "hidden": float32 [n, d]} where hidden[j] produced tokens[j].
Generation does not stop at <|endoftext|>: whatever the target does greedily is what the speculator must predict.
"""
from __future__ import annotations

import argparse
import json
import os
import time

import torch

from . import config
from .generate import greedy
from .train_target import load_model


def prompts(path: str) -> list[list[int]]:
    with open(path, encoding="utf-8") as f:
        return [json.loads(l)["ids"] for l in f]


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--batch", type=int, default=48)
    cfg, args = config.parse(p)
    torch.set_num_threads(2)
    ps = config.paths(cfg)
    os.makedirs(ps["distill"], exist_ok=True)
    model = load_model(cfg)
    for name, src in (("eval", "eval_prompts.jsonl"), ("train", "distill_prompts.jsonl")):
        t0 = time.time()
        pr = prompts(os.path.join(ps["data"], src))
        seqs = greedy(model, pr, cfg.distill_new_tokens, batch=args.batch)
        for s, q in zip(seqs, pr):
            s["prompt"] = q
            s["hidden"] = s["hidden"].float()
        torch.save(seqs, os.path.join(ps["distill"], name + ".pt"))
        n = sum(len(s["tokens"]) for s in seqs)
        print(json.dumps({"set": name, "prompts": len(pr), "tokens": n, "seconds": round(time.time() - t0, 1)}), flush=True)


if __name__ == "__main__":
    main()
