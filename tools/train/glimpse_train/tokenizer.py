"""Byte-level BPE tokenizer: trainer, encoder/decoder and HF tokenizer.json writer, in pure Python.

Debian has no Hugging Face `tokenizers`, so training is ours; the file format is Hugging Face's
(tokenizer.json: ByteLevel pre-tokenizer with the GPT-2 split regex, BPE model, ByteLevel decoder),
so @huggingface/tokenizers (npm) and transformers load it. The encoder here mirrors HF exactly:
special tokens are split out first, then the regex, the GPT-2 byte->unicode map, then merges by rank.

Id layout: special tokens 0..7, then the 256 byte symbols, then one id per merge.
"""
from __future__ import annotations

import argparse
import heapq
import json
import os
import random
import time
from collections import Counter, defaultdict

import regex

from . import config

# GPT-2 pre-tokenizer split regex (identical to HF ByteLevel with use_regex=true).
SPLIT = regex.compile(r"""'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+""")


def bytes_to_unicode() -> dict[int, str]:
    """GPT-2 byte map: printable bytes map to themselves, the rest to unused code points from 256 up."""
    bs = list(range(ord("!"), ord("~") + 1)) + list(range(ord("¡"), ord("¬") + 1)) + list(range(ord("®"), ord("ÿ") + 1))
    cs = bs[:]
    n = 0
    for b in range(256):
        if b not in bs:
            bs.append(b)
            cs.append(256 + n)
            n += 1
    return {b: chr(c) for b, c in zip(bs, cs)}


BYTE_MAP = bytes_to_unicode()
BYTE_UNMAP = {c: b for b, c in BYTE_MAP.items()}


def _mapped_words(text: str):
    for w in SPLIT.findall(text):
        yield "".join(BYTE_MAP[b] for b in w.encode("utf-8"))


def train_bpe(texts, vocab_size: int, specials: list[str]) -> tuple[dict[str, int], list[tuple[str, str]]]:
    """Classic BPE on pre-tokenized words with incremental pair counts and a lazy max-heap."""
    word_counts: Counter = Counter()
    for t in texts:
        word_counts.update(_mapped_words(t))
    words = [list(w) for w in word_counts]
    counts = list(word_counts.values())
    pair_count: dict[tuple[str, str], int] = defaultdict(int)
    where: dict[tuple[str, str], set[int]] = defaultdict(set)
    for i, w in enumerate(words):
        for p in zip(w, w[1:]):
            pair_count[p] += counts[i]
            where[p].add(i)
    heap = [(-c, p) for p, c in pair_count.items()]
    heapq.heapify(heap)
    base = [BYTE_MAP[b] for b in range(256)]
    vocab = {s: i for i, s in enumerate(specials)}
    for s in base:
        vocab[s] = len(vocab)
    merges: list[tuple[str, str]] = []
    while len(vocab) < vocab_size and heap:
        neg, pair = heapq.heappop(heap)
        if pair_count.get(pair, 0) != -neg or -neg <= 0:
            continue  # stale heap entry
        if -neg < 2:
            break
        a, b = pair
        merged = a + b
        merges.append(pair)
        vocab[merged] = len(vocab)
        changed: set[tuple[str, str]] = set()
        for i in list(where[pair]):
            w, c = words[i], counts[i]
            for p in zip(w, w[1:]):
                pair_count[p] -= c
                changed.add(p)
            nw, j = [], 0
            while j < len(w):
                if j + 1 < len(w) and w[j] == a and w[j + 1] == b:
                    nw.append(merged)
                    j += 2
                else:
                    nw.append(w[j])
                    j += 1
            words[i] = nw
            for p in zip(nw, nw[1:]):
                pair_count[p] += c
                where[p].add(i)
                changed.add(p)
        del pair_count[pair]
        where.pop(pair, None)
        for p in changed:
            c = pair_count.get(p, 0)
            if c > 0:
                heapq.heappush(heap, (-c, p))
    return vocab, merges


class Tokenizer:
    """Encoder/decoder matching the HF tokenizer.json written by `save`."""

    def __init__(self, vocab: dict[str, int], merges: list[tuple[str, str]], specials: list[str]):
        self.vocab = vocab
        self.inv = {i: s for s, i in vocab.items()}
        self.merges = merges
        self.ranks = {tuple(m): r for r, m in enumerate(merges)}
        self.specials = specials
        self.special_ids = {s: vocab[s] for s in specials}
        self.special_re = regex.compile("(" + "|".join(regex.escape(s) for s in specials) + ")")
        self.cache: dict[str, list[int]] = {}

    @property
    def eot(self) -> int:
        return self.special_ids["<|endoftext|>"]

    def _bpe(self, word: str) -> list[int]:
        hit = self.cache.get(word)
        if hit is not None:
            return hit
        sym = list(word)
        while len(sym) > 1:
            best, best_rank = None, None
            for k in range(len(sym) - 1):
                r = self.ranks.get((sym[k], sym[k + 1]))
                if r is not None and (best_rank is None or r < best_rank):
                    best, best_rank = k, r
            if best is None:
                break
            a, b = sym[best], sym[best + 1]
            out, k = [], 0
            while k < len(sym):
                if k + 1 < len(sym) and sym[k] == a and sym[k + 1] == b:
                    out.append(a + b)
                    k += 2
                else:
                    out.append(sym[k])
                    k += 1
            sym = out
        ids = [self.vocab[s] for s in sym]
        if len(self.cache) < 200_000:
            self.cache[word] = ids
        return ids

    def encode(self, text: str) -> list[int]:
        ids: list[int] = []
        for part in self.special_re.split(text):
            if not part:
                continue
            if part in self.special_ids:
                ids.append(self.special_ids[part])
                continue
            for w in _mapped_words(part):
                ids.extend(self._bpe(w))
        return ids

    def decode(self, ids, skip_special: bool = False) -> str:
        out, buf = [], bytearray()
        for i in ids:
            s = self.inv[int(i)]
            if s in self.special_ids:
                out.append(buf.decode("utf-8", errors="replace"))
                buf = bytearray()
                if not skip_special:
                    out.append(s)
                continue
            buf.extend(BYTE_UNMAP[c] for c in s)
        out.append(buf.decode("utf-8", errors="replace"))
        return "".join(out)

    # --- Hugging Face files -------------------------------------------------------------------
    def to_hf_json(self) -> dict:
        added = [{"id": self.vocab[s], "content": s, "single_word": False, "lstrip": False, "rstrip": False,
                  "normalized": False, "special": True} for s in self.specials]
        return {
            "version": "1.0",
            "truncation": None,
            "padding": None,
            "added_tokens": added,
            "normalizer": None,
            "pre_tokenizer": {"type": "ByteLevel", "add_prefix_space": False, "trim_offsets": True, "use_regex": True},
            "post_processor": {"type": "ByteLevel", "add_prefix_space": True, "trim_offsets": False, "use_regex": True},
            "decoder": {"type": "ByteLevel", "add_prefix_space": True, "trim_offsets": True, "use_regex": True},
            "model": {"type": "BPE", "dropout": None, "unk_token": None, "continuing_subword_prefix": None,
                      "end_of_word_suffix": None, "fuse_unk": False, "byte_fallback": False, "ignore_merges": False,
                      "vocab": self.vocab, "merges": [f"{a} {b}" for a, b in self.merges]},
        }

    def hf_config(self, max_len: int) -> dict:
        return {
            "tokenizer_class": "PreTrainedTokenizerFast",
            "model_max_length": max_len,
            "bos_token": None,
            "eos_token": "<|endoftext|>",
            "pad_token": "<|pad|>",
            "unk_token": None,
            "add_bos_token": False,
            "add_eos_token": False,
            "clean_up_tokenization_spaces": False,
            "additional_special_tokens": [s for s in self.specials if s not in ("<|endoftext|>", "<|pad|>")],
            "added_tokens_decoder": {str(self.vocab[s]): {"content": s, "lstrip": False, "normalized": False,
                                                          "rstrip": False, "single_word": False, "special": True}
                                     for s in self.specials},
        }

    def save(self, folder: str, max_len: int) -> None:
        os.makedirs(folder, exist_ok=True)
        with open(os.path.join(folder, "tokenizer.json"), "w", encoding="utf-8") as f:
            json.dump(self.to_hf_json(), f, ensure_ascii=False)
        with open(os.path.join(folder, "tokenizer_config.json"), "w", encoding="utf-8") as f:
            json.dump(self.hf_config(max_len), f, indent=2, ensure_ascii=False)

    @classmethod
    def load(cls, folder: str) -> "Tokenizer":
        with open(os.path.join(folder, "tokenizer.json"), encoding="utf-8") as f:
            j = json.load(f)
        specials = [t["content"] for t in sorted(j["added_tokens"], key=lambda t: t["id"])]
        merges = [tuple(m.split(" ")) if isinstance(m, str) else tuple(m) for m in j["model"]["merges"]]
        return cls(j["model"]["vocab"], merges, specials)


def training_texts(corpus_dir: str, budget: int, seed: int = 0) -> list[str]:
    """A random sample of train documents (code and JSON) up to `budget` characters."""
    with open(os.path.join(corpus_dir, "train.jsonl"), encoding="utf-8") as f:
        docs = [json.loads(l)["text"] for l in f]
    random.Random(seed).shuffle(docs)
    out, n = [], 0
    for d in docs:
        if n >= budget:
            break
        out.append(d)
        n += len(d)
    # instruction words of the rewrite task, so they get merges too
    out.append("Rename Replace Delete Insert Change the line with after before to in every occurrence of " * 50)
    return out


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__)
    cfg, _ = config.parse(p)
    ps = config.paths(cfg)
    t0 = time.time()
    texts = training_texts(ps["corpus"], cfg.tokenizer_train_bytes)
    vocab, merges = train_bpe(texts, cfg.model.vocab_size, config.SPECIAL_TOKENS)
    tok = Tokenizer(vocab, merges, config.SPECIAL_TOKENS)
    tok.save(ps["tokenizer"], cfg.model.max_position_embeddings)
    sample = "".join(texts[:50])
    n = len(tok.encode(sample))
    print(json.dumps({"vocab": len(vocab), "merges": len(merges), "chars_per_token": round(len(sample) / n, 3),
                      "seconds": round(time.time() - t0, 1)}))


if __name__ == "__main__":
    main()
