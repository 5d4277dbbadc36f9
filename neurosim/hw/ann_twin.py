"""The ANN twin of an SNN graph: same nodes, dense analog activations, one pass per inference.

Every neuron node becomes an analog activation and every synaptic node runs dense over its
full input, once per inference (the twin has no timesteps). Counts come from the graph alone:

* synaptic node: ``macs`` = dense, border-aware MACs (taps on padding are not counted, as the
  simulator counts MACs of analog-fed layers): for a convolution
  ``C_out * C_in/groups * (sum_i valid_rows(i)) * (sum_j valid_cols(j))``; Linear ``N_in * N_out``.
* ``weights``, ``biases``: parameter counts; ``inputs`` / ``outputs``: elements read / written.
* ``activation_ops``: elementwise work of non-synaptic nodes: a neuron (now an activation),
  ReLU, SiLU, Sigmoid and Mul: one per output element; Add: ``(inputs - 1)`` per element;
  pooling: ``k_h k_w`` per output element; global pooling: one per input element. Concat,
  Upsample and Flatten move data only (0 ops).
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..ir.graph import Graph
from ..ir.nodes import Input, Linear
from .geometry import taps_1d


@dataclass(frozen=True)
class TwinNode:
    name: str
    op: str
    macs: int = 0
    weights: int = 0
    biases: int = 0
    inputs: int = 0
    outputs: int = 0
    activation_ops: int = 0

    @property
    def synaptic(self) -> bool:
        return self.op in ("conv2d", "linear")


def dense_macs(node, in_shape) -> int:
    """Border-aware dense MACs of one synaptic node on one input."""
    if isinstance(node, Linear):
        return int(node.weight.shape[0] * node.weight.shape[1])
    _, H, W = in_shape
    kh, kw = node.kernel_size
    Ho = (H + 2 * node.padding[0] - kh) // node.stride[0] + 1
    Wo = (W + 2 * node.padding[1] - kw) // node.stride[1] + 1
    rows = int(taps_1d(H, 0, Ho, node.stride[0], node.padding[0], kh).sum())
    cols = int(taps_1d(W, 0, Wo, node.stride[1], node.padding[1], kw).sum())
    return int(node.out_channels * node.weight.shape[1] * rows * cols)


def twin_counts(graph: Graph) -> list[TwinNode]:
    """Per-node counts of the ANN twin, in topological order (Input nodes excluded)."""
    out = []
    for node in graph.nodes:
        if isinstance(node, Input):
            continue
        outputs = int(np.prod(graph.shapes[node.name]))
        inputs = int(sum(np.prod(graph.shapes[s]) for s in node.inputs))
        if node.is_synaptic:
            out.append(TwinNode(node.name, node.op, macs=dense_macs(node, graph.shapes[node.inputs[0]]),
                                weights=int(node.weight.size),
                                biases=0 if node.bias is None else int(node.bias.size),
                                inputs=inputs, outputs=outputs))
            continue
        op = node.op
        if node.is_neuron or op in ("relu", "silu", "sigmoid", "mul"):
            ops = outputs
        elif op == "add":
            ops = outputs * (len(node.inputs) - 1)
        elif op in ("maxpool2d", "avgpool2d", "sumpool2d"):
            kh, kw = node.kernel
            ops = outputs * kh * kw
        elif op == "globalavgpool":
            ops = inputs
        else:
            ops = 0
        moves = ops > 0
        out.append(TwinNode(node.name, op, inputs=inputs if moves else 0,
                            outputs=outputs if moves else 0, activation_ops=ops))
    return out


@dataclass
class TwinCost:
    """Energy of the ANN twin on one profile, per inference (J)."""

    profile: str
    energy: float
    per_node: dict[str, float]
    macs: int
    activation_ops: int
