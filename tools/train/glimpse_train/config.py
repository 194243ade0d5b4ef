"""Pipeline configurations: FULL (the shipped model) and SMOKE (CI, a few minutes end to end).

Every stage reads one Config so that a stage can be rerun alone with the same settings
(`python3 -m glimpse_train.<stage> --config smoke|full`).
"""
from __future__ import annotations

import argparse
import dataclasses
import os
from dataclasses import dataclass, field

TRAIN_DIR = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
REPO_ROOT = os.path.dirname(os.path.dirname(TRAIN_DIR))

# Special tokens, in id order (ids 0..7). FIM uses the common PSM layout; the rewrite task is
# <|file|>original<|edit|>instruction<|rewrite|>rewritten<|endoftext|>.
SPECIAL_TOKENS = [
    "<|endoftext|>",
    "<|fim_prefix|>",
    "<|fim_middle|>",
    "<|fim_suffix|>",
    "<|file|>",
    "<|edit|>",
    "<|rewrite|>",
    "<|pad|>",
]


@dataclass
class ModelConfig:
    vocab_size: int = 4096
    d_model: int = 128
    n_layers: int = 6
    n_heads: int = 4
    n_kv_heads: int = 2
    ffn_dim: int = 352
    rope_theta: float = 10000.0
    norm_eps: float = 1e-5
    max_position_embeddings: int = 2048


@dataclass
class AnnealConfig:
    """A second training phase after the main one: a fresh data stream weighted towards plain code (the
    held-out code loss is the hardest of the four) and a short cosine schedule restarted at a lower LR."""
    mix: dict = field(default_factory=lambda: {"code": 0.55, "rewrite": 0.2, "json": 0.1, "fim": 0.15})
    train_tokens: int = 8_000_000
    seed: int = 11  # a different shuffle from the main stream, so it brings code chunks not seen yet
    lr: float = 1.2e-3
    min_lr: float = 1e-4
    warmup_steps: int = 50
    max_steps: int = 3000
    train_seconds: float = 2700.0


@dataclass
class Config:
    name: str
    out_dir: str  # work directory for corpus, checkpoints, exports
    model_dir: str  # final model folder (models/glimpse-coder-tiny for FULL)
    npm_dir: str = os.path.join(TRAIN_DIR, "work", "npm")  # where fetch_sources.sh installs the corpus packages
    # corpus
    code_bytes_cap: int = 24_000_000
    per_package_cap: int = 1_500_000
    synthetic_json_records: int = 30_000
    val_fraction: float = 0.03
    # tokenizer
    tokenizer_train_bytes: int = 6_000_000
    # examples / data mix (fractions of training tokens)
    seq_len: int = 320
    mix: dict = field(default_factory=lambda: {"rewrite": 0.35, "json": 0.25, "fim": 0.15, "code": 0.25})
    train_tokens: int = 12_000_000  # size of the pre-tokenized training stream
    # target training
    model: ModelConfig = field(default_factory=ModelConfig)
    batch_size: int = 8
    lr: float = 3e-3
    min_lr: float = 3e-4
    warmup_steps: int = 100
    max_steps: int = 6000
    train_seconds: float = 5400.0  # total training time over all chunks (0: steps only)
    time_budget_s: float = 7200.0  # one resumable chunk never runs longer than this
    ckpt_every_s: float = 300.0
    anneal: AnnealConfig | None = field(default_factory=AnnealConfig)
    # speculators
    n_predict: int = 3
    spec_inner_dim: int = 128
    spec_tie_weights: bool = True  # one embedding + LM head shared by all heads: a third of the call cost on CPU
    distill_prompts: int = 2400
    distill_new_tokens: int = 64
    spec_steps: int = 1200
    spec_batch: int = 256
    spec_lr: float = 3e-3
    # evaluation
    eval_prompts: int = 100
    val_loss_batches: int = 40


def full() -> Config:
    return Config(
        name="full",
        out_dir=os.path.join(TRAIN_DIR, "work", "full"),
        model_dir=os.path.join(REPO_ROOT, "models", "glimpse-coder-tiny"),
    )


def smoke() -> Config:
    # Tiny everything: exercises every stage (and the ONNX/fixture plumbing) in a few minutes.
    scratch = os.environ.get("GLIMPSE_SMOKE_DIR", os.path.join(TRAIN_DIR, "work", "smoke"))
    return Config(
        name="smoke",
        out_dir=scratch,
        model_dir=os.path.join(scratch, "model"),
        npm_dir=os.path.join(scratch, "npm"),
        code_bytes_cap=1_500_000,
        per_package_cap=200_000,
        synthetic_json_records=1500,
        tokenizer_train_bytes=400_000,
        seq_len=256,
        train_tokens=300_000,
        model=ModelConfig(vocab_size=1024, d_model=64, n_layers=2, n_heads=4, n_kv_heads=2, ffn_dim=160),
        batch_size=8,
        warmup_steps=10,
        max_steps=60,
        train_seconds=0.0,
        time_budget_s=120.0,
        ckpt_every_s=30.0,
        anneal=AnnealConfig(train_tokens=100_000, warmup_steps=5, max_steps=20, train_seconds=0.0),
        spec_inner_dim=64,
        distill_prompts=96,
        distill_new_tokens=24,
        spec_steps=60,
        spec_batch=64,
        eval_prompts=12,
        val_loss_batches=3,
    )


CONFIGS = {"full": full, "smoke": smoke}


def get(name: str) -> Config:
    return CONFIGS[name]()


def parse(p: argparse.ArgumentParser) -> tuple[Config, argparse.Namespace]:
    """Shared argument parsing: every stage takes --config smoke|full."""
    if not any(a.dest == "config" for a in p._actions):
        p.add_argument("--config", default="smoke", choices=sorted(CONFIGS))
    args = p.parse_args()
    return get(args.config), args


def paths(cfg: Config) -> dict:
    o = cfg.out_dir
    return {
        "corpus": os.path.join(o, "corpus"),
        "tokenizer": os.path.join(o, "tokenizer"),
        "data": os.path.join(o, "data"),
        "ckpt": os.path.join(o, "ckpt"),
        "distill": os.path.join(o, "distill"),
        "model": cfg.model_dir,
    }


def as_dict(cfg: Config) -> dict:
    return dataclasses.asdict(cfg)
