"""fp32 graph -> fp16 graph (as onnx-community's model_fp16.onnx): float16 weights, activations, KV inputs/outputs
and logits, except the float32 islands of model.py (RMSNorm statistics, rotary angles, masks, softmax), which keep
float32 constants and get Casts at their borders. A float32 input read only by islands (the tree graph's additive
attention_mask) stays float32: -1e9 is not a float16 number.
"""
from __future__ import annotations

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

from .graph_types import elem_types
from .model import FP32_ISLAND_PREFIX

F32, F16 = TensorProto.FLOAT, TensorProto.FLOAT16


def in_island(node: onnx.NodeProto) -> bool:
    return any(seg.startswith(FP32_ISLAND_PREFIX) for seg in node.name.split("/"))


def _half(t: TensorProto) -> TensorProto:
    a = numpy_helper.to_array(t)
    h = numpy_helper.from_array(np.clip(a, -65504, 65504).astype(np.float16), t.name)
    return h


def to_fp16(m: onnx.ModelProto) -> onnx.ModelProto:
    g = m.graph
    types = elem_types(m)
    nodes = list(g.node)  # protobuf wrappers have no stable identity: work by position
    island = [in_island(n) for n in nodes]
    consumers: dict[str, list[int]] = {}
    for i, n in enumerate(nodes):
        for x in n.input:
            consumers.setdefault(x, []).append(i)
    only_islands = lambda name: all(island[c] for c in consumers.get(name, []))  # noqa: E731
    island_outputs = {o for i, n in enumerate(nodes) if island[i] for o in n.output}

    # Weights: float16 unless only float32 islands read them.
    kept32 = set()
    for i, t in enumerate(g.initializer):
        if t.data_type == F32:
            if only_islands(t.name):
                kept32.add(t.name)
            else:
                g.initializer[i].CopyFrom(_half(t))
    # Graph inputs and outputs.
    for v in g.input:
        if v.type.tensor_type.elem_type == F32:
            if only_islands(v.name):
                kept32.add(v.name)
            else:
                v.type.tensor_type.elem_type = F16
    for v in g.output:
        if v.type.tensor_type.elem_type == F32:
            v.type.tensor_type.elem_type = F16
    # Nodes outside islands compute in float16: their float constants and casts change type.
    for i, n in enumerate(nodes):
        if island[i]:
            continue
        if n.op_type == "Cast":
            for a in n.attribute:
                if a.name == "to" and a.i == F32:
                    a.i = F16
        if n.op_type == "Constant":
            for a in n.attribute:
                if a.name == "value" and a.t.data_type == F32:
                    a.t.CopyFrom(_half(a.t))
    # Borders: float values crossing into an island become float32, crossing out become float16.
    new_nodes, casts = [], {}

    def cast(name: str, to: int) -> str:
        key = (name, to)
        if key not in casts:
            out = f"{name}__{'f32' if to == F32 else 'f16'}"
            new_nodes.append(helper.make_node("Cast", [name], [out], name=f"{out}/Cast", to=to))
            casts[key] = out
        return casts[key]

    for i, n in enumerate(nodes):
        inside = island[i]
        for j, x in enumerate(n.input):
            if not x or types.get(x) != F32:
                continue
            from_island = x in island_outputs or x in kept32
            if inside and not from_island:
                n.input[j] = cast(x, F32)
            elif not inside and from_island:
                n.input[j] = cast(x, F16)
        new_nodes.append(n)
    for v in g.output:  # an island output that is a graph output (not the case in model.py, kept for safety)
        if v.name in island_outputs and types.get(v.name) == F32:
            raise ValueError(f"fp16: graph output {v.name} comes from a float32 island")
    g.ClearField("node")
    g.node.extend(_topo(new_nodes, g))
    g.ClearField("value_info")
    return m


def _topo(nodes: list[onnx.NodeProto], g: onnx.GraphProto) -> list[onnx.NodeProto]:
    """Orders nodes so every input is produced first (the border Casts were appended out of place)."""
    ready = {v.name for v in g.input} | {t.name for t in g.initializer} | {""}
    pending, out = list(nodes), []
    while pending:
        rest = []
        for n in pending:
            if all(x in ready for x in n.input):
                out.append(n)
                ready.update(n.output)
            else:
                rest.append(n)
        if len(rest) == len(pending):
            raise ValueError(f"fp16: graph has a cycle or an undefined input near {rest[0].name}")
        pending = rest
    return out
