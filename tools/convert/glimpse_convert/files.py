"""The non-graph files of a converted folder: config.json (+ transformers.js_config), generation_config.json, tokenizer."""
from __future__ import annotations

import json
import os
import shutil

TOKENIZER_FILES = ("tokenizer.json", "tokenizer_config.json", "special_tokens_map.json", "chat_template.jinja",
                   "vocab.json", "merges.txt", "tokenizer.model", "added_tokens.json")


def write_config(ckpt: dict, out: str, dtype: str, graphs: list[str], external: list[str]) -> None:
    """config.json from the checkpoint's, keeping what earlier --dtype runs into the same folder recorded."""
    path = os.path.join(out, "config.json")
    old = {}
    if os.path.exists(path):
        with open(path) as f:
            old = json.load(f).get("transformers.js_config", {})
    js = dict(old)
    ext = dict(js.get("use_external_data_format") or {})
    for name in graphs:  # the graphs just written replace whatever an earlier run recorded for them
        ext.pop(name, None)
    for name in external:
        ext[name] = 1
    if ext:
        js["use_external_data_format"] = ext
    else:
        js.pop("use_external_data_format", None)
    if dtype == "fp16":
        kv = js.get("kv_cache_dtype")
        js["kv_cache_dtype"] = {**(kv if isinstance(kv, dict) else {}), "fp16": "float16"}
    cfg = {k: v for k, v in ckpt.items() if k != "transformers.js_config"}
    cfg["transformers.js_config"] = js
    with open(path, "w") as f:
        json.dump(cfg, f, indent=2)


def copy_side_files(src: str, out: str, ckpt: dict) -> list[str]:
    copied = []
    for name in TOKENIZER_FILES:
        if os.path.exists(os.path.join(src, name)):
            shutil.copy(os.path.join(src, name), os.path.join(out, name))
            copied.append(name)
    gen = os.path.join(src, "generation_config.json")
    if os.path.exists(gen):
        shutil.copy(gen, os.path.join(out, "generation_config.json"))
    else:  # a minimal one from config.json so generation knows when to stop
        with open(os.path.join(out, "generation_config.json"), "w") as f:
            json.dump({k: ckpt[k] for k in ("bos_token_id", "eos_token_id", "pad_token_id") if ckpt.get(k) is not None}, f, indent=2)
    copied.append("generation_config.json")
    return copied
