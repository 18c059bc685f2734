"""Rewrites that make a published ReID file run in onnxruntime, each a named recipe recorded in the manifest.

`mvn-epsilon`: Intel's person-reidentification-retail-0267 ONNX normalises with MeanVarianceNormalization
nodes, which divide by the standard deviation with no epsilon: a channel whose values are all equal (a
zero variance) makes NaN in onnxruntime. Each node becomes ReduceMean, Sub, Mul, ReduceMean, Add (1e-5),
Sqrt, Div over the node's own axes: the same values wherever the variance is not zero, and finite where it is.
"""

from __future__ import annotations

import onnx
from onnx import helper, numpy_helper

import numpy as np

EPSILON = 1e-5


def mvn_with_epsilon(data: bytes) -> bytes:
    model = onnx.load_from_string(data)
    graph = model.graph
    nodes = []
    eps = numpy_helper.from_array(np.array(EPSILON, np.float32), "mvn_epsilon")
    graph.initializer.append(eps)
    for index, node in enumerate(graph.node):
        if node.op_type != "MeanVarianceNormalization":
            nodes.append(node)
            continue
        axes = next((list(a.ints) for a in node.attribute if a.name == "axes"), [0, 2, 3])
        x, y, p = node.input[0], node.output[0], f"mvn{index}_"
        nodes += [
            helper.make_node("ReduceMean", [x], [p + "mean"], axes=axes, keepdims=1),
            helper.make_node("Sub", [x, p + "mean"], [p + "centred"]),
            helper.make_node("Mul", [p + "centred", p + "centred"], [p + "squared"]),
            helper.make_node("ReduceMean", [p + "squared"], [p + "variance"], axes=axes, keepdims=1),
            helper.make_node("Add", [p + "variance", "mvn_epsilon"], [p + "padded"]),
            helper.make_node("Sqrt", [p + "padded"], [p + "deviation"]),
            helper.make_node("Div", [p + "centred", p + "deviation"], [y]),
        ]
    del graph.node[:]
    graph.node.extend(nodes)
    onnx.checker.check_model(model)
    return model.SerializeToString()


def torchreid_onnx(data: bytes) -> bytes:
    """A torchreid OSNet x0.25 checkpoint exported to ONNX (needs the reid-train extra, once per pack)."""
    from peoplegraph.reid.training import osnet_onnx

    return osnet_onnx(data, "osnet_x0_25")


RECIPES = {"mvn-epsilon": mvn_with_epsilon, "torchreid-onnx": torchreid_onnx}
