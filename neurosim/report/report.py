"""The Report: energy, latency and memory of one simulated run on one chip profile.

Units everywhere: energy in joules (J), time in seconds (s), memory in bits, throughput in
inferences per second. Counts and energies in rows and totals are **per inference** (the run's
sums divided by its batch size). The JSON layout is documented in docs/report.md
(``schema: neurosim-report``, ``version: 1``).

Invariants the hardware models guarantee:

* ``energy_per_inference == sum(row.energy_total for row in layers)`` and, per component,
  ``energy_by_component[c] == sum(row.energy[c] for row in layers)``;
* for every placed layer and component, the sum over its cores equals the layer's value.
"""
from __future__ import annotations

from dataclasses import asdict, dataclass, field, fields

SCHEMA = "neurosim-report"
VERSION = 1
COMPONENTS = ("synaptic", "neuron", "memory", "routing", "static", "mac", "analog")
UNITS = {"energy": "J", "time": "s", "memory": "bit", "throughput": "1/s"}


def zero_energy() -> dict[str, float]:
    return {c: 0.0 for c in COMPONENTS}


@dataclass
class LayerRow:
    """One layer (or host node): its activity, energy by component, time, memory and cores."""

    name: str
    kind: str                      # neuron | synaptic | host
    nodes: list[str]
    neuron_model: str | None
    shape: list[int]
    neurons: int
    depth: int = 0
    events_in: float = 0.0         # binary events into the layer's event-fed synaptic nodes
    events_out: float = 0.0        # binary events out of the layer's neurons
    firing_rate: float | None = None
    syn_ops: float = 0.0
    macs: float = 0.0
    neuron_updates: float = 0.0
    active_neurons: float = 0.0
    analog_ops: float = 0.0
    energy: dict[str, float] = field(default_factory=zero_energy)
    latency: float | None = None   # busy time of the layer's slowest core, summed over steps
    memory: dict[str, float] = field(default_factory=dict)
    parameters: int = 0
    cores: list[int] = field(default_factory=list)
    routing: dict | None = None    # packets and hops per inference

    @property
    def energy_total(self) -> float:
        return float(sum(self.energy.values()))

    @property
    def memory_bits(self) -> float:
        return float(sum(self.memory.values()))

    def to_dict(self) -> dict:
        d = asdict(self)
        d["energy_total"] = self.energy_total
        d["memory_bits"] = self.memory_bits
        return d


@dataclass
class CoreRow:
    """One core: what it holds, how full it is, and what it spends."""

    index: int
    layer: str
    chip: int
    x: int
    y: int
    box: list[int]                 # [c0, c1, y0, y1, x0, x1] of the layer's output neurons
    neurons: int
    fan_in: int = 0
    fan_out: int = 0
    memory: dict[str, float] = field(default_factory=dict)
    utilization: dict[str, float] = field(default_factory=dict)
    energy: dict[str, float] = field(default_factory=zero_energy)
    busy: float | None = None      # seconds per inference

    @property
    def energy_total(self) -> float:
        return float(sum(self.energy.values()))

    def to_dict(self) -> dict:
        d = asdict(self)
        d["energy_total"] = self.energy_total
        return d


@dataclass
class Report:
    """Per-layer and per-core costs of one run on one profile, with totals."""

    profile: dict
    batch: int
    timesteps: int
    layers: list[LayerRow]
    cores: list[CoreRow] = field(default_factory=list)
    latency_per_inference: float | None = None
    fits: bool = True
    misfit: str | None = None
    chips: int | None = None
    warnings: list[str] = field(default_factory=list)
    graph: dict = field(default_factory=dict)
    details: dict = field(default_factory=dict)
    ann_twin: dict | None = None
    #: what the family's costing leaves out (``HardwareModel.omissions``)
    omissions: list[str] = field(default_factory=list)

    # ------------------------------------------------------------------ totals
    @property
    def profile_name(self) -> str:
        return self.profile.get("name", "")

    @property
    def energy_by_component(self) -> dict[str, float]:
        return {c: float(sum(r.energy.get(c, 0.0) for r in self.layers)) for c in COMPONENTS}

    @property
    def energy_per_inference(self) -> float:
        return float(sum(r.energy_total for r in self.layers))

    @property
    def energy_total(self) -> float:
        return self.energy_per_inference * self.batch

    @property
    def throughput(self) -> float | None:
        lat = self.latency_per_inference
        return None if not lat else 1.0 / lat

    @property
    def cores_used(self) -> int:
        return len(self.cores)

    def layer(self, name: str) -> LayerRow:
        for row in self.layers:
            if row.name == name:
                return row
        raise KeyError(name)

    def core_energy_by_layer(self) -> dict[str, dict[str, float]]:
        """Per layer and component, the sum over the layer's cores (equals the layer's row)."""
        out: dict[str, dict[str, float]] = {}
        for core in self.cores:
            acc = out.setdefault(core.layer, zero_energy())
            for c, v in core.energy.items():
                acc[c] += v
        return out

    def totals(self) -> dict:
        count = lambda f: float(sum(getattr(r, f) for r in self.layers))  # noqa: E731
        return {
            "energy_per_inference": self.energy_per_inference,
            "energy_total": self.energy_total,
            "energy_by_component": self.energy_by_component,
            "latency_per_inference": self.latency_per_inference,
            "throughput": self.throughput,
            "fits": self.fits,
            "misfit": self.misfit,
            "cores_used": self.cores_used,
            "chips_used": self.chips,
            "memory_bits": float(sum(r.memory_bits for r in self.layers)),
            "syn_ops": count("syn_ops"),
            "macs": count("macs"),
            "neuron_updates": count("neuron_updates"),
            "events_out": count("events_out"),
        }

    # ------------------------------------------------------------------ (de)serialization
    def to_dict(self) -> dict:
        return {
            "schema": SCHEMA,
            "version": VERSION,
            "units": dict(UNITS),
            "profile": self.profile,
            "graph": self.graph,
            "run": {"batch": self.batch, "timesteps": self.timesteps},
            "totals": self.totals(),
            "layers": [r.to_dict() for r in self.layers],
            "cores": [c.to_dict() for c in self.cores],
            "ann_twin": self.ann_twin,
            "details": self.details,
            "warnings": list(self.warnings),
            "omissions": list(self.omissions),
        }

    @classmethod
    def from_dict(cls, doc: dict) -> "Report":
        """Rebuild a Report from :meth:`to_dict` output (derived fields are recomputed)."""
        from ..errors import FormatError

        if not isinstance(doc, dict) or doc.get("schema") != SCHEMA:
            raise FormatError(f"not a {SCHEMA} document")
        if doc.get("version") != VERSION:
            raise FormatError(f"unsupported {SCHEMA} version {doc.get('version')!r} (this is version {VERSION})")
        row_fields = {f.name for f in fields(LayerRow)}
        core_fields = {f.name for f in fields(CoreRow)}
        totals = doc.get("totals", {})
        return cls(
            profile=doc["profile"], batch=doc["run"]["batch"], timesteps=doc["run"]["timesteps"],
            layers=[LayerRow(**{k: v for k, v in r.items() if k in row_fields}) for r in doc["layers"]],
            cores=[CoreRow(**{k: v for k, v in c.items() if k in core_fields}) for c in doc.get("cores", [])],
            latency_per_inference=totals.get("latency_per_inference"),
            fits=totals.get("fits", True), misfit=totals.get("misfit"), chips=totals.get("chips_used"),
            warnings=list(doc.get("warnings", [])), graph=doc.get("graph", {}),
            details=doc.get("details", {}), ann_twin=doc.get("ann_twin"),
            omissions=list(doc.get("omissions", [])))

    # ------------------------------------------------------------------ text
    def table(self) -> str:
        """A plain-text per-layer table with a total line (energies in uJ per inference)."""
        head = ("layer", "kind", "cores", "events_out", "rate", "syn_ops", "macs", "energy_uJ", "latency_us")
        rows = [head]
        for r in self.layers:
            rows.append((r.name, r.kind, str(len(r.cores)), f"{r.events_out:.4g}",
                         "" if r.firing_rate is None else f"{r.firing_rate:.4f}",
                         f"{r.syn_ops:.4g}", f"{r.macs:.4g}", f"{r.energy_total * 1e6:.5g}",
                         "" if r.latency is None else f"{r.latency * 1e6:.4g}"))
        lat = self.latency_per_inference
        rows.append(("TOTAL", "", str(self.cores_used), "", "", "", "",
                     f"{self.energy_per_inference * 1e6:.5g}", "" if lat is None else f"{lat * 1e6:.4g}"))
        widths = [max(len(r[i]) for r in rows) for i in range(len(head))]
        lines = ["  ".join(c.ljust(w) for c, w in zip(r, widths)).rstrip() for r in rows]
        title = f"profile {self.profile_name} ({self.profile.get('family', '')}), batch {self.batch}, T={self.timesteps}"
        return "\n".join([title] + lines)
