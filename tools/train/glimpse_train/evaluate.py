"""Quality figures of the target model, all on held-out data (the val split of the corpus):

  val loss (nats/token) on code, JSON, FIM and rewrite rows       -> metrics/val_loss.json
  JSON validity: greedy completion of held-out JSON prefixes      -> metrics/generation.json
     (valid = json.loads(prefix + completion) succeeds, completion ends with <|endoftext|>)
  rewrite exact match: greedy rewrite of held-out files with a small edit instruction
  a few greedy samples for the model card                         -> metrics/samples.md
Speculator acceptance is measured by train_speculator.py (metrics/speculator-*.json).
"""
from __future__ import annotations

import argparse
import json
import os
import time

import numpy as np
import torch

from . import config
from .generate import greedy
from .tokenizer import Tokenizer
from .train_target import load_model, val_loss


def load_jsonl(path: str) -> list[dict]:
    with open(path, encoding="utf-8") as f:
        return [json.loads(l) for l in f]


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__)
    cfg, _ = config.parse(p)
    torch.set_num_threads(2)
    ps = config.paths(cfg)
    out = os.path.join(cfg.out_dir, "metrics")
    os.makedirs(out, exist_ok=True)
    tok = Tokenizer.load(ps["tokenizer"])
    model = load_model(cfg)
    t0 = time.time()
    losses = {}
    for k in ("code", "json", "fim", "rewrite"):
        arr = np.load(os.path.join(ps["data"], f"val_{k}.npy"))
        losses[k] = round(val_loss(model, arr, cfg.batch_size, 10_000), 4)
        losses[f"{k}_tokens"] = int((arr[:, 1:] != config.SPECIAL_TOKENS.index("<|pad|>")).sum())
    with open(os.path.join(out, "val_loss.json"), "w") as f:
        json.dump(losses, f, indent=1)
    print(json.dumps({"val_loss": losses}), flush=True)

    gen = {}
    samples = []
    for task in ("json", "rewrite"):
        items = load_jsonl(os.path.join(ps["data"], f"eval_{task}.jsonl"))
        prompts = [tok.encode(e["prompt"]) for e in items]
        max_new = max(len(tok.encode(e["completion"])) for e in items) + 16
        res = greedy(model, prompts, max_new, batch=25, eot=tok.eot)
        ok = 0
        for e, r in zip(items, res):
            text = tok.decode(r["tokens"])
            if task == "json":
                ended = text.endswith("<|endoftext|>")
                try:
                    json.loads(e["prompt"] + text.removesuffix("<|endoftext|>"))
                    good = ended
                except ValueError:
                    good = False
            else:
                good = text == e["completion"]
            ok += good
            if len(samples) < 3 * (1 + (task == "rewrite")):
                samples.append((task, e["prompt"], text, good))
        gen[task] = {"n": len(items), "correct": ok, "rate": round(ok / max(1, len(items)), 4)}
    gen["seconds"] = round(time.time() - t0, 1)
    with open(os.path.join(out, "generation.json"), "w") as f:
        json.dump(gen, f, indent=1)
    with open(os.path.join(out, "samples.md"), "w") as f:
        for task, prompt, text, good in samples:
            f.write(f"### {task} ({'correct' if good else 'wrong'})\n\nPrompt:\n```\n{prompt}\n```\nGreedy output:\n```\n{text}\n```\n\n")
    print(json.dumps({"generation": gen}), flush=True)


if __name__ == "__main__":
    main()
