"""Element types of every value in a graph, by ONNX shape inference on a weight-free copy (so > 2 GiB graphs work)."""
from __future__ import annotations

import onnx
from onnx import TensorProto, helper


def _stub(t: TensorProto) -> TensorProto:
    """Same name, type and dims, no data: shape inference needs no weight values (shapes come from Constant nodes)."""
    s = TensorProto(name=t.name, data_type=t.data_type, dims=list(t.dims))
    if len(t.raw_data) < 4096 and t.data_location != TensorProto.EXTERNAL:
        s.CopyFrom(t)
    return s


def elem_types(m: onnx.ModelProto) -> dict[str, int]:
    g = m.graph
    light = helper.make_model(
        helper.make_graph(list(g.node), g.name, list(g.input), list(g.output), [_stub(t) for t in g.initializer],
                          value_info=list(g.value_info)),  # types a builder recorded (ONNX cannot infer com.microsoft ops)
        opset_imports=list(m.opset_import), ir_version=m.ir_version)
    inferred = onnx.shape_inference.infer_shapes(light).graph
    types = {t.name: t.data_type for t in g.initializer}
    for v in list(inferred.input) + list(inferred.output) + list(inferred.value_info):
        types[v.name] = v.type.tensor_type.elem_type
    return types
