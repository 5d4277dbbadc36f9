"""The event-driven engine: runs a Graph timestep by timestep, node by node.

Within a timestep nodes run in topological order with zero synaptic delay, exactly as the
torch models compute. A synaptic node fed by spikes scatters weights for the nonzero inputs
only (cost proportional to events x fan-out); fed by analog values it runs dense and counts
MACs. Neuron nodes update their state and emit an event list for their consumers.

Samples are independent, so a chunk of them runs together: each node makes one call per
timestep for the whole chunk (the Numba drivers loop over the samples, each with its own event
list). A stateless dense node whose inputs hold the same values as at its last computation (an
analog encoding layer fed the same frame at every timestep) reuses its result and its counts
instead of recomputing them: the trace still counts its work at every timestep, as hardware
would do it.

Public entry point: :func:`simulate`.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..errors import InputShapeError, NeurosimError
from ..ir import nodes as ir
from ..ir.graph import Graph
from . import steps
from .buffers import BufferPool, event_map_dtype, event_value_bounds, pool_peak_bytes, release_plan
from .fixed_point import FixedPointConfig, FixedPointPlan
from .trace import NodeTrace, Trace

PRECISIONS = {"float32": np.float32, "float64": np.float64}
#: buffer memory (outputs, event lists, states of every node) one chunk of samples may use
CHUNK_BYTES = 256 * 2**20
#: most samples run together; beyond this the per-call overhead is already negligible
MAX_CHUNK = 64


@dataclass
class SimResult:
    """Outputs of a run: ``outputs[name]`` has shape [B, T, *shape] (torch layout, float);
    ``trace`` holds the per-node counts."""

    outputs: dict[str, np.ndarray]
    trace: Trace


class Simulator:
    """A graph prepared for simulation (weights re-laid out, kernels chosen, fusions found).

    ``precision`` is ``"float32"`` (reproduces float32 torch) or ``"float64"``; pass
    ``fixed_point=FixedPointConfig(...)`` for the integer mode that reproduces integer hardware.
    ``readout="last"`` (default: the graph's ``metadata["readout"]``, else ``"every"``) runs the
    nodes that feed no neuron (a hybrid network's ANN head) only at the last timestep, where
    their result is read: they are neither computed nor counted at earlier timesteps, and the
    outputs hold that one timestep ([B, 1, *shape]). Prepare once, run many times.
    """

    def __init__(self, graph: Graph, precision: str = "float32", fixed_point: FixedPointConfig | None = None,
                 readout: str | None = None):
        if precision not in PRECISIONS:
            raise NeurosimError(f"precision must be one of {', '.join(PRECISIONS)}, got {precision!r}")
        readout = readout or graph.metadata.get("readout", "every")
        if readout not in ("every", "last"):
            raise NeurosimError(f"readout must be 'every' or 'last', got {readout!r}")
        self.graph = graph
        self.readout = readout
        self.every_step = graph.nodes_feeding_neurons() if readout == "last" else {n.name for n in graph.nodes}
        self.fixed = FixedPointPlan(graph, fixed_point) if fixed_point is not None else None
        self.dtype = np.float64 if self.fixed is not None else PRECISIONS[precision]
        self.fused_adds = _find_fusable_adds(graph)
        self.steps = steps.make_steps(graph, self.dtype, self.fixed, self.fused_adds)
        self.release_after = release_plan(graph, self.steps)
        self.event_bounds = event_value_bounds(graph)
        self.pool = BufferPool()

    def run(self, inputs, record_rasters: bool = False, progress: bool = False,
            chunk: int | None = None) -> SimResult:
        """Simulate ``inputs``: an array [T, *shape] or [B, T, *shape] for a single-input graph,
        or a dict name -> such arrays (all with the same B and T). ``progress``: a tqdm bar
        over the samples (on stderr). Samples run together in chunks of ``chunk`` (default: as
        many as fit in :data:`CHUNK_BYTES` of buffers, at most :data:`MAX_CHUNK`)."""
        batched, batch, timesteps = self._check_inputs(inputs)
        graph = self.graph
        trace = Trace(batch=batch, timesteps=timesteps)
        for node in graph.nodes:
            trace.nodes[node.name] = _empty_node_trace(node, graph, batch, timesteps, record_rasters)
        out_steps = 1 if self.readout == "last" else timesteps
        outputs = {name: np.zeros((batch, out_steps) + graph.shapes[name], np.float32 if self.dtype == np.float32 else np.float64)
                   for name in graph.outputs}
        if chunk is not None and (not isinstance(chunk, (int, np.integer)) or chunk < 1):
            raise NeurosimError(f"chunk must be a positive number of samples, got {chunk!r}")
        chunk = chunk or self.chunk_size(batch)
        for name, step in self.steps.items():
            step.event_dtype = event_map_dtype(self.event_bounds[name], batch, timesteps)
        bar = None
        if progress:
            from tqdm import tqdm

            bar = tqdm(total=batch, desc="simulate", unit="sample", leave=False)
        for b0 in range(0, batch, chunk):
            rows = slice(b0, min(b0 + chunk, batch))
            self._run_chunk({name: x[rows] for name, x in batched.items()}, rows, trace, outputs, record_rasters)
            if bar is not None:
                bar.update(rows.stop - rows.start)
        if bar is not None:
            bar.close()
        for name, step in self.steps.items():
            step.finalize(trace.nodes[name])
        return SimResult(outputs=outputs, trace=trace)

    def chunk_size(self, batch: int) -> int:
        """Samples per chunk: buffers of all steps within CHUNK_BYTES, between 1 and MAX_CHUNK."""
        per_sample = self.buffer_bytes_per_sample()
        return int(max(1, min(batch, MAX_CHUNK, CHUNK_BYTES // max(per_sample, 1))))

    def buffer_bytes_per_sample(self) -> int:
        """Buffers and state of one sample: what the steps own plus the pool's peak."""
        owned = sum(step.buffer_bytes() for step in self.steps.values())
        return owned + pool_peak_bytes(self.graph, self.steps, self.release_after)

    def _run_chunk(self, batched, rows, trace, outputs, record_rasters):
        """All timesteps of the samples ``rows``, every node processing the chunk at once."""
        graph = self.graph
        timesteps = next(iter(batched.values())).shape[1]
        out_steps = 1 if self.readout == "last" else timesteps
        fuse = {} if record_rasters else self.fused_adds
        batch = rows.stop - rows.start
        pool = self.pool
        if pool.batch != batch:
            pool.clear(batch)  # buffers of another chunk size
        for step in self.steps.values():
            step.start(batch)
        for t in range(timesteps):
            acts: dict[str, steps.Act] = {}
            for add_name in fuse:
                self.steps[add_name].clear_buffer()
            last = t == timesteps - 1
            for position, node in enumerate(graph.nodes):
                if last or node.name in self.every_step:
                    step = self.steps[node.name]
                    node_trace = trace.nodes[node.name]
                    if step.pooled:
                        pool.lend(node.name, step, batch)
                    if isinstance(node, ir.Input):
                        x = batched[node.name]
                        unchanged = t > 0 and np.array_equal(x[:, t], x[:, t - 1])
                        act = step.feed(x[:, t], node_trace, rows, t, unchanged=unchanged)
                    else:
                        act = step.run([acts[s] for s in node.inputs], node_trace, rows, t, fused=bool(fuse))
                    acts[node.name] = act
                    if node_trace.raster is not None:
                        node_trace.raster[rows, t] = steps.to_torch_layout(act, graph.shapes[node.name], self.fixed)
                for name in self.release_after.get(position, ()):
                    pool.take_back(name)
                    acts.pop(name, None)  # its buffers now belong to the pool
            if out_steps == timesteps or last:
                column = t if out_steps == timesteps else 0
                for name in graph.outputs:
                    outputs[name][rows, column] = steps.to_torch_layout(acts[name], graph.shapes[name], self.fixed)
            pool.take_back_all()

    def _check_inputs(self, inputs):
        names = self.graph.input_names
        if not isinstance(inputs, dict):
            if len(names) != 1:
                raise InputShapeError(f"the graph has {len(names)} inputs ({', '.join(names)}): pass a dict")
            inputs = {names[0]: inputs}
        unknown = set(inputs) - set(names)
        if unknown:
            raise InputShapeError(f"unknown input(s) {', '.join(sorted(unknown))}; the graph's inputs are {', '.join(names)}")
        batched = {}
        sizes = set()
        for name in names:
            if name not in inputs:
                raise InputShapeError(f"input '{name}' is missing")
            x = np.asarray(inputs[name])
            shape = self.graph.shapes[name]
            if x.ndim == len(shape) + 1:
                x = x[None]
            if x.ndim != len(shape) + 2 or tuple(x.shape[2:]) != shape:
                raise InputShapeError(
                    f"input '{name}' must have shape [T, {', '.join(map(str, shape))}] or [B, T, "
                    f"{', '.join(map(str, shape))}], got {list(np.shape(inputs[name]))}")
            if x.shape[0] < 1 or x.shape[1] < 1:
                raise InputShapeError(f"input '{name}' needs at least one sample and one timestep")
            if not (np.issubdtype(x.dtype, np.number) or x.dtype == bool):
                raise InputShapeError(f"input '{name}' holds {x.dtype} values, not numbers")
            if not np.all(np.isfinite(x)):
                raise InputShapeError(f"input '{name}' contains NaN or infinite values")
            _check_kind(name, self.graph.node(name).kind, x)
            sizes.add(x.shape[:2])
            batched[name] = x
        if len(sizes) != 1:
            raise InputShapeError(f"all inputs must share B and T, got {sorted(sizes)}")
        batch, timesteps = sizes.pop()
        return batched, batch, timesteps


def _check_kind(name: str, kind: str, x: np.ndarray) -> None:
    """Event inputs carry events: a binary raster only 0 and 1, integer counts only whole numbers >= 0."""
    if kind == "binary":
        bad = x[(x != 0) & (x != 1)]
        if bad.size:
            raise InputShapeError(f"input '{name}' is binary (a spike raster) but holds {bad.size} values other than "
                                  f"0 and 1 (e.g. {float(bad.flat[0]):g})")
    elif kind == "integer":
        bad = x[(x < 0) | (x != np.round(x))]
        if bad.size:
            raise InputShapeError(f"input '{name}' holds event counts but {bad.size} values are not whole numbers "
                                  f">= 0 (e.g. {float(bad.flat[0]):g})")


def simulate(graph: Graph, inputs, precision: str = "float32", fixed_point: FixedPointConfig | None = None,
             record_rasters: bool = False, readout: str | None = None, progress: bool = False) -> SimResult:
    """Run ``graph`` on ``inputs`` ([T, *shape] or [B, T, *shape]); return outputs and Trace."""
    return Simulator(graph, precision=precision, fixed_point=fixed_point, readout=readout).run(
        inputs, record_rasters=record_rasters, progress=progress)


def _find_fusable_adds(graph: Graph) -> dict[str, list[str]]:
    """Adds whose synaptic inputs can scatter straight into the Add's buffer.

    A synaptic input qualifies when the Add is its only consumer, it is not a graph output,
    and the Add reads it once. Returns add name -> names of the fused synaptic inputs.
    """
    consumers = graph.consumers()
    fused: dict[str, list[str]] = {}
    for node in graph.nodes:
        if not isinstance(node, ir.Add) or graph.kinds[node.name] != "analog":
            continue
        members = [s for s in node.inputs
                   if graph.node(s).is_synaptic and consumers[s] == [node.name]
                   and s not in graph.outputs and node.inputs.count(s) == 1]
        if members:
            fused[node.name] = members
    return fused


def _empty_node_trace(node, graph: Graph, batch: int, timesteps: int, record_rasters: bool) -> NodeTrace:
    kind = graph.kinds[node.name]
    shape = graph.shapes[node.name]
    in_kind = graph.kinds[node.inputs[0]] if node.inputs else None
    per_channel_syn = shape[0] if node.is_synaptic and in_kind != "analog" else 0
    event_channels = shape[0] if kind != "analog" else 0
    return NodeTrace.empty(node.name, node.op, kind, shape, in_kind, batch, timesteps,
                           per_channel_syn=per_channel_syn, event_channels=event_channels,
                           raster_dtype=np.float32 if record_rasters else None, event_map=False)
