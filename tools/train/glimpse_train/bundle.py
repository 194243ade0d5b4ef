"""Tensor bundles shared by the Python and Node sides: <dir>/manifest.json + one raw little-endian .bin per tensor.

Used for parity cases, which are too large for JSON (logits of 16 tokens x 4096 vocab x several cases).
"""
from __future__ import annotations

import json
import os

import numpy as np

DTYPES = {np.dtype("float32"): "float32", np.dtype("int64"): "int64"}


class Writer:
    def __init__(self, folder: str):
        self.folder = folder
        os.makedirs(folder, exist_ok=True)
        self.cases: list[dict] = []
        self.n = 0

    def tensor(self, arr) -> dict:
        a = np.ascontiguousarray(np.asarray(arr))
        if a.dtype not in DTYPES:
            a = a.astype(np.float32 if a.dtype.kind == "f" else np.int64)
        name = f"t{self.n}.bin"
        self.n += 1
        a.astype(a.dtype.newbyteorder("<")).tofile(os.path.join(self.folder, name))
        return {"file": name, "dtype": DTYPES[a.dtype], "dims": list(a.shape)}

    def case(self, name: str, model: str, inputs: dict, expected: dict, note: str = "") -> None:
        self.cases.append({"name": name, "model": model, "note": note,
                           "inputs": {k: self.tensor(v) for k, v in inputs.items()},
                           "expected": {k: self.tensor(v) for k, v in expected.items()}})

    def close(self, extra: dict | None = None) -> None:
        with open(os.path.join(self.folder, "manifest.json"), "w") as f:
            json.dump({"cases": self.cases, **(extra or {})}, f, indent=1)
