"""The LM head as slices of the vocabulary: MatMul(h, W[:, a:b]) for each slice, then one Concat.

onnxruntime packs each constant MatMul weight at load, and while it packs one, that weight's source (pages of the
external data file, or the folded Transpose of a tied embedding) is resident beside the packed copy. The head is by
far the largest weight (151,936 x 896 floats, 519 MiB, at the 0.5B shape), so in one piece it raised the load's peak
RSS 519 MiB above what the loaded model keeps (bare session: peak 2,489 vs 1,970 MiB after load); in 64 MiB slices
the peak is 64 MiB above it (2,034 MiB). A tied head gets its own pre-transposed copy of the embedding in slices
(the Gather keeps the [vocab, hidden] table, of which only the rows read are paged in): the files grow by the
embedding's size, resident memory does not. Quantized graphs keep the one MatMul (their head is a fraction of the
size, and MatMulNBits packs differently).
"""

from __future__ import annotations

import math

import numpy as np
import onnx
from onnx import helper, numpy_helper

HEAD_SLICE_BYTES = 64 << 20


def slice_lm_head(m: onnx.ModelProto, max_bytes: int = HEAD_SLICE_BYTES) -> onnx.ModelProto:
    """Splits the MatMul that writes `logits` into slices of at most `max_bytes` of weight; unchanged if one fits."""
    g = m.graph
    inits = {t.name: t for t in g.initializer}
    at = next((i for i, n in enumerate(g.node) if n.op_type == "MatMul" and list(n.output) == ["logits"]), None)
    if at is None:
        return m
    head = g.node[at]
    w_kn, transpose = _head_weight(g, inits, head.input[1])
    if w_kn is None or w_kn.nbytes <= max_bytes:
        return m
    k, n = w_kn.shape
    count = math.ceil(w_kn.nbytes / max_bytes)
    bounds = [round(n * j / count) for j in range(count + 1)]
    nodes, outs = [], []
    for j in range(count):
        w = np.ascontiguousarray(w_kn[:, bounds[j]:bounds[j + 1]])
        g.initializer.append(numpy_helper.from_array(w, f"lm_head.slice{j}"))
        outs.append(f"lm_head/MatMul{j}_out0")
        nodes.append(helper.make_node("MatMul", [head.input[0], f"lm_head.slice{j}"], [outs[-1]], name=f"lm_head/MatMul{j}"))
        g.value_info.append(helper.make_tensor_value_info(outs[-1], onnx.TensorProto.FLOAT, None))
    nodes.append(helper.make_node("Concat", outs, ["logits"], name="lm_head/Concat", axis=-1))
    del g.node[at]
    for j, node in enumerate(nodes):
        g.node.insert(at + j, node)
    _drop_unread(g, transpose, head.input[1])
    return m


def _head_weight(g: onnx.GraphProto, inits: dict, name: str) -> tuple[np.ndarray | None, onnx.NodeProto | None]:
    """The head's weight as [hidden, vocab]: an initializer, or Transpose(perm 1, 0) of one (a tied embedding)."""
    if name in inits:
        return numpy_helper.to_array(inits[name]), None
    t = next((n for n in g.node if list(n.output) == [name]), None)
    if t is None or t.op_type != "Transpose" or t.input[0] not in inits:
        return None, None
    perm = next((list(a.ints) for a in t.attribute if a.name == "perm"), [1, 0])
    if perm != [1, 0]:
        return None, None
    return numpy_helper.to_array(inits[t.input[0]]).T, t


def _drop_unread(g: onnx.GraphProto, transpose: onnx.NodeProto | None, weight: str) -> None:
    """Removes the old head's Transpose, or its weight, when no node reads it any more."""
    read = {i for n in g.node for i in n.input}
    if transpose is not None:
        if transpose.output[0] not in read:
            g.node.remove(transpose)
        return
    if weight not in read:
        g.initializer.remove(next(t for t in g.initializer if t.name == weight))
