"""Glimpse's tree graph (model_tree{S}.onnx) written node by node from a Decoder's weights, for onnxruntime's CPU
provider: the interface of export.trace(model, tree=True) (same inputs, outputs, types and dims, so the engine sees
no difference) in 27 nodes per layer after onnxruntime's own fusions, where the trace keeps about 81.

What differs from the trace (model.py computes the same function; the results differ by float rounding):
- q/k/v are one MatMul on concatenated weights; its output is split by heads after one Transpose to [b, heads, s, hd],
  so v is present_append.value as it comes and the query heads sharing a kv head are rows of one matrix by a free
  Reshape; silu(gate) is com.microsoft QuickGelu;
- RMSNorm is SimplifiedLayerNormalization, and each residual Add is fused with the norm that follows it
  (com.microsoft SkipSimplifiedLayerNormalization, whose 4th output is the sum);
- RoPE is com.microsoft RotaryEmbedding on [b, heads, s, hd]; its cos/sin "cache" is computed once per call for the
  call's own positions ([b*s, hd/2] rows, addressed by row index), so any position_ids work, tree depths included;
- attention keeps model.py's scheme (scores against cached and new keys apart: the cache is never copied) with the
  1/sqrt(hd) scale inside FusedMatMul and the mask tiled for the head groups once per call; no Shape/Gather chains
  (Reshape with 0 / -1, the past length read once per call). A fused attention operator does not fit: onnxruntime
  1.30's GroupQueryAttention refuses batch > 1 with several new tokens and a past (batched verification), and it and
  ONNX Attention-23 copy the cache into their present outputs every call;
- a tied LM head is MatMul(h, Transpose(embed)), as in the traced graph (see the comment at the head for why).
Nodes with a name segment starting "fp32_" are fp16.py's float32 islands (norms, rotary angles, mask, softmax).
quantize.py rewrites every MatMul with a constant [K, N] weight and the tied head into MatMulNBits.
"""
from __future__ import annotations

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

from .export import OPSET, io_names
from .model import Decoder

F32, I64 = TensorProto.FLOAT, TensorProto.INT64
MS = "com.microsoft"


class _Builder:
    """Nodes, their output types, and weights written straight into the model (a protobuf copy of 2 GB is not free)."""

    def __init__(self):
        self.model = helper.make_model(helper.make_graph([], "glimpse_tree", [], []),
                                       opset_imports=[helper.make_opsetid("", OPSET), helper.make_opsetid(MS, 1)],
                                       producer_name="glimpse_convert.tree_graph")
        self.model.ir_version = 8
        self.nodes: list[onnx.NodeProto] = []
        self.types: dict[str, int] = {}
        self._consts: dict[tuple, str] = {}

    def weight(self, name: str, a: np.ndarray) -> str:
        self.model.graph.initializer.append(numpy_helper.from_array(np.ascontiguousarray(a), name))
        return name

    def ints(self, values) -> str:
        """An int64 1-D constant, shared by every node that needs the same values."""
        key = tuple(int(v) for v in values)
        if key not in self._consts:
            name = f"const_i64_{len(self._consts)}"
            self.weight(name, np.array(key, np.int64))
            self._consts[key] = name
        return self._consts[key]

    def op(self, op: str, inputs: list[str], name: str, outputs: int | list[str] = 1, out_type: int = F32,
           domain: str = "", **attrs) -> list[str]:
        outs = [f"{name}_out{j}" for j in range(outputs)] if isinstance(outputs, int) else outputs
        self.nodes.append(helper.make_node(op, inputs, outs, name=name, domain=domain, **attrs))
        for o in outs:
            if o:
                self.types[o] = out_type
        return outs

    def op1(self, *a, **k) -> str:
        return self.op(*a, **k)[0]


def _np(p) -> np.ndarray:
    return p.detach().numpy()


def _linear(b: _Builder, x: str, name: str, w_kn: np.ndarray, bias: np.ndarray | None) -> str:
    """x @ W (+ bias) with W stored [K, N], the pattern quantize.py rewrites (onnxruntime folds the Add into
    MatMulNBits)."""
    mm = b.op1("MatMul", [x, b.weight(f"{name}.weight", w_kn)], f"{name}/MatMul")
    return mm if bias is None else b.op1("Add", [mm, b.weight(f"{name}.bias", bias)], f"{name}/Add")


def build_tree(model: Decoder) -> onnx.ModelProto:
    """The tree graph (with num_logits_to_keep) of model, weights in memory."""
    sp = model.spec
    h, kv, hd, rep = sp.heads, sp.kv_heads, sp.head_dim, sp.heads // sp.kv_heads
    b = _Builder()
    inputs, outputs = io_names(sp.layers, tree=True)
    b.types.update({"attention_mask": F32})

    # Once per call: lengths, rotary tables, the mask tiled for the rep query heads sharing a kv head.
    seq = b.op1("Shape", ["input_ids"], "seq_len", out_type=I64, start=1, end=2)  # [1]
    past = b.op1("Shape", ["past_key_values.0.key"], "past_len", out_type=I64, start=2, end=3)  # [1]
    att_split = b.op1("Concat", [past, seq], "att_split", out_type=I64, axis=0)
    pos = b.op1("Cast", ["position_ids"], "fp32_rope/Cast", to=F32)
    pos = b.op1("Unsqueeze", [pos, b.ints([-1])], "fp32_rope/Unsqueeze")
    freqs = b.op1("Mul", [pos, b.weight("rope.inv_freq", model.fp32_rope.inv_freq.numpy().astype(np.float32))],
                  "fp32_rope/Mul")  # [b, s, hd/2]
    freqs = b.op1("Reshape", [freqs, b.ints([-1, hd // 2])], "fp32_rope/Reshape")  # one row per (batch, position)
    cos = b.op1("Cos", [freqs], "fp32_rope/Cos")
    sin = b.op1("Sin", [freqs], "fp32_rope/Sin")
    rows = b.op1("Size", ["position_ids"], "rope_rows", out_type=I64)
    zero = b.weight("const_zero", np.array(0, np.int64))
    one = b.weight("const_one", np.array(1, np.int64))
    row_ids = b.op1("Range", [zero, rows, one], "rope_row_ids/Range", out_type=I64)
    row_ids = b.op1("Reshape", [row_ids, b.op1("Shape", ["position_ids"], "rope_row_ids/Shape", out_type=I64)],
                    "rope_row_ids/Reshape", out_type=I64)
    mask = b.op1("Tile", ["attention_mask", b.ints([1, 1, rep, 1])], "fp32_mask/Tile")  # [b, 1, rep*s, t]

    x = b.op1("Gather", [b.weight("embed_tokens.weight", _np(model.embed)), "input_ids"], "embed/Gather")
    resid, branch = x, None  # the residual stream, and the branch output still to add to it
    scale = float(1.0 / np.sqrt(hd))

    def norm(w, name: str):
        """RMSNorm of resid + branch (the sum becomes the residual stream)."""
        nonlocal resid
        g = b.weight(f"{name}.weight", _np(w))
        if branch is None:
            return b.op1("SimplifiedLayerNormalization", [resid, g], name, axis=-1, epsilon=sp.eps, stash_type=1)
        y, _, _, resid = b.op("SkipSimplifiedLayerNormalization", [resid, branch, g], name, domain=MS,
                              outputs=[f"{name}_out0", "", "", f"{name}_sum"], epsilon=sp.eps)
        return y

    for i, layer in enumerate(model.layers):
        p, at, mlp = f"layers.{i}", layer.self_attn, layer.mlp
        xn = norm(layer.input_layernorm.weight, f"{p}/fp32_input_layernorm")
        w_qkv = np.concatenate([_np(at.q_proj.weight_t), _np(at.k_proj.weight_t), _np(at.v_proj.weight_t)], axis=1)
        qkv = _linear(b, xn, f"{p}.self_attn.qkv_proj", w_qkv, _cat_bias([at.q_proj, at.k_proj, at.v_proj]))
        # heads first: [b, s, (h + 2 kv) * hd] -> [b, h + 2 kv, s, hd], split into q, k and v by heads (BNSH)
        qkv = b.op1("Reshape", [qkv, b.ints([0, 0, h + 2 * kv, hd])], f"{p}/attn/qkv_split_heads")
        qkv = b.op1("Transpose", [qkv], f"{p}/attn/qkv_transpose", perm=[0, 2, 1, 3])
        q, k, v = b.op("Split", [qkv, b.ints([h, kv, kv])], f"{p}/attn/qkv_split", axis=1,
                       outputs=[f"{p}/attn/q", f"{p}/attn/k", outputs[3 + 2 * i]])
        if at.q_norm is not None:  # Qwen3: RMSNorm over each head before RoPE
            q = _head_norm(b, q, at.q_norm, sp.eps, f"{p}/attn/fp32_q_norm")
            k = _head_norm(b, k, at.k_norm, sp.eps, f"{p}/attn/fp32_k_norm")
        q = b.op1("RotaryEmbedding", [q, row_ids, cos, sin], f"{p}/attn/q_rotary", domain=MS)
        k = b.op1("RotaryEmbedding", [k, row_ids, cos, sin], f"{p}/attn/k_rotary", domain=MS,
                  outputs=[outputs[2 + 2 * i]])
        # query heads kv_i*rep .. kv_i*rep+rep-1 share kv head kv_i: as rows [b, kv, rep*s, hd] they are one matmul
        # per kv head (a free reshape of [b, h, s, hd])
        qg = b.op1("Reshape", [q, b.ints([0, kv, -1, hd])], f"{p}/attn/q_fold")
        pk, pv = inputs[4 + 2 * i], inputs[5 + 2 * i]
        s_past = b.op1("FusedMatMul", [qg, pk], f"{p}/attn/scores_past", domain=MS, transB=1, alpha=scale)
        s_new = b.op1("FusedMatMul", [qg, k], f"{p}/attn/scores_new", domain=MS, transB=1, alpha=scale)
        scores = b.op1("Concat", [s_past, s_new], f"{p}/attn/scores", axis=-1)
        scores = b.op1("Add", [scores, mask], f"{p}/attn/fp32_softmax/Add")
        probs = b.op1("Softmax", [scores], f"{p}/attn/fp32_softmax/Softmax", axis=-1)
        a_past, a_new = b.op("Split", [probs, att_split], f"{p}/attn/probs_split", outputs=2, axis=-1)
        y = b.op1("Add", [b.op1("MatMul", [a_past, pv], f"{p}/attn/out_past"),
                          b.op1("MatMul", [a_new, v], f"{p}/attn/out_new")], f"{p}/attn/out")
        y = b.op1("Reshape", [y, b.ints([0, h, -1, hd])], f"{p}/attn/out_unfold")
        y = b.op1("Transpose", [y], f"{p}/attn/out_transpose", perm=[0, 2, 1, 3])
        y = b.op1("Reshape", [y, b.ints([0, 0, -1])], f"{p}/attn/out_merge_heads")
        branch = _linear(b, y, f"{p}.self_attn.o_proj", _np(at.o_proj.weight_t), _opt(at.o_proj.bias))
        xn = norm(layer.post_attention_layernorm.weight, f"{p}/fp32_post_attention_layernorm")
        # gate and up stay two MatMuls: one on concatenated weights plus a Split measured 3-5% slower per step (q4)
        g = _linear(b, xn, f"{p}.mlp.gate_proj", _np(mlp.gate_proj.weight_t), _opt(mlp.gate_proj.bias))
        u = _linear(b, xn, f"{p}.mlp.up_proj", _np(mlp.up_proj.weight_t), _opt(mlp.up_proj.bias))
        act = b.op1("Mul", [b.op1("QuickGelu", [g], f"{p}/mlp/silu", domain=MS, alpha=1.0), u], f"{p}/mlp/gated")
        branch = _linear(b, act, f"{p}.mlp.down_proj", _np(mlp.down_proj.weight_t), _opt(mlp.down_proj.bias))

    hn = norm(model.norm.weight, "fp32_final_norm")
    # num_logits_to_keep: 0 = every position, n > 0 = the last min(n, s)
    n = "num_logits_to_keep"
    keep = b.op1("Where", [b.op1("Greater", [n, zero], "keep/Greater", out_type=TensorProto.BOOL),
                           b.op1("Min", [n, seq], "keep/Min", out_type=I64), seq], "keep/Where", out_type=I64)
    start = b.op1("Neg", [keep], "keep/Neg", out_type=I64)
    big = b.weight("const_i64_max", np.array([np.iinfo(np.int64).max], np.int64))
    hk = b.op1("Slice", [hn, start, big, b.ints([1])], "keep/Slice", outputs=[outputs[1]])
    if model.lm_head_t is None:
        # Tied: MatMul(h, Transpose(embed)). onnxruntime folds the Transpose and packs the result, leaving the
        # embedding's file pages touched only where the Gather reads rows; read as B^T by one FusedMatMul, the
        # whole table is paged in to be packed and stays resident (peak RSS at the 0.5B shape 1.56x vs 1.36x).
        embed_t = b.op1("Transpose", ["embed_tokens.weight"], "lm_head/Transpose", perm=[1, 0])
        b.op("MatMul", [hk, embed_t], "lm_head/MatMul", outputs=[outputs[0]])
    else:
        b.op("MatMul", [hk, b.weight("lm_head.weight", _np(model.lm_head_t))], "lm_head/MatMul", outputs=[outputs[0]])

    g = b.model.graph
    g.node.extend(b.nodes)
    g.input.extend(_inputs(sp, inputs))
    g.output.extend(_outputs(sp, outputs))
    g.value_info.extend(helper.make_tensor_value_info(name, t, None) for name, t in b.types.items()
                        if name not in inputs and name not in outputs)
    return b.model


def _opt(p):
    return None if p is None else _np(p)


def _cat_bias(projs) -> np.ndarray | None:
    """The biases of projections whose weights are concatenated (zeros for one without), or None if none has one."""
    if all(pr.bias is None for pr in projs):
        return None
    return np.concatenate([_np(pr.bias) if pr.bias is not None else np.zeros(pr.weight_t.shape[1], np.float32)
                           for pr in projs])


def _head_norm(b: _Builder, x: str, norm, eps: float, name: str) -> str:
    """RMSNorm over head_dim of [b, heads, s, hd]."""
    return b.op1("SimplifiedLayerNormalization", [x, b.weight(f"{name}.weight", _np(norm.weight))], name,
                 axis=-1, epsilon=eps, stash_type=1)


def _inputs(sp, names: list[str]) -> list[onnx.ValueInfoProto]:
    out = [helper.make_tensor_value_info("input_ids", I64, ["batch_size", "sequence_length"]),
           helper.make_tensor_value_info("attention_mask", F32,
                                         ["batch_size", 1, "sequence_length", "total_sequence_length"]),
           helper.make_tensor_value_info("position_ids", I64, ["batch_size", "sequence_length"]),
           helper.make_tensor_value_info("num_logits_to_keep", I64, [])]
    out += [helper.make_tensor_value_info(n, F32, ["batch_size", sp.kv_heads, "past_sequence_length", sp.head_dim])
            for n in names[4:]]
    return out


def _outputs(sp, names: list[str]) -> list[onnx.ValueInfoProto]:
    out = [helper.make_tensor_value_info("logits", F32, ["batch_size", "num_logits", sp.vocab_size]),
           helper.make_tensor_value_info("last_hidden_state", F32, ["batch_size", "num_logits", sp.hidden])]
    out += [helper.make_tensor_value_info(n, F32, ["batch_size", sp.kv_heads, "sequence_length", sp.head_dim])
            for n in names[2:]]
    return out
