"""Trains the MLP and LSTM Arctic speculators by distillation, exports them to ONNX, measures acceptance.

Training pairs come from the target's greedy generations (distill.py): for a generated token g_j and the hidden
state h_j that produced it, head i gets input token g_{j+i} (teacher forcing) and must predict g_{j+1+i}.
Output per method in <model>/speculator-<method>/: model.onnx, config.json; metrics in <out>/metrics/.

ONNX signature (opset 14, dynamic batch):
  inputs : hidden_state [b, hidden_size] float32, last_token [b] int64
  outputs: token_ids [b, n_predict] int64, probs [b, n_predict] float32  (greedy chain inside the graph)
"""
from __future__ import annotations

import argparse
import json
import math
import os
import time

import torch
import torch.nn.functional as F

from . import config
from .speculator import ArcticSpeculator


def pairs(seqs: list[dict], n: int) -> tuple[torch.Tensor, torch.Tensor]:
    """(hidden [N, d], tokens [N, n+1]) where tokens[:, 0] is the last token and tokens[:, 1:] the targets."""
    H, T = [], []
    for s in seqs:
        t = torch.tensor(s["tokens"])
        m = len(t) - n
        if m <= 0:
            continue
        H.append(s["hidden"][:m])
        T.append(torch.stack([t[k : k + m] for k in range(n + 1)], 1))
    return torch.cat(H), torch.cat(T)


@torch.no_grad()
def acceptance(spec: ArcticSpeculator, seqs: list[dict]) -> dict:
    """Replays each greedy trajectory as a speculative decode: at each verification step the speculator drafts
    n tokens from (hidden, last token); the target accepts the longest prefix equal to its own greedy tokens,
    plus one token of its own. Exact for greedy decoding, since the trajectory is the target's greedy output."""
    spec.eval()
    steps = accepted = 0
    for s in seqs:
        toks, hid = s["tokens"], s["hidden"]
        j = 0
        while j < len(toks) - 1:
            draft, _ = spec(hid[j : j + 1], torch.tensor([toks[j]]))
            a = 0
            for k, d in enumerate(draft[0].tolist()):
                if j + 1 + k < len(toks) and d == toks[j + 1 + k]:
                    a += 1
                else:
                    break
            steps += 1
            accepted += a
            j += a + 1
    return {"verification_steps": steps, "mean_accepted_per_step": accepted / max(1, steps),
            "mean_tokens_per_step": (accepted + steps) / max(1, steps)}


def export(spec: ArcticSpeculator, folder: str) -> None:
    os.makedirs(folder, exist_ok=True)
    spec.eval()
    h = torch.randn(2, spec.d_model)
    t = torch.tensor([1, 2], dtype=torch.int64)
    with torch.no_grad():
        torch.onnx.export(spec, (h, t), os.path.join(folder, "model.onnx"), input_names=["hidden_state", "last_token"],
                          output_names=["token_ids", "probs"], opset_version=14, do_constant_folding=True,
                          dynamic_axes={"hidden_state": {0: "batch_size"}, "last_token": {0: "batch_size"},
                                        "token_ids": {0: "batch_size"}, "probs": {0: "batch_size"}})
    with open(os.path.join(folder, "config.json"), "w") as f:
        json.dump(spec.config(), f, indent=2)


def train(cfg: config.Config, method: str, H, T, log) -> ArcticSpeculator:
    torch.manual_seed(0)
    spec = ArcticSpeculator(cfg.model.d_model, cfg.spec_inner_dim, cfg.model.vocab_size, cfg.n_predict, method, cfg.spec_tie_weights)
    opt = torch.optim.AdamW(spec.parameters(), lr=cfg.spec_lr, weight_decay=0.01)
    n = len(H)
    t0 = time.time()
    for step in range(cfg.spec_steps):
        lr = cfg.spec_lr * min(1.0, (step + 1) / 50) * 0.5 * (1 + math.cos(math.pi * step / cfg.spec_steps))
        for g in opt.param_groups:
            g["lr"] = lr
        idx = torch.randint(0, n, (cfg.spec_batch,))
        tok = T[idx]
        logits = spec.forward_teacher(H[idx], tok[:, :-1])
        loss = F.cross_entropy(logits.reshape(-1, logits.shape[-1]), tok[:, 1:].reshape(-1))
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        if (step + 1) % 100 == 0 or step + 1 == cfg.spec_steps:
            rec = {"method": method, "step": step + 1, "loss": round(float(loss), 4), "seconds": round(time.time() - t0, 1)}
            print(json.dumps(rec), flush=True)
            log.write(json.dumps(rec) + "\n")
    return spec


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--methods", default="mlp,lstm")
    cfg, args = config.parse(p)
    torch.set_num_threads(2)
    ps = config.paths(cfg)
    train_seqs = torch.load(os.path.join(ps["distill"], "train.pt"))
    eval_seqs = torch.load(os.path.join(ps["distill"], "eval.pt"))
    H, T = pairs(train_seqs, cfg.n_predict)
    print(f"{len(H)} training positions")
    metrics_dir = os.path.join(cfg.out_dir, "metrics")
    os.makedirs(metrics_dir, exist_ok=True)
    log = open(os.path.join(metrics_dir, "speculator_train.jsonl"), "a")
    for method in args.methods.split(","):
        t0 = time.time()
        spec = train(cfg, method, H, T, log)
        folder = os.path.join(ps["model"], f"speculator-{method}")
        export(spec, folder)
        torch.save(spec.state_dict(), os.path.join(ps["distill"], f"speculator-{method}.pt"))
        acc = acceptance(spec, eval_seqs)
        acc.update({"method": method, "n_predict": cfg.n_predict, "eval_prompts": len(eval_seqs), "train_positions": len(H),
                    "train_seconds": round(time.time() - t0, 1), "params": sum(p.numel() for p in spec.parameters()),
                    "onnx_bytes": os.path.getsize(os.path.join(folder, "model.onnx"))})
        with open(os.path.join(metrics_dir, f"speculator-{method}.json"), "w") as f:
            json.dump(acc, f, indent=1)
        print(json.dumps(acc), flush=True)


if __name__ == "__main__":
    main()
