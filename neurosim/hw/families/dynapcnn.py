"""``dynapcnn``: SynSense Speck / DYNAP-CNN: a few cores, one convolutional layer per core.

**Placement** follows sinabs' rules (``backend/dynapcnn``). A layer is one convolution (a
Linear layer becomes a convolution whose kernel covers its flattened input map) followed by its
neurons. It needs, in memory entries::

    kernel = c * 2^(ceil(log2(k_h k_w)) + ceil(log2 f))       c = input channels, f = output channels
    neuron = f * 2^(ceil(log2 H_out) + ceil(log2 W_out))
    bias   = f if the convolution has a bias else 0

A layer fits core ``i`` when all three fit that core's memories; layers are assigned to cores
by a maximum bipartite matching (one layer per core). Also checked: at most
``max_destinations`` destination layers per layer, kernel <= ``max_kernel_size`` (square),
stride in ``strides``, pooling between layers by summation with size in ``pooling_sizes``, and
event inputs no larger than ``max_input_size``. A grouped convolution is counted as its dense
equivalent (Speck has no grouped convolutions).

**Energy** (run totals, per inference in the report)::

    synaptic = syn_ops x e_syn_op       (the per-event estimate covers routing and neuron updates)
    mac      = macs x e_mac             (analog-fed layers: on a host)
    static   = static_power x latency

**Latency**: cores work asynchronously and concurrently; per data step the slowest core sets
the pace (``busy = input events x t_event``), plus one event's trip through the layer chain::

    latency = sum_t max_cores busy(t) + max_depth x t_event
"""
from __future__ import annotations


import numpy as np

from ...errors import DoesNotFit
from ...ir.nodes import Linear
from ...report.report import CoreRow, zero_energy
from ..accounting import base_row, host_fed_notes, host_warning, layer_counts
from ..activity import core_activity
from ..base import HardwareModel
from ..geometry import full_box
from ..layers import decompose
from ..placement import Core, MeshLayout, Placement
from ..profile import ParamSpec
from ..registry import register_family


def _clog2(n: int) -> int:
    return (int(n) - 1).bit_length() if n > 1 else 0


def sinabs_memory(graph, layer) -> dict[str, int]:
    """Kernel, neuron and bias memory entries of a one-convolution layer (sinabs formulas)."""
    node = graph.node(layer.synapses[0])
    if isinstance(node, Linear):
        f = node.weight.shape[0]
        src = graph.node(node.inputs[0])
        if src.op == "flatten" and len(graph.shapes[src.inputs[0]]) == 3:
            c, kh, kw = graph.shapes[src.inputs[0]]
        else:
            c, kh, kw = node.weight.shape[1], 1, 1
        ho = wo = 1
    else:
        f = node.out_channels
        c = node.in_channels
        kh, kw = node.kernel_size
        _, ho, wo = graph.shapes[node.name]
    return {"kernel": int(c * 2 ** (_clog2(kh * kw) + _clog2(f))),
            "neuron": int(f * 2 ** (_clog2(ho) + _clog2(wo))),
            "bias": int(f) if node.bias is not None else 0}


def match_layers(candidates: list[list[int]]) -> list[int | None]:
    """Maximum bipartite matching of layers to cores (augmenting paths); None = unmatched."""
    core_of: dict[int, int] = {}

    def augment(i, seen):
        free = [c for c in candidates[i] if c not in core_of]
        if free:  # a free core first keeps earlier layers where they are
            core_of[free[0]] = i
            return True
        for core in candidates[i]:
            if core in seen:
                continue
            seen.add(core)
            if augment(core_of[core], seen):
                core_of[core] = i
                return True
        return False

    for i in range(len(candidates)):
        augment(i, set())
    result: list[int | None] = [None] * len(candidates)
    for core, i in core_of.items():
        result[i] = core
    return result


def count(doc, **kw):
    return ParamSpec("count", doc, integer=True, **kw)


@register_family
class DynapcnnModel(HardwareModel):
    family = "dynapcnn"
    summary = "one convolutional layer per core with sinabs memory rules (SynSense Speck)"
    omissions = (
        'neuron updates and routing priced apart (the per-event energy is meant to cover them)',
        'leak updates between events',
        "input events' transfer from the sensor or host",
        'readout of the output layer to a host',
    )
    parameters = {
        "kernel_memory_per_core": ParamSpec("count", "kernel memory entries of each core", integer=True, is_list=True),
        "neuron_memory_per_core": ParamSpec("count", "neuron memory entries of each core", integer=True, is_list=True),
        "bias_memory_per_core": ParamSpec("count", "bias memory entries of each core", integer=True, is_list=True),
        "max_destinations": count("destination layers per layer", minimum=1),
        "max_kernel_size": count("largest kernel side", minimum=1),
        "max_input_size": count("largest event input side", minimum=1),
        "strides": ParamSpec("count", "allowed convolution strides", integer=True, is_list=True, minimum=1),
        "pooling_sizes": ParamSpec("count", "allowed sum-pooling sizes", integer=True, is_list=True, minimum=1),
        "weight_bits": ParamSpec("bits", "bits per kernel entry", minimum=1),
        "state_bits": ParamSpec("bits", "bits per neuron state entry", minimum=1),
        "bias_bits": ParamSpec("bits", "bits per bias entry", minimum=1),
        "e_syn_op": ParamSpec("energy", "energy per synaptic operation (all included)"),
        "t_event": ParamSpec("time", "time for a core to process one input event"),
        "static_power": ParamSpec("power", "resting power of the processor"),
        "e_mac": ParamSpec("energy", "host energy per MAC (analog-fed layers)"),
        "e_analog_op": ParamSpec("energy", "host energy per elementwise op (host nodes)", required=False),
    }

    @classmethod
    def check_profile(cls, profile):
        from ...errors import ProfileError

        n = {k: len(profile.value(k)) for k in ("kernel_memory_per_core", "neuron_memory_per_core",
                                                  "bias_memory_per_core")}
        if len(set(n.values())) != 1:
            raise ProfileError(f"{profile.where}: parameters.kernel_memory_per_core, neuron_memory_per_core "
                               f"and bias_memory_per_core must list the same number of cores, got {n}")

    # ------------------------------------------------------------------ placement
    def core_memories(self) -> list[dict[str, int]]:
        k, n, b = (self.p(x) for x in ("kernel_memory_per_core", "neuron_memory_per_core", "bias_memory_per_core"))
        return [{"kernel": int(a), "neuron": int(c), "bias": int(d)} for a, c, d in zip(k, n, b)]

    def _layer_problems(self, graph, dec, layer) -> list[str]:
        chip = self.profile.name
        if len(layer.synapses) != 1:
            what = "no convolution" if not layer.synapses else f"{len(layer.synapses)} synaptic nodes"
            return [f"layer '{layer.name}' has {what}; a {chip} core runs exactly one convolution into its neurons"]
        problems = []
        if layer.neuron is None:
            problems.append(f"layer '{layer.name}' is a convolution without spiking neurons; {chip} cores "
                            f"end in integrate-and-fire neurons")
        node = graph.node(layer.synapses[0])
        if not isinstance(node, Linear):
            kh, kw = node.kernel_size
            kmax = int(self.p("max_kernel_size"))
            if kh != kw or kh > kmax:
                problems.append(f"layer '{layer.name}' has a {kh}x{kw} kernel; {chip} needs square kernels "
                                f"up to {kmax}x{kmax}")
            strides = [int(s) for s in self.p("strides")]
            if node.stride[0] != node.stride[1] or node.stride[0] not in strides:
                problems.append(f"layer '{layer.name}' has stride {node.stride}; {chip} allows {strides}")
        targets = {e.target for e in dec.edges if e.source == layer.name and not e.from_input}
        if len(targets) > int(self.p("max_destinations")):
            problems.append(f"layer '{layer.name}' sends events to {len(targets)} layers; a {chip} core has at "
                            f"most {int(self.p('max_destinations'))} destinations")
        pools = [int(s) for s in self.p("pooling_sizes")]
        for e in dec.edges:
            if e.target != layer.name:
                continue
            for name in e.path:
                n = graph.node(name)
                if n.op == "upsample":
                    problems.append(f"upsampling '{name}' before layer '{layer.name}' is not supported on {chip}")
                elif n.op == "maxpool2d":
                    problems.append(f"max-pooling '{name}' before layer '{layer.name}': {chip} pools by summation")
                elif n.op == "sumpool2d" and (n.kernel != n.stride or n.kernel[0] != n.kernel[1]
                                              or n.kernel[0] not in pools):
                    problems.append(f"sum-pooling '{name}' before layer '{layer.name}' has kernel {n.kernel} and "
                                    f"stride {n.stride}; {chip} pools square windows of {pools} with equal stride")
            if e.from_input:
                shape = graph.shapes[e.source]
                m = int(self.p("max_input_size"))
                if len(shape) == 3 and (shape[1] > m or shape[2] > m):
                    problems.append(f"input '{e.source}' is {shape[1]}x{shape[2]}; {chip} takes at most {m}x{m}")
        return problems

    def place(self, graph, strict: bool = True) -> Placement:
        dec = decompose(graph)
        layers = list(dec.placed)
        cores = self.core_memories()
        problems: list[str] = []
        if len(layers) > len(cores):
            problems.append(f"the network has {len(layers)} layers but {self.profile.name} has {len(cores)} "
                            f"cores (one layer per core)")
        needs, candidates = [], []
        for layer in layers:
            problems += self._layer_problems(graph, dec, layer)
            need = sinabs_memory(graph, layer) if len(layer.synapses) == 1 else \
                {"kernel": 0, "neuron": layer.neurons, "bias": 0}
            needs.append(need)
            fit = [i for i, m in enumerate(cores) if all(need[k] <= m[k] for k in need)]
            candidates.append(fit)
            if not fit:
                biggest = {k: max(m[k] for m in cores) for k in need}
                problems.append(f"layer '{layer.name}' needs {need['kernel']} kernel, {need['neuron']} neuron and "
                                f"{need['bias']} bias memory entries; no {self.profile.name} core has that much "
                                f"(largest: {biggest['kernel']} kernel, {biggest['neuron']} neuron, "
                                f"{biggest['bias']} bias)")
        assignment = match_layers(candidates)
        unmatched = [l.name for l, a, c in zip(layers, assignment, candidates) if a is None and c]
        if unmatched and len(layers) <= len(cores):
            problems.append(f"no one-layer-per-core assignment exists: layer(s) {', '.join(unmatched)} compete "
                            f"for the same cores of {self.profile.name}")
        placement = Placement(profile=self.profile.name, family=self.family, graph=graph, decomposition=dec,
                              layout=MeshLayout(cores_per_chip=max(len(cores), 1), tile_columns=len(cores)),
                              notes=host_fed_notes(graph, layers, self.profile.name))
        if problems:
            msg = "; ".join(problems)
            if strict:
                raise DoesNotFit(problems[0])
            placement.fits, placement.misfit = False, msg
        wb, sb, bb = self.p("weight_bits"), self.p("state_bits"), self.p("bias_bits")
        spare = len(cores)
        for layer, core_id, need in zip(layers, assignment, needs):
            if core_id is None:  # only without strict: a virtual core beyond the chip
                core_id, spare = spare, spare + 1
            cap = cores[core_id] if core_id < len(cores) else {}
            pos = len(placement.cores)
            placement.cores.append(Core(index=core_id, layer=layer.name, box=tuple(int(v) for v in full_box(layer.shape)),
                                        chip=0, x=core_id, y=0, usage=dict(need), capacity=dict(cap),
                                        memory={"kernel": need["kernel"] * wb, "neuron": need["neuron"] * sb,
                                                "bias": need["bias"] * bb}))
            placement.layer_cores[layer.name] = [pos]
        placement.chips = 1
        if any(graph.node(s).groups > 1 for l in layers for s in l.synapses if hasattr(graph.node(s), "groups")):
            placement.notes.append("grouped convolutions are counted as their dense equivalent on "
                                   f"{self.profile.name}")
        return placement

    # ------------------------------------------------------------------ costing
    def _cost(self, trace, placement):
        graph, dec = placement.graph, placement.decomposition
        B, T = trace.batch, trace.timesteps
        t_event = self.p("t_event")
        acts, busy = {}, {}
        max_depth = 0
        compute = np.zeros((B, T))
        for layer in dec.placed:
            act = core_activity(layer, placement.boxes(layer.name), graph, trace, placement.cache)
            acts[layer.name] = act
            busy[layer.name] = act.events_in * t_event
            if busy[layer.name].shape[-1]:
                compute = np.maximum(compute, busy[layer.name].max(-1))
            max_depth = max(max_depth, layer.depth)
        latency = float(compute.sum(1).mean() + max_depth * t_event) if B else 0.0
        n_cores = max(1, len(placement.cores))
        static_per_core = self.p("static_power") * latency / n_cores
        e_an = self.profile.get("e_analog_op")
        rows, core_rows = [], []
        for layer in placement.layers:
            row = base_row(layer, graph, trace, layer_counts(layer, graph, trace))
            if not layer.placed:
                if e_an is not None:
                    row.energy["analog"] = row.analog_ops * e_an
                rows.append(row)
                continue
            act = acts[layer.name]
            syn, macs = act.syn_ops.sum((0, 1)), act.macs.sum((0, 1))
            core_busy = busy[layer.name].sum((0, 1)) / B
            for j, core in enumerate(placement.cores_of(layer.name)):
                e = zero_energy()
                e["synaptic"] = float(syn[j]) * self.p("e_syn_op") / B
                e["mac"] = float(macs[j]) * self.p("e_mac") / B
                e["static"] = static_per_core
                core_rows.append(CoreRow(index=core.index, layer=layer.name, chip=0, x=core.x, y=0, box=list(core.box),
                                         neurons=core.neurons, memory=dict(core.memory),
                                         utilization=core.utilization(), energy=e, busy=float(core_busy[j])))
                for comp in e:
                    row.energy[comp] += e[comp]
                row.cores.append(core.index)
            row.memory = {k: float(v) for k, v in placement.cores_of(layer.name)[0].memory.items()}
            row.latency = float(busy[layer.name].max(-1).sum(1).mean())
            sent = trace.nodes[layer.neuron].total("out_spikes") / max(B, 1) if layer.neuron else 0.0
            n_dest = len({e.target for e in dec.edges if e.source == layer.name and not e.from_input})
            row.routing = {"packets": sent * n_dest, "hops_ew": 0.0, "hops_ns": 0.0, "chip_hops": 0.0}
            rows.append(row)
        return self.new_report(trace, rows, core_rows, latency=latency, chips=1,
                               details={"pipeline_fill": max_depth * t_event},
                               warnings=host_warning(rows, e_an is not None))
