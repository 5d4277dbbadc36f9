"""Both claims costed on the paper-scale graphs: at the rate each claim implies (uniform) and at
the per-layer rates of SpikeYOLO's energy sheet (:mod:`.power_cal`), on every 45 nm profile.

Per scenario (one graph, one set of rates):

* the papers' convention (``conventions.energies``): ANN / SNN against the graph's own FLOPs
  (for SpikeYOLO the merged RepConv, a dense 3x3) and against the unmerged (trained) form;
* per profile pair (:func:`.pairs.columns`): SNN energy of the synthetic trace at those rates,
  its ANN twin on the unmerged form (the primary comparison: the ANN one would train) and on the
  merged form, the ratios SNN / ANN, and the break-even (a uniform rate, or for the sheet the
  factor on all its rates) against the unmerged twin.

Break-evens are uniform-rate, all-neurons-updated figures (``synthetic_trace``): every neuron
is updated every step, the dense-input worst case.
"""
from __future__ import annotations

from .architectures import build_graph, layer_table
from .breakeven import break_even_rate, synthetic_trace
from .conventions import default_reading, energies, implied_rate
from .pairs import columns
from .power_cal import sheet_rates
from .rates import weighted_rate

PROFILES = ("paper-45nm", "memory-45nm", "memory-45nm-int8")
# (claim, graph, rates): "implied" is the uniform rate the claim implies on that graph under the
# literal reading; "sheet" the 88 per-layer rates of SpikeYOLO's power_cal.xlsx
SCENARIOS = (
    ("spikeyolo", "spikeyolo-s-gen1", "implied"),
    ("spikeyolo", "spikeyolo-s-gen1", "sheet"),
    ("spikeyolo", "spikeyolo-s-640", "sheet"),
    ("emsyolo", "ems-resnet34-cat-gen1", "implied"),
    ("emsyolo", "ems-resnet34-cat-gen1-t5", "implied"),
    ("emsyolo", "ems-resnet34-gen1", "implied"),
)


# graphs whose accuracy is not the claim's own (the claims are Gen1 claims)
ACCURACY = {"spikeyolo-s-640": "COCO, the sheet's template model: \"does not correspond to actual results\" "
                               "(SpikeYOLO issue #69)"}


def scenario_rates(convention, graph, kind, claimed):
    """(rates for ``synthetic_trace``, rates per synaptic layer for the convention, label)."""
    if kind == "implied":
        r = implied_rate(convention, graph, claimed, default_reading(convention))
        return r, r, f"implied {r:.3g} (uniform)"
    per_neuron = sheet_rates(graph)
    per_layer = {row["name"]: per_neuron.get(row["input"], 0.0) for row in layer_table(graph)}
    return per_neuron, per_layer, "power_cal.xlsx per layer"


def cost_scenario(convention, arch, kind, claimed, profiles=PROFILES, tol=1e-5) -> dict:
    """Every number of one scenario (see the module docstring); energies in J per inference."""
    from ..hw import hardware_model

    graph = build_graph(arch)
    unmerged = build_graph(arch, merge_repconv=False)
    T = int(graph.metadata["claims"]["T"])
    rates, per_layer, label = scenario_rates(convention, graph, kind, claimed)
    trace = synthetic_trace(graph, rates, T)
    conv = energies(convention, graph, per_layer)
    conv_unmerged_ann = energies(convention, unmerged, 0.0)["ann"]
    out = {"claim": convention, "arch": arch, "T": T, "rates": kind, "label": label,
           "weighted_rate": weighted_rate(graph, trace),
           "convention": {"snn_J": conv["snn"], "ann_J": conv["ann"], "ann_over_snn": conv["ratio"],
                          "ann_unmerged_J": conv_unmerged_ann, "ann_unmerged_over_snn": conv_unmerged_ann / conv["snn"]},
           "profiles": {}}
    pattern = rates if isinstance(rates, dict) else None
    for col, profile, twin in columns(profiles):
        model = hardware_model(profile)
        snn = model.cost(trace, model.place(graph, strict=False), ann_twin=False).energy_per_inference
        ann = hardware_model(twin).cost_twin(unmerged).energy
        ann_merged = hardware_model(twin).cost_twin(graph).energy
        be = break_even_rate(graph, profile, T, against=twin, tol=tol, pattern=pattern, ann_graph=unmerged)
        out["profiles"][col] = {"profile": profile, "twin": twin, "snn_J": snn, "ann_J": ann, "ann_merged_J": ann_merged,
                                "snn_over_ann": snn / ann, "snn_over_ann_merged": snn / ann_merged,
                                "break_even": be.rate, "break_even_reason": be.reason}
    return out


def paper_scale(claims: dict) -> list[dict]:
    """Every scenario of ``SCENARIOS``; ``claims`` maps convention -> {"ratio": claimed ratio,
    "accuracy": the paper's accuracy statement (optional)}."""
    rows = [cost_scenario(c, arch, kind, claims[c]["ratio"]) for c, arch, kind in SCENARIOS]
    for r in rows:
        r["accuracy"] = ACCURACY.get(r["arch"], claims[r["claim"]].get("accuracy"))
    return rows


def render_paper_scale(rows: list[dict]) -> list[str]:
    """The report's paper-scale section (markdown lines)."""
    f = lambda v, d=3: "–" if v is None else f"{v:.{d}g}"  # noqa: E731
    cols = [c for c, _, _ in columns(PROFILES)]
    lines = ["Each claim's paper-scale graph at the rate it implies (uniform, literal reading) and at the",
             "88 per-layer rates of SpikeYOLO's power_cal.xlsx (its template's rates, COCO; on the Gen1 graph",
             "the same layers get the same rates). *Weighted rate*: the synaptic-op-weighted input rate",
             "(`neurosim/claims/rates.py`). Under the papers' convention: ANN / SNN (\"x less energy\"), against",
             "the graph's own FLOPs and, in brackets, against the unmerged RepConv form (SpikeYOLO's trained",
             "ANN; EMS-YOLO has no RepConv). Per profile: SNN / ANN twin energy (above 1: the SNN costs",
             "more), the twin on the unmerged form first and the merged form in brackets; the twin runs on",
             "paper-45nm for paper-45nm, on ann-45nm-int8 for memory-45nm-int8, on ann-45nm for memory-45nm",
             "and on ann-45nm-noreuse (no data reuse) for the naive column. Weights are random: the accuracy is",
             "the paper's, for the trained model these graphs have the shape of.", "",
             "| claim | published accuracy | graph | T | rates | weighted rate | convention ANN / SNN | "
             + " | ".join(cols) + " |",
             "|---|---|---|---:|---|---:|---:|" + "---:|" * len(cols)]
    for r in rows:
        c = r["convention"]
        conv = f"{c['ann_over_snn']:.3g}x" + (f" ({c['ann_unmerged_over_snn']:.3g}x)"
                                             if abs(c["ann_unmerged_over_snn"] / c["ann_over_snn"] - 1) > 1e-3 else "")
        cells = []
        for col in cols:
            p = r["profiles"][col]
            cells.append(f(p["snn_over_ann"]) + (f" ({f(p['snn_over_ann_merged'])})"
                                                 if abs(p["snn_over_ann_merged"] / p["snn_over_ann"] - 1) > 1e-3 else ""))
        lines.append(f"| {r['claim']} | {r.get('accuracy') or '–'} | {r['arch']} | {r['T']} | {r['label']} | "
                     f"{r['weighted_rate']:.3g} | {conv} | " + " | ".join(cells) + " |")
    lines += ["", "Break-even against the unmerged twin: the uniform rate (implied rows) or the factor on all of the",
              "sheet's rates (sheet rows) at which SNN and twin cost the same. A uniform-rate, all-neurons-updated",
              "figure: every neuron is updated every step, as `synthetic_trace` assumes.", "",
              "| claim | graph | rates | " + " | ".join(cols) + " |", "|---|---|---|" + "---:|" * len(cols)]
    for r in rows:
        cells = []
        for col in cols:
            p = r["profiles"][col]
            if p["break_even"] is not None:
                cells.append(f(p["break_even"]) + (" x sheet" if r["rates"] == "sheet" else ""))
            else:
                cells.append("never loses" if "never crosses" in p["break_even_reason"] else "never wins")
        lines.append(f"| {r['claim']} | {r['arch']} | {r['label']} | " + " | ".join(cells) + " |")
    return lines


CHIPS = ("loihi", "loihi2", "spinnaker2", "truenorth", "speck")
CHIP_SCENARIOS = (("spikeyolo", "spikeyolo-s-640"), ("spikeyolo", "spikeyolo-s-gen1"),
                  ("emsyolo", "ems-resnet34-cat-gen1"), ("emsyolo", "ems-resnet34-gen1"))
#: the shipped detector whose measured weighted rate stands for each claim's family on the chips
MEASURED_MODELS = {"spikeyolo": "spikeyolo-gen1", "emsyolo": "emsyolo-gen1"}


def chip_placements(claims: dict, chips=CHIPS, progress=None, measured: dict | None = None) -> list[dict]:
    """Each claim graph placed on each chip (non-strict: a graph over the chip-count limit is
    still placed and reported with ``fits`` False) and, where it fits, costed against the
    unmerged twin on ann-45nm and ann-45nm-int8 at the claim's implied uniform rate and at
    ``measured[convention] = (rate, model)``, the weighted rate measured on a shipped detector
    of the same family. Minutes per graph and chip: ``neurosim claims --chips`` runs it."""
    from ..errors import DoesNotFit
    from ..hw import hardware_model

    out = []
    for convention, arch in CHIP_SCENARIOS:
        graph, unmerged = build_graph(arch), build_graph(arch, merge_repconv=False)
        T = int(graph.metadata["claims"]["T"])
        rates = [("implied", implied_rate(convention, graph, claims[convention]["ratio"], default_reading(convention)),
                  None)]
        if measured and convention in measured:
            rates.append(("measured", *measured[convention]))
        twins = {t: hardware_model(t).cost_twin(unmerged).energy for t in ("ann-45nm", "ann-45nm-int8")}
        for chip in chips:
            if progress:
                progress(f"placing {arch} on {chip}")
            model = hardware_model(chip)
            base = {"claim": convention, "arch": arch, "chip": chip, "T": T}
            try:
                placement = model.place(graph, strict=False)
            except DoesNotFit as exc:
                out.append({**base, "rates": "implied", "rate": rates[0][1], "placed": False, "reason": str(exc)})
                continue
            for label, rate, source in rates:
                row = {**base, "rates": label, "rate": rate, "rate_model": source, "placed": True,
                       "fits": bool(placement.fits), "cores": len(placement.cores), "chips": placement.chips,
                       "misfit": placement.misfit}
                if placement.fits:
                    if progress:
                        progress(f"costing {arch} on {chip} at {label} rate {rate:.3g}")
                    report = model.cost(synthetic_trace(graph, rate, T), placement, ann_twin=False)
                    e = report.energy_per_inference
                    row.update(energy_J=e, latency_s=report.totals().get("latency_per_inference"),
                               static_share=report.energy_by_component.get("static", 0.0) / e if e else 0.0,
                               over_fp32_twin=e / twins["ann-45nm"], over_int8_twin=e / twins["ann-45nm-int8"])
                out.append(row)
                if not placement.fits:
                    break   # one row says it does not fit
    return out


def _first_reason(text: str) -> str:
    """The first of a misfit's '; '-separated reasons, and how many more there are."""
    parts = text.split("; ")
    return parts[0] + (f" (and {len(parts) - 1} more reasons)" if len(parts) > 1 else "")


def render_chips(rows: list[dict]) -> list[str]:
    f = lambda v: "–" if v is None else f"{v:.3g}"  # noqa: E731
    lines = ["Each claim graph placed on each chip and, where it fits, costed at a uniform rate (synthetic",
             "trace): the claim's *implied* rate, and the weighted rate *measured* on our trained gen1 detector of",
             "the same family (named in the row). SNN / ANN is against the unmerged twin on ann-45nm and on",
             "ann-45nm-int8, 45 nm accelerators: a chip against another technology, so read the absolute energy too.", "",
             "| graph | chip | placement | rate | energy per inference (mJ) | latency (ms) | static share | vs fp32 twin | vs int8 twin |",
             "|---|---|---|---|---:|---:|---:|---:|---:|"]
    reasons = []
    for r in rows:
        if not r["placed"]:
            reasons.append(f"* {r['arch']} on {r['chip']}: {r['reason']}")
            lines.append(f"| {r['arch']} | {r['chip']} | does not fit (below) | – | – | – | – | – | – |")
            continue
        where = f"{r['cores']:,} cores" + (f", {r['chips']:,} chips" if r.get("chips") else "")
        if not r["fits"]:
            where += ": does not fit (below)"
            reasons.append(f"* {r['arch']} on {r['chip']}: {_first_reason(r.get('misfit') or 'over the chip limit')}")
        rate = "–" if not r["fits"] else (f"{r['rate']:.3g} {r.get('rates', 'implied')}"
                                          + (f" ({r['rate_model']})" if r.get("rate_model") else ""))
        energy = r.get("energy_J")
        latency = r.get("latency_s")
        static = "–" if r.get("static_share") is None else f"{100 * r['static_share']:.0f}%"
        lines.append(f"| {r['arch']} | {r['chip']} | {where} | {rate} | {f(energy and energy * 1e3)} | "
                     f"{f(latency and latency * 1e3)} | {static} | {f(r.get('over_fp32_twin'))} | "
                     f"{f(r.get('over_int8_twin'))} |")
    if reasons:
        lines += ["", "Why a graph does not fit:", ""] + reasons
    return lines
