"""Run one network through neurosim (profile ``loihi-sanafe``) and through SANA-FE 2.2.9, with every
neuron on the core neurosim's placement gives it, and compare like for like.

Nothing here reads neurosim's profile to configure SANA-FE: the SANA-FE architecture is SANA-FE's
own Loihi description (``sanafe/examples/loihi.yaml`` in the installed wheel) with the structural
edits listed below, so a constant that differs between ``hwmodels/loihi-sanafe.yaml`` and that file
shows up as a disagreement.

**Mapping.** neurosim core ``i`` sits at mesh tile ``(x, y)`` (``placement.cores[i]``); SANA-FE
numbers its tiles column-major (``x = id // height``, ``y = id % height``, src/arch.cpp), so that
core becomes ``arch.tiles[x * height + y].cores[i % cores_per_tile]``: hop counts are then equal.
A neurosim layer is one SANA-FE neuron group (soma ``loihi_lif``: IF is ``leak_decay = 1``, LIF is
``leak_decay = decay``; threshold, hard reset to ``reset_value``; both tools fire on ``H >
threshold``). Synapses are the layer's exact connections (border, stride and group aware, zero
integer weights included, since neurosim counts a synaptic op for every tap). Biases are refused:
SANA-FE adds a bias at every chip step, including the pipeline-fill steps before a layer's first
input, so the spikes would differ.

**Structural differences and how each is made like for like** (see docs/sanafe_crosscheck.md):

1. *Input injection.* neurosim lets the events of an event Input enter free. SANA-FE needs input
   neurons on some core, whose spike messages pay ``energy_message_out`` (111 pJ), hops and the
   receive latency. Here every input neuron is copied once per destination core onto an extra
   *input core* in that core's own tile (0 hops) whose ``axon_out`` costs 0 J / 0 s and whose
   ``model: input`` somas cost nothing (those of SANA-FE's ``loihi_inputs``). Configured in SANA-FE.
2. *Neuron updates at every chip step.* SANA-FE processes every neuron at every one of its
   ``K_s = T + max depth + 1`` chip steps (``energy_access_neuron`` 51.2 pJ, 6 ns each); neurosim
   charges ``T`` updates per neuron (none in pipeline fill and flush steps). The SANA-FE soma
   energy is split exactly (``N K_s e_access + U e_update``, checked to 1e-9) and the
   ``N (K_s - T) e_access`` of the extra steps is taken out of SANA-FE's side of the comparison;
   for latency only the chip steps of each layer's own data window are kept (item 6).
3. *Per-fired-neuron cost.* SANA-FE's ``energy_spike_out`` (69.3 pJ) / ``latency_spike_out``
   (30 ns) has no neurosim parameter: set to 0 in the SANA-FE copy (reported separately).
4. *"Active".* neurosim counts an update active when its charge ``H`` is nonzero; SANA-FE counts
   a neuron updated when it received any message (even one whose weights cancel) or has a nonzero
   potential (which, for IF, stays so in every flush step). From SANA-FE's own potential and spike
   traces the bridge counts the updates with ``H != 0`` inside each layer's data window (``H != 0``
   iff the neuron fired or its potential after the step is nonzero, for a hard reset to 0 and a
   threshold >= 0): that count must equal neurosim's ``active_neurons`` exactly, and
   ``(U - A) e_update`` is taken out of SANA-FE's side.
5. *Receive cost.* SANA-FE's ``latency_message_in`` (16 ns per message received) has no neurosim
   parameter: set to 0 in the SANA-FE copy (its ``energy_message_in`` is already 0).
6. *Latency overlap.* SANA-FE's ``detailed`` timing overlaps a core's neuron processing with its
   message processing and the NoC with both; neurosim adds synaptic, neuron and packet time on
   each core (``busy``). The like-for-like SANA-FE latency is rebuilt from SANA-FE's own message
   trace: per core, ``proc`` = sum of the ``processing_delay`` of the messages it received (its
   synaptic work) and ``gen`` = sum of the ``generation_delay`` of the messages (and placeholder)
   it sent (its neuron and packet work). A layer at depth ``d`` integrates data step ``t`` at
   SANA-FE step ``t + 1 + d`` and updates its neurons at ``t + 2 + d``, so neurosim's busy of core
   ``c`` at data step ``t`` corresponds to ``proc_c(t + 1 + d) + gen_c(t + 2 + d)``; the maximum
   over cores at each of neurosim's ``K_n = T + max depth`` chip steps, plus ``K_n`` syncs, is the
   like-for-like latency. neurosim's link term (``details.time_per_inference.network``, the
   busiest link's load x hop time) has no per-core counterpart in SANA-FE and is taken out of
   neurosim's side. Inside the window SANA-FE's updated/active definition (item 4) remains: a
   residual of a few ``latency_update_neuron`` (3.7 ns) per cancelled input.
7. *Sync.* SANA-FE's ``latency_sync`` is a step table of the tiles in use (1: 0.6, 2: 1.0,
   4: 1.4, 29: 1.8 us); neurosim's barrier is linear in tiles. The SANA-FE copy replaces the table
   by the straight line through its own first and last entries (what ``loihi-sanafe`` carries);
   SANA-FE's extra input-injection step (``K_s = K_n + 1``) has no neurosim counterpart: the
   like-for-like latency counts ``K_n`` syncs (item 6).
8. *Synapse kind.* SANA-FE prices dense, sparse and conv synapses apart; neurosim has one price.
   Every connection uses ``loihi_conv_synapse``, the one ``loihi-sanafe`` carries.
9. *Static power.* SANA-FE has none: neurosim's ``static`` component is left out.

``keep`` (a subset of :data:`STOCK`) keeps SANA-FE's own choice for items 1 (``inputs``: the
input cores send with ``loihi_out``, 111 pJ and 5.1 ns a message, as SANA-FE's Loihi inputs on a
``loihi_core`` would), 3 (``spike_out``), 5 (``receive``), 7 (``sync``: the step table) and 8
(``synapse_kind``: Linear layers on ``loihi_dense_synapse``, convolutions on
``loihi_conv_synapse``, as SANA-FE's DVS-gesture mapping does); ``keep=STOCK`` is the native
comparison for the docs. The energy of each kept item is computed exactly from SANA-FE's own
counts and listed in ``SanafeSide.terms``.

``python -m tests.crosscheck.sanafe_bridge`` prints the comparison of the three shared networks.
"""
from __future__ import annotations

import copy
import importlib.resources
import math
import re
import tempfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import yaml

from neurosim.ir import IF, LIF, Conv2d, Flatten, GraphBuilder, Linear, load_graph
from neurosim.ir.graph import Graph
from neurosim.sim import simulate

PROFILE = "loihi-sanafe"
SYNAPSE_UNIT = "loihi_conv_synapse"   # the unit whose price loihi-sanafe carries (item 8)
DENSE_UNIT = "loihi_dense_synapse"    # SANA-FE's unit for dense (Linear) layers, with keep={"synapse_kind"}
SOMA_UNIT = "loihi_lif"
STOCK = frozenset({"inputs", "spike_out", "receive", "sync", "synapse_kind"})
ROOT = Path(__file__).resolve().parents[2]


# ----------------------------------------------------------------------------- the networks
@dataclass
class CrossNet:
    """A graph and one sample of binary input spikes ``[T, *input shape]``."""

    name: str
    graph: Graph
    inputs: np.ndarray

    @property
    def T(self) -> int:
        return int(self.inputs.shape[0])


def fc_if(seed: int = 0, T: int = 16, rate: float = 0.08) -> CrossNet:
    """(a) 256 -> 128 -> 10 integrate-and-fire, integer weights in [-3, 3], thresholds 4 and 3."""
    rng = np.random.default_rng(seed)
    b = GraphBuilder(metadata={"name": "fc-if"})
    x = b.input((256,), kind="binary", name="in")
    h = b.linear(x, weight=rng.integers(-3, 4, (128, 256)).astype(np.float32), name="fc1")
    s1 = b.add_node(IF, h, threshold=4.0, name="n1")
    o = b.linear(s1, weight=rng.integers(-3, 4, (10, 128)).astype(np.float32), name="fc2")
    s2 = b.add_node(IF, o, threshold=3.0, name="n2")
    spikes = (rng.random((T, 256)) < rate).astype(np.float32)
    return CrossNet("fc-if", b.build([s2]), spikes)


def conv_if(seed: int = 0, T: int = 16, rate: float = 0.08) -> CrossNet:
    """(b) 2x16x16 -> 3x3 conv (pad 1) 16 ch -> 3x3 stride-2 conv (pad 1) 16 ch -> linear 10, IF."""
    rng = np.random.default_rng(seed)
    b = GraphBuilder(metadata={"name": "conv-if"})
    x = b.input((2, 16, 16), kind="binary", name="in")
    c1 = b.conv2d(x, weight=rng.integers(-2, 3, (16, 2, 3, 3)).astype(np.float32), padding=1, name="conv1")
    s1 = b.add_node(IF, c1, threshold=3.0, name="n1")
    c2 = b.conv2d(s1, weight=rng.integers(-2, 3, (16, 16, 3, 3)).astype(np.float32), padding=1, stride=2,
                  name="conv2")
    s2 = b.add_node(IF, c2, threshold=8.0, name="n2")
    f = b.flatten(s2, name="flat")
    o = b.linear(f, weight=rng.integers(-2, 3, (10, 1024)).astype(np.float32), name="fc")
    s3 = b.add_node(IF, o, threshold=6.0, name="n3")
    spikes = (rng.random((T, 2, 16, 16)) < rate).astype(np.float32)
    return CrossNet("conv-if", b.build([s3]), spikes)


def _pow2_scale(weight: np.ndarray) -> float:
    """The power of two that maps the largest |weight| into [64, 127] (8-bit signed weights)."""
    return float(2.0 ** math.floor(math.log2(127.0 / float(np.abs(weight).max()))))


def emsyolo_block(model: str | Path = ROOT / "trained" / "emsyolo-shapes", image: int = 0) -> CrossNet:
    """(c) The first spike-fed blocks of a shipped EMS-YOLO: ``block1.res.conv1`` (3x3 stride 2)
    -> ``block1.res.n2`` (LIF) -> ``block1.res.conv2`` (3x3) -> a LIF with ``block2.res.n1``'s
    parameters (its shortcut current left out), fed by the spikes ``block1.res.n1`` emits on one
    test image of the model's dataset (simulated by neurosim on the shipped graph).

    Weights are the shipped ones times a power of two per layer (largest |w| in [64, 127]),
    rounded to integers; each LIF threshold is scaled by the same power of two, so the network
    is the shipped one at 8-bit precision. Biases (folded batch norm) are left out (see the
    module docstring)."""
    from neurosim.cli.common import model_inputs

    g = load_graph(model)
    keep = {"input", "stem", "block1.res.n1"}
    front = Graph.from_nodes([n for n in g.nodes if n.name in keep], ["block1.res.n1"], g.metadata)
    x, _ = model_inputs(g, None, image + 1, None, 0)
    spikes = simulate(front, x[image:image + 1], record_rasters=True).trace.nodes["block1.res.n1"].raster[0]
    spikes = (spikes > 0).astype(np.float32)

    b = GraphBuilder(metadata={"name": "emsyolo-shapes-block1"})
    src = g.node("block1.res.n1")
    inp = b.input(g.shapes[src.name], kind="binary", name="block1.res.n1")
    prev = inp
    for conv, neuron in (("block1.res.conv1", "block1.res.n2"), ("block1.res.conv2", "block2.res.n1")):
        c, n = g.node(conv), g.node(neuron)
        s = _pow2_scale(c.weight)
        prev = b.conv2d(prev, weight=np.round(c.weight * s).astype(np.float32), stride=c.stride,
                        padding=c.padding, groups=c.groups, name=conv)
        prev = b.add_node(LIF, prev, threshold=float(n.threshold * s), decay=n.decay, reset=n.reset,
                          reset_value=float(n.reset_value * s), compare=n.compare, decay_input=n.decay_input,
                          name=neuron)
    return CrossNet("emsyolo-block1", b.build([prev]), spikes)


def networks() -> list[CrossNet]:
    return [fc_if(), conv_if(), emsyolo_block()]


# ----------------------------------------------------------------------------- neurosim side
@dataclass
class NeurosimSide:
    report: object
    placement: object
    spikes: dict[str, int]
    active: dict[str, int]
    syn_ops: dict[str, float]          # per layer
    packets: dict[str, float]          # per source layer
    energy: dict[str, float]           # synaptic, neuron, routing (J per inference)
    static: float
    latency: float                     # neurosim's latency per inference
    compute: float
    network: float
    barrier: float
    K: int

    @property
    def energy_like(self) -> float:
        return float(sum(self.energy.values()))

    @property
    def latency_like(self) -> float:
        return self.compute + self.barrier


#: SANA-FE connects neuron to neuron, so the cross-check places every layer with one axon per
#: source neuron and a synapse list per axon, not on the population axons and shared kernels
#: with which ``loihi-sanafe`` places convolutions (the costing rules are the same either way)
PER_NEURON = {"axons": "discrete", "synapse_memory": "per-axon-lists"}


def per_neuron_model(profile: str):
    """``profile`` with :data:`PER_NEURON` placement settings."""
    import neurosim.hw as hw
    from neurosim.hw.profile import profile_from_dict
    from neurosim.shipped import hwmodels_dir

    doc = yaml.safe_load((hwmodels_dir() / f"{profile}.yaml").read_text())
    doc["settings"].update({k: {"value": v, "source": "SANA-FE's per-neuron connections"} for k, v in PER_NEURON.items()})
    return hw.hardware_model(profile_from_dict(doc, f"<{profile}, per-neuron placement>"))


def run_neurosim(net: CrossNet, profile: str = PROFILE) -> NeurosimSide:
    result = simulate(net.graph, net.inputs[None])
    model = per_neuron_model(profile)
    placement = model.place(net.graph)
    report = model.cost(result.trace, placement, net.graph)
    layers = [l for l in placement.decomposition.placed]
    nodes = result.trace.nodes
    spikes = {l.name: int(nodes[l.neuron].out_spikes.sum()) for l in layers}
    active = {l.name: int(nodes[l.neuron].active_neurons.sum()) for l in layers}
    comps = report.energy_by_component
    extra = {k: v for k, v in comps.items() if k not in ("synaptic", "neuron", "routing", "static") and v}
    if extra:
        raise ValueError(f"{net.name}: components SANA-FE has no counterpart for: {extra}")
    tpi = report.details["time_per_inference"]
    return NeurosimSide(
        report=report, placement=placement, spikes=spikes, active=active,
        syn_ops={l.name: float(report.layer(l.name).syn_ops) for l in layers},
        packets={l.name: float((report.layer(l.name).routing or {}).get("packets", 0.0)) for l in layers},
        energy={k: comps[k] for k in ("synaptic", "neuron", "routing")}, static=comps["static"],
        latency=report.latency_per_inference, compute=tpi["compute"], network=tpi["network"],
        barrier=tpi["barrier"], K=int(report.details["chip_steps_per_sample"]))


# ----------------------------------------------------------------------------- connectivity
def _flat_index(shape) -> np.ndarray:
    return np.arange(int(np.prod(shape))).reshape(shape)


def connections(graph: Graph, synapse: str):
    """``(src, dst, weight)`` flat-index arrays of a Conv2d or Linear node, every in-bounds tap."""
    node = graph.node(synapse)
    if getattr(node, "bias", None) is not None:
        raise ValueError(f"{synapse}: biases are not supported (SANA-FE applies them at every chip step)")
    if isinstance(node, Linear):
        n_out, n_in = node.weight.shape
        dst, src = np.meshgrid(np.arange(n_out), np.arange(n_in), indexing="ij")
        return src.ravel(), dst.ravel(), node.weight.ravel().astype(np.float64)
    if not isinstance(node, Conv2d):
        raise ValueError(f"{synapse}: only Conv2d and Linear synapses are bridged")
    cin, hin, win = graph.shapes[node.inputs[0]]
    cout, hout, wout = graph.shapes[synapse]
    (sy, sx), (py, px), groups = node.stride, node.padding, node.groups
    cpg, opg = cin // groups, cout // groups
    _, _, kh, kw = node.weight.shape
    co, oy, ox, ci, ky, kx = np.meshgrid(np.arange(cout), np.arange(hout), np.arange(wout), np.arange(cpg),
                                         np.arange(kh), np.arange(kw), indexing="ij")
    iy, ix = oy * sy - py + ky, ox * sx - px + kx
    ok = (iy >= 0) & (iy < hin) & (ix >= 0) & (ix < win)
    cin_abs = (co // opg) * cpg + ci
    src = (cin_abs * hin + iy) * win + ix
    dst = (co * hout + oy) * wout + ox
    w = node.weight[co, ci, ky, kx]
    return src[ok], dst[ok], w[ok].astype(np.float64)


@dataclass
class LayerSpec:
    name: str            # neurosim layer = neuron node = SANA-FE group
    node: object
    depth: int
    size: int
    core_of: np.ndarray  # [size] neurosim core index of each neuron (flat index)
    source: str          # the neuron layer or Input it reads
    from_input: bool
    synapse: str         # its synaptic node
    conns: tuple


def layer_specs(graph: Graph, placement) -> list[LayerSpec]:
    dec = placement.decomposition
    specs = []
    for layer in dec.placed:
        node = graph.node(layer.neuron) if layer.neuron else None
        if not isinstance(node, (IF, LIF)) or layer.adds or len(layer.synapses) != 1:
            raise ValueError(f"{layer.name}: only one synaptic node into IF/LIF neurons is bridged")
        if node.reset != "hard" or node.compare != ">" or node.threshold < 0 or \
                (isinstance(node, LIF) and node.decay_input):
            raise ValueError(f"{layer.name}: needs a hard reset, '>' and a threshold >= 0 (SANA-FE's Loihi LIF)")
        (edge,) = [e for e in dec.edges if e.target == layer.name]
        if any(not isinstance(graph.node(p), Flatten) for p in edge.path):
            raise ValueError(f"{layer.name}: only Flatten may sit between layers")
        c, h, w = layer.shape
        core_of = np.full((c, h, w), -1, np.int64)
        for core, box in zip(placement.layer_cores[layer.name], placement.boxes(layer.name)):
            c0, c1, y0, y1, x0, x1 = (int(v) for v in box)
            core_of[c0:c1, y0:y1, x0:x1] = core
        assert (core_of >= 0).all()
        specs.append(LayerSpec(layer.name, node, layer.depth, c * h * w, core_of.ravel(), edge.source,
                               edge.from_input, edge.synapse, connections(graph, edge.synapse)))
    return specs


# ----------------------------------------------------------------------------- SANA-FE architecture
def sanafe_loihi() -> dict:
    """SANA-FE's own Loihi description, as shipped in the installed wheel."""
    return yaml.safe_load((importlib.resources.files("sanafe.examples") / "loihi.yaml").read_text())


def _unit(units: list, name: str) -> dict:
    (unit,) = [u for u in units if u["name"].split("[")[0] == name]
    return unit


def loihi_costs(doc: dict | None = None) -> dict[str, float]:
    """The SANA-FE numbers the bridge needs to split SANA-FE's soma energy (from its file)."""
    doc = doc or sanafe_loihi()
    core = doc["architecture"]["tile"][0]["core"][0]
    soma = _unit(core["soma"], SOMA_UNIT)["attributes"]
    return {k: float(soma[k]) for k in ("energy_access_neuron", "energy_update_neuron", "energy_spike_out",
                                        "latency_access_neuron", "latency_update_neuron", "latency_spike_out")}


def linear_sync(table: dict, tiles: int) -> dict[int, float]:
    """SANA-FE's sync step table replaced by the line through its first and last entries."""
    keys = sorted(int(k) for k in table)
    k0, k1 = keys[0], keys[-1]
    t0, t1 = float(table[k0]), float(table[k1])
    return {n: t0 + (t1 - t0) * (n - k0) / (k1 - k0) for n in range(1, tiles + 1)}


def build_arch(placement, input_units: dict[int, int], keep: frozenset, path: Path) -> dict:
    """Write the SANA-FE architecture: SANA-FE's loihi.yaml, its tiles listed one by one, each
    ``loihi_core`` kept, plus one input core per destination core of an event Input (holding
    ``input_units[core]`` input somas) in that core's tile. Returns {neurosim core: (tile, offset)}
    for the layer cores and {("in", core): (tile, offset)} for the input cores."""
    doc = sanafe_loihi()
    arch = doc["architecture"]
    attrs = arch["attributes"]
    width, height = int(attrs["width"]), int(attrs["height"])
    (tile_t,) = arch["tile"]
    (core_t,) = tile_t["core"]
    n_tiles = _range_count(tile_t["name"])
    per_tile = _range_count(core_t["name"])
    layout = placement.layout
    if (layout.tile_columns, layout.tile_rows, layout.cores_per_tile) != (width, height, per_tile) \
            or n_tiles != width * height or (placement.chips or 1) != 1:
        raise ValueError("the placement's mesh is not SANA-FE's one-chip Loihi mesh")
    if "sync" not in keep:   # item 7
        attrs["sync_model"] = "table"
        attrs["latency_sync"] = linear_sync(attrs["latency_sync"], n_tiles)

    lif = copy.deepcopy(core_t)
    lif["name"] = f"loihi_core[0..{per_tile - 1}]"
    inputs_t = _unit(core_t["soma"], "loihi_inputs")
    lif["soma"] = [copy.deepcopy(_unit(core_t["soma"], SOMA_UNIT))]
    if "spike_out" not in keep:   # item 3
        soma = lif["soma"][0]["attributes"]
        soma["energy_spike_out"] = 0.0
        soma["latency_spike_out"] = 0.0
    if "receive" not in keep:     # item 5
        lif["axon_in"][0]["attributes"]["latency_message_in"] = 0.0

    where: dict = {}
    tiles = [{"name": f"{tile_t['name'].split('[')[0]}[{t}]", "attributes": copy.deepcopy(tile_t["attributes"]),
              "core": [copy.deepcopy(lif)]} for t in range(n_tiles)]
    for core in placement.cores:
        where[core.index] = (core.x * height + core.y, core.index % per_tile)
    extra = {t: 0 for t in range(n_tiles)}
    for core_index, n in sorted(input_units.items()):
        tile = where[core_index][0]
        offset = per_tile + extra[tile]
        extra[tile] += 1
        where[("in", core_index)] = (tile, offset)
        inp = copy.deepcopy(lif)
        inp["name"] = f"input_core[{offset}]"
        inp["attributes"]["max_neurons_supported"] = n
        unit = copy.deepcopy(inputs_t)
        unit["name"] = f"input_soma[0..{n - 1}]"
        inp["soma"] = [unit]
        if "inputs" not in keep:   # item 1: the input core sends for free
            inp["axon_out"][0]["attributes"] = {"energy_message_out": 0.0, "latency_message_out": 0.0}
        tiles[tile]["core"].append(inp)
    arch["tile"] = tiles
    path.write_text(yaml.safe_dump(doc, sort_keys=False))
    return where


def _range_count(name: str) -> int:
    m = re.search(r"\[(\d+)\.\.(\d+)\]", name)
    return int(m.group(2)) - int(m.group(1)) + 1 if m else 1


# ----------------------------------------------------------------------------- SANA-FE side
@dataclass
class SanafeSide:
    spikes: dict[str, int]
    active: dict[str, int]        # updates with H != 0 in each layer's data window (item 4)
    syn_ops: dict[str, float]     # per layer: source spikes x connections, from SANA-FE's spike trace
    syn_ops_total: float          # SANA-FE's own count (synapse units' spikes_processed)
    packets: dict[str, float]     # per source layer: spikes x destination cores, from the spike trace
    input_messages: int
    fired: int                    # fired layer neurons (all steps)
    updated: int                  # SANA-FE's updated layer neurons (all steps)
    energy: dict[str, float]      # SANA-FE's own: synapse, soma, network, total
    terms: dict[str, float]       # structural terms taken out of SANA-FE's energy (J)
    energy_like_parts: dict[str, float]
    latency: float                # SANA-FE's detailed-model latency of the run
    latency_like: float           # item 6 (meaningful with keep empty)
    sync: float
    K: int
    keep: frozenset

    @property
    def energy_like(self) -> float:
        return float(sum(self.energy_like_parts.values()))


def _synapse_unit(graph: Graph, spec: "LayerSpec", keep: frozenset) -> str:
    if "synapse_kind" in keep and isinstance(graph.node(spec.synapse), Linear):
        return DENSE_UNIT
    return SYNAPSE_UNIT


def run_sanafe(net: CrossNet, placement, keep=frozenset(), timing_model: str = "detailed") -> SanafeSide:
    import sanafe

    keep = frozenset(keep)
    if not keep <= STOCK:
        raise ValueError(f"unknown items {sorted(keep - STOCK)}; choose from {sorted(STOCK)}")
    graph = net.graph
    specs = layer_specs(graph, placement)
    T = net.T
    K_s = T + max(s.depth for s in specs) + 1
    doc = sanafe_loihi()
    costs = loihi_costs(doc)
    core_t = doc["architecture"]["tile"][0]["core"][0]
    e_syn = {u["name"]: float(u["attributes"]["energy_process_spike"]) for u in core_t["synapse"]}
    e_msg_out = float(_unit(core_t["axon_out"], "loihi_out")["attributes"]["energy_message_out"])

    # input copies: for each layer fed by an Input, per destination core the inputs it reads
    copies = {}   # (layer, core) -> sorted input flat indices
    for s in specs:
        if s.from_input:
            src, dst, _ = s.conns
            core = s.core_of[dst]
            for c in np.unique(core):
                copies[(s.name, int(c))] = np.unique(src[core == c])
    units = {}
    for (_, core), idx in copies.items():
        units[core] = units.get(core, 0) + len(idx)

    with tempfile.TemporaryDirectory() as tmp:
        where = build_arch(placement, units, keep, Path(tmp) / "loihi-crosscheck.yaml")
        arch = sanafe.load_arch(str(Path(tmp) / "loihi-crosscheck.yaml"))
    core_obj = lambda key: arch.tiles[where[key][0]].cores[where[key][1]]  # noqa: E731

    snn = sanafe.Network()
    groups = {}
    for s in specs:
        attrs = {"threshold": float(s.node.threshold), "reset": float(s.node.reset_value), "reset_mode": "hard",
                 "leak_decay": float(s.node.decay) if isinstance(s.node, LIF) else 1.0}
        g = snn.create_neuron_group(s.name, s.size, model_attributes=attrs,
                                    default_synapse_hw_name=_synapse_unit(graph, s, keep),
                                    soma_hw_name=SOMA_UNIT, log_spikes=True, log_potential=True)
        for i, n in enumerate(g):
            n.map_to_core(core_obj(int(s.core_of[i])))
        groups[s.name] = g
    trains = net.inputs.reshape(T, -1) > 0
    input_messages = 0
    next_unit: dict[int, int] = {}
    for (layer, core), idx in copies.items():
        g = snn.create_neuron_group(f"in@{layer}@{core}", len(idx))
        base = next_unit.get(core, 0)
        next_unit[core] = base + len(idx)
        for j, n in enumerate(g):
            n.set_attributes(soma_hw_name=f"input_soma[{base + j}]",
                             model_attributes={"spikes": [bool(v) for v in trains[:, idx[j]]]})
            n.map_to_core(core_obj(("in", core)))
        input_messages += int(trains[:, idx].sum())
        s = next(sp for sp in specs if sp.name == layer)
        src, dst, w = s.conns
        sel = s.core_of[dst] == core
        local = np.searchsorted(idx, src[sel])
        g.connect_neurons_sparse(groups[layer], {"weight": w[sel].tolist()},
                                 list(zip(local.tolist(), dst[sel].tolist())))
    for s in specs:
        if not s.from_input:
            src, dst, w = s.conns
            groups[s.source].connect_neurons_sparse(groups[s.name], {"weight": w.tolist()},
                                                    list(zip(src.tolist(), dst.tolist())))

    chip = sanafe.SpikingChip(arch)
    chip.load(snn)
    res = chip.sim(K_s, timing_model=timing_model, spike_trace=True, potential_trace=True, perf_trace=True,
                   message_trace=True)

    # spikes and H != 0 updates per layer, from SANA-FE's traces (logged groups in name order)
    order = sorted(groups)
    sizes = {s.name: s.size for s in specs}
    offsets = dict(zip(order, np.cumsum([0] + [sizes[n] for n in order])[:-1]))
    V = np.array(res["potential_trace"], np.float64)              # [K_s, logged neurons]
    fired = {n: np.zeros((K_s, sizes[n]), bool) for n in order}
    for k, step in enumerate(res["spike_trace"]):
        for a in step:
            if a.group_name in fired:
                fired[a.group_name][k, a.neuron_offset] = True
    spikes, active, syn_ops = {}, {}, {}
    for s in specs:
        f = fired[s.name]
        v = V[:, offsets[s.name]:offsets[s.name] + s.size]
        window = slice(1 + s.depth, 1 + s.depth + T)                 # steps t + 2 + d, 0-indexed
        spikes[s.name] = int(f.sum())
        active[s.name] = int((f[window] | (v[window] != 0)).sum())
        src, _, _ = s.conns
        counts = trains.sum(0) if s.from_input else fired[s.source].sum(0)
        syn_ops[s.name] = float(counts[src].sum())                  # one op per connection per source spike
    n_fired = int(sum(f.sum() for f in fired.values()))
    packets = {s.name: 0.0 for s in specs}
    for s in specs:
        if not s.from_input:   # one message per spike per destination core holding a target
            src, dst, _ = s.conns
            pairs = np.unique(np.stack([src, s.core_of[dst]]), axis=1)
            packets[s.source] += float(fired[s.source].sum(0)[pairs[0]].sum())
    if sum(packets.values()) != int(res["packets_sent"]) - input_messages:
        raise AssertionError("SANA-FE's message count is not one per spike per destination core")

    # SANA-FE's energy, split exactly (the documented accounting is checked to 1e-9)
    n_neurons = sum(s.size for s in specs)
    updated = int(res["neurons_updated"]) - input_messages           # input somas "update" when they fire
    e_acc, e_upd = costs["energy_access_neuron"], costs["energy_update_neuron"]
    e_out = costs["energy_spike_out"] if "spike_out" in keep else 0.0
    _check("soma", res["energy"]["soma"], n_neurons * K_s * e_acc + updated * e_upd + n_fired * e_out)
    unit_of = {s.name: _synapse_unit(graph, s, keep) for s in specs}
    _check("synapse", res["energy"]["synapse"], sum(syn_ops[n] * e_syn[unit_of[n]] for n in syn_ops))
    a_total = sum(active.values())
    terms = {"extra_steps": n_neurons * (K_s - T) * e_acc,                                   # item 2
             "active_definition": (updated - a_total) * e_upd,                               # item 4
             "spike_out": n_fired * e_out,                                                   # item 3
             "input_injection": input_messages * e_msg_out if "inputs" in keep else 0.0,     # item 1
             "synapse_kind": sum(syn_ops[n] * (e_syn[unit_of[n]] - e_syn[SYNAPSE_UNIT]) for n in syn_ops)}  # 8
    parts = {"synaptic": float(res["energy"]["synapse"]) - terms["synapse_kind"],
             "neuron": float(res["energy"]["soma"]) - terms["extra_steps"] - terms["active_definition"]
             - terms["spike_out"],
             "routing": float(res["energy"]["network"]) - terms["input_injection"]}

    latency_like, sync = _latency_like(res, specs, where, T, K_s)
    return SanafeSide(spikes=spikes, active=active, syn_ops=syn_ops, syn_ops_total=float(res["spikes"]),
                      packets=packets, input_messages=input_messages,
                      fired=n_fired, updated=updated, energy={k: float(v) for k, v in res["energy"].items()},
                      terms=terms, energy_like_parts=parts, latency=float(res["sim_time"]),
                      latency_like=latency_like, sync=sync, K=K_s, keep=keep)


def _check(what: str, reported: float, model: float) -> None:
    if not math.isclose(float(reported), model, rel_tol=1e-9, abs_tol=1e-18):
        raise AssertionError(f"SANA-FE's {what} energy {float(reported):.6e} J is not the documented sum of its "
                             f"counts x per-event costs ({model:.6e} J)")


def _latency_like(res, specs, where, T, K_s):
    """Item 6: neurosim's latency formula evaluated on SANA-FE's own per-message delays."""
    key_of = {v: k for k, v in where.items() if not isinstance(k, tuple)}    # (tile, offset) -> core
    gen = {c: np.zeros(K_s + 1) for c in key_of.values()}
    proc = {c: np.zeros(K_s + 1) for c in key_of.values()}
    syncs = []
    for k, (step, sim_time) in enumerate(zip(res["message_trace"], res["perf_trace"]["sim_time"]), start=1):
        last = 0.0
        for m in step:
            last = max(last, m["send_timestamp"], m["processed_timestamp"])
            src = key_of.get((m["src_tile_id"], m["src_core_offset"]))
            if src is not None:
                gen[src][k] += m["generation_delay"]
            if not m["placeholder"]:
                dst = key_of.get((m["dest_tile_id"], m["dest_core_offset"]))
                proc[dst][k] += m["processing_delay"]
        syncs.append(sim_time - last)
    sync = float(np.median(syncs))
    if not np.allclose(syncs, sync, rtol=1e-6, atol=1e-12):
        raise AssertionError("SANA-FE's sync differs between steps")
    K_n = T + max(s.depth for s in specs)
    steps = np.zeros(K_n)
    for s in specs:
        for c in np.unique(s.core_of):
            c = int(c)
            for t in range(T):
                busy = proc[c][t + 1 + s.depth] + gen[c][t + 2 + s.depth]
                steps[t + s.depth] = max(steps[t + s.depth], busy)
    return float(steps.sum() + K_n * sync), sync


# ----------------------------------------------------------------------------- comparison
@dataclass
class Comparison:
    net: CrossNet
    ns: NeurosimSide
    sf: SanafeSide

    @property
    def energy_ratio(self) -> float:
        return self.ns.energy_like / self.sf.energy_like

    @property
    def latency_ratio(self) -> float:
        return self.ns.latency_like / self.sf.latency_like

    def component_ratios(self) -> dict[str, float]:
        return {k: (self.ns.energy[k] / v if v else float("nan")) for k, v in self.sf.energy_like_parts.items()}


def compare(net: CrossNet, keep=frozenset()) -> Comparison:
    ns = run_neurosim(net)
    return Comparison(net, ns, run_sanafe(net, ns.placement, keep=keep))


def _nj(x: float) -> str:
    return f"{x * 1e9:.3f} nJ"


def main() -> None:
    """Print, per shared network, the like-for-like comparison, then the effect of giving SANA-FE
    back each of its own choices one at a time, then all of them (the native comparison)."""
    for net in networks():
        like = compare(net)
        ns, sf = like.ns, like.sf
        print(f"== {net.name}: T={net.T}, {len(ns.placement.cores)} cores, {ns.report.details['tiles_used']} tiles, "
              f"chip steps neurosim {ns.K} / SANA-FE {sf.K}")
        print("  spikes  neurosim", ns.spikes, "SANA-FE", sf.spikes)
        print("  active  neurosim", ns.active, "SANA-FE (H != 0 in window)", sf.active)
        print(f"  syn ops neurosim {sum(ns.syn_ops.values()):.0f}, SANA-FE {sf.syn_ops_total:.0f}; packets "
              f"{sum(ns.packets.values()):.0f} / {sum(sf.packets.values()):.0f}; input messages "
              f"{sf.input_messages}; fired {sf.fired}; SANA-FE updated {sf.updated}")
        print(f"  energy like-for-like: neurosim {_nj(ns.energy_like)}, SANA-FE {_nj(sf.energy_like)}, "
              f"ratio {like.energy_ratio:.4f}")
        for k, v in sf.energy_like_parts.items():
            print(f"    {k:9s} neurosim {_nj(ns.energy[k]):>14s}  SANA-FE {_nj(v):>14s}  "
                  f"ratio {ns.energy[k] / v:.4f}")
        print(f"  latency like-for-like: neurosim {ns.latency_like * 1e6:.3f} us (compute {ns.compute * 1e6:.3f} + "
              f"barrier {ns.barrier * 1e6:.3f}; link term {ns.network * 1e6:.3f} left out), SANA-FE "
              f"{sf.latency_like * 1e6:.3f} us (sync {sf.sync * 1e9:.1f} ns), ratio {like.latency_ratio:.4f}")
        print(f"  SANA-FE detailed timing, same arch: {sf.latency * 1e6:.3f} us;"
              f" neurosim latency {ns.latency * 1e6:.3f}"
              f" us: ratio {ns.latency / sf.latency:.4f} (compute+barrier only: {ns.latency_like / sf.latency:.4f})")
        base_total = sf.energy["total"]
        print(f"  taken out of SANA-FE (like arch): extra steps {_nj(sf.terms['extra_steps'])} "
              f"({sf.terms['extra_steps'] / base_total:.1%} of its total), active definition "
              f"{_nj(sf.terms['active_definition'])} ({sf.terms['active_definition'] / base_total:.1%})")
        for item in sorted(STOCK) + ["all"]:
            keep = STOCK if item == "all" else {item}
            other = run_sanafe(net, ns.placement, keep=keep)
            term = {k: v for k, v in other.terms.items() if v and k not in ("extra_steps", "active_definition")}
            print(f"  keep {item:12s}: SANA-FE {_nj(other.energy['total'])}, {other.latency * 1e6:.3f} us;"
                  f" dynamic energy ratio {ns.energy_like / other.energy['total']:.4f}, latency ratio "
                  f"{ns.latency / other.latency:.4f}; terms {({k: _nj(v) for k, v in term.items()})}; "
                  f"like-for-like after terms {other.energy_like / sf.energy_like:.6f}")
        print(f"  neurosim total with static: {_nj(ns.energy_like + ns.static)} (static {_nj(ns.static)})")


if __name__ == "__main__":
    main()
