"""Training examples for the data mix: plain code/JSON continuation, fill-in-the-middle, rewrite-with-a-small-change.

Formats (token strings are the special tokens of config.SPECIAL_TOKENS):
  code/json : <text><|endoftext|>
  fim (PSM) : <|fim_prefix|>prefix<|fim_suffix|>suffix<|fim_middle|>middle<|endoftext|>
  rewrite   : <|file|>original<|edit|>instruction<|rewrite|>rewritten<|endoftext|>

The rewrite task is the one where suffix decoding pays off: the rewritten file is mostly a copy of
the original, so the model has to learn to copy, and drafts from the prompt get accepted.
Edits are small and stated by content, never by line number (a tiny model cannot count lines).
"""
from __future__ import annotations

import random
import re

KEYWORDS = set("""break case catch class const continue debugger default delete do else export extends false finally
for function if import in instanceof new null return super switch this throw true try typeof var void while with
yield let static enum await implements package protected interface private public async of from as type any
number string boolean undefined require module exports""".split())
IDENT = re.compile(r"(?<![\w$])[A-Za-z_$][\w$]{2,}(?![\w$])")
NUMBER = re.compile(r"(?<![\w.$])\d+(?![\w.])")
STRING = re.compile(r"'([A-Za-z][\w -]{1,24})'|\"([A-Za-z][\w -]{1,24})\"")
NAME_PARTS = ("value count index item result options config handler buffer cache state node entry key name list "
              "total size limit offset target source parent child next prev data").split()


def new_name(rng: random.Random, old: str) -> str:
    a, b = rng.choice(NAME_PARTS), rng.choice(NAME_PARTS)
    r = rng.random()
    if r < 0.3:
        return old + b.title()
    if r < 0.5:
        return a + old[0].upper() + old[1:]
    if r < 0.6 and "_" not in old:
        return old + "_" + b
    return a + b.title()


def snippet(rng: random.Random, text: str, min_lines: int, max_lines: int) -> str | None:
    lines = text.split("\n")
    if len(lines) < min_lines:
        return None
    k = rng.randint(min_lines, min(max_lines, len(lines)))
    start = rng.randint(0, len(lines) - k)
    part = lines[start : start + k]
    if sum(1 for l in part if l.strip()) < min_lines - 1:
        return None
    return "\n".join(part).rstrip() + "\n"


def _unique_lines(lines: list[str]) -> list[int]:
    stripped = [l.strip() for l in lines]
    return [i for i, s in enumerate(stripped) if s and len(s) <= 80 and stripped.count(s) == 1]


def _replace_word(text: str, old: str, new: str) -> str:
    return re.sub(r"(?<![\w$])" + re.escape(old) + r"(?![\w$])", new, text)


def _modify_line(rng: random.Random, line: str) -> str | None:
    nums = list(NUMBER.finditer(line))
    strs = list(STRING.finditer(line))
    ids = [m for m in IDENT.finditer(line) if m.group(0) not in KEYWORDS]
    choices = []
    if nums:
        m = rng.choice(nums)
        v = str(rng.choice([0, 1, 2, 3, 5, 8, 10, 16, 42, 64, 100, 256, 1000, rng.randint(0, 999)]))
        if v != m.group(0):
            choices.append(line[: m.start()] + v + line[m.end() :])
    if strs:
        m = rng.choice(strs)
        inner_start = m.start() + 1
        inner_end = m.end() - 1
        choices.append(line[:inner_start] + rng.choice(NAME_PARTS) + "-" + rng.choice(NAME_PARTS) + line[inner_end:])
    if ids:
        m = rng.choice(ids)
        choices.append(line[: m.start()] + new_name(rng, m.group(0)) + line[m.end() :])
    return rng.choice(choices) if choices else None


def _insert_line(rng: random.Random, anchor: str, is_json: bool) -> str:
    indent = anchor[: len(anchor) - len(anchor.lstrip())]
    if is_json:
        v = rng.choice(['true', 'false', 'null', str(rng.randint(0, 100)), '"' + rng.choice(NAME_PARTS) + '"'])
        return f'{indent}"{rng.choice(NAME_PARTS)}{rng.choice(NAME_PARTS).title()}": {v},'
    a, b = rng.choice(NAME_PARTS), rng.choice(NAME_PARTS)
    return indent + rng.choice([
        f'console.log("{a} {b}");',
        f"// TODO: check {a} {b}",
        f"const {a}{b.title()} = {rng.randint(0, 64)};",
        f"let {a} = null;",
        f"debugger;",
        f"// {a} {b}",
    ])


def rewrite_edit(rng: random.Random, orig: str, is_json: bool) -> tuple[str, str] | None:
    """Returns (instruction, rewritten) for one small edit of `orig`, or None if none applies."""
    lines = orig.rstrip("\n").split("\n")
    uniq = _unique_lines(lines)
    kind = rng.choice(["rename", "replace", "replace", "delete", "insert", "literal"])
    if kind == "rename" and not is_json:
        ids = sorted({m.group(0) for m in IDENT.finditer(orig) if m.group(0) not in KEYWORDS})
        if not ids:
            return None
        old = rng.choice(ids)
        new = new_name(rng, old)
        if new in ids:
            return None
        return f"Rename `{old}` to `{new}`.", _replace_word(orig, old, new)
    if kind == "literal":
        nums = sorted({m.group(0) for m in NUMBER.finditer(orig)})
        nums = [n for n in nums if len(NUMBER.findall(orig)) and sum(1 for m in NUMBER.finditer(orig) if m.group(0) == n) == 1]
        if not nums:
            return None
        old = rng.choice(nums)
        new = str(rng.choice([0, 1, 2, 4, 7, 10, 12, 20, 50, 99, 128, 500, 1024]))
        if new == old:
            return None
        m = next(m for m in NUMBER.finditer(orig) if m.group(0) == old)
        return f"Change `{old}` to `{new}`.", orig[: m.start()] + new + orig[m.end() :]
    if not uniq:
        return None
    i = rng.choice(uniq)
    line = lines[i]
    if kind in ("replace", "rename"):
        new_line = _modify_line(rng, line)
        if new_line is None or new_line == line:
            return None
        out = lines[:i] + [new_line] + lines[i + 1 :]
        return f"Replace `{line.strip()}` with `{new_line.strip()}`.", "\n".join(out) + "\n"
    if kind == "delete":
        if len(lines) < 3:
            return None
        return f"Delete the line `{line.strip()}`.", "\n".join(lines[:i] + lines[i + 1 :]) + "\n"
    new_line = _insert_line(rng, line, is_json)
    return f"Insert `{new_line.strip()}` after `{line.strip()}`.", "\n".join(lines[: i + 1] + [new_line] + lines[i + 1 :]) + "\n"


def rewrite_example(rng: random.Random, doc: dict) -> dict | None:
    orig = snippet(rng, doc["text"], 3, 16)
    if orig is None or len(orig) > 700:
        return None
    r = rewrite_edit(rng, orig, doc["kind"] == "json")
    if r is None:
        return None
    instruction, new = r
    prompt = f"<|file|>{orig}<|edit|>{instruction}<|rewrite|>"
    return {"task": "rewrite", "prompt": prompt, "completion": new + "<|endoftext|>"}


def fim_example(rng: random.Random, doc: dict) -> dict | None:
    text = snippet(rng, doc["text"], 4, 30)
    if text is None or len(text) > 1000:
        return None
    lines = text.split("\n")
    if rng.random() < 0.5:
        # whole lines missing (1-3): the common editor case
        a = rng.randint(1, max(1, len(lines) - 3))
        b = min(len(lines) - 1, a + rng.randint(1, 3))
        pre = "\n".join(lines[:a]) + "\n"
        mid = "\n".join(lines[a:b]) + "\n"
        suf = "\n".join(lines[b:])
    else:
        # a span inside the text, cursor mid-line
        n = len(text)
        a = rng.randint(0, n - 2)
        b = min(n, a + rng.randint(1, 80))
        pre, mid, suf = text[:a], text[a:b], text[b:]
    if not mid.strip():
        return None
    return {"task": "fim", "prompt": f"<|fim_prefix|>{pre}<|fim_suffix|>{suf}<|fim_middle|>", "completion": mid + "<|endoftext|>"}


def json_prefix_example(rng: random.Random, doc: dict) -> dict | None:
    """Held-out JSON completion prompt: the document cut at a line (or comma) boundary."""
    text = doc["text"]
    cuts = [m.end() for m in re.finditer(r"\n|, ", text)]
    cuts = [c for c in cuts if 0.2 * len(text) <= c <= 0.7 * len(text)]
    if not cuts:
        return None
    c = rng.choice(cuts)
    return {"task": "json", "prompt": text[:c], "completion": text[c:] + "<|endoftext|>"}
