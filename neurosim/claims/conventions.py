"""The papers' energy conventions, computed as the authors compute them, under every reading.

A *rate* is always physical: the mean number of binary events per input neuron per timestep
of a layer's input (for I-LIF the mean integer spike value, in [0, D]; for binary LIF in [0, 1]).
Each convention turns it into its own ``fr`` according to a :class:`Reading`.

* ``spikeyolo`` (SpikeYOLO issues #12/#31/#64/#69): ``E_SNN = sum_l FLOPs_l x E_AC x fr_l`` with
  fr the mean integer input value (D included) times T; the encoding layer costs
  ``FLOPs x E_MAC``; ``E_ANN = sum_l FLOPs_l x E_MAC``.
* ``emsyolo`` (EMS-YOLO issue #12): ``E = T x (fr x E_AC x OP_AC + E_MAC x OP_MAC)``, OP_MAC the
  encoding layer's FLOPs, OP_AC the rest; ``E_ANN = E_MAC x all FLOPs``.

E_MAC and E_AC come from the ``paper-45nm`` profile. Ratios are ANN / SNN ("x times less energy").
See docs/claims_method.md for the readings.
"""
from __future__ import annotations

import itertools
from dataclasses import asdict, dataclass, replace

from .architectures import layer_table

CONVENTIONS = ("spikeyolo", "emsyolo")


@dataclass(frozen=True)
class Reading:
    """One reading of an ambiguous convention.

    * ``fr_includes_D``: fr is the mean integer value (True) or that value / D, a fraction of
      the maximum (False). Only matters when D > 1.
    * ``t_multiplies``: ``"all"`` (every layer's energy x T, EMS-YOLO's formula), ``"spikes"``
      (only the AC terms x T; the encoding layer once), ``"none"`` (T ignored).
    * ``first_layer``: the encoding layer is a MAC layer (``"mac"``) or left out of the SNN
      energy (``"exclude"``; it stays in the ANN's).
    * ``head``: detection-head layers counted (``"count"``) or left out of both SNN and ANN.
    * ``mac_layers``: which layers are priced as MACs: ``"first"`` (only the encoding layer,
      as both papers write), ``"analog"`` (every layer whose input is analog in our graph),
      ``"analog+strided"`` (also every strided, i.e. downsampling, layer).
    """

    fr_includes_D: bool = True
    t_multiplies: str = "spikes"
    first_layer: str = "mac"
    head: str = "count"
    mac_layers: str = "first"

    def as_dict(self) -> dict:
        return asdict(self)


OPTIONS = {"fr_includes_D": (True, False), "t_multiplies": ("all", "spikes", "none"),
           "first_layer": ("mac", "exclude"), "head": ("count", "exclude"),
           "mac_layers": ("first", "analog", "analog+strided")}


# What the authors settled in their issue trackers, per convention: the options a reading must
# have to be *consistent* with the papers and the maintainers' answers. The remaining options
# (first layer, head, which layers are MAC) are left open by them.
SETTLED = {
    "spikeyolo": {"options": {"fr_includes_D": True, "t_multiplies": "spikes"},
                  "cite": "SpikeYOLO issues #31 and #64 (maintainer XinhaoLuo666): the firing rate already "
                          "includes D (it lies in [0, D]) and does not include T, so the AC energy is multiplied "
                          "by T; the paper's equation prices the encoding layer once as MACs"},
    "emsyolo": {"options": {"t_multiplies": "all"},
                "cite": "EMS-YOLO issue #12 and the paper's energy equation: E = T x (fr x E_AC x OP_AC + "
                        "E_MAC x OP_MAC), every term multiplied by T; D = 1, so whether fr includes D does not matter"},
}


def default_reading(convention: str) -> Reading:
    """The literal reading: the maintainers' settled options, every other option as both papers
    write it (the encoding layer as the only MAC layer, the head counted)."""
    _check(convention)
    return Reading(**SETTLED[convention]["options"])


def is_settled(convention: str, reading: Reading) -> bool:
    """True when ``reading`` agrees with every option the authors settled (``SETTLED``)."""
    _check(convention)
    return all(getattr(reading, k) == v for k, v in SETTLED[convention]["options"].items())


def distinct_readings(convention: str, graph, T=None, D=None) -> list[Reading]:
    """``readings`` without the duplicates that cannot differ on ``graph``: with D = 1,
    ``fr_includes_D`` changes nothing (only its True form is kept)."""
    _, D = _meta(graph, T, D)
    return [r for r in readings(convention) if D > 1 or r.fr_includes_D]


def readings(convention: str) -> list[Reading]:
    """Every combination of the options (72)."""
    _check(convention)
    keys = list(OPTIONS)
    return [Reading(**dict(zip(keys, combo))) for combo in itertools.product(*(OPTIONS[k] for k in keys))]


def _check(convention):
    if convention not in CONVENTIONS:
        raise ValueError(f"unknown convention '{convention}' (known: {', '.join(CONVENTIONS)})")


def op_energies(profile: str = "paper-45nm") -> tuple[float, float]:
    """(E_MAC, E_AC) in joules from the profile."""
    from ..hw import load_profile

    prof = load_profile(profile)
    return prof.value("e_mac"), prof.value("e_ac")


def _meta(graph, T, D):
    meta = (graph.metadata or {}).get("claims", {})
    T = T if T is not None else meta.get("T", 1)
    D = D if D is not None else meta.get("D", 1)
    return int(T), int(D)


def _rate_of(rates, name):
    if isinstance(rates, dict):
        if name in rates:
            return float(rates[name])
        if "*" in rates:
            return float(rates["*"])
        return float(sum(rates.values()) / len(rates)) if rates else 0.0
    return float(rates)


def _terms(convention, graph, reading, T, D, profile, table=None):
    """Per layer: (name, constant energy, energy per unit rate, ANN energy)."""
    _check(convention)
    reading = reading or default_reading(convention)
    T, D = _meta(graph, T, D)
    e_mac, e_ac = op_energies(profile)
    table = table if table is not None else layer_table(graph)
    t_mac = T if reading.t_multiplies == "all" else 1
    t_ac = 1 if reading.t_multiplies == "none" else T
    fr_scale = 1.0 if reading.fr_includes_D else 1.0 / D
    out = []
    for row in table:
        if row["head"] and reading.head == "exclude":
            continue
        ann = row["flops"] * e_mac
        is_mac = row["first"] or (reading.mac_layers != "first" and row["in_kind"] == "analog") or (
            reading.mac_layers == "analog+strided" and row["stride"] not in (1, (1, 1)))
        if row["first"] and reading.first_layer == "exclude":
            const, slope = 0.0, 0.0
        elif is_mac:
            const, slope = row["flops"] * e_mac * t_mac, 0.0
        else:
            const, slope = 0.0, row["flops"] * e_ac * t_ac * fr_scale
        out.append((row["name"], const, slope, ann))
    return out


def energies(convention: str, graph, rates, reading: Reading | None = None, T=None, D=None,
             profile: str = "paper-45nm") -> dict:
    """SNN and ANN energy (J per inference) under ``convention``; ``rates`` is one average rate or
    a dict layer name -> rate of that layer's input (``"*"``: the default for missing layers)."""
    terms = _terms(convention, graph, reading, T, D, profile)
    per_layer = {n: c + s * _rate_of(rates, n) for n, c, s, _ in terms}
    snn, ann = sum(per_layer.values()), sum(t[3] for t in terms)
    return {"snn": snn, "ann": ann, "ratio": ann / snn if snn > 0 else float("inf"), "per_layer": per_layer}


def ratio(convention: str, graph, rates, reading: Reading | None = None, T=None, D=None,
          profile: str = "paper-45nm") -> float:
    """E_ANN / E_SNN under ``convention``."""
    return energies(convention, graph, rates, reading, T, D, profile)["ratio"]


def implied_rate(convention: str, graph, claimed_ratio: float, reading: Reading | None = None, T=None,
                 D=None, profile: str = "paper-45nm") -> float | None:
    """The single average rate at which ``ratio`` equals ``claimed_ratio`` (closed form: the
    SNN energy is ``A + B x rate``). None when no non-negative rate gives it (the MAC layers
    alone already cost more than E_ANN / claimed_ratio, or no layer depends on the rate)."""
    terms = _terms(convention, graph, reading, T, D, profile)
    a = sum(t[1] for t in terms)
    b = sum(t[2] for t in terms)
    target = sum(t[3] for t in terms) / claimed_ratio
    if b <= 0 or target < a:
        return None
    return (target - a) / b


def reading_range(convention: str, graph, rate, T=None, D=None, profile: str = "paper-45nm") -> dict:
    """The ratio at ``rate`` under every reading: ``{"rows": [(reading dict, ratio)], "min", "max",
    "default"}``."""
    table = layer_table(graph)
    rows = []
    for rd in readings(convention):
        terms = _terms(convention, graph, rd, T, D, profile, table)
        snn = sum(c + s * _rate_of(rate, n) for n, c, s, _ in terms)
        ann = sum(t[3] for t in terms)
        rows.append((rd.as_dict(), ann / snn if snn > 0 else float("inf")))
    values = [r for _, r in rows]
    return {"rows": rows, "min": min(values), "max": max(values),
            "default": ratio(convention, graph, rate, default_reading(convention), T, D, profile)}


def implied_rate_range(convention: str, graph, claimed_ratio: float, T=None, D=None,
                       profile: str = "paper-45nm", options: dict | None = None) -> list[tuple[dict, float | None]]:
    """``implied_rate`` under every distinct reading (or only those whose options match ``options``)."""
    out = []
    for rd in distinct_readings(convention, graph, T, D):
        if options and any(getattr(rd, k) != v for k, v in options.items()):
            continue
        out.append((rd.as_dict(), implied_rate(convention, graph, claimed_ratio, rd, T, D, profile)))
    return out


__all__ = ["CONVENTIONS", "Reading", "OPTIONS", "SETTLED", "default_reading", "is_settled", "distinct_readings", "readings", "op_energies", "energies",
           "ratio", "implied_rate", "reading_range", "implied_rate_range", "replace"]
