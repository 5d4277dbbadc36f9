"""Give a graph (typically paper-scale, random weights) a target firing rate in every layer.

Random weights leave a deep SNN nearly silent or saturated, so its energy, latency and simulation
time say nothing about the trained network. :func:`calibrate_rates` shifts, layer by layer in
topological order, the bias of the synaptic node that drives each spiking neuron layer, so that
on the calibration inputs the layer fires at the target rate

    r = sum of output spike values / (neurons x T x images)

(the trace's firing rate: an I-LIF spike of value k counts k). For neuron layer N fed by the
current ``X_t`` of synaptic node S, the rate is a nondecreasing function of a uniform shift d of
S's bias (``X_t + d`` for every t), so d is found by bisection; each evaluation simulates N
alone on the recorded currents. The currents are recorded with every upstream layer already
calibrated, so the rates hold together. A layer is left as it is, and said so in the report,
when no convolution or linear layer adds into its input without also driving a layer calibrated
before it (shifting it would move that layer), or when no shift reaches the rate (e.g. r above
the neuron's largest value per step). A neuron fed by an addition (a residual or membrane
shortcut) is calibrated through one of the branches added, the first that qualifies; one fed
through upsampling, pooling or a concatenation through the layers behind them (all the parts of
a concatenation), the current's gain then being measured rather than assumed.

The result is a new graph with ``metadata["calibration"]`` recording the target, the inputs'
count and, per layer, the shift and the rate reached.
"""
from __future__ import annotations

import dataclasses

import numpy as np

from .errors import NeurosimError
from .ir import nodes as ir
from .ir.graph import Graph

BISECTION_STEPS = 40


def calibrate_rates(graph: Graph, rate: float | dict[str, float], inputs: np.ndarray, *,
                    tolerance: float = 0.02, progress: bool = False) -> tuple[Graph, dict]:
    """(calibrated graph, report). ``rate``: one target for every spiking layer, or a dict
    layer -> target (layers left out keep their weights). ``inputs`` [B, T, *shape] for a
    single-input graph. ``tolerance``: relative error of the rate at which bisection stops."""
    from .sim import simulate

    targets = _targets(graph, rate)
    consumers = graph.consumers()
    nodes = {n.name: n for n in graph.nodes}
    report: dict[str, dict] = {}
    layers = [n for n in graph.nodes if n.name in targets]
    bar = None
    if progress:
        from tqdm import tqdm

        bar = tqdm(total=len(layers), desc="calibrate", unit="layer", leave=False)
    calibrated: set[str] = set()
    for neuron in layers:
        fed_by = neuron.inputs[0]
        entry = report[neuron.name] = {"target": targets[neuron.name], "shift": None, "rate": None}
        drive = _drive(fed_by, nodes, consumers, calibrated)
        if drive is None:
            entry["skipped"] = (f"no convolution or linear layer moves its input {fed_by} ({nodes[fed_by].op}) "
                                f"without moving a layer calibrated before it")
        else:
            current = simulate(_prefix(graph, nodes, fed_by), inputs).outputs[fed_by]
            gain = 1.0 if drive == [fed_by] else _gain(graph, nodes, drive, fed_by, inputs, current)
            if gain is None:
                entry["skipped"] = f"shifting the bias of {', '.join(drive)} does not move every input of it equally"
            else:
                shift, reached = _solve(neuron, graph.shapes[fed_by], current, gain, targets[neuron.name], tolerance)
                for name in drive:
                    nodes[name] = _with_bias_shift(nodes[name], shift)
                entry.update(shift=float(shift), rate=reached, bias_of=drive)
                calibrated.add(neuron.name)
                if abs(reached - targets[neuron.name]) > tolerance * targets[neuron.name]:
                    entry["skipped"] = "no shift of the bias reaches the rate"
        if bar is not None:
            bar.update(1)
    if bar is not None:
        bar.close()
    metadata = dict(graph.metadata, calibration={"images": int(inputs.shape[0]), "timesteps": int(inputs.shape[1]),
                                                 "tolerance": tolerance, "layers": report})
    return Graph.from_nodes([nodes[n.name] for n in graph.nodes], graph.outputs, metadata), report


def _targets(graph: Graph, rate) -> dict[str, float]:
    spiking = [n.name for n in graph.nodes if n.is_neuron and graph.kinds[n.name] != "analog"]
    if isinstance(rate, dict):
        unknown = sorted(set(rate) - set(spiking))
        if unknown:
            raise NeurosimError(f"no spiking layer is named {', '.join(unknown)}")
        targets = {k: float(v) for k, v in rate.items()}
    else:
        targets = {name: float(rate) for name in spiking}
    bad = {k: v for k, v in targets.items() if not (np.isfinite(v) and v > 0)}
    if bad:
        raise NeurosimError(f"a target firing rate must be positive and finite; got {bad}")
    return targets


#: nodes through which a uniform shift of their input is a uniform shift of their output
PASS_THROUGH = ("upsample", "maxpool2d", "avgpool2d", "flatten")


def _drive(name: str, nodes: dict, consumers: dict, calibrated: set[str]) -> list[str] | None:
    """Synaptic nodes whose bias, shifted by d, moves the output of ``name`` by a uniform
    multiple of d, none of them upstream of a layer calibrated before (None if there are none).

    A synaptic node drives itself; an addition is driven by any one of its inputs' drives (the
    first that qualifies: a residual or membrane shortcut is calibrated through the branch
    added); upsampling, max and average pooling and flattening by their input's; a
    concatenation by the drives of all its parts together."""
    node = nodes[name]
    if node.is_synaptic:
        return None if _descendants(name, consumers) & calibrated else [name]
    if node.op == "add":
        for source in node.inputs:
            found = _drive(source, nodes, consumers, calibrated)
            if found:
                return found
        return None
    if node.op in PASS_THROUGH:
        return _drive(node.inputs[0], nodes, consumers, calibrated)
    if node.op == "concat":
        parts = [_drive(source, nodes, consumers, calibrated) for source in node.inputs]
        return None if any(p is None for p in parts) else sorted({n for p in parts for n in p})
    return None


def _gain(graph: Graph, nodes: dict, drive: list[str], output: str, inputs, current) -> float | None:
    """How much ``output`` moves when the biases of ``drive`` all move by 1, measured (None when
    it does not move every entry by the same amount)."""
    from .sim import simulate

    moved = dict(nodes, **{name: _with_bias_shift(nodes[name], 1.0) for name in drive})
    delta = simulate(_prefix(graph, moved, output), inputs).outputs[output].astype(np.float64) - current
    gain = float(np.median(delta))
    if gain <= 0 or not np.allclose(delta, gain, rtol=1e-3, atol=1e-3 * (1.0 + float(np.abs(current).max()) * 1e-3)):
        return None
    return gain


def _descendants(name: str, consumers: dict) -> set[str]:
    seen, todo = set(), list(consumers[name])
    while todo:
        n = todo.pop()
        if n not in seen:
            seen.add(n)
            todo += consumers[n]
    return seen


def _prefix(graph: Graph, nodes: dict, output: str) -> Graph:
    """The (current) nodes ``output`` depends on, as a graph whose one output is ``output``."""
    needed, todo = set(), [output]
    while todo:
        name = todo.pop()
        if name not in needed:
            needed.add(name)
            todo += list(nodes[name].inputs)
    return Graph.from_nodes([nodes[n.name] for n in graph.nodes if n.name in needed], [output],
                            {"readout": "every"})


def _solve(neuron, shape, current: np.ndarray, gain: float, target: float, tolerance: float) -> tuple[float, float]:
    """Bias shift d (and the rate then) at which ``neuron`` fed by ``current + gain x d`` fires
    at ``target``."""
    from .sim import Simulator

    alone = Graph.from_nodes([ir.Input(name="current", shape=tuple(shape), kind="analog"),
                              dataclasses.replace(neuron, inputs=("current",))], [neuron.name])
    sim = Simulator(alone)
    current = current.astype(np.float32, copy=False)

    def rate(d: float) -> float:  # a bias shift d adds gain x d to every entry of the current
        trace = sim.run(current + np.float32(gain * d)).trace
        return trace[neuron.name].firing_rate()

    span = (float(np.abs(current).max()) + 1.0) / gain
    lo, hi = -span, span
    while rate(hi) < target and hi < 1e6:
        lo, hi = hi, hi * 4
    while rate(lo) > target and lo > -1e6:
        lo, hi = lo * 4, lo
    best, best_rate = 0.0, rate(0.0)
    for _ in range(BISECTION_STEPS):
        mid = 0.5 * (lo + hi)
        r = rate(mid)
        if abs(r - target) < abs(best_rate - target):
            best, best_rate = mid, r
        if abs(r - target) <= tolerance * target:
            break
        lo, hi = (mid, hi) if r < target else (lo, mid)
    return best, best_rate


def _with_bias_shift(node, shift: float):
    """``node`` with ``shift`` added to every output channel's bias (a zero bias made if none)."""
    channels = node.weight.shape[0]
    bias = np.zeros(channels, np.float32) if node.bias is None else node.bias.astype(np.float32)
    return dataclasses.replace(node, bias=(bias + np.float32(shift)).astype(np.float32))
