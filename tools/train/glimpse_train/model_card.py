"""Assembles the model card (<model>/README.md) and data-licenses.json from the files the stages wrote.

Every figure in the card is read from a metrics file produced by a stage (named next to it), so the card
can be regenerated and cannot drift from the measurements.
"""
from __future__ import annotations

import argparse
import collections
import json
import os
import shutil

from . import config
from .tokenizer import Tokenizer


def load(path: str, default=None):
    try:
        with open(path, encoding="utf-8") as f:
            return json.load(f)
    except OSError:
        return default


def folder_bytes(folder: str) -> dict:
    out = {}
    for dp, _, fns in os.walk(folder):
        for fn in fns:
            p = os.path.join(dp, fn)
            out[os.path.relpath(p, folder)] = os.path.getsize(p)
    return out


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__)
    cfg, _ = config.parse(p)
    ps = config.paths(cfg)
    md = os.path.join(cfg.out_dir, "metrics")
    m = cfg.model
    hfc = load(os.path.join(ps["model"], "config.json"))
    stats = load(os.path.join(ps["corpus"], "stats.json"), {})
    lic = load(os.path.join(ps["corpus"], "licenses.json"), {})
    shutil.copy(os.path.join(ps["corpus"], "licenses.json"), os.path.join(ps["model"], "data-licenses.json"))
    by_lic = collections.Counter()
    bytes_lic = collections.Counter()
    for v in lic.values():
        by_lic[v["license"]] += 1
        bytes_lic[v["license"]] += v["bytes"]
    info = load(os.path.join(ps["data"], "info.json"), {})
    log = []
    with open(os.path.join(ps["ckpt"], "log.jsonl")) as f:
        log = [json.loads(l) for l in f]
    def phase_summary(name: str) -> dict:
        """Steps, minutes, end throughput and final held-out losses of one training phase (log lines from
        before phases existed belong to the main phase)."""
        rows = [r for r in log if r.get("phase", "main") == name]
        losses = [r for r in rows if "loss" in r]
        return {
            "step": max((r["step"] for r in rows if "step" in r), default=0),
            "elapsed_s": max((r.get("elapsed_s", 0) for r in rows), default=0),
            "tok_s": losses[-1]["tok_s"] if losses else None,
            "final_val": next((r["final_val"] for r in reversed(rows) if "final_val" in r), {}),
        }

    main_ph = phase_summary("main")
    anneal_ph = phase_summary("anneal") if cfg.anneal else None
    trained_min = (main_ph["elapsed_s"] + (anneal_ph["elapsed_s"] if anneal_ph else 0)) / 60
    vl = load(os.path.join(md, "val_loss.json"), {})
    gen = load(os.path.join(md, "generation.json"), {})
    par = load(os.path.join(md, "parity.json"), {})
    bench = load(os.path.join(md, "bench.json"), {})
    spec = {k: load(os.path.join(md, f"speculator-{k}.json"), {}) for k in ("mlp", "lstm")}
    sizes = folder_bytes(ps["model"])
    total = sum(sizes.values())
    tok = Tokenizer.load(ps["tokenizer"])
    with open(os.path.join(ps["corpus"], "val.jsonl"), encoding="utf-8") as f:
        val_code = [json.loads(l)["text"] for l in f]
    val_code_text = "".join(t for t in val_code[:400])
    cpt = len(val_code_text) / max(1, len(tok.encode(val_code_text)))
    params = None
    try:
        import torch
        st = torch.load(os.path.join(ps["ckpt"], "last.pt"), map_location="cpu")
        params = sum(v.numel() for v in st["model"].values())
    except Exception:  # noqa: BLE001 - card still builds without torch
        pass
    samples = ""
    sp = os.path.join(md, "samples.md")
    if os.path.exists(sp):
        samples = open(sp, encoding="utf-8").read()

    def f(x, nd=3):
        return "n/a" if x is None else (f"{x:.{nd}f}" if isinstance(x, float) else str(x))

    best = max(spec.values(), key=lambda s: s.get("mean_accepted_per_step", 0)) if spec else {}
    card = f"""# glimpse-coder-tiny

A {params / 1e6 if params else 0:.2f} M-parameter Llama-layout code model for JavaScript/TypeScript and JSON, with two
Arctic speculators (MLP and LSTM), shipped inside Glimpse so that speculative decoding can be developed and
tested on a CPU without downloading anything. It is a **test and demo model**: small enough for one decode step
in under 1 ms on 2 CPU cores (section 4), trained for {f(trained_min, 0)} minutes on 2 cores. It is not a useful coding assistant.

## Files

| file | bytes |
|---|---|
""" + "".join(f"| `{k}` | {v:,} |\n" for k, v in sorted(sizes.items()) if not k.startswith("fixtures/")) + f"""| `fixtures/*` (test fixtures) | {sum(v for k, v in sizes.items() if k.startswith('fixtures/')):,} |
| **total** | **{total:,}** ({total / 2**20:.1f} MiB; budget 60 MB) |

`onnx/model.onnx` holds {params or 0:,} parameters ({4 * (params or 0):,} bytes as fp32): the tied embedding is stored once.

## Architecture

Llama layout (`config.json`, `model_type: llama`, `tie_word_embeddings: true`): vocab {m.vocab_size}, hidden {m.d_model},
{m.n_layers} layers, {m.n_heads} attention heads / {m.n_kv_heads} KV heads (GQA, head_dim {m.d_model // m.n_heads}), SwiGLU MLP {m.ffn_dim},
RMSNorm (eps {m.norm_eps}), RoPE (theta {m.rope_theta:g}, rotate-half layout), no biases. Trained on sequences of
{cfg.seq_len} tokens; `max_position_embeddings` {m.max_position_embeddings} is what RoPE allows, not what was trained.

Tokenizer: byte-level BPE (GPT-2 byte map and split regex), {m.vocab_size} ids, trained by our pure-Python trainer;
Hugging Face `tokenizer.json` format, loaded by `@huggingface/tokenizers` with the same ids as the Python encoder
(checked by `packages/runtime-cuda/test/embedded-model.test.ts`). {cpt:.2f} characters per token on held-out code/JSON.
Special tokens: """ + ", ".join(f"`{s}` = {i}" for i, s in enumerate(config.SPECIAL_TOKENS)) + f""".

Prompt formats:
- continuation: plain text; documents end with `<|endoftext|>`
- fill-in-the-middle (PSM): `<|fim_prefix|>prefix<|fim_suffix|>suffix<|fim_middle|>` → middle, `<|endoftext|>`
- rewrite with a small change: `<|file|>original<|edit|>instruction<|rewrite|>` → the full rewritten file, `<|endoftext|>`.
  Instructions: ``Rename `a` to `b`.``, ``Replace `x` with `y`.``, ``Delete the line `x`.``, ``Insert `y` after `x`.``, ``Change `10` to `42`.``

### ONNX graphs

`onnx/model.onnx` (opset 17, Optimum "decoder with past" layout): inputs `input_ids` [b,s] int64,
`attention_mask` [b,past+s] int64, `position_ids` [b,s] int64, `past_key_values.{{i}}.key|value` [b,{m.n_kv_heads},past,{m.d_model // m.n_heads}] float32
(i = 0..{m.n_layers - 1}; past may be 0); outputs `logits` [b,s,{m.vocab_size}], `last_hidden_state` [b,s,{m.d_model}] (after the final norm),
`present.{{i}}.key|value` [b,{m.n_kv_heads},past+s,{m.d_model // m.n_heads}]. The causal and padding mask is built inside the graph. Grouped-query attention folds each KV head's query heads
into the query axis, so the graph reads the KV cache in place instead of repeating it per query head.

`onnx/model_tree.onnx` (what the Glimpse engine runs): the same weights with two differences. `attention_mask` is an
additive float32 [b,1,s,past+s] mask (0 = attend, -1e9 = masked), for verifying a token tree in one call (each node
attends to the prefix and its ancestors, `position_ids` = prefix length + depth). Its KV outputs are
`present_append.{{i}}.key|value` [b,{m.n_kv_heads},s,{m.d_model // m.n_heads}]: the new positions' K/V alone, which the engine writes
into a cache with room to grow; attention scores against past and new keys are computed apart, so the graph never
copies the cache (a full `present` costs a copy inside the graph and another into a fresh JavaScript buffer on every
step). A separate file keeps `model.onnx` loadable by stock Optimum/transformers.js.

### Arctic speculators

`speculator-mlp/` and `speculator-lstm/` (arXiv 2404.19124; ArcticInference arctic-speculator): {cfg.n_predict} heads,
inner dim {cfg.spec_inner_dim}. Head i projects the running state (the target's `last_hidden_state` for head 0) and embeds
the last token (the target's token for head 0, the previous head's argmax after that), adds them as
`state_weight * proj(state) + emb_weight * emb(token)` with `state_weight = 0.5 ** (0.5 / n_predict)` and
`emb_weight = sqrt((1 - state_weight**2) * inner_dim / 2)`, then LayerNorm and GELU (MLP) or LSTM gating across heads
(forget/input/output gates and a cell carried from head to head; state = sigmoid(o) * GELU(LayerNorm(cell))),
and an LM head. {"Trained with `tie_weights` (the ArcticInference / fms-extras option): all heads share one token embedding, one LM head and one LayerNorm, and heads 1.. one state projection, which makes a call about as cheap as the LM head of one position (the untied heads were larger than the target and cost a third of a decode step). " if cfg.spec_tie_weights else "Each head has its own embedding and LM head. "}ONNX: inputs `hidden_state` [b,{m.d_model}] float32, `last_token` [b] int64; outputs
`token_ids` [b,{cfg.n_predict}] int64 and `probs` [b,{cfg.n_predict}] float32 (the greedy chain runs inside the graph).
Trained by distillation on the target's own greedy generations: {f(spec['mlp'].get('train_positions'))} positions from
{cfg.distill_prompts} training prompts x {cfg.distill_new_tokens} generated tokens (teacher forcing on the target's tokens).

## Data

Offline only (no network but the npm registry): the JS/TS/JSON sources of {stats.get('packages')} npm packages installed
by `tools/train/fetch_sources.sh` (typescript, express, webpack, eslint, babel, rxjs, lodash-es, react, vue, prettier,
axios, fastify, jest, mocha, date-fns, ... and their dependencies), after dropping minified files ({stats.get('minified')}),
exact duplicates ({stats.get('duplicates')}) and files over 120 kB or under 200 bytes ({stats.get('too_big_or_small')}),
with at most {cfg.per_package_cap / 1e6:.1f} MB per package: {stats.get('code_bytes', 0) / 1e6:.1f} MB of code; plus
{stats.get('json_bytes', 0) / 1e6:.1f} MB of JSON (package.json/tsconfig/other JSON from those packages and
{cfg.synthetic_json_records:,} generated records: users, orders, log events, app configs, tsconfig and package.json files).
{stats.get('val_docs')} of {stats.get('docs')} documents are held out (hash split) for every evaluation below.

Licenses of the source packages (packages / bytes used); every package with its license and version is listed in
`data-licenses.json`. All are permissive; the generated JSON is Glimpse's own (Apache-2.0).

| license | packages | bytes |
|---|---|---|
""" + "".join(f"| {k} | {n} | {bytes_lic[k]:,} |\n" for k, n in by_lic.most_common()) + f"""
Training mix (share of tokens; {info.get('train_tokens_nonpad', 0) / 1e6:.1f} M tokens built, packed into rows of {cfg.seq_len + 1}
without splitting examples): """ + ", ".join(f"{k} {v:.0%}" for k, v in cfg.mix.items()) + f""". The rewrite examples
(a 3-16 line window of a file, one small content-addressed edit, the full rewritten window) teach copying, which is
where suffix decoding and the speculators pay off.

## Training

`tools/train/run.sh` (all stages; see `tools/train/README.md`). Target: AdamW (betas 0.9/0.95, weight decay 0.1),
batch {cfg.batch_size} x {cfg.seq_len}, 2 threads on a 2-core machine shared with other work, in two phases:
- main: the mix above, LR {cfg.lr} → {cfg.min_lr} cosine over a fixed wall-time budget, warmup {cfg.warmup_steps} steps:
  {main_ph['step']} steps, {f(main_ph['elapsed_s'] / 60, 1)} minutes in resumable chunks, about
  {main_ph['step'] * cfg.batch_size * cfg.seq_len / 1e6:.1f} M row tokens seen, padding included (~{main_ph['tok_s']} tokens/s at the end);
  held-out loss at its end: """ + ", ".join(f"{k} {v}" for k, v in main_ph["final_val"].items()) + (f""";
- anneal: a fresh stream ({anneal_ph and info.get('anneal_tokens_nonpad', 0) / 1e6:.1f} M tokens, another shuffle), weighted towards plain code
  (""" + ", ".join(f"{k} {v:.0%}" for k, v in cfg.anneal.mix.items()) + f"""), warm restart at LR {cfg.anneal.lr} → {cfg.anneal.min_lr} cosine,
  warmup {cfg.anneal.warmup_steps}: {anneal_ph['step']} steps, {f(anneal_ph['elapsed_s'] / 60, 1)} minutes; held-out loss at its end: """
  + ", ".join(f"{k} {v}" for k, v in anneal_ph["final_val"].items()) + "." if anneal_ph else ".") + f"""

Speculators:
{cfg.spec_steps} steps of batch {cfg.spec_batch} each ({f(spec['mlp'].get('train_seconds'), 0)} s MLP, {f(spec['lstm'].get('train_seconds'), 0)} s LSTM,
including export and the acceptance benchmark).

## Measured figures

All on held-out data. Commands are run from `tools/train/` (`python3` = `/usr/bin/python3`).

### 1. ONNX parity (`./run.sh parity`: `python3 -m glimpse_train.parity --config full && node node/parity.mjs work/full/parity`)

Max |ONNX (onnxruntime-node CPU) - PyTorch| over logits, last_hidden_state and presents, on shapes not used at export (export: b=1, s=3, past=5):

| case | graph | logits | hidden | present |
|---|---|---|---|---|
""" + "".join(f"| {r['case']} | `{r['model']}` | {r['logits']:.1e} | {r['last_hidden_state']:.1e} | {r['present']:.1e} |\n"
              for r in par.get("results", [])) + f"""
Worst case: **{par.get('max_abs_diff', float('nan')):.1e}** (bar 1e-4). The "[tree graph, 4-D mask]" rows feed `model_tree.onnx` the
4-D mask equivalent to the 2-D one, and the two-branch tree row compares one tree call with each branch run separately.

### 2. Quality (`python3 -m glimpse_train.evaluate --config full`)

Held-out validation loss, nats/token (all non-padding tokens of packed rows):

| code | JSON | FIM | rewrite |
|---|---|---|---|
| {f(vl.get('code'))} | {f(vl.get('json'))} | {f(vl.get('fim'))} | {f(vl.get('rewrite'))} |

({vl.get('code_tokens', 0):,} / {vl.get('json_tokens', 0):,} / {vl.get('fim_tokens', 0):,} / {vl.get('rewrite_tokens', 0):,} tokens.)

- JSON validity: greedy completions of {gen.get('json', {}).get('n')} held-out JSON prefixes (cut at a line or `, ` boundary, 20-70 % into the
  document) that end with `<|endoftext|>` and make `JSON.parse(prefix + completion)` succeed: **{gen.get('json', {}).get('correct')}/{gen.get('json', {}).get('n')}
  ({f(gen.get('json', {}).get('rate'), 2)})**.
- Rewrite exact match: greedy rewrites of {gen.get('rewrite', {}).get('n')} held-out files with one small edit, equal to the expected file
  byte for byte: **{gen.get('rewrite', {}).get('correct')}/{gen.get('rewrite', {}).get('n')} ({f(gen.get('rewrite', {}).get('rate'), 2)})**.

### 3. Speculators (`python3 -m glimpse_train.distill --config full && python3 -m glimpse_train.train_speculator --config full`)

{spec['mlp'].get('eval_prompts')} held-out prompts (rewrite and FIM prompts, code and JSON prefixes), {cfg.distill_new_tokens} greedy tokens each. Each
verification step drafts {cfg.n_predict} tokens from (hidden state, last token); accepted = longest draft prefix equal to the
target's greedy output (exact for greedy decoding); the step also yields the target's own next token.

| speculator | mean accepted drafts / step | tokens / step | steps | params | ONNX bytes |
|---|---|---|---|---|---|
""" + "".join(f"| {k} | **{s.get('mean_accepted_per_step', float('nan')):.3f}** | {s.get('mean_tokens_per_step', float('nan')):.3f} | {s.get('verification_steps')} | {s.get('params', 0):,} | {s.get('onnx_bytes', 0):,} |\n"
              for k, s in spec.items() if s) + f"""
### 4. Latency (`node node/bench_decode.mjs ../../models/glimpse-coder-tiny`)

onnxruntime-node 1.30 CPU, 2 intra-op threads, no spinning, batch 1, median of 200 runs after warm-up, on the 2-core
build machine, which other jobs may have been sharing at the time:

| call | median ms | p10 | p90 |
|---|---|---|---|
""" + "".join(f"| {k} | {v['median_ms']} | {v['p10_ms']} | {v['p90_ms']} |\n" for k, v in bench.items() if isinstance(v, dict)) + f"""
`pastP_newS` = one call of `model.onnx` with P cached tokens and S new tokens (S = 1 is one decode step; bar: <= 5 ms at 1024).

### 5. Reproducibility

`tools/train/run.sh --smoke` runs every stage on a tiny configuration in a few minutes (CI runs it), and
`npm test` runs `packages/runtime-cuda/test/embedded-model.test.ts`, which loads these ONNX files with onnxruntime-node
and checks them against PyTorch outputs stored in `fixtures/` (and the tokenizer against Python's ids).

## Greedy samples (held-out)

{samples}
## Limits

- Tiny and briefly trained: it produces plausible-looking JS/JSON locally, loops on long generations, and knows no APIs.
  Use it to test decoding machinery, not for suggestions.
- Trained on {cfg.seq_len}-token rows: quality beyond that context is untested (RoPE allows longer inputs, and the latency figures at 1024 are about speed only).
- The corpus is npm package sources (library code, much of it TypeScript declarations and build output that is not minified), not application code.
- The rewrite task is not learned: exact match is {f(gen.get('rewrite', {}).get('rate'), 2)}. The model reproduces the
  shape of the file but not its content; copying (induction) did not emerge at this size and compute. The suffix
  decoder, not this model, is what makes rewrites fast in Glimpse's tests.
- Format leakage: after a JSON fragment the model sometimes continues with `<|edit|>` (it saw many JSON windows
  followed by an edit instruction), which counts as invalid JSON above.
- Speculator acceptance is measured on the target's greedy trajectories, which are repetitive for a model this
  small (it loops); that makes drafting easier than on real text, so the acceptance figures above overstate what a
  stronger target would get. With sampling, acceptance differs.
- fp32 only; no quantized variant.
"""
    with open(os.path.join(ps["model"], "README.md"), "w", encoding="utf-8") as fh:
        fh.write(card)
    print(os.path.join(ps["model"], "README.md"))


if __name__ == "__main__":
    main()
