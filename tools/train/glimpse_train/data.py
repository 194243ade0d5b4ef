"""Builds the tokenized data mix: packed training rows, per-task validation rows and held-out eval prompts.

Output (in <out>/data/):
  train.npy                 uint16 [rows, seq_len+1]; examples packed whole into rows, padded with <|pad|>
  anneal.npy                same layout: the second training phase's code-weighted stream (cfg.anneal)
  val_{code,json,fim,rewrite}.npy   same layout, built from the held-out split only
  eval_{json,rewrite,prompts}.jsonl held-out prompts for JSON validity, rewrite exact match, speculator acceptance
  distill_prompts.jsonl     training-split prompts for speculator distillation
Packing keeps every structured example inside one row, so a rewrite never loses its original file.
"""
from __future__ import annotations

import argparse
import json
import os
import random

import numpy as np

from . import config, examples
from .tokenizer import Tokenizer


def load_docs(path: str) -> list[dict]:
    with open(path, encoding="utf-8") as f:
        return [json.loads(l) for l in f]


def chunk_doc(tok: Tokenizer, text: str, max_tokens: int) -> list[list[int]]:
    """Split a document at line boundaries into pieces of at most max_tokens tokens (last one ends with eot)."""
    out, cur = [], []
    for line in text.splitlines(keepends=True):
        ids = tok.encode(line)[:max_tokens]
        if cur and len(cur) + len(ids) > max_tokens:
            out.append(cur)
            cur = []
        cur = cur + ids
    if cur:
        if len(cur) < max_tokens:
            cur.append(tok.eot)
        out.append(cur)
    return out


def task_examples(tok: Tokenizer, docs: list[dict], task: str, budget: int, seq: int, rng: random.Random):
    """Yields token lists for one task until `budget` tokens were produced."""
    n = 0
    code = [d for d in docs if d["kind"] == "code"]
    jsn = [d for d in docs if d["kind"] == "json"]
    order = list(range(len(docs)))
    while n < budget:
        rng.shuffle(order)
        produced = 0
        if task in ("code", "json"):
            pool = code if task == "code" else jsn
            idx = list(range(len(pool)))
            rng.shuffle(idx)
            for i in idx:
                for piece in chunk_doc(tok, pool[i]["text"], seq):
                    yield piece
                    n += len(piece)
                    produced += 1
                if n >= budget:
                    return
        else:
            for i in order:
                d = docs[i]
                ex = examples.rewrite_example(rng, d) if task == "rewrite" else examples.fim_example(rng, d)
                if ex is None:
                    continue
                ids = tok.encode(ex["prompt"] + ex["completion"])
                if len(ids) > seq:
                    continue
                yield ids
                n += len(ids)
                produced += 1
                if n >= budget:
                    return
        if produced == 0:
            return


def pack(seqs: list[list[int]], row_len: int, pad: int, rng: random.Random) -> np.ndarray:
    """First-fit packing in shuffled order; nothing is split across rows."""
    rng.shuffle(seqs)
    rows: list[list[int]] = []
    open_rows: list[int] = []  # indices of rows with room left
    for s in seqs:
        s = s[:row_len]
        placed = False
        for k, r in enumerate(open_rows[-8:]):  # look at a few recent rows only: fast and good enough
            row = rows[r]
            if len(row) + len(s) <= row_len:
                row.extend(s)
                placed = True
                break
        if not placed:
            rows.append(list(s))
            open_rows.append(len(rows) - 1)
    arr = np.full((len(rows), row_len), pad, dtype=np.uint16)
    for i, r in enumerate(rows):
        arr[i, : len(r)] = r
    perm = np.random.default_rng(0).permutation(len(rows))
    return arr[perm]


def build_train(cfg: config.Config, tok: Tokenizer, docs: list[dict], mix: dict, tokens: int, seed: int) -> np.ndarray:
    rng = random.Random(seed)
    seqs: list[list[int]] = []
    for task, frac in mix.items():
        seqs.extend(task_examples(tok, docs, task, int(tokens * frac), cfg.seq_len, rng))
    return pack(seqs, cfg.seq_len + 1, tok.special_ids["<|pad|>"], rng)


def build_anneal(cfg: config.Config, tok: Tokenizer, docs: list[dict], out: str) -> dict:
    a = cfg.anneal
    if a is None:
        return {}
    arr = build_train(cfg, tok, docs, a.mix, a.train_tokens, a.seed)
    np.save(os.path.join(out, "anneal.npy"), arr)
    return {"anneal_rows": int(arr.shape[0]), "anneal_tokens_nonpad": int((arr != tok.special_ids["<|pad|>"]).sum())}


def build_eval(cfg: config.Config, tok: Tokenizer, val: list[dict], out: str) -> dict:
    rng = random.Random(2)
    counts = {}
    budget = cfg.val_loss_batches * cfg.batch_size * cfg.seq_len
    for task in ("code", "json", "fim", "rewrite"):
        seqs = list(task_examples(tok, val, task, budget, cfg.seq_len, rng))
        arr = pack(seqs, cfg.seq_len + 1, tok.special_ids["<|pad|>"], rng)
        np.save(os.path.join(out, f"val_{task}.npy"), arr)
        counts[f"val_{task}_rows"] = int(arr.shape[0])
    # held-out prompts for generation metrics; short enough to complete inside seq_len
    small_json = [d for d in val if d["kind"] == "json" and len(tok.encode(d["text"])) <= cfg.seq_len - 8]
    makers = {
        "json": (small_json, examples.json_prefix_example),
        "rewrite": (val, examples.rewrite_example),
    }
    for name, (pool, make) in makers.items():
        items = []
        tries = 0
        while len(items) < cfg.eval_prompts and tries < 100 * cfg.eval_prompts and pool:
            tries += 1
            ex = make(rng, rng.choice(pool))
            if ex is None or len(tok.encode(ex["prompt"] + ex["completion"])) > cfg.seq_len:
                continue
            if any(e["prompt"] == ex["prompt"] for e in items):
                continue
            items.append(ex)
        with open(os.path.join(out, f"eval_{name}.jsonl"), "w", encoding="utf-8") as f:
            for e in items:
                f.write(json.dumps(e, ensure_ascii=False) + "\n")
        counts[f"eval_{name}"] = len(items)
    # speculator acceptance prompts: a mix of all tasks (held-out)
    write_prompts(tok, val, cfg.eval_prompts, cfg.seq_len - cfg.distill_new_tokens, os.path.join(out, "eval_prompts.jsonl"), rng)
    return counts


def write_prompts(tok: Tokenizer, docs: list[dict], n: int, max_tokens: int, path: str, rng: random.Random) -> None:
    """Prompts for greedy generation: rewrite/fim prompts, code and JSON prefixes (token ids, <= max_tokens)."""
    items = []
    tries = 0
    while len(items) < n and tries < 50 * n:
        tries += 1
        d = rng.choice(docs)
        r = rng.random()
        if r < 0.4:
            ex = examples.rewrite_example(rng, d)
            text = ex and ex["prompt"]
        elif r < 0.6:
            ex = examples.fim_example(rng, d)
            text = ex and ex["prompt"]
        else:
            text = examples.snippet(rng, d["text"], 3, 12)
        if not text:
            continue
        ids = tok.encode(text)
        if 8 <= len(ids) <= max_tokens:
            items.append({"text": text, "ids": ids})
    with open(path, "w", encoding="utf-8") as f:
        for e in items:
            f.write(json.dumps(e, ensure_ascii=False) + "\n")


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--only-anneal", action="store_true", help="build anneal.npy alone (the rest exists already)")
    cfg, args = config.parse(p)
    ps = config.paths(cfg)
    os.makedirs(ps["data"], exist_ok=True)
    tok = Tokenizer.load(ps["tokenizer"])
    train = load_docs(os.path.join(ps["corpus"], "train.jsonl"))
    info_path = os.path.join(ps["data"], "info.json")
    if args.only_anneal:
        info = json.load(open(info_path)) if os.path.exists(info_path) else {}
        info.update(build_anneal(cfg, tok, train, ps["data"]))
        with open(info_path, "w") as f:
            json.dump(info, f, indent=1)
        print(json.dumps(info))
        return
    val = load_docs(os.path.join(ps["corpus"], "val.jsonl"))
    arr = build_train(cfg, tok, train, cfg.mix, cfg.train_tokens, 1)
    np.save(os.path.join(ps["data"], "train.npy"), arr)
    info = {"train_rows": int(arr.shape[0]), "train_tokens_nonpad": int((arr != tok.special_ids["<|pad|>"]).sum())}
    info.update(build_anneal(cfg, tok, train, ps["data"]))
    info.update(build_eval(cfg, tok, val, ps["data"]))
    write_prompts(tok, train, cfg.distill_prompts, cfg.seq_len - cfg.distill_new_tokens,
                  os.path.join(ps["data"], "distill_prompts.jsonl"), random.Random(3))
    with open(info_path, "w") as f:
        json.dump(info, f, indent=1)
    print(json.dumps(info))


if __name__ == "__main__":
    main()
