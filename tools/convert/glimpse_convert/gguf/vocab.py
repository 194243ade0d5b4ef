"""Tokenizer metadata llama.cpp accepts, from a Hugging Face byte-level BPE tokenizer.json (+ tokenizer_config.json).

tokenizer.ggml.model "gpt2" (byte-level BPE); tokens in id order, their text as tokenizer.json has it (byte-level
characters such as "Ġ" for normal tokens, the literal text for added ones); ids the tokenizer lacks below
config.json's vocab_size become "[PAD<id>]" (unused). token_type: 1 normal, 3 control (special added tokens, or
ones that look like "<|...|>"), 4 user-defined (other added tokens), 5 unused. merges as "a b" strings.
tokenizer.ggml.pre names the pre-tokenizer regex llama.cpp applies. llama.cpp's own converter decides it by hashing
the tokenization of a test text; here it is read from tokenizer.json's pre_tokenizer, which must be one whose
regex llama.cpp implements: anything else is refused rather than tokenized differently.
"""
from __future__ import annotations

import json
import os

from ..families import UnsupportedModel
from .format import GGUFWriter, ValueType as T

NORMAL, CONTROL, USER_DEFINED, UNUSED = 1, 3, 4, 5

# Split regexes of tokenizer.json pre-tokenizers, and the llama.cpp pre-tokenizer that implements each
LLAMA3_REGEX = ("(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}{1,3}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*"
                "|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+")
QWEN2_REGEX = LLAMA3_REGEX.replace("\\p{N}{1,3}", "\\p{N}")
SPLIT_PRE = {LLAMA3_REGEX: "llama-bpe", QWEN2_REGEX: "qwen2"}
NORMALIZERS = (None, "NFC")  # llama.cpp applies none; NFC leaves the usual (already composed) text unchanged


class UnsupportedTokenizer(UnsupportedModel):
    pass


def _byte_level(p: dict, use_regex: bool) -> bool:
    return (p.get("type") == "ByteLevel" and bool(p.get("use_regex", True)) == use_regex
            and not p.get("add_prefix_space", False))


def pre_tokenizer_name(tj: dict) -> str:
    """llama.cpp's tokenizer.ggml.pre for tokenizer.json's pre_tokenizer; UnsupportedTokenizer when it has none."""
    pt = tj.get("pre_tokenizer") or {}
    seq = pt.get("pretokenizers") if pt.get("type") == "Sequence" else [pt]
    if len(seq) == 1 and _byte_level(seq[0], use_regex=True):
        return "gpt-2"  # GPT-2's own regex inside ByteLevel
    if len(seq) == 2 and _byte_level(seq[1], use_regex=True) and seq[0].get("type") == "Digits" \
            and seq[0].get("individual_digits"):
        return "smollm"  # SmolLM / StarCoder: each digit alone, then GPT-2's regex
    if len(seq) == 2 and _byte_level(seq[1], use_regex=False) and seq[0].get("type") == "Split" \
            and seq[0].get("behavior") == "Isolated" and not seq[0].get("invert"):
        name = SPLIT_PRE.get((seq[0].get("pattern") or {}).get("Regex"))
        if name:
            return name
    raise UnsupportedTokenizer(
        "tokenizer.json: pre_tokenizer " + json.dumps(pt)[:300] + " is not one llama.cpp implements here; supported: "
        "ByteLevel with GPT-2's regex (gpt-2), Digits + ByteLevel (smollm), the Llama 3 split regex (llama-bpe), "
        "the Qwen2 split regex (qwen2)")


def looks_special(text: str) -> bool:
    return (text.startswith("<|") and text.endswith("|>")) or (text.startswith("<｜") and text.endswith("｜>"))


def _read(folder: str, name: str) -> dict | None:
    p = os.path.join(folder, name)
    if not os.path.exists(p):
        return None
    with open(p, encoding="utf-8") as f:
        return json.load(f)


def _merge_text(m) -> str:
    if isinstance(m, str):
        return m
    # [a, b] pairs (transformers >= 4.45) may hold spaces, which the "a b" form cannot: llama.cpp's converter
    # writes a space inside a part as U+0120, as byte-level BPE writes spaces anyway
    return " ".join(part.replace(" ", chr(ord(" ") + 256)) for part in m)


def _content(v) -> str | None:
    return v.get("content") if isinstance(v, dict) else v


def chat_template(folder: str, tc: dict) -> str | None:
    t = tc.get("chat_template")
    if isinstance(t, list):  # named templates: the default one
        t = next((x.get("template") for x in t if x.get("name") == "default"), None)
    if t is None and os.path.exists(os.path.join(folder, "chat_template.jinja")):
        with open(os.path.join(folder, "chat_template.jinja"), encoding="utf-8") as f:
            t = f.read()
    return t if isinstance(t, str) else None


def adds_special(tj: dict, tc: dict, which: str, token: str | None) -> bool:
    """add_bos_token / add_eos_token: tokenizer_config.json's flag, else what the post-processor's template adds."""
    flag = tc.get(f"add_{which}_token")
    if isinstance(flag, bool):
        return flag
    pp = tj.get("post_processor") or {}
    for proc in pp.get("processors", [pp]):
        if proc.get("type") == "TemplateProcessing":
            single = proc.get("single") or []
            if len(single) < 2:  # just $A: nothing added
                continue
            sid = (single[0] if which == "bos" else single[-1]).get("SpecialToken", {}).get("id")
            if sid is not None and (token is None or sid == token):
                return True
    return False


def add_tokenizer(w: GGUFWriter, folder: str, cfg: dict, vocab_size: int) -> dict:
    """Writes the tokenizer.* keys; returns a short description for the summary."""
    tj = _read(folder, "tokenizer.json")
    if tj is None:
        raise UnsupportedTokenizer(f"{folder}: no tokenizer.json (a fast byte-level BPE tokenizer is needed)")
    tc = _read(folder, "tokenizer_config.json") or {}
    model = tj.get("model") or {}
    if model.get("type") != "BPE" or model.get("byte_fallback"):
        raise UnsupportedTokenizer(f"tokenizer.json: model {model.get('type')} (byte_fallback "
                                   f"{model.get('byte_fallback')}); supported: byte-level BPE")
    norm = (tj.get("normalizer") or {}).get("type")
    if norm not in NORMALIZERS:
        raise UnsupportedTokenizer(f"tokenizer.json: normalizer {norm} not supported (none or NFC)")
    pre = pre_tokenizer_name(tj)

    text_of: dict[int, str] = {i: t for t, i in model["vocab"].items()}
    types = {i: NORMAL for i in text_of}
    for at in tj.get("added_tokens", []):
        text_of[at["id"]] = at["content"]
        types[at["id"]] = CONTROL if at.get("special") or looks_special(at["content"]) else USER_DEFINED
    n = max(text_of) + 1
    if n > vocab_size:
        raise UnsupportedTokenizer(f"tokenizer.json has ids up to {n - 1}, beyond config.json's vocab_size {vocab_size}")
    tokens = [text_of.get(i, f"[PAD{i}]") for i in range(vocab_size)]
    ttypes = [types.get(i, UNUSED) for i in range(vocab_size)]
    merges = [_merge_text(m) for m in model.get("merges", [])]

    ids = {t: i for i, t in enumerate(tokens)}
    if len(ids) != len(tokens):  # llama.cpp refuses a vocabulary with one text at two ids
        seen: dict[str, int] = {}
        dup = next((t, seen[t], i) for i, t in enumerate(tokens) if seen.setdefault(t, i) != i)
        raise UnsupportedTokenizer(f"tokenizer.json: token {dup[0]!r} has ids {dup[1]} and {dup[2]}")
    special: dict[str, int] = {}
    for which, cfg_key in (("bos", "bos_token_id"), ("eos", "eos_token_id"), ("pad", "pad_token_id")):
        tid = ids.get(_content(tc.get(f"{which}_token")) or "")
        if tid is None:
            v = cfg.get(cfg_key)
            tid = v[0] if isinstance(v, list) and v else v
        if isinstance(tid, int) and 0 <= tid < vocab_size:
            special[which] = tid
    add_bos = adds_special(tj, tc, "bos", _content(tc.get("bos_token")))
    add_eos = adds_special(tj, tc, "eos", _content(tc.get("eos_token")))

    w.add("tokenizer.ggml.model", T.STRING, "gpt2")
    w.add("tokenizer.ggml.pre", T.STRING, pre)
    w.add("tokenizer.ggml.tokens", T.ARRAY, (T.STRING, tokens))
    w.add("tokenizer.ggml.token_type", T.ARRAY, (T.INT32, ttypes))
    w.add("tokenizer.ggml.merges", T.ARRAY, (T.STRING, merges))
    keys = {"bos": "bos_token_id", "eos": "eos_token_id", "pad": "padding_token_id"}
    for which, tid in special.items():
        w.add(f"tokenizer.ggml.{keys[which]}", T.UINT32, tid)
    w.add("tokenizer.ggml.add_bos_token", T.BOOL, add_bos)
    w.add("tokenizer.ggml.add_eos_token", T.BOOL, add_eos)
    template = chat_template(folder, tc)
    if template:
        w.add("tokenizer.chat_template", T.STRING, template)
    return {"pre": pre, "tokens": len(tokens), "merges": len(merges), **{f"{k}_id": v for k, v in special.items()},
            "add_bos": add_bos, "chat_template": bool(template)}
