"""Output buffers lent for one timestep: memory bounded by what is alive at once, not by the network.

A spiking neuron's outputs (its dense spike map ``out`` and its event list ``idx``, ``val``) are
written whole at every timestep and read only by its consumers in the same timestep (zero
synaptic delay). So they need to exist only from the neuron's run to its last consumer's run:
the engine lends them from a :class:`BufferPool` when the neuron runs and takes them back right
after that consumer, and the next neuron with buffers of the same shape reuses them. The pool
then holds, per buffer shape, as many buffers as are alive at once at the worst point of the
topological order, instead of one per neuron: a large saving on deep detectors, whose backbone
outputs are alive only until the neck reads them. State that must persist across timesteps
(membrane potentials, the synaptic nodes' outputs, which other optimizations keep) stays owned
by its step.
"""
from __future__ import annotations

from collections import defaultdict

import numpy as np


def release_plan(graph, steps) -> dict[int, list[str]]:
    """Position in ``graph.nodes`` -> the pooled steps whose buffers are free after that node ran.

    A pooled node's buffers are free after its last consumer; a graph output's only at the end of
    the timestep (its values are copied out then), as are those of a node nothing reads."""
    position = {node.name: i for i, node in enumerate(graph.nodes)}
    last_reader: dict[str, int] = {}
    for node in graph.nodes:
        for source in node.inputs:
            last_reader[source] = max(last_reader.get(source, -1), position[node.name])
    plan: dict[int, list[str]] = defaultdict(list)
    for name, step in steps.items():
        if step.pooled and name not in graph.outputs and name in last_reader:
            plan[last_reader[name]].append(name)
    return dict(plan)


def pool_peak_bytes(graph, steps, plan: dict[int, list[str]], batch: int = 1) -> int:
    """Bytes the pool holds for ``batch`` samples when every node runs: per buffer shape, the
    most buffers alive at once over the topological order."""
    alive: dict[tuple, int] = defaultdict(int)
    most: dict[tuple, int] = defaultdict(int)
    for i, node in enumerate(graph.nodes):
        step = steps[node.name]
        if step.pooled:
            for key in _keys(step, batch):
                alive[key] += 1
                most[key] = max(most[key], alive[key])
        for name in plan.get(i, ()):
            for key in _keys(steps[name], batch):
                alive[key] -= 1
    return int(sum(count * int(np.prod(shape)) * np.dtype(dtype).itemsize for (shape, dtype), count in most.items()))


def _keys(step, batch):
    return [(shape, np.dtype(dtype).str) for _, shape, dtype in step.pooled_specs(batch)]


class BufferPool:
    """Free buffers by (shape, dtype); :meth:`lend` gives a step the buffers of its
    ``pooled_specs``, :meth:`take_back` returns them (and unsets them on the step, so that a
    stale use fails loudly)."""

    def __init__(self):
        self.free: dict[tuple, list[np.ndarray]] = defaultdict(list)
        self.lent: dict[str, object] = {}
        self.batch = None

    def clear(self, batch: int | None = None) -> None:
        """Drop every buffer; the next ones are made for ``batch`` samples."""
        self.free.clear()
        self.lent.clear()
        self.batch = batch

    def lend(self, name: str, step, batch: int) -> None:
        for attribute, shape, dtype in step.pooled_specs(batch):
            free = self.free[(shape, np.dtype(dtype).str)]
            setattr(step, attribute, free.pop() if free else np.empty(shape, dtype))
        self.lent[name] = step

    def take_back(self, name: str) -> None:
        step = self.lent.pop(name, None)
        if step is None:
            return  # it did not run this timestep (a readout-only node before the last one)
        for attribute, _, _ in step.pooled_specs(step.batch):
            array = getattr(step, attribute)
            self.free[(array.shape, array.dtype.str)].append(array)
            setattr(step, attribute, None)

    def take_back_all(self) -> None:
        for name in list(self.lent):
            self.take_back(name)


# ---------------------------------------------------------------- event-map precision

#: float32 adds integers exactly while every partial sum stays below 2**24
FLOAT32_EXACT = 2**24
_ONE_PER_EVENT = {"lif", "if", "hoyer", "threshold", "cubalif"}
_SAME_AS_INPUT = {"maxpool2d", "upsample", "flatten"}


def event_value_bounds(graph) -> dict[str, int | None]:
    """The largest value one event of each spiking node can carry, when it is an integer
    (None: unbounded or possibly fractional, e.g. an average pool of spikes, integer inputs).

    Binary inputs and spiking neurons carry 1, I-LIF at most D; max pooling, upsampling and
    flattening carry their input's values, a k x k sum pool k^2 times them, a concatenation the
    largest of its inputs', an addition their sum."""
    bounds: dict[str, int | None] = {}
    for node in graph.nodes:
        kind, inputs = graph.kinds[node.name], [bounds.get(s) for s in node.inputs]
        if kind == "analog":
            bound = None
        elif node.op == "input":
            bound = 1 if kind == "binary" else None
        elif node.op in _ONE_PER_EVENT:
            bound = 1
        elif node.op == "ilif":
            bound = int(node.max_spike)
        elif None in inputs or not inputs:
            bound = None
        elif node.op in _SAME_AS_INPUT:
            bound = inputs[0]
        elif node.op == "sumpool2d":
            bound = inputs[0] * int(np.prod(node.kernel))
        elif node.op == "concat":
            bound = max(inputs)
        elif node.op == "add":
            bound = sum(inputs)
        else:
            bound = None
        bounds[node.name] = bound
    return bounds


def event_map_dtype(bound: int | None, batch: int, timesteps: int):
    """float32 where a run's count at one position (at most batch x timesteps x bound, all
    integers) is exact in float32, else float64: half the memory of the largest per-run arrays,
    the same numbers."""
    if bound is not None and batch * timesteps * bound < FLOAT32_EXACT:
        return np.float32
    return np.float64
