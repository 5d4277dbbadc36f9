"""The family interface every hardware model implements.

::

    model = hardware_model("loihi")          # profile -> family class -> model
    placement = model.place(graph)           # partition layers onto cores (or DoesNotFit)
    report = model.cost(trace, placement)    # energy, latency, memory from the trace's events

One placement can be costed with any number of traces, and one trace on any number of models:
a model never runs the network. A family subclass declares:

* ``family``: its registry name; ``summary``: one line for ``neurosim chips``;
* ``parameters``: name -> :class:`ParamSpec` (dimension, required...), the profile schema;
* ``settings``: name -> :class:`SettingSpec` for non-numeric choices;
* ``check_profile(profile)`` (optional): cross-parameter checks raising ProfileError;
* ``place(graph, strict)`` (default: no cores, for op-counting families) and ``_cost(trace, placement)``;
* ``omissions``: what its costing leaves out (every report lists them);
* ``cost_twin(graph)`` if it can price the ANN twin (dense MACs).

Energy follows Accelergy's rule: ``E = sum over components c and actions a of
count(c, a) x energy(c, a)``, with every energy-per-action read from the profile.
"""
from __future__ import annotations

import contextlib
import gc

from typing import TYPE_CHECKING, ClassVar, Mapping

from ..errors import GraphError, ProfileError
from ..ir.graph import Graph
from ..report.report import Report, zero_energy
from .accounting import check_trace
from .layers import decompose, graph_cache
from .memo import costing_session
from .placement import Placement
from .profile import ParamSpec, Profile, SettingSpec, load_profile

if TYPE_CHECKING:
    from ..sim.trace import Trace
    from .ann_twin import TwinCost



@contextlib.contextmanager
def gc_paused():
    """Pause the cyclic garbage collector. Costing allocates many small, acyclic objects; with a
    large heap (torch, numba) each collection it triggers rescans everything and doubled the
    time of a Loihi costing. Nothing here makes reference cycles, so nothing is lost."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()

class HardwareModel:
    """Base class of hardware families; see the module docstring."""

    family: ClassVar[str] = ""
    summary: ClassVar[str] = ""
    parameters: ClassVar[Mapping[str, ParamSpec]] = {}
    settings: ClassVar[Mapping[str, SettingSpec]] = {}
    #: False for families that only price the ANN twin (their ``cost`` reports the twin)
    prices_snn: ClassVar[bool] = True
    #: what the family's costing leaves out, one phrase each: copied into every report
    #: (``omissions``) so that no number is read as more than it is
    omissions: ClassVar[tuple[str, ...]] = ()

    def __init__(self, profile: Profile):
        self.profile = profile

    # ------------------------------------------------------------------ profile access
    def p(self, key: str, default=None):
        """Parameter ``key`` in SI units (``default`` if the profile omits an optional one)."""
        if default is None:
            return self.profile.value(key)
        return self.profile.get(key, default)

    @classmethod
    def check_profile(cls, profile: Profile) -> None:
        """Cross-parameter checks; raise ProfileError naming the file and the keys."""

    # ------------------------------------------------------------------ interface
    def place(self, graph: Graph, strict: bool = True) -> Placement:
        """Default: the layer split only (families that count operations use no cores)."""
        return Placement(profile=self.profile.name, family=self.family, graph=graph,
                         decomposition=decompose(graph))

    def cost(self, trace: "Trace", placement: Placement | None = None, graph: Graph | None = None,
             ann_twin: bool = True) -> Report:
        """Cost ``trace`` on this chip. ``placement`` defaults to ``place(graph)``; with
        ``ann_twin`` the report also carries the ANN twin's energy and SNN/ANN ratios."""
        if placement is None:
            if graph is None:
                raise TypeError("cost() needs a placement or a graph")
            placement = self.place(graph)
        if graph is not None and graph is not placement.graph:
            raise GraphError("the placement was made for another graph: place this graph first")
        with gc_paused(), costing_session():
            check_trace(trace, placement.graph, placement.layers)
            report = self._cost(trace, placement)
            report.fits, report.misfit = placement.fits, placement.misfit
            report.omissions = list(self.omissions)
            report.warnings = list(dict.fromkeys(list(placement.notes) + list(report.warnings)))
            report.graph = graph_summary(placement.graph)
            if ann_twin:
                from .evaluate import attach_ann_twin

                attach_ann_twin(report, trace, placement.graph, self.profile.name)
        return report

    def _cost(self, trace: "Trace", placement: Placement) -> Report:
        raise NotImplementedError

    def snn_energy(self, trace: "Trace", placement: Placement) -> float:
        """``cost(trace, placement, ann_twin=False).energy_per_inference`` (all the ANN-twin
        comparison needs); a family may compute it without building the report's rows."""
        return self.cost(trace, placement, ann_twin=False).energy_per_inference

    def layer_energies_total(self, trace: "Trace", placement: Placement) -> float:
        """:meth:`snn_energy` for a family whose ``_layer_energies(trace, placement)`` yields
        tuples ending with the layer's energy per inference by component."""
        from .accounting import check_trace
        from .memo import costing_session

        with costing_session():
            check_trace(trace, placement.graph, placement.layers)
            return energy_of_rows(item[-1] for item in self._layer_energies(trace, placement))

    def cost_twin(self, graph: Graph) -> "TwinCost":
        raise ProfileError(f"profile '{self.profile.name}' (family {self.family}) cannot price an ANN twin")

    # ------------------------------------------------------------------ helpers
    def new_report(self, trace: "Trace", rows, cores=(), latency=None, chips=None, details=None,
                   warnings=()) -> Report:
        return Report(profile=self.profile.summary(),
                      batch=trace.batch, timesteps=trace.timesteps, layers=list(rows), cores=list(cores),
                      latency_per_inference=latency, chips=chips, details=dict(details or {}),
                      warnings=list(warnings))


def energy_of_rows(energies) -> float:
    """``Report.energy_per_inference`` of rows with these energies (each a component -> J dict
    over :func:`zero_energy`), added in the same order as the report adds them."""
    totals = []
    for energy in energies:
        row = zero_energy()
        row.update(energy)
        totals.append(float(sum(row.values())))
    return float(sum(totals))


def graph_summary(graph: Graph) -> dict:
    meta = graph.metadata or {}
    cache = graph_cache(graph)
    if "parameters" not in cache:
        cache["parameters"] = graph.parameter_count()
    return {"nodes": len(graph.nodes), "outputs": list(graph.outputs),
            "parameters": cache["parameters"],
            "name": meta.get("name") or meta.get("model") or None}


def hardware_model(profile) -> HardwareModel:
    """The model of a profile (a Profile, a built-in name, or a path)."""
    from .registry import get_family

    prof = load_profile(profile)
    return get_family(prof.family)(prof)
