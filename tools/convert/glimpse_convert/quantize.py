"""Weight-only block quantization of an fp32 graph: every MatMul whose B is a constant weight (each projection and
the LM head, tied or not: MatMul(h, Transpose(embed))) becomes
com.microsoft MatMulNBits (bits 4 or 8, block_size 32 along K, asymmetric with zero points), as onnxruntime's own
quantizer writes it:
  B           uint8 [N, n_blocks, block_size * bits / 8]  codes along K, low bits first (4-bit: even k low nibble)
  scales      float32 [N * n_blocks]
  zero_points uint8 [N * ceil(n_blocks * bits / 8)]         per row; 4-bit: two per byte, even block low nibble
  dequantized weight = (code - zero_point) * scale
The embedding the token Gather reads becomes float16 + Cast (half the bytes; a tied LM head has its own copy in
MatMulNBits). ACCURACY_LEVEL 4 lets the CPU kernel quantize activations to int8 per block (fastest on x86).
"""
from __future__ import annotations

import os

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

BLOCK = 32
EMBED_F16_MIN = 1 << 20  # embeddings of at least this many values are stored float16
ACCURACY_LEVEL = int(os.environ.get("GLIMPSE_MATMULNBITS_ACCURACY", "4"))


def quantize_blocks(w_nk: np.ndarray, bits: int, block: int = BLOCK):
    """w [N, K] float32 -> (codes uint8 [N, n_blocks, block], scales float32 [N, n_blocks], zero points uint8 [N, n_blocks])."""
    n, k = w_nk.shape
    nb = -(-k // block)
    wp = np.zeros((n, nb * block), np.float32)
    wp[:, :k] = w_nk
    wb = wp.reshape(n, nb, block)
    qmax = (1 << bits) - 1
    lo = np.minimum(wb.min(-1), 0.0)  # the range holds 0, so zero padding is exact
    hi = np.maximum(wb.max(-1), 0.0)
    scale = (hi - lo) / qmax
    scale = np.where(scale == 0, 1.0, scale).astype(np.float32)
    zp = np.clip(np.round(-lo / scale), 0, qmax).astype(np.uint8)
    q = np.clip(np.round(wb / scale[..., None]) + zp[..., None], 0, qmax).astype(np.uint8)
    return q, scale, zp


def pack(q: np.ndarray, scale: np.ndarray, zp: np.ndarray, bits: int):
    n, nb, block = q.shape
    if bits == 8:
        return q, scale.reshape(-1), zp.reshape(-1)
    b = (q[..., 0::2] | (q[..., 1::2] << 4)).astype(np.uint8)  # [N, nb, block/2]
    zpp = np.zeros((n, (nb + 1) // 2), np.uint8)
    zpp[:, : (nb + 1) // 2] = zp[:, 0::2]
    zpp[:, : nb // 2] |= zp[:, 1::2] << 4
    return b, scale.reshape(-1), zpp.reshape(-1)


def dequantize(q: np.ndarray, scale: np.ndarray, zp: np.ndarray, k: int) -> np.ndarray:
    """The weight MatMulNBits computes with, [N, K] (for checks)."""
    w = (q.astype(np.float32) - zp[..., None]) * scale[..., None]
    return w.reshape(q.shape[0], -1)[:, :k]


def quantize(m: onnx.ModelProto, bits: int) -> onnx.ModelProto:
    g = m.graph
    inits = {t.name: t for t in g.initializer}
    producer = {o: n for n in g.node for o in n.output}
    uses: dict[str, int] = {}
    for n in g.node:
        for x in n.input:
            uses[x] = uses.get(x, 0) + 1
    out_nodes, new_inits, dropped = [], [], set()
    for n in g.node:
        w_nk = None
        if n.op_type == "MatMul":
            b = n.input[1]
            if b in inits and len(inits[b].dims) == 2:
                w_nk = numpy_helper.to_array(inits[b]).T  # stored [K, N]
                src = b
            elif b in producer and producer[b].op_type == "Transpose" and producer[b].input[0] in inits:
                t = producer[b]
                perm = [a.ints for a in t.attribute if a.name == "perm"]
                if (not perm or list(perm[0]) == [1, 0]) and len(inits[t.input[0]].dims) == 2:
                    w_nk = numpy_helper.to_array(inits[t.input[0]])  # tied LM head: Transpose(embed [N, K])
                    src = b
        if w_nk is None:
            out_nodes.append(n)
            continue
        nn_, k = w_nk.shape
        q, scale, zp = quantize_blocks(np.ascontiguousarray(w_nk, np.float32), bits)
        bq, sc, zpp = pack(q, scale, zp, bits)
        base = (n.name or n.output[0]).strip("/").replace("/", ".")
        names = [f"{base}.qweight", f"{base}.scales", f"{base}.zero_points"]
        new_inits += [numpy_helper.from_array(bq, names[0]), numpy_helper.from_array(sc, names[1]),
                      numpy_helper.from_array(zpp, names[2])]
        out_nodes.append(helper.make_node("MatMulNBits", [n.input[0], *names], list(n.output), name=f"{n.name}_Q{bits}",
                                          domain="com.microsoft", K=k, N=nn_, bits=bits, block_size=BLOCK,
                                          accuracy_level=ACCURACY_LEVEL))
        uses[src] -= 1
        dropped.add(src)
    # Drop weights (and the tied head's Transpose) nothing reads any more.
    keep_nodes = []
    for n in out_nodes:
        if n.op_type == "Transpose" and all(uses.get(o, 0) == 0 for o in n.output) and n.output[0] in dropped:
            uses[n.input[0]] -= 1
            continue
        keep_nodes.append(n)
    kept = [t for t in g.initializer if uses.get(t.name, 0) > 0]
    g.ClearField("initializer")
    g.initializer.extend(kept + new_inits)
    g.ClearField("node")
    g.node.extend(_half_embedding(keep_nodes, g))
    if not any(o.domain == "com.microsoft" for o in m.opset_import):
        m.opset_import.append(helper.make_opsetid("com.microsoft", 1))
    return m


def _half_embedding(nodes: list[onnx.NodeProto], g: onnx.GraphProto) -> list[onnx.NodeProto]:
    """Gather from a large float32 table -> Gather from its float16 copy + Cast to float32."""
    inits = {t.name: t for t in g.initializer}
    readers: dict[str, int] = {}
    for n in nodes:
        for x in n.input:
            readers[x] = readers.get(x, 0) + 1
    out = []
    for n in nodes:
        table = n.input[0] if n.op_type == "Gather" else None
        t = inits.get(table) if table else None
        if t is None or t.data_type != TensorProto.FLOAT or readers[table] != 1 or np.prod(t.dims) < EMBED_F16_MIN:
            out.append(n)
            continue
        t.CopyFrom(numpy_helper.from_array(numpy_helper.to_array(t).astype(np.float16), t.name))
        half = n.output[0] + "__f16"
        out.append(helper.make_node("Gather", list(n.input), [half], name=n.name, **{a.name: helper.get_attribute_value(a) for a in n.attribute}))
        out.append(helper.make_node("Cast", [half], list(n.output), name=f"{n.name}_Cast", to=TensorProto.FLOAT))
    return out
