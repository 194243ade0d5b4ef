"""Builds transformers.js-style model folders from the embedded model's graphs, for the format tests.

    /usr/bin/python3 make_formats.py --model models/glimpse-coder-tiny --out OUT [--dtypes fp32,fp16,q4]

OUT/onnx/model{S}.onnx and model_tree{S}.onnx (S: "" fp32, "_fp16", "_q4"), each with a num_logits_to_keep
int64 scalar input (logits and last_hidden_state of the last n positions; 0 = all), weights stored as ONNX external
data (model{S}.onnx_data). fp16: weights stored in float16, float16 KV cache in and out, float16 logits and
last_hidden_state (and a float16 4-D mask for the tree graph); the arithmetic stays float32 inside (casts at the
edges), which is what the engine sees of a float16 graph. q4: every weight MatMul becomes com.microsoft
MatMulNBits (4 bits, blocks of 32, symmetric), as transformers.js's q4 files; I/O stays float32.
Test fixtures only: built at test time into a temp dir, never committed.
"""
import argparse
import json
import os
import shutil

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

INT64_MAX = 2**63 - 1


def rename(graph, old, new):
    for n in graph.node:
        for i, x in enumerate(n.input):
            if x == old:
                n.input[i] = new
        for i, x in enumerate(n.output):
            if x == old:
                n.output[i] = new


def add_logits_to_keep(graph):
    """last_hidden_state -> Slice(last n positions) -> lm_head: logits and hidden both cover the last n."""
    full = "last_hidden_state_all"
    rename(graph, "last_hidden_state", full)
    graph.input.append(helper.make_tensor_value_info("num_logits_to_keep", TensorProto.INT64, []))
    graph.initializer.extend([
        numpy_helper.from_array(np.array([1], np.int64), "keep_shape"),
        numpy_helper.from_array(np.array([INT64_MAX], np.int64), "keep_ends"),
        numpy_helper.from_array(np.array([1], np.int64), "keep_axes"),
    ])
    graph.node.extend([
        helper.make_node("Reshape", ["num_logits_to_keep", "keep_shape"], ["keep_1d"]),
        helper.make_node("Neg", ["keep_1d"], ["keep_starts"]),
        helper.make_node("Slice", [full, "keep_starts", "keep_ends", "keep_axes"], ["last_hidden_state"]),
    ])


def io_to_half(graph, names_in, names_out):
    for vi in graph.input:
        if vi.name in names_in:
            inner = vi.name + "_f32"
            rename(graph, vi.name, inner)
            vi.type.tensor_type.elem_type = TensorProto.FLOAT16
            graph.node.insert(0, helper.make_node("Cast", [vi.name], [inner], to=TensorProto.FLOAT))
    for vo in graph.output:
        if vo.name in names_out:
            inner = vo.name + "_f32"
            rename(graph, vo.name, inner)
            vo.type.tensor_type.elem_type = TensorProto.FLOAT16
            graph.node.append(helper.make_node("Cast", [inner], [vo.name], to=TensorProto.FLOAT16))


def weights_to_half(graph):
    kept = []
    for init in list(graph.initializer):
        if init.data_type == TensorProto.FLOAT and len(init.dims) >= 1:
            a = numpy_helper.to_array(init).astype(np.float16)
            kept.append(numpy_helper.from_array(a, init.name + "_f16"))
            graph.node.insert(0, helper.make_node("Cast", [init.name + "_f16"], [init.name], to=TensorProto.FLOAT))
            graph.initializer.remove(init)
    graph.initializer.extend(kept)


def quantize_q4(graph, block=32):
    """MatMul(x, Transpose(W[N, K])) -> MatMulNBits(x, q4(W)): W is already laid out [N, K] as MatMulNBits wants."""
    inits = {i.name: i for i in graph.initializer}
    producer = {o: n for n in graph.node for o in n.output}
    for n in list(graph.node):
        if n.op_type != "MatMul":
            continue
        t = producer.get(n.input[1])
        if t is None or t.op_type != "Transpose" or t.input[0] not in inits:
            continue
        w = numpy_helper.to_array(inits[t.input[0]]).astype(np.float32)  # [N, K]
        N, K = w.shape
        if K % block:
            continue
        blocks = w.reshape(N, K // block, block)
        scale = np.abs(blocks).max(axis=2) / 7.0
        scale[scale == 0] = 1.0
        q = np.clip(np.round(blocks / scale[:, :, None]) + 8, 0, 15).astype(np.uint8)
        packed = (q[:, :, 0::2] | (q[:, :, 1::2] << 4)).astype(np.uint8)  # even index: low nibble
        base = n.output[0].replace("/", "_")
        graph.initializer.extend([
            numpy_helper.from_array(packed, base + "_q4"),
            numpy_helper.from_array(scale.astype(np.float32).reshape(-1), base + "_scales"),
        ])
        node = helper.make_node("MatMulNBits", [n.input[0], base + "_q4", base + "_scales"], list(n.output),
                                domain="com.microsoft", K=K, N=N, bits=4, block_size=block)
        graph.node.insert(list(graph.node).index(n), node)
        graph.node.remove(n)
    # Transposes and weights left without consumers (the embedding stays: Gather uses it).
    used = {x for m in graph.node for x in m.input}
    for t in [m for m in graph.node if m.op_type == "Transpose" and m.output[0] not in used]:
        graph.node.remove(t)
    used = {x for m in graph.node for x in m.input}
    for init in [i for i in graph.initializer if i.name not in used]:
        graph.initializer.remove(init)


def build(src, dst, dtype, tree):
    m = onnx.load(src)
    g = m.graph
    add_logits_to_keep(g)
    if dtype == "fp16":
        weights_to_half(g)
        kv_in = [i.name for i in g.input if i.name.startswith("past_key_values.")]
        if tree:
            kv_in.append("attention_mask")
        outs = [o.name for o in g.output]
        io_to_half(g, set(kv_in), set(outs))
    elif dtype == "q4":
        quantize_q4(g)
        if not any(o.domain == "com.microsoft" for o in m.opset_import):
            m.opset_import.append(helper.make_opsetid("com.microsoft", 1))
    name = os.path.basename(dst)
    onnx.save_model(m, dst, save_as_external_data=True, all_tensors_to_one_file=True,
                    location=name + "_data", size_threshold=1024)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--model", required=True)
    ap.add_argument("--out", required=True)
    ap.add_argument("--dtypes", default="fp32,fp16,q4")
    ap.add_argument("--config-dtype", default=None, help="transformers.js_config.dtype to write (default: none)")
    a = ap.parse_args()
    os.makedirs(os.path.join(a.out, "onnx"), exist_ok=True)
    for f in os.listdir(a.model):
        if f.endswith(".json"):
            shutil.copy(os.path.join(a.model, f), a.out)
    suffix = {"fp32": "", "fp16": "_fp16", "q4": "_q4"}
    external = {}
    for d in a.dtypes.split(","):
        for tree in (False, True):
            base = "model_tree" if tree else "model"
            name = f"{base}{suffix[d]}.onnx"
            build(os.path.join(a.model, "onnx", base + ".onnx"), os.path.join(a.out, "onnx", name), d, tree)
            external[name] = 1
    cfg_path = os.path.join(a.out, "config.json")
    cfg = json.load(open(cfg_path))
    cfg["transformers.js_config"] = {"use_external_data_format": external}
    if a.config_dtype:
        cfg["transformers.js_config"]["dtype"] = a.config_dtype
    json.dump(cfg, open(cfg_path, "w"), indent=2)


if __name__ == "__main__":
    main()
