"""Target model trainer: resumable, time-boxed chunks (a chunk never runs past cfg.time_budget_s).

Training runs in phases: "main" on train.npy (cfg.mix), then, if cfg.anneal is set, "anneal" on anneal.npy
(a code-weighted stream) with its own warmup and cosine schedule. Checkpoints (<out>/ckpt/last.pt) hold model,
optimizer, phase, step, data position and elapsed time; rerunning the same command resumes where it stopped,
in whichever phase. Loss ignores <|pad|> targets. Logs one JSON line per eval to <out>/ckpt/log.jsonl.
"""
from __future__ import annotations

import argparse
import json
import math
import os
import time
from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F

from . import config
from .model import GlimpseLM

PAD = config.SPECIAL_TOKENS.index("<|pad|>")


@dataclass
class Phase:
    name: str
    data: str  # file in <out>/data
    lr: float
    min_lr: float
    warmup_steps: int
    max_steps: int
    train_seconds: float  # 0: steps only


def phases(cfg: config.Config) -> list[Phase]:
    out = [Phase("main", "train.npy", cfg.lr, cfg.min_lr, cfg.warmup_steps, cfg.max_steps, cfg.train_seconds)]
    a = cfg.anneal
    if a is not None:
        out.append(Phase("anneal", "anneal.npy", a.lr, a.min_lr, a.warmup_steps, a.max_steps, a.train_seconds))
    return out


def progress(ph: Phase, step: int, elapsed: float) -> float:
    """Fraction of a phase done: by steps or by wall time (ph.train_seconds), whichever is further.
    A fixed compute budget on a shared 2-core machine is easier to plan in seconds than in steps."""
    return max(step / ph.max_steps, elapsed / ph.train_seconds if ph.train_seconds else 0.0)


def lr_at(ph: Phase, step: int, elapsed: float = 0.0) -> float:
    if step < ph.warmup_steps:
        return ph.lr * (step + 1) / ph.warmup_steps
    t = min(1.0, max((step - ph.warmup_steps) / max(1, ph.max_steps - ph.warmup_steps), progress(ph, step, elapsed)))
    return ph.min_lr + 0.5 * (ph.lr - ph.min_lr) * (1 + math.cos(math.pi * t))


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
    p.add_argument("--budget", type=float, default=None, help="override the chunk time budget in seconds")
    cfg, args = config.parse(p)
    budget = args.budget or cfg.time_budget_s
    torch.set_num_threads(args.threads)  # torch defaults to 1 thread here
    torch.manual_seed(0)
    ps = config.paths(cfg)
    os.makedirs(ps["ckpt"], exist_ok=True)
    vals = {k: np.load(os.path.join(ps["data"], f"val_{k}.npy")) for k in ("code", "json", "fim", "rewrite")}
    plan = phases(cfg)
    model = GlimpseLM(cfg.model)
    opt = torch.optim.AdamW(model.parameters(), lr=cfg.lr, betas=(0.9, 0.95), weight_decay=0.1)
    ckpt = os.path.join(ps["ckpt"], "last.pt")
    phase_i, step, pos, elapsed = 0, 0, 0, 0.0
    if os.path.exists(ckpt):
        st = torch.load(ckpt, map_location="cpu")
        model.load_state_dict(st["model"])
        opt.load_state_dict(st["opt"])
        names = [ph.name for ph in plan]
        phase_i = names.index(st.get("phase", "main"))  # checkpoints from before phases were main-phase ones
        step, pos, elapsed = st["step"], st["pos"], st.get("elapsed", 0.0)
        if st.get("done"):
            phase_i = len(plan)
            print("training already complete (delete ckpt/last.pt to start over)")
        else:
            print(f"resumed in phase {plan[phase_i].name} at step {step}")
    print(f"params {model.num_params():,}  phases {[ph.name for ph in plan]}")

    t_chunk = time.time()
    last_ckpt = t_chunk
    log = open(os.path.join(ps["ckpt"], "log.jsonl"), "a")

    def save(now_elapsed: float, done: bool = False) -> None:
        tmp = ckpt + ".tmp"
        torch.save({"model": model.state_dict(), "opt": opt.state_dict(), "phase": plan[min(phase_i, len(plan) - 1)].name,
                    "step": step, "pos": pos, "elapsed": now_elapsed, "done": done, "config": config.as_dict(cfg)}, tmp)
        os.replace(tmp, ckpt)  # atomic: an interrupted save never corrupts the last checkpoint

    model.train()
    while phase_i < len(plan) and time.time() - t_chunk < budget:
        ph = plan[phase_i]
        data = np.load(os.path.join(ps["data"], ph.data), mmap_mode="r")
        t0 = time.time()
        tokens = 0
        ema = None
        print(f"phase {ph.name}: rows {len(data)}  steps {ph.max_steps}  seconds {ph.train_seconds}")
        while progress(ph, step, elapsed + time.time() - t0) < 1.0 and time.time() - t_chunk < budget:
            if pos + cfg.batch_size > len(data):
                pos = 0  # next epoch
            rows = np.asarray(data[pos : pos + cfg.batch_size])
            pos += cfg.batch_size
            for g in opt.param_groups:
                g["lr"] = lr_at(ph, step, elapsed + time.time() - t0)
            loss = batch_loss(model, rows)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
            opt.step()
            step += 1
            tokens += rows.size
            ema = float(loss) if ema is None else 0.98 * ema + 0.02 * float(loss)
            if step % 50 == 0 or step == ph.max_steps:
                dt = time.time() - t0
                rec = {"phase": ph.name, "step": step, "loss": round(ema, 4), "lr": round(lr_at(ph, step, elapsed + dt), 6),
                       "tok_s": round(tokens / dt), "elapsed_s": round(elapsed + dt)}
                if step % 500 == 0:
                    rec.update({f"val_{k}": round(val_loss(model, v, cfg.batch_size, 10), 4) for k, v in vals.items()})
                print(json.dumps(rec), flush=True)
                log.write(json.dumps(rec) + "\n")
                log.flush()
            if time.time() - last_ckpt > cfg.ckpt_every_s:
                save(elapsed + time.time() - t0)
                last_ckpt = time.time()
        elapsed += time.time() - t0
        if progress(ph, step, elapsed) < 1.0:
            break  # the chunk's budget ran out inside this phase
        final = {k: round(val_loss(model, v, cfg.batch_size, cfg.val_loss_batches), 4) for k, v in vals.items()}
        log.write(json.dumps({"phase": ph.name, "step": step, "elapsed_s": round(elapsed), "final_val": final}) + "\n")
        log.flush()
        print(json.dumps({"phase_done": ph.name, "val": final, "step": step, "elapsed_s": round(elapsed)}), flush=True)
        phase_i += 1
        step, pos, elapsed = 0, 0, 0.0
        if phase_i < len(plan):
            save(0.0)
    done = phase_i >= len(plan)
    save(elapsed, done)
    print(json.dumps({"done": done}))


if __name__ == "__main__":
    main()
