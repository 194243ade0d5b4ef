"""Target model trainer: resumable, time-boxed chunks (a chunk never runs past cfg.time_budget_s).

Checkpoints (<out>/ckpt/last.pt) hold model, optimizer, step and data position; rerunning the same
command resumes. Cosine LR with warmup over cfg.max_steps. Loss ignores <|pad|> targets.
Logs one JSON line per eval to <out>/ckpt/log.jsonl.
"""
from __future__ import annotations

import argparse
import json
import math
import os
import time

import numpy as np
import torch
import torch.nn.functional as F

from . import config
from .model import GlimpseLM

PAD = config.SPECIAL_TOKENS.index("<|pad|>")


def progress(cfg: config.Config, step: int, elapsed: float) -> float:
    """Fraction of training done: by steps or by total wall time (cfg.train_seconds), whichever is further.
    A fixed compute budget on a shared 2-core machine is easier to plan in seconds than in steps."""
    return max(step / cfg.max_steps, elapsed / cfg.train_seconds if cfg.train_seconds else 0.0)


def lr_at(cfg: config.Config, step: int, elapsed: float = 0.0) -> float:
    if step < cfg.warmup_steps:
        return cfg.lr * (step + 1) / cfg.warmup_steps
    t = min(1.0, max((step - cfg.warmup_steps) / max(1, cfg.max_steps - cfg.warmup_steps), progress(cfg, step, elapsed)))
    return cfg.min_lr + 0.5 * (cfg.lr - cfg.min_lr) * (1 + math.cos(math.pi * t))


def batch_loss(model: GlimpseLM, rows: np.ndarray) -> torch.Tensor:
    x = torch.from_numpy(rows.astype(np.int64))
    inp, tgt = x[:, :-1], x[:, 1:].clone()
    tgt[tgt == PAD] = -100
    logits, _, _ = model(inp)
    return F.cross_entropy(logits.reshape(-1, logits.shape[-1]), tgt.reshape(-1), ignore_index=-100)


@torch.no_grad()
def val_loss(model: GlimpseLM, arr: np.ndarray, bs: int, max_batches: int) -> float:
    """Mean nats per (non-pad) target token."""
    model.eval()
    tot, n = 0.0, 0
    for i in range(0, min(len(arr), bs * max_batches), bs):
        x = torch.from_numpy(arr[i : i + bs].astype(np.int64))
        inp, tgt = x[:, :-1], x[:, 1:].clone()
        tgt[tgt == PAD] = -100
        logits, _, _ = model(inp)
        l = F.cross_entropy(logits.reshape(-1, logits.shape[-1]), tgt.reshape(-1), ignore_index=-100, reduction="sum")
        tot += float(l)
        n += int((tgt != -100).sum())
    model.train()
    return tot / max(1, n)


def load_model(cfg: config.Config, path: str | None = None) -> GlimpseLM:
    model = GlimpseLM(cfg.model)
    path = path or os.path.join(config.paths(cfg)["ckpt"], "last.pt")
    state = torch.load(path, map_location="cpu")
    model.load_state_dict(state["model"])
    model.eval()
    return model


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--max-steps", type=int, default=None, help="override cfg.max_steps (LR schedule length)")
    p.add_argument("--budget", type=float, default=None, help="override the chunk time budget in seconds")
    p.add_argument("--train-seconds", type=float, default=None, help="override the total training time (all chunks)")
    cfg, args = config.parse(p)
    if args.max_steps:
        cfg.max_steps = args.max_steps
    if args.train_seconds:
        cfg.train_seconds = args.train_seconds
    budget = args.budget or cfg.time_budget_s
    torch.set_num_threads(args.threads)  # torch defaults to 1 thread here
    torch.manual_seed(0)
    ps = config.paths(cfg)
    os.makedirs(ps["ckpt"], exist_ok=True)
    data = np.load(os.path.join(ps["data"], "train.npy"), mmap_mode="r")
    vals = {k: np.load(os.path.join(ps["data"], f"val_{k}.npy")) for k in ("code", "json", "fim", "rewrite")}
    model = GlimpseLM(cfg.model)
    opt = torch.optim.AdamW(model.parameters(), lr=cfg.lr, betas=(0.9, 0.95), weight_decay=0.1)
    ckpt = os.path.join(ps["ckpt"], "last.pt")
    step, pos, elapsed_total = 0, 0, 0.0
    if os.path.exists(ckpt):
        st = torch.load(ckpt, map_location="cpu")
        model.load_state_dict(st["model"])
        opt.load_state_dict(st["opt"])
        step, pos, elapsed_total = st["step"], st["pos"], st.get("elapsed", 0.0)
        print(f"resumed at step {step}")
    print(f"params {model.num_params():,}  rows {len(data)}  steps {cfg.max_steps}")

    def save():
        tmp = ckpt + ".tmp"
        torch.save({"model": model.state_dict(), "opt": opt.state_dict(), "step": step, "pos": pos,
                    "elapsed": elapsed_total + time.time() - t0, "config": config.as_dict(cfg)}, tmp)
        os.replace(tmp, ckpt)  # atomic: an interrupted save never corrupts the last checkpoint

    t0 = time.time()
    last_ckpt = t0
    log = open(os.path.join(ps["ckpt"], "log.jsonl"), "a")
    model.train()
    tokens = 0
    ema = None
    while progress(cfg, step, elapsed_total + time.time() - t0) < 1.0 and time.time() - t0 < budget:
        if pos + cfg.batch_size > len(data):
            pos = 0  # next epoch
        rows = np.asarray(data[pos : pos + cfg.batch_size])
        pos += cfg.batch_size
        for g in opt.param_groups:
            g["lr"] = lr_at(cfg, step, elapsed_total + time.time() - t0)
        loss = batch_loss(model, rows)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        step += 1
        tokens += rows.size
        ema = float(loss) if ema is None else 0.98 * ema + 0.02 * float(loss)
        if step % 50 == 0 or step == cfg.max_steps:
            dt = time.time() - t0
            rec = {"step": step, "loss": round(ema, 4), "lr": round(lr_at(cfg, step, elapsed_total + dt), 6), "tok_s": round(tokens / dt),
                   "elapsed_s": round(elapsed_total + dt)}
            if step % 500 == 0:
                rec.update({f"val_{k}": round(val_loss(model, v, cfg.batch_size, 10), 4) for k, v in vals.items()})
            print(json.dumps(rec), flush=True)
            log.write(json.dumps(rec) + "\n")
            log.flush()
        if time.time() - last_ckpt > cfg.ckpt_every_s:
            save()
            last_ckpt = time.time()
    save()
    final = {k: round(val_loss(model, v, cfg.batch_size, cfg.val_loss_batches), 4) for k, v in vals.items()}
    log.write(json.dumps({"step": step, "final_val": final}) + "\n")
    print(json.dumps({"done": progress(cfg, step, elapsed_total + time.time() - t0) >= 1.0, "val": final, "step": step, "elapsed_s": round(elapsed_total + time.time() - t0)}))


if __name__ == "__main__":
    main()
