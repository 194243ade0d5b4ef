"""Corpus builder: real JS/TS/JSON sources from npm packages installed offline, plus generated JSON.

Output (in <out>/corpus/):
  train.jsonl, val.jsonl   one document per line: {"kind": "code"|"json", "text", "source", "license"}
  licenses.json            per npm package: license field, files and bytes used
  stats.json               counts after de-duplication / filtering

Why these filters: minified bundles teach nothing about code layout and blow up the token count;
exact duplicates (the same file vendored in several packages) would leak between train and val.
The train/val split is by content hash, so it is stable across reruns.
"""
from __future__ import annotations

import argparse
import hashlib
import json
import os
import random

from . import config, synth_json

SOURCE_EXT = (".js", ".mjs", ".cjs", ".ts", ".mts", ".cts", ".tsx", ".jsx")
MAX_FILE_BYTES = 120_000
MIN_FILE_BYTES = 200


def default_roots(cfg: config.Config) -> list[str]:
    """node_modules trees the corpus reads (cfg.npm_dir is filled by fetch_sources.sh)."""
    roots = [os.path.join(cfg.npm_dir, "node_modules")]
    return [r for r in roots if os.path.isdir(r)]


def is_minified(text: str) -> bool:
    lines = text.split("\n")
    if any(len(l) > 400 for l in lines):
        return True
    avg = len(text) / max(1, len(lines))
    return avg > 110


def package_of(path: str, root: str) -> str:
    """npm package name owning a file: the first one or two path parts after the node_modules root."""
    rel = os.path.relpath(path, root).split(os.sep)
    # nested node_modules: take the innermost package
    while "node_modules" in rel:
        rel = rel[rel.index("node_modules") + 1 :]
    return "/".join(rel[:2]) if rel[0].startswith("@") else rel[0]


def read_license(root: str, pkg: str, cache: dict) -> tuple[str, str]:
    """(license, version) from the package's package.json."""
    if pkg in cache:
        return cache[pkg]
    lic, version = "UNKNOWN", "?"
    try:
        with open(os.path.join(root, pkg, "package.json"), encoding="utf-8") as f:
            meta = json.load(f)
        l = meta.get("license") or meta.get("licenses")
        if isinstance(l, dict):
            l = l.get("type")
        if isinstance(l, list):
            l = " OR ".join(x.get("type", "?") if isinstance(x, dict) else str(x) for x in l)
        if l:
            lic = str(l)
        version = str(meta.get("version", "?"))
    except (OSError, ValueError):
        pass
    cache[pkg] = (lic, version)
    return cache[pkg]


def walk_sources(root: str):
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames.sort()
        # tests/fixtures often hold deliberately broken or generated code
        dirnames[:] = [d for d in dirnames if d not in ("fixtures", "__fixtures__", ".git")]
        for fn in sorted(filenames):
            yield os.path.join(dirpath, fn), fn


def collect(cfg: config.Config, roots: list[str]) -> tuple[list[dict], dict, dict]:
    seen: set[str] = set()
    docs: list[dict] = []
    per_pkg: dict[str, int] = {}
    lic_cache: dict[str, str] = {}
    licenses: dict[str, dict] = {}
    stats = {"files_seen": 0, "minified": 0, "duplicates": 0, "too_big_or_small": 0, "pkg_cap": 0}
    code_bytes = 0
    for root in roots:
        for path, fn in walk_sources(root):
            is_code = fn.endswith(SOURCE_EXT) and not fn.endswith((".min.js", ".min.mjs"))
            is_json = fn.endswith(".json") and fn != "package-lock.json"
            if not (is_code or is_json):
                continue
            stats["files_seen"] += 1
            try:
                size = os.path.getsize(path)
                if size > MAX_FILE_BYTES or size < (MIN_FILE_BYTES if is_code else 20):
                    stats["too_big_or_small"] += 1
                    continue
                with open(path, encoding="utf-8") as f:
                    text = f.read()
            except (OSError, UnicodeDecodeError):
                continue
            text = text.replace("\r\n", "\n")
            if is_json:
                try:
                    json.loads(text)
                except ValueError:
                    continue
            if is_code and is_minified(text):
                stats["minified"] += 1
                continue
            h = hashlib.sha1(text.strip().encode()).hexdigest()
            if h in seen:
                stats["duplicates"] += 1
                continue
            seen.add(h)
            pkg = package_of(path, root)
            if per_pkg.get(pkg, 0) + len(text) > cfg.per_package_cap:
                stats["pkg_cap"] += 1
                continue
            if is_code and code_bytes + len(text) > cfg.code_bytes_cap:
                continue
            per_pkg[pkg] = per_pkg.get(pkg, 0) + len(text)
            if is_code:
                code_bytes += len(text)
            lic, version = read_license(root, pkg, lic_cache)
            e = licenses.setdefault(pkg, {"license": lic, "version": version, "files": 0, "bytes": 0})
            e["files"] += 1
            e["bytes"] += len(text)
            docs.append({
                "kind": "json" if is_json else "code",
                "text": text,
                "source": "npm:" + os.path.relpath(path, root),
                "license": lic,
                "hash": h,
            })
    return docs, licenses, stats


def split(docs: list[dict], val_fraction: float) -> tuple[list[dict], list[dict]]:
    train, val = [], []
    for d in docs:
        # hash-based split: stable and independent of file order
        (val if int(d["hash"][:8], 16) / 0xFFFFFFFF < val_fraction else train).append(d)
    return train, val


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__)
    cfg, args = config.parse(p)
    out = config.paths(cfg)["corpus"]
    os.makedirs(out, exist_ok=True)
    roots = default_roots(cfg)
    if not roots:
        raise SystemExit("no sources: run tools/train/fetch_sources.sh first")
    docs, licenses, stats = collect(cfg, roots)
    # Generated JSON records (own work, Apache-2.0): real JSON in node_modules is mostly package.json.
    rng = random.Random(1234)
    for i in range(cfg.synthetic_json_records):
        text = synth_json.record(rng)
        h = hashlib.sha1(text.encode()).hexdigest()
        docs.append({"kind": "json", "text": text, "source": "synthetic", "license": "Apache-2.0", "hash": h})
    train, val = split(docs, cfg.val_fraction)
    for name, part in (("train", train), ("val", val)):
        with open(os.path.join(out, name + ".jsonl"), "w", encoding="utf-8") as f:
            for d in part:
                f.write(json.dumps(d, ensure_ascii=False) + "\n")
    stats.update({
        "docs": len(docs),
        "train_docs": len(train),
        "val_docs": len(val),
        "code_bytes": sum(len(d["text"]) for d in docs if d["kind"] == "code"),
        "json_bytes": sum(len(d["text"]) for d in docs if d["kind"] == "json"),
        "packages": len(licenses),
    })
    with open(os.path.join(out, "licenses.json"), "w") as f:
        json.dump(dict(sorted(licenses.items())), f, indent=1)
    with open(os.path.join(out, "stats.json"), "w") as f:
        json.dump(stats, f, indent=1)
    print(json.dumps(stats))


if __name__ == "__main__":
    main()
