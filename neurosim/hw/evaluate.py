"""One-call costing of a trace on one or many chips, with the ANN-twin comparison.

Every report carries ``ann_twin``: the energy of the graph's ANN twin (dense MACs, one pass
per inference) on each twin profile, and the SNN's energy on the profile that shares that
twin profile's technology::

    paper-45nm  twin  <->  SNN on paper-45nm     (the papers' 4.6 / 0.9 pJ convention)
    ann-45nm    twin  <->  SNN on memory-45nm     (arithmetic + SRAM traffic, same 45 nm figures)
    ann-45nm-int8 twin <-> SNN on memory-45nm-int8 (the same with int8 data on both sides)
    ann-45nm-noreuse twin <-> SNN on memory-45nm (the ANN without data reuse: the SNN's best case)

so ``snn_over_ann`` compares like with like, and ``this_over_ann`` compares the report's own
chip with each twin.
"""
from __future__ import annotations

import weakref
from typing import TYPE_CHECKING, Iterable

from ..errors import ProfileError
from ..ir.graph import Graph
from ..report.report import Report
from .base import hardware_model
from .layers import decompose, graph_cache

if TYPE_CHECKING:
    from ..sim.trace import Trace
    from .ann_twin import TwinCost

DEFAULT_TWIN_PROFILES = ("paper-45nm", "ann-45nm", "ann-45nm-int8", "ann-45nm-noreuse")


_TWIN_CACHE: "weakref.WeakKeyDictionary[Graph, dict]" = weakref.WeakKeyDictionary()


def _twin_cost(model, graph: Graph):
    """The twin's cost depends on the graph and the profile only: computed once per pair."""
    per_graph = _TWIN_CACHE.setdefault(graph, {})
    profile = model.profile
    key = (profile.name, profile.family,
           tuple(sorted((k, q.value) for k, q in profile.parameters.items())),
           tuple(sorted((k, str(v.value)) for k, v in profile.settings.items())))
    if key not in per_graph:
        per_graph[key] = model.cost_twin(graph)
    return per_graph[key]


def _twin_layers(twin: "TwinCost", graph: Graph) -> dict[str, float]:
    """The twin's energy per layer of the graph's split (once per twin cost)."""
    cache = graph_cache(graph)
    hit = cache.get(("twin-layers", id(twin)))
    if hit is None or hit[0] is not twin:
        layer_of = decompose(graph).layer_of_node
        per_layer: dict[str, float] = {}
        for node, energy in twin.per_node.items():
            key = layer_of.get(node, node)
            per_layer[key] = per_layer.get(key, 0.0) + energy
        hit = cache[("twin-layers", id(twin))] = (twin, per_layer)
    return hit[1]


def attach_ann_twin(report: Report, trace: "Trace", graph: Graph, profile_name: str,
                    twin_profiles: Iterable[str] = DEFAULT_TWIN_PROFILES) -> Report:
    """Fill ``report.ann_twin`` (see the module docstring); missing twin profiles become warnings."""
    comparisons, layers = [], {}
    macs = acts = None
    snn_energy: dict[str, float] = {}      # several twins can share one SNN profile
    own = report.energy_per_inference
    for name in twin_profiles:
        try:
            model = hardware_model(name)
            twin = _twin_cost(model, graph)
        except ProfileError as exc:
            report.warnings.append(f"ANN twin not costed on '{name}': {exc}")
            continue
        macs, acts = twin.macs, twin.activation_ops
        pair = name if model.prices_snn else model.profile.setting("snn_counterpart")
        snn = None
        if pair == profile_name:
            snn = own
        elif pair in snn_energy:
            snn = snn_energy[pair]
        elif pair:
            try:
                snn_model = hardware_model(pair)
                snn = snn_model.snn_energy(trace, snn_model.place(graph))
                snn_energy[pair] = snn
            except ProfileError as exc:
                report.warnings.append(f"SNN not costed on '{pair}' for the ANN comparison: {exc}")
        ann = twin.energy
        comparisons.append({
            "ann_profile": name,
            "ann_energy_per_inference": ann,
            "snn_profile": pair,
            "snn_energy_per_inference": snn,
            "snn_over_ann": (snn / ann) if (snn is not None and ann > 0) else None,
            "this_over_ann": (own / ann) if ann > 0 else None,
        })
        layers[name] = dict(_twin_layers(twin, graph))
    report.ann_twin = {"timesteps": 1, "macs_per_inference": macs, "activation_ops_per_inference": acts,
                       "comparisons": comparisons, "layers": layers}
    return report


def evaluate(trace: "Trace", graph: Graph, profile, strict: bool = True, ann_twin: bool = True) -> Report:
    """Place ``graph`` on ``profile`` and cost ``trace``. With ``strict=False`` a network that
    needs more cores than the chip has is still costed (``report.fits`` is False)."""
    model = hardware_model(profile)
    placement = model.place(graph, strict=strict)
    return model.cost(trace, placement, ann_twin=ann_twin)


def compare(trace: "Trace", graph: Graph, profiles: Iterable, strict: bool = False,
            ann_twin: bool = True) -> list[Report]:
    """The same trace costed on several profiles (no re-simulation)."""
    return [evaluate(trace, graph, p, strict=strict, ann_twin=ann_twin) for p in profiles]
