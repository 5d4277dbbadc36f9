"""``neuromorphic-mesh``: cores with neuron, fan-in, fan-out and synapse-memory limits on a 2-D
mesh of tiles (Loihi-like), per-event energies and times, a time-step barrier, static power.

**Placement.** Each placed layer is cut into boxes that fit a core (:mod:`neurosim.hw.tiling`);
then every core's axons are counted over the cores of the layers around it
(:meth:`MeshBase._axon_counts`). With ``axons: discrete`` an axon carries one source neuron,
and a layer whose cores exceed ``fan_out_per_core`` is re-cut with half as many neurons per
core. With ``axons: population`` (nengo-loihi's convolutions) the channels of one position of
one source core share an axon (``population_axon_slots`` output routes each), and a layer over
``fan_out_per_core`` or ``fan_in_per_core`` is re-cut with half as many positions per core.
This repeats until all fit. Cores are numbered layer after layer and laid row-major on the mesh
(:mod:`neurosim.hw.placement`). More cores than ``cores_per_chip x max_chips`` is DoesNotFit.

**Fan-in split** (setting ``fan_in_split: partial-currents``): a layer whose single neuron
exceeds a core's axons or synapse memory has its input channels cut into ``P`` groups and each
box held by ``P`` cores (:class:`neurosim.hw.tiling.SplitGeometry`); core 0 of a box holds the
somas, cores ``1..P-1`` sum their group's synapses in dendrite compartments and send one
partial-current packet per compartment per step to it. Their costs (extra cores, compartment
updates, ``(P - 1) n`` packets and soma accumulations per step) are those of
:func:`neurosim.hw.activity.split_shares` and :meth:`MeshBase._partial_currents`. Packets from
other layers are routed to the soma core of each box (the hops to its neighbours are not told
apart).

**Graded spikes** (setting ``spike_payload: graded``): the trace is costed through
:func:`neurosim.hw.payload.graded_view`: one packet per nonzero spike, one synaptic op per
synapse of a nonzero event (``syn_events``).

**Energy** per core (run totals; reported per inference)::

    synaptic = syn_ops x e_syn_op
    neuron   = active x e_neuron_active + (updates - active) x e_neuron_idle
    routing  = sum over destination cores d of packets(d) x E_packet(d)     (neuromorphic.routing)
    mac      = macs x e_mac            (analog-fed synaptic nodes: run on the host, charged to
                                        the cores receiving their currents)
    static   = static_power_per_chip x chips x latency / cores_used
    memory   = 0                        (the per-event energies include their memory accesses)

``packets(s -> d)`` = events of source core ``s`` whose neurons lie in the input region that
destination core ``d`` reads (receptive field mapped back through pooling/concat/upsample),
from the source's event map; one packet per event per destination core.

**Latency.** A layer at depth ``d`` handles data step ``t`` at chip step ``k = t + d`` (one
synaptic delay per layer), so a run takes ``K = T + max depth`` steps. Per step::

    t_step(k) = max_cores busy(k) + max_links load(k) x t_hop + t_barrier(tiles used)
    busy      = syn_ops x t_syn_op + active x t_neuron_active + (updates - active) x t_neuron_idle
                + packets sent x t_spike
    t_barrier = barrier_time_one_tile + (barrier_time_max - barrier_time_one_tile)
                x (tiles - 1) / (barrier_tiles_max - 1)          (linear, extrapolated beyond)

and the latency of a sample is the sum over its K steps. Link loads per step are the layer's
run-total link loads scaled by its share of events at that step.

What does not depend on the trace (boxes, routes, link plans, static core rows) is computed on
a placement's first costing and kept in ``placement.cache`` (:class:`MeshGeometry`); the
per-core arrays of all layers are handled side by side, ``[B, T, all cores]``.
"""
from __future__ import annotations

import functools
import math
import operator
from dataclasses import replace
from typing import ClassVar

import numpy as np

from ...errors import DoesNotFit
from ...ir.nodes import Conv2d
from ..accounting import base_row, host_fed_notes, host_warning, layer_counts
from ..memo import node_total
from ..payload import graded_view
from ..activity import chip_activity, group_fractions, layer_shares, split_shares
from ..base import HardwareModel
from ..geometry import (BoxGrid, box_sizes, overlap_pairs, region_through_path, spatial_sizes,
                        synapse_input_region)
from ..layers import decompose, shape3
from ..placement import Core, MeshLayout, Placement
from ..profile import ParamSpec, SettingSpec
from ..registry import register_family
from ...report.report import CoreRow, zero_energy
from ..routing import HopCosts, LinkLoads, hop_counts
from ..tiling import CoreLimits, LayerGeometry, SynapseMemory, partition_layer, split_partition

EMPTY_BOX = np.zeros(6, np.int64)


def count(doc, **kw):
    return ParamSpec("count", doc, integer=True, **kw)


MESH_LAYOUT_PARAMETERS = {
    "cores_per_chip": count("neuromorphic cores per chip", minimum=1),
    "cores_per_tile": count("cores sharing one router (mesh node)", minimum=1),
    "tile_columns": count("mesh columns of tiles per chip", minimum=1),
    "tile_rows": count("mesh rows of tiles per chip", minimum=1),
    "max_chips": count("chips the system may use", minimum=1),
    "neurons_per_core": count("neurons (compartments) per core", minimum=1),
    "fan_in_per_core": count("distinct input axons per core", minimum=1),
    "fan_out_per_core": count("output routes (axon x destination core) per core", minimum=1),
    "population_axon_slots": count("output routes one population axon takes (axons: population)",
                                   minimum=1, required=False),
}


def needed_source_boxes(graph, edge, dst_boxes: np.ndarray) -> np.ndarray:
    """For each destination box, the box of source neurons it reads (zeros if none)."""
    syn = graph.node(edge.synapse)
    in_shape = shape3(graph.shapes[syn.inputs[0]])
    out = np.zeros((len(dst_boxes), 6), np.int64)
    for j, box in enumerate(dst_boxes):
        region = synapse_input_region(syn, in_shape, box)
        src = region_through_path(graph, edge.source, edge.path, region)
        out[j] = EMPTY_BOX if src is None else src
    return out


class Route:
    """One edge between placed layers, with its geometry (the same for every trace)::

        packets[s, d] = run events x (events of source core s's box that destination core d
                        reads) / (events of the source layer)

    summed over the intersection of each source box with the box each destination reads."""

    def __init__(self, graph, dec, edge, placement, chips: int):
        self.source, self.target = edge.source, edge.target
        self.source_shape = dec.layer(edge.source).shape
        # events reach the soma core of each destination box: with a split fan-in, the hops to
        # the box's other cores (next to it in the mesh) are taken to be the same
        self.src_ids = np.array([c.index for c in placement.soma_cores(edge.source)], np.int64)
        self.dst_ids = np.array([c.index for c in placement.soma_cores(edge.target)], np.int64)
        need = needed_source_boxes(graph, edge, placement.boxes(edge.target))
        # only the (source core, destination core) pairs whose boxes overlap carry packets
        self.pair_source, pair_target, shared = overlap_pairs(placement.boxes(edge.source), need)
        self.n_sources = len(self.src_ids)
        self.pair_src_ids, self.pair_dst_ids = self.src_ids[self.pair_source], self.dst_ids[pair_target]
        self.grid = BoxGrid(self.source_shape, shared)
        self.hops = hop_counts(placement.layout, self.pair_src_ids, self.pair_dst_ids, paired=True)
        self.links = LinkLoads(placement.layout, chips).plan(self.pair_src_ids, self.pair_dst_ids, paired=True)
        self._weights: dict[HopCosts, np.ndarray] = {}

    def weights(self, hop: HopCosts) -> np.ndarray:
        """``[5, pairs]``: ``E_packet``, 1 and the three hop counts of every overlapping pair."""
        if hop not in self._weights:
            ew, ns, ch = self.hops
            energy = hop.e_spike + ew * hop.e_ew + ns * hop.e_ns + ch * hop.e_chip
            self._weights[hop] = np.stack([energy, np.ones(ew.shape), ew, ns, ch]).astype(np.float64)
        return self._weights[hop]


class MeshGeometry:
    """What costing reads of a placement, whatever the trace: boxes, routes, static core rows."""

    def __init__(self, placement: Placement, chips: int):
        graph, dec = placement.graph, placement.decomposition
        self.boxes = {l.name: placement.boxes(l.name) for l in dec.placed}
        self.routes = [Route(graph, dec, e, placement, chips) for e in dec.edges if not e.from_input]
        # the cores of all placed layers side by side: layer l holds the slice span[l]
        self.parts = {l.name: placement.split(l.name) for l in dec.placed}
        sizes = [len(placement.layer_cores.get(l.name, [])) for l in dec.placed]
        starts = np.concatenate([[0], np.cumsum(sizes)]).astype(int)
        self.span = {l.name: slice(starts[i], starts[i + 1]) for i, l in enumerate(dec.placed)}
        # columns of each layer's soma cores (every core unless its fan-in is split; then the
        # P cores of box j are columns j P .. j P + P - 1 of the layer, the soma first)
        self.soma = {l.name: np.arange(starts[i], starts[i + 1], self.parts[l.name]) for i, l in enumerate(dec.placed)}
        self.partials = []    # (layer, dendrite columns, their soma columns, dendrite core ids, soma core ids)
        for l in dec.placed:
            P = self.parts[l.name]
            if P > 1:
                cols = np.arange(self.span[l.name].start, self.span[l.name].stop)
                dend = cols[(cols - cols[0]) % P != 0]
                soma_of = dend - (dend - cols[0]) % P
                ids = np.array(placement.layer_cores[l.name], np.int64)
                self.partials.append((l.name, dend, soma_of, ids[dend - cols[0]], ids[soma_of - cols[0]]))
        self.n_cores = int(starts[-1])
        self.single = np.array([starts[i] for i, n in enumerate(sizes) if n == 1], np.intp)
        with_cores = [(l, int(starts[i])) for i, l in enumerate(dec.placed) if sizes[i]]
        self.starts = np.array([start for _, start in with_cores], np.intp)
        self.column = {l.name: i for i, (l, _) in enumerate(with_cores)}
        columns: dict[int, list[int]] = {}
        for i, (l, _) in enumerate(with_cores):
            columns.setdefault(l.depth, []).append(i)
        self.by_depth = {d: np.array(c, np.intp) for d, c in sorted(columns.items())}   # layers per depth
        self.core_ids, self.core_rows, self.synapse_bits = {}, {}, {}
        for l in dec.placed:
            cores = placement.cores_of(l.name)
            self.core_ids[l.name] = [c.index for c in cores]
            self.core_rows[l.name] = [  # CoreRow's fields up to utilization, in order
                (c.index, l.name, c.chip, c.x, c.y, c.box, c.neurons, int(c.usage.get("fan_in", 0)),
                 int(c.usage.get("fan_out", 0)), c.memory, c.utilization()) for c in cores]
            self.synapse_bits[l.name] = float(sum(c.memory.get("synapses", 0.0) for c in cores))
        self.all_core_rows = [r for l in dec.placed for r in self.core_rows[l.name]]

    def core_sums(self, x: np.ndarray) -> np.ndarray:
        """``x [B, T, all cores]`` summed over samples and steps, as each layer's own
        ``[B, T, S].sum((0, 1))`` gives it (for ``S = 1`` numpy sums the B T values pairwise)."""
        x = np.ascontiguousarray(x)   # the order numpy adds in depends on the memory layout
        out = x.sum((0, 1))
        if len(self.single):
            out[self.single] = np.ascontiguousarray(x[:, :, self.single].transpose(2, 0, 1)).reshape(
                len(self.single), -1).sum(-1)
        return out

    def layer_max(self, per_core: np.ndarray) -> np.ndarray:
        """``[..., layers with cores]``: the largest value over each layer's cores."""
        if not len(self.starts):
            return np.zeros(per_core.shape[:-1] + (0,))
        return np.maximum.reduceat(per_core, self.starts, axis=-1)


def mesh_geometry(placement: Placement, chips: int) -> MeshGeometry:
    """The placement's :class:`MeshGeometry`, made on its first costing."""
    key = ("mesh-geometry", chips)
    if key not in placement.cache:
        placement.cache[key] = MeshGeometry(placement, chips)
    return placement.cache[key]


def per_inference(energies: dict, span: dict, B: int) -> dict[str, list[float]]:
    """Per component, every core's energy per inference (run total / B), cores of all layers
    side by side; a layer without the component counts zeros."""
    comps = list(dict.fromkeys(c for e in energies.values() for c in e))
    out = {}
    for comp in comps:
        parts = [np.asarray(e[comp], np.float64) if comp in e else np.zeros(span[name].stop - span[name].start)
                 for name, e in energies.items()]
        out[comp] = (np.concatenate(parts) / B).tolist() if parts else []
    return out


def energy_columns(comps, per_core: dict[str, list[float]], static_energy: float, span: slice, n: int):
    """``CoreRow.energy`` of ``n`` cores, column by column: the cores ``span`` of each of the
    hook's components ``comps``, the same static energy for all, zeros for the rest."""
    zeros = [0.0] * n
    columns = dict.fromkeys(zero_energy(), zeros)
    for comp in comps:
        columns[comp] = per_core[comp][span]
    columns["static"] = [static_energy] * n
    return columns, zeros


def add_core_energies(row, columns: dict[str, list[float]], zeros: list, span: slice = slice(None)) -> None:
    """Add the energies of the cores ``span`` to the layer's row, core after core."""
    for comp, column in columns.items():
        if column is not zeros:  # adding zeros leaves the row's 0.0 as it is
            row.energy[comp] = functools.reduce(operator.add, column[span], row.energy[comp])


def core_rows_of(statics, columns: dict[str, list[float]], busy: list[float]) -> list[CoreRow]:
    """One CoreRow per core: its static description, energies and busy time."""
    comps = list(columns)
    return [CoreRow(index, layer, chip, x, y, list(box), neurons, fan_in, fan_out, dict(memory), dict(util),
                    dict(zip(comps, values)), b)
            for (index, layer, chip, x, y, box, neurons, fan_in, fan_out, memory, util), values, b
            in zip(statics, zip(*columns.values()), busy)]


class MeshBase(HardwareModel):
    """Shared placement and costing of core-based chips on a mesh (see the module docstring)."""

    # ------------------------------------------------------------------ profile views
    def layout(self) -> MeshLayout:
        return MeshLayout(int(self.p("cores_per_chip")), int(self.p("cores_per_tile")),
                          int(self.p("tile_columns")), int(self.p("tile_rows")))

    def limits(self) -> CoreLimits:
        return CoreLimits(neurons=int(self.p("neurons_per_core")), fan_in=int(self.p("fan_in_per_core")),
                          synapse_bits=self.profile.get("synapse_memory_per_core"),
                          fan_out=int(self.p("fan_out_per_core")))

    def synapse_memory(self) -> SynapseMemory:
        raise NotImplementedError

    def state_bits(self):
        return self.profile.get("state_bits")

    @classmethod
    def check_profile(cls, profile):
        from ...errors import ProfileError

        v = profile.value
        if v("tile_columns") * v("tile_rows") * v("cores_per_tile") < v("cores_per_chip"):
            raise ProfileError(f"{profile.where}: parameters.tile_columns x tile_rows x cores_per_tile "
                               f"must hold cores_per_chip ({v('cores_per_chip'):g} cores)")
        if profile.setting("axons", "discrete") == "population" and not profile.has("population_axon_slots"):
            raise ProfileError(f"{profile.where}: settings.axons is population, so parameters."
                               f"population_axon_slots (output routes per population axon) is required")

    # ------------------------------------------------------------------ placement
    def place(self, graph, strict: bool = True) -> Placement:
        dec = decompose(graph)
        limits, memory = self.limits(), self.synapse_memory()
        population = self.population_axons()
        geoms = {l.name: LayerGeometry(l, graph, memory, population) for l in dec.placed}
        caps: dict[str, tuple] = {name: (None, None) for name in geoms}   # (neurons, positions) per core
        cache: dict[tuple, tuple] = {}
        def unsplit(g, lim, chip, cap, position_cap=None):
            try:
                return partition_layer(g, lim, chip, cap, position_cap), g
            except DoesNotFit as err:
                raise DoesNotFit(f"{err}: {self.no_split_reason}") from None

        cut = split_partition if self.splits_fan_in() else unsplit
        while True:
            boxes, used = {}, {}
            for name, geom in geoms.items():
                key = (name, caps[name])
                if key not in cache:
                    cache[key] = cut(geom, limits, self.profile.name, caps[name][0], position_cap=caps[name][1])
                boxes[name], used[name] = cache[key]
            parts = {name: getattr(g, "parts", 1) for name, g in used.items()}
            fan_out, fan_in = self._axon_counts(graph, dec, boxes, parts, population)
            over = {name: "out" for name in geoms if limits.fan_out is not None
                    and len(fan_out[name]) and fan_out[name].max() > limits.fan_out}
            over.update({name: "in" for name, f in fan_in.items() if name not in over
                         and limits.fan_in is not None and len(f) and f.max() > limits.fan_in})
            if not over:
                break
            for name, side in over.items():
                # population axons: a core's routes and axons grow with its positions, not its
                # channels, so the re-cut halves the positions per core instead of the neurons
                sizes = spatial_sizes(boxes[name]) if population else box_sizes(boxes[name])
                biggest = int(sizes.max())
                if biggest <= 1:
                    raise DoesNotFit(
                        f"layer '{name}' cannot be placed on {self.profile.name}: one neuron must reach "
                        f"{int(fan_out[name].max())} destination cores but a core has {limits.fan_out} "
                        f"output routes" if side == "out" else
                        f"layer '{name}' cannot be placed on {self.profile.name}: one neuron needs "
                        f"{int(fan_in[name].max())} input axons from its source cores but a core accepts "
                        f"{limits.fan_in}")
                caps[name] = (caps[name][0], biggest // 2) if population else (biggest // 2, None)
        return self._assemble(graph, dec, used, boxes, fan_out, limits, strict, fan_in)

    def population_axons(self) -> bool:
        """Whether a convolution's spikes travel on population axons (profile setting ``axons``)."""
        return self.profile.setting("axons", "discrete") == "population"

    #: why this chip does not split a neuron's fan-in (appended to a one-neuron DoesNotFit)
    no_split_reason: ClassVar[str] = "the profile does not set fan_in_split: partial-currents"

    def splits_fan_in(self) -> bool:
        """Whether a neuron's fan-in may be split over cores (profile setting ``fan_in_split``)."""
        return self.profile.setting("fan_in_split", "none") == "partial-currents"

    def _axon_counts(self, graph, dec, boxes, parts, population: bool):
        """Output routes of every core, and (``population`` only) the input axons of every
        core of an unsplit layer, counted exactly over the cores of its sources::

            routes(s) = sum over destination cores d of axons(s, d)
            fan_in(d) = sum over source cores s of axons(s, d)  (+ the positions of event inputs)

        ``axons(s, d)``: the neurons of source core ``s`` that core ``d`` reads (discrete
        axons), or for a convolution on population axons the positions of ``s`` that ``d``
        reads (all their channels share one axon), each taking ``population_axon_slots`` routes
        on the source core."""
        slots = int(self.p("population_axon_slots")) if population else 1
        out = {name: np.zeros(len(b), np.int64) for name, b in boxes.items()}
        fan_in = {name: np.zeros(len(b), np.int64) for name, b in boxes.items() if population and parts[name] == 1}
        for edge in dec.edges:
            if edge.target not in boxes:
                continue
            pooled = population and isinstance(graph.node(edge.synapse), Conv2d)
            need = needed_source_boxes(graph, edge, boxes[edge.target])
            if edge.from_input or edge.source not in boxes:
                if edge.target in fan_in:
                    fan_in[edge.target] += spatial_sizes(need) if pooled else box_sizes(need)
                continue
            i, j, shared = overlap_pairs(boxes[edge.source], need)
            axons = spatial_sizes(shared) if pooled else box_sizes(shared)
            routes = axons * slots if pooled else axons
            out[edge.source] += np.bincount(i, routes, minlength=len(out[edge.source])).astype(np.int64)
            if edge.target in fan_in:
                fan_in[edge.target] += np.bincount(j, axons, minlength=len(need)).astype(np.int64)
        return out, fan_in

    def _assemble(self, graph, dec, geoms, boxes, fan_out, limits, strict, fan_in=None) -> Placement:
        layout = self.layout()
        cpc = layout.cores_per_chip
        capacity = cpc * int(self.p("max_chips"))
        parts = {name: getattr(g, "parts", 1) for name, g in geoms.items()}
        total = sum(len(b) * parts[name] for name, b in boxes.items())
        if self.profile.setting("chip_layout", "line") == "grid":  # chips in a near-square grid
            layout = replace(layout, chip_columns=int(np.ceil(np.sqrt(max(1, -(-total // cpc))))))
        placement = Placement(profile=self.profile.name, family=self.family, graph=graph,
                              decomposition=dec, layout=layout,
                              notes=host_fed_notes(graph, dec.placed, self.profile.name))
        if total > capacity:
            msg = self._misfit_message(dec, boxes, limits, capacity, total, parts)
            if strict:
                raise DoesNotFit(msg)
            placement.fits, placement.misfit = False, msg
        state_bits = self.state_bits()
        cap = {"neurons": limits.neurons, "fan_in": limits.fan_in, "fan_out": limits.fan_out}
        if limits.synapse_bits is not None:
            cap["synapse_bits"] = limits.synapse_bits
        for layer in dec.placed:
            ids = []
            geom = geoms[layer.name]
            P = parts[layer.name]
            for j, box in enumerate(boxes[layer.name]):
                need = geom.needs(box)
                for part in range(P):   # part 0 holds the somas; the others send it partial currents
                    idx = len(placement.cores)
                    chip, x, y = (int(a[0]) for a in layout.positions([idx]))
                    exact = (fan_in or {}).get(layer.name)
                    usage = {"neurons": need["neurons"],
                             "fan_in": int(exact[j]) if exact is not None else need["fan_in"],
                             "fan_out": int(fan_out[layer.name][j]) if part == 0 else need["neurons"],
                             "synapse_bits": need["synapse_bits"]}
                    memory = {"synapses": need["synapse_bits"]}
                    if state_bits is not None:
                        memory["state"] = need["neurons"] * state_bits
                    placement.cores.append(Core(index=idx, layer=layer.name, box=tuple(int(v) for v in box),
                                                chip=chip, x=x, y=y, usage=usage,
                                                capacity={k: v for k, v in cap.items() if v is not None},
                                                memory=memory, part=part, parts=P))
                    ids.append(idx)
            placement.layer_cores[layer.name] = ids
        placement.chips = max(1, math.ceil(len(placement.cores) / cpc)) if placement.cores else 0
        return placement

    def _misfit_message(self, dec, boxes, limits, capacity, total, parts=None) -> str:
        used = 0
        chips_needed = math.ceil(total / self.layout().cores_per_chip)
        for layer in dec.placed:
            n = len(boxes[layer.name]) * (parts or {}).get(layer.name, 1)
            if used + n > capacity:
                per_core = [f"{limits.neurons} neurons"]
                if limits.fan_in is not None:
                    per_core.append(f"{limits.fan_in} input axons")
                if limits.synapse_bits is not None:
                    per_core.append(f"{limits.synapse_bits:.0f} bits of synapse memory")
                return (f"the network does not fit on {self.profile.name}: layer '{layer.name}' needs {n} "
                        f"cores for {layer.neurons} neurons (a core holds at most {', '.join(per_core)}) "
                        f"but only {max(0, capacity - used)} of {capacity} cores are left "
                        f"({int(self.p('max_chips'))} chip(s) of {self.layout().cores_per_chip} cores); "
                        f"the whole network needs {total} cores = {chips_needed} chips")
            used += n
        return f"the network needs {total} cores, more than the {capacity} available"

    # ------------------------------------------------------------------ costing hooks
    #: True when :meth:`core_energy` reads neither ``layer`` nor more than each core's own
    #: counts: it is then called once with all the cores (``layer=None``)
    core_by_core: ClassVar[bool] = False

    def hop_costs(self) -> HopCosts:
        return HopCosts()

    def core_energy(self, layer, act, packets_energy) -> dict[str, np.ndarray]:
        """Energy per core (run totals) by component, static excluded."""
        raise NotImplementedError

    def busy(self, act, injected) -> np.ndarray:
        """Busy time [B, T, S] of each core at each data step."""
        raise NotImplementedError

    def step_times(self, compute: np.ndarray, network: np.ndarray, tiles: int) -> np.ndarray:
        raise NotImplementedError

    def static_power(self) -> float:
        return 0.0

    # ------------------------------------------------------------------ costing
    def _cost(self, trace, placement):
        graph, dec = placement.graph, placement.decomposition
        B, T = trace.batch, trace.timesteps
        layout, hop = placement.layout, self.hop_costs()
        chips = max(1, placement.chips or 1)
        geo = mesh_geometry(placement, chips)
        shares = []
        for l in dec.placed:
            share, P = layer_shares(l, geo.boxes[l.name], graph, trace, placement.cache), geo.parts[l.name]
            shares.append(split_shares(share, P, group_fractions(graph, l, trace, P)) if P > 1 else share)
        chip = chip_activity(shares, B, T)                                       # [B, T, all cores]
        chip.totals_source = functools.lru_cache(maxsize=None)(lambda c: geo.core_sums(getattr(chip, c)))
        route_e, injected, stats, links = self._routes(trace, geo, hop, layout, chips)
        partial = self._partial_currents(geo, chip, hop, layout, chips, route_e, stats, links)

        # timeline: layer at depth d handles data step t at chip step t + d. Packets per output
        # event of each core, from the event map alone (as the packets are): the same ratio for
        # every sample, whichever samples the trace holds (a shard of a dataset run, or all)
        out_tot = np.concatenate([s.run_out_events for s in shares]) if shares else np.zeros(0)
        ratio = np.divide(injected, out_tot, out=np.zeros_like(out_tot), where=out_tot > 0)
        sent = chip.out_events * ratio
        if partial is not None:
            sent = sent + partial
        busy = self.busy(chip, sent)                                             # [B, T, all cores]
        layer_busy = geo.layer_max(busy)                                           # [B, T, layers]
        depth = {l.name: l.depth for l in dec.placed}
        K = T + (max(depth.values()) if depth else 0)
        compute = np.zeros((B, K))
        for d, columns in geo.by_depth.items():
            compute[:, d:d + T] = np.maximum(compute[:, d:d + T], layer_busy[:, :, columns].max(-1))
        network, link_summary = self._network_time(trace, dec, links, depth, K, hop, chips)
        tiles = layout.tiles_used(len(placement.cores))
        steps = self.step_times(compute, network, tiles)
        latency = float(steps.sum(1).mean()) if B else 0.0
        static_total = self.static_power() * chips * latency * B
        n_cores = max(1, len(placement.cores))

        energies, per_core = self._core_energies(dec, geo, chip, route_e, B)
        core_busy = (geo.core_sums(busy) / B).tolist()
        # the busiest core's time summed over steps, per layer (samples averaged)
        layer_latency = np.ascontiguousarray(layer_busy.transpose(2, 0, 1)).sum(-1).mean(1).tolist()
        static = static_total / n_cores / B
        kinds = {tuple(e) for e in energies.values()}
        if len(kinds) == 1:  # the usual case: every layer reports the same components
            columns, zeros = energy_columns(kinds.pop(), per_core, static, slice(None), geo.n_cores)
            core_rows = core_rows_of(geo.all_core_rows, columns, core_busy)
        else:
            columns, core_rows = None, []
        rows = []
        state_bits = self.state_bits()
        for layer in placement.layers:
            counts = layer_counts(layer, graph, trace)
            row = base_row(layer, graph, trace, counts)
            if not layer.placed:
                e_an = self.profile.get("e_analog_op")
                if e_an is not None:
                    row.energy["analog"] = row.analog_ops * e_an
                rows.append(row)
                continue
            span = geo.span[layer.name]
            if columns is not None:
                add_core_energies(row, columns, zeros, span)
            else:
                own, own_zeros = energy_columns(energies[layer.name], per_core, static, span, span.stop - span.start)
                add_core_energies(row, own, own_zeros)
                core_rows += core_rows_of(geo.core_rows[layer.name], own, core_busy[span])
            row.cores = list(geo.core_ids[layer.name])
            row.memory = {"synapses": geo.synapse_bits[layer.name]}
            if state_bits is not None:
                row.memory["state"] = layer.neurons * state_bits
            column = geo.column.get(layer.name)
            row.latency = layer_latency[column] if column is not None else 0.0
            row.routing = {k: v / B for k, v in stats[layer.name].items()}
            rows.append(row)
        details = {"chip_steps_per_sample": K, "tiles_used": tiles, "links": link_summary,
                   "time_per_inference": {"compute": float(compute.sum(1).mean()),
                                          "network": float(network.sum(1).mean()),
                                          "barrier": float((steps - compute - network).sum(1).mean())}}
        warnings = host_warning(rows, self.profile.has("e_analog_op"))
        if any(e.from_input for e in dec.edges):
            warnings.append("events from the graph's event inputs enter the chip without a routing cost")
        return self.new_report(trace, rows, core_rows, latency=latency, chips=placement.chips,
                               details=details, warnings=warnings)

    def _core_energies(self, dec, geo, chip, route_e, B):
        """The :meth:`core_energy` of every layer (its components are all the rows read) and,
        per component, each core's energy per inference, all cores side by side."""
        if self.core_by_core:  # one call for all the cores
            whole = self.core_energy(None, chip, route_e)
            per_core = {comp: (np.asarray(v, np.float64) / B).tolist() for comp, v in whole.items()}
            return {l.name: whole for l in dec.placed}, per_core
        energies = {}
        for l in dec.placed:
            span = geo.span[l.name]
            act = chip.cores(span)
            act.totals_source = lambda c, span=span: chip.core_totals(c)[span].copy()
            energies[l.name] = self.core_energy(l, act, route_e[span])
        return energies, per_inference(energies, geo.span, B)

    def _routes(self, trace, geo, hop, layout, chips):
        """Packets on every route (see :class:`Route`): per source core their energy and count
        (``[all cores]``), per source layer packet and hop totals, and the link loads."""
        per_core = np.zeros((2, geo.n_cores))       # packet energy and packets sent, per source core
        stats = {name: {"packets": 0.0, "hops_ew": 0.0, "hops_ns": 0.0, "chip_hops": 0.0} for name in geo.span}
        links = LinkLoads(layout, chips)
        for route in geo.routes:
            nt = trace.nodes[route.source]
            run_events = node_total(nt, "out_spikes")
            if run_events <= 0:
                continue
            emap = np.ones(route.grid.shape) if nt.event_map is None else nt.event_map
            read, total = route.grid.sums(route.grid.reduce(emap))
            if total <= 0:
                continue
            packets = run_events * read / total
            weighted = packets * route.weights(hop)        # [energy, 1, hops east-west, north-south, chip]
            soma = geo.soma[route.source]
            for k in range(2):
                per_core[k, soma] += np.bincount(route.pair_source, weighted[k], minlength=route.n_sources)
            totals = weighted[1:].sum(1)
            st = stats[route.source]
            st["packets"] += totals[0]
            st["hops_ew"] += totals[1]
            st["hops_ns"] += totals[2]
            st["chip_hops"] += totals[3]
            links.add(route.pair_src_ids, route.pair_dst_ids, packets, route.links, source=route.source)
        route_e, injected = per_core
        return route_e, injected, stats, links

    def _partial_currents(self, geo, chip, hop, layout, chips, route_e, stats, links):
        """Partial currents of split fan-ins: each dendrite compartment sends one packet to its
        soma core per step (``[B, T, all cores]``, None without splits). Their energy is added
        to ``route_e``, their packets and hops to the layer's ``stats``, their loads to ``links``.

        One packet per compartment per step is what a dense partial sum costs; it is also what
        a sparse one costs at these fan-ins: a dendrite summing ``m`` inputs at rate ``r`` gets
        none with probability ``(1 - r)^m``, under 1e-22 for ``m = 2048``, ``r = 0.025``."""
        if not geo.partials:
            return None
        sent = np.zeros(chip.neuron_updates.shape)
        for name, dend, soma_of, dend_ids, soma_ids in geo.partials:
            sent[:, :, dend] = chip.neuron_updates[:, :, dend]
            packets = chip.core_totals("neuron_updates")[dend]
            ew, ns, ch = hop_counts(layout, dend_ids, soma_ids, paired=True)
            route_e[dend] += packets * (hop.e_spike + ew * hop.e_ew + ns * hop.e_ns + ch * hop.e_chip)
            st = stats[name]
            st["packets"] += float(packets.sum())
            st["hops_ew"] += float((packets * ew).sum())
            st["hops_ns"] += float((packets * ns).sum())
            st["chip_hops"] += float((packets * ch).sum())
            links.add(dend_ids, soma_ids, packets, links.plan(dend_ids, soma_ids, paired=True), source=name)
        return sent

    def _network_time(self, trace, dec, links, depth, K, hop, chips):
        """Per (sample, chip step) time of the busiest link, and a summary of link loads."""
        B, T = trace.batch, trace.timesteps
        network = np.zeros((B, K))
        summary = {"max_link_load_per_step": [0.0] * K, "busiest_link": None}
        if not links.sources:
            return network, summary
        names = links.sources
        vectors = links.loads_by_source().reshape(len(names), -1)               # [L, links]
        t_link = links.link_times(hop).ravel()
        # links no packet crosses have load 0 at every step: leave them out of the products and
        # count them as 0 in the maxima
        used = (vectors != 0).any(0)
        unused = not used.all()
        v_used, t_used = vectors[:, used], t_link[used]
        shares = np.zeros((B, K, len(names)))
        for i, name in enumerate(names):
            out = trace.nodes[name].out_spikes
            total = node_total(trace.nodes[name], "out_spikes")
            if total > 0:
                shares[:, depth[name]:depth[name] + T, i] = out / total
        max_load = np.zeros(K)
        for b in range(B):
            loads = shares[b] @ v_used                                           # [K, used links]
            busiest, most = ((loads * t_used).max(1), loads.max(1)) if v_used.shape[1] else (0.0, 0.0)
            network[b] = np.maximum(busiest, 0.0) if unused else busiest
            max_load += (np.maximum(most, 0.0) if unused else most) / B
        total = vectors.sum(0)
        d, y, x = np.unravel_index(int(total.argmax()), (4, links.height, links.width))
        summary["max_link_load_per_step"] = [float(v) for v in max_load]
        summary["busiest_link"] = {"direction": ("east", "west", "south", "north")[d], "x": int(x), "y": int(y),
                                   "packets_per_inference": float(total.max()) / max(B, 1)}
        return network, summary


@register_family
class NeuromorphicMeshModel(MeshBase):
    family = "neuromorphic-mesh"
    summary = "cores with neuron/synapse/fan-in/fan-out limits on a 2-D mesh (Loihi-like)"
    omissions = (
        'memory accesses priced apart (the per-event energies include them)',
        "events entering the chip from the graph's inputs (no injection cost)",
        "a per-fired-neuron spike-generation cost (SANA-FE's Loihi charges one)",
        "overlap of a core's neuron updates with its packet handling (a step's busy time is their sum)",
        'on-chip learning',
        'host and off-chip I/O',
        "with a split fan-in: which of a box's cores an incoming packet reaches (all are routed to its soma "
        "core), and sparse partial currents (one packet per dendrite compartment per step)",
        "with population axons: a limit on the channels (atoms) one axon carries",
    )
    parameters = {
        **MESH_LAYOUT_PARAMETERS,
        "synapse_memory_per_core": ParamSpec("bits", "synapse memory per core"),
        "weight_bits": ParamSpec("bits", "bits per stored weight", minimum=1),
        "delay_bits": ParamSpec("bits", "bits per synapse for its delay", required=False),
        "tag_bits": ParamSpec("bits", "bits per synapse for its learning tag", required=False),
        "synapse_list_overhead_bits": ParamSpec("bits", "header bits per axon's synapse list", required=False),
        "synapse_word_bits": ParamSpec("bits", "synapse memory word (lists round up to it)", minimum=1),
        "state_bits": ParamSpec("bits", "neuron state bits (memory report)", required=False),
        "e_syn_op": ParamSpec("energy", "energy per synaptic operation"),
        "t_syn_op": ParamSpec("time", "time per synaptic operation"),
        "e_neuron_active": ParamSpec("energy", "energy of an active neuron update"),
        "t_neuron_active": ParamSpec("time", "time of an active neuron update"),
        "e_neuron_idle": ParamSpec("energy", "energy of an inactive neuron update"),
        "t_neuron_idle": ParamSpec("time", "time of an inactive neuron update"),
        "e_spike": ParamSpec("energy", "energy of a spike packet within a tile"),
        "t_spike": ParamSpec("time", "time to send one spike packet"),
        "e_hop_ew": ParamSpec("energy", "energy per east-west tile hop"),
        "t_hop_ew": ParamSpec("time", "time per east-west tile hop"),
        "e_hop_ns": ParamSpec("energy", "energy per north-south tile hop"),
        "t_hop_ns": ParamSpec("time", "time per north-south tile hop"),
        "e_chip_hop": ParamSpec("energy", "energy per hop between chips"),
        "t_chip_hop": ParamSpec("time", "time per hop between chips"),
        "barrier_time_one_tile": ParamSpec("time", "time-step barrier with one tile"),
        "barrier_time_max": ParamSpec("time", "time-step barrier with barrier_tiles_max tiles"),
        "barrier_tiles_max": count("tiles at which barrier_time_max was given", minimum=1),
        "static_power_per_chip": ParamSpec("power", "static (leakage) power per chip"),
        "e_mac": ParamSpec("energy", "host energy per MAC (analog-fed layers)"),
        "e_analog_op": ParamSpec("energy", "host energy per elementwise op (host nodes)", required=False),
    }
    settings = {"synapse_memory": SettingSpec("how synapses are stored", choices=("per-axon-lists", "shared-kernels")),
                "fan_in_split": SettingSpec("whether a neuron's fan-in may be split over cores that send partial "
                                            "currents to its soma core", choices=("none", "partial-currents"),
                                            required=False),
                "spike_payload": SettingSpec("binary: an integer spike s is s packets and s x fan-out synaptic ops; "
                                             "graded: one packet carrying s and one synaptic op per synapse",
                                             choices=("binary", "graded"), required=False),
                "axons": SettingSpec("discrete: one axon per source neuron and destination core; population: a "
                                     "convolution's channels at one position share one axon (the channel is the "
                                     "spike's atom), as nengo-loihi builds conv connections", choices=("discrete", "population"),
                                     required=False),
                "chip_layout": SettingSpec("line: chips side by side along x; grid: chips in a near-square grid "
                                           "(ceil(sqrt(chips)) columns), as multi-chip boards and systems lay them",
                                           choices=("line", "grid"), required=False)}
    core_by_core = True

    def _cost(self, trace, placement):
        if self.profile.setting("spike_payload", "binary") == "graded":
            trace = graded_view(trace)
        report = super()._cost(trace, placement)
        report.details["spike_payload"] = self.profile.setting("spike_payload", "binary")
        return report

    def synapse_memory(self) -> SynapseMemory:
        g = self.profile.get
        return SynapseMemory(model=self.profile.setting("synapse_memory"), weight_bits=self.p("weight_bits"),
                             delay_bits=g("delay_bits", 0.0), tag_bits=g("tag_bits", 0.0),
                             overhead_bits=g("synapse_list_overhead_bits", 0.0),
                             word_bits=self.p("synapse_word_bits"))

    def hop_costs(self) -> HopCosts:
        p = self.p
        return HopCosts(e_spike=p("e_spike"), e_ew=p("e_hop_ew"), e_ns=p("e_hop_ns"), e_chip=p("e_chip_hop"),
                        t_ew=p("t_hop_ew"), t_ns=p("t_hop_ns"), t_chip=p("t_chip_hop"))

    def core_energy(self, layer, act, packets_energy):
        syn = act.core_totals("syn_ops")
        upd, active = act.core_totals("neuron_updates"), act.core_totals("active_neurons")
        return {"synaptic": syn * self.p("e_syn_op"),
                "neuron": active * self.p("e_neuron_active") + (upd - active) * self.p("e_neuron_idle"),
                "routing": packets_energy,
                "mac": act.core_totals("macs") * self.p("e_mac")}

    def busy(self, act, injected):
        return (act.syn_ops * self.p("t_syn_op") + act.active_neurons * self.p("t_neuron_active")
                + (act.neuron_updates - act.active_neurons) * self.p("t_neuron_idle")
                + injected * self.p("t_spike"))

    def barrier(self, tiles: int) -> float:
        t1, tmax, n = self.p("barrier_time_one_tile"), self.p("barrier_time_max"), self.p("barrier_tiles_max")
        if n <= 1:
            return tmax
        return t1 + (tmax - t1) * (max(tiles, 1) - 1) / (n - 1)

    def step_times(self, compute, network, tiles):
        return compute + network + self.barrier(tiles)

    def static_power(self) -> float:
        return self.p("static_power_per_chip")
