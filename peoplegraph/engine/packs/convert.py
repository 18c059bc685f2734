"""One-time ONNX graph surgery that makes the OpenCV Zoo int8 files run well on onnxruntime.

onnxruntime 1.31 rejects YuNet's and SFace's `*_int8bq.onnx`: their DequantizeLinear nodes use
`block_size` with scales that do not match the blocks it expects, and SFace lists stale initializers as
graph inputs. Folding each DequantizeLinear of constant weights into a float32 initializer gives the same
numbers (done once, in numpy) and a graph every runtime accepts.
"""

from __future__ import annotations

import numpy as np
import onnx
from onnx import helper, numpy_helper


def _attribute(node: onnx.NodeProto, name: str, default: int) -> int:
    for attribute in node.attribute:
        if attribute.name == name:
            return int(helper.get_attribute_value(attribute))
    return default


def _dequantize(x: np.ndarray, scale: np.ndarray, zero_point: np.ndarray | None, axis: int, block: int) -> np.ndarray:
    """ONNX DequantizeLinear: per-tensor, per-axis or blocked (block_size along `axis`)."""
    x = x.astype(np.float32)
    zero = np.zeros_like(scale) if zero_point is None else zero_point.astype(np.float32)
    if scale.size == 1:
        return (x - zero.reshape(())) * scale.reshape(()).astype(np.float32)
    axis = axis % x.ndim
    if scale.ndim == 1 and block == 0:  # per-axis
        shape = [1] * x.ndim
        shape[axis] = -1
        return (x - zero.reshape(shape)) * scale.reshape(shape)
    repeat = block or -(-x.shape[axis] // scale.shape[axis])
    scale_full = np.repeat(scale, repeat, axis=axis).take(range(x.shape[axis]), axis=axis)
    zero_full = np.repeat(zero, repeat, axis=axis).take(range(x.shape[axis]), axis=axis)
    return (x - zero_full) * scale_full.astype(np.float32)


def fold_dequantize(model: onnx.ModelProto) -> int:
    """Replace every DequantizeLinear whose inputs are all initializers by its float32 result."""
    graph = model.graph
    initializers = {init.name: init for init in graph.initializer}
    folded, kept = 0, []
    for node in graph.node:
        if node.op_type == "DequantizeLinear" and all(i in initializers for i in node.input if i):
            arrays = [numpy_helper.to_array(initializers[i]) if i else None for i in node.input]
            x, scale = arrays[0], arrays[1]
            zero_point = arrays[2] if len(arrays) > 2 else None
            value = _dequantize(x, scale, zero_point, _attribute(node, "axis", 1), _attribute(node, "block_size", 0))
            graph.initializer.append(numpy_helper.from_array(value.astype(np.float32), node.output[0]))
            folded += 1
        else:
            kept.append(node)
    del graph.node[:]
    graph.node.extend(kept)
    return folded


def drop_stale_inputs(model: onnx.ModelProto) -> int:
    """Graph inputs that no node reads, or that are initializers, are stale: old exporters listed every
    weight as an input, and the quantiser left those names behind after renaming the weights."""
    graph = model.graph
    initializers = {init.name for init in graph.initializer}
    read = {i for node in graph.node for i in node.input}
    stale = [i for i in graph.input if i.name in initializers or i.name not in read]
    for value in stale:
        graph.input.remove(value)
    return len(stale)


def prune_unused_initializers(model: onnx.ModelProto) -> int:
    graph = model.graph
    used = {i for node in graph.node for i in node.input} | {o.name for o in graph.output}
    unused = [init for init in graph.initializer if init.name not in used]
    for init in unused:
        graph.initializer.remove(init)
    return len(unused)


def rewrite_prelu(model: onnx.ModelProto) -> int:
    """PRelu(x, a) == a * x + (1 - a) * Relu(x): the same values (to float rounding), and onnxruntime's CPU
    kernels for these four elementwise ops are much faster than its PRelu (about half of SFace's time was
    spent there). Measured side by side here: PRelu 17.3 ms a face, Relu(x) - a * Relu(-x) 12.9 ms, this
    form 9.6 ms. The slopes must be constant initializers (they are in every model this is used on)."""
    graph = model.graph
    slopes = {i.name: i for i in graph.initializer}
    nodes, count = [], 0
    for node in graph.node:
        if node.op_type != "PRelu":
            nodes.append(node)
            continue
        x, slope = node.input
        if slope not in slopes:
            raise ValueError(f"PRelu {node.name!r}: its slope {slope!r} is not a constant initializer")
        out = node.output[0]
        base = f"{node.name or out}_prelu"
        keep = numpy_helper.from_array((1.0 - numpy_helper.to_array(slopes[slope])).astype(np.float32), f"{base}_keep")
        graph.initializer.append(keep)
        nodes += [
            helper.make_node("Relu", [x], [f"{base}_pos"], name=f"{base}_relu"),
            helper.make_node("Mul", [f"{base}_pos", keep.name], [f"{base}_pos_kept"], name=f"{base}_mul_pos"),
            helper.make_node("Mul", [x, slope], [f"{base}_sloped"], name=f"{base}_mul_slope"),
            helper.make_node("Add", [f"{base}_pos_kept", f"{base}_sloped"], [out], name=f"{base}_add"),
        ]
        count += 1
    del graph.node[:]
    graph.node.extend(nodes)
    return count


def make_batch_dynamic(model: onnx.ModelProto) -> None:
    """Let the first dimension of every graph input and output be a batch of any size."""
    for value in list(model.graph.input) + list(model.graph.output):
        dims = value.type.tensor_type.shape.dim
        if dims:
            dims[0].ClearField("dim_value")
            dims[0].dim_param = "batch"
    del model.graph.value_info[:]  # shapes inferred for batch 1 would contradict the new inputs


def make_size_dynamic(model: onnx.ModelProto) -> None:
    """Let a detector take images of any height and width (its reshapes and resizes must not fix them)."""
    dims = model.graph.input[0].type.tensor_type.shape.dim
    for axis, name in ((2, "height"), (3, "width")):
        dims[axis].ClearField("dim_value")
        dims[axis].dim_param = name
    for value in model.graph.output:
        dims = value.type.tensor_type.shape.dim
        if len(dims) > 1:
            dims[1].ClearField("dim_value")
            dims[1].dim_param = "anchors"
    del model.graph.value_info[:]


def recipe(*, prelu: bool, dynamic_batch: bool, dynamic_size: bool = False) -> str:
    """Names the steps `convert` applies, recorded in the manifest so a changed recipe rebuilds the file."""
    steps = ["fold-dequantize", "prelu-affine" if prelu else "", "dynamic-batch" if dynamic_batch else "",
             "dynamic-size" if dynamic_size else ""]
    return " ".join(s for s in steps if s)


def convert(source: bytes, *, prelu: bool, dynamic_batch: bool, dynamic_size: bool = False) -> bytes:
    model = onnx.load_from_string(source)
    fold_dequantize(model)
    drop_stale_inputs(model)
    prune_unused_initializers(model)
    if prelu:
        rewrite_prelu(model)
    if dynamic_batch:
        make_batch_dynamic(model)
    if dynamic_size:
        make_size_dynamic(model)
    onnx.checker.check_model(model)
    return model.SerializeToString()
