"""How much each assumption moves the verdict: one claim scenario (a paper-scale graph at the rate
its claim implies) re-costed with one assumption changed at a time.

Per variant: the papers' convention (ANN / SNN), memory-45nm-style SNN / ANN energy (against
the unmerged twin, as in the paper-scale section) and its break-even rate.

* ``E_AC / E_MAC``: the convention's two energies from another profile (memory-45nm-int8:
  int8 multiply + int32 add, 0.3 / 0.1 pJ, against fp32's 4.6 / 0.9);
* ``T``: the same rate at other timestep counts (spike energy and neuron updates scale with T);
* ``SRAM model``: memory-45nm's no-reuse SNN dataflow against memory-45nm-reuse (the twin's reuse
  on the SNN side) and against the naive twin (no reuse on either side);
* ``neurons updated``: every neuron every step (the default) or only those receiving an event.

Each row names every input it changes; nothing else differs from the first row.
"""
from __future__ import annotations

from .architectures import build_graph
from .breakeven import break_even_rate, synthetic_trace
from .conventions import default_reading, energies, implied_rate

SCENARIOS = (("spikeyolo", "spikeyolo-s-gen1", (1, 2, 4)), ("emsyolo", "ems-resnet34-cat-gen1", (4, 5)))


def _variant(label, convention, graph, unmerged, rate, T, snn_profile="memory-45nm", twin="ann-45nm",
             op_profile="paper-45nm", updated="all", tol=1e-5) -> dict:
    from ..hw import hardware_model

    conv = energies(convention, graph, rate, T=T, profile=op_profile)
    conv_ann_unmerged = energies(convention, unmerged, 0.0, T=T, profile=op_profile)["ann"]
    model = hardware_model(snn_profile)
    snn = model.cost(synthetic_trace(graph, rate, T, updated=updated), model.place(graph, strict=False),
                     ann_twin=False).energy_per_inference
    ann = hardware_model(twin).cost_twin(unmerged).energy
    be = break_even_rate(graph, snn_profile, T, against=twin, tol=tol, ann_graph=unmerged, updated=updated).rate
    return {"variant": label, "T": T, "convention_ann_over_snn": conv["ratio"],
            "convention_unmerged_ann_over_snn": conv_ann_unmerged / conv["snn"],
            "snn_profile": snn_profile, "twin": twin, "snn_over_ann": snn / ann, "break_even": be}


def sensitivity(claims: dict) -> list[dict]:
    """Per claim (``claims``: convention -> {"ratio"}): its scenario and the variants' rows."""
    out = []
    for convention, arch, t_values in SCENARIOS:
        graph, unmerged = build_graph(arch), build_graph(arch, merge_repconv=False)
        T0 = int(graph.metadata["claims"]["T"])
        rate = implied_rate(convention, graph, claims[convention]["ratio"], default_reading(convention))
        rows = [_variant("as in section 2 (fp32 4.6 / 0.9 pJ, memory-45nm, every neuron updated)", convention,
                         graph, unmerged, rate, T0),
                _variant("E_AC / E_MAC from memory-45nm-int8 (0.1 / 0.3 pJ) in the convention", convention, graph,
                         unmerged, rate, T0, op_profile="memory-45nm-int8")]
        rows += [_variant(f"T = {T} at the same rate", convention, graph, unmerged, rate, T)
                 for T in t_values if T != T0]
        rows += [_variant("SRAM: memory-45nm-reuse (the twin's reuse on the SNN side)", convention, graph, unmerged,
                          rate, T0, snn_profile="memory-45nm-reuse"),
                 _variant("SRAM: no reuse on either side (twin ann-45nm-noreuse)", convention, graph, unmerged, rate,
                          T0, twin="ann-45nm-noreuse"),
                 _variant("only neurons that receive an event are updated", convention, graph, unmerged, rate, T0,
                          updated="receiving")]
        out.append({"claim": convention, "arch": arch, "rate": rate, "T": T0, "rows": rows})
    return out


def render_sensitivity(tables: list[dict], images: dict | None = None) -> list[str]:
    """Markdown lines: one table per claim, then the images row of a shipped model if given."""
    f = lambda v: "–" if v is None else f"{v:.3g}"  # noqa: E731
    lines = []
    for t in tables:
        lines += [f"**{t['claim']}**: {t['arch']} at the implied uniform rate {t['rate']:.3g}, T={t['T']}.", "",
                  "| variant | T | convention ANN / SNN (vs unmerged) | SNN profile | twin | SNN / ANN | break-even |",
                  "|---|---:|---:|---|---|---:|---:|"]
        for r in t["rows"]:
            conv = f"{r['convention_ann_over_snn']:.3g}x"
            if abs(r["convention_unmerged_ann_over_snn"] / r["convention_ann_over_snn"] - 1) > 1e-3:
                conv += f" ({r['convention_unmerged_ann_over_snn']:.3g}x)"
            be = f(r["break_even"]) if r["break_even"] is not None else "no crossing"
            lines.append(f"| {r['variant']} | {r['T']} | {conv} | {r['snn_profile']} | {r['twin']} | "
                         f"{f(r['snn_over_ann'])} | {be} |")
        lines.append("")
    if images:
        lines += [f"**Images** ({images['model']}, ours): the weighted rate and memory-45nm SNN / ANN (trained twin) "
                  "on the first images of the test split against the whole split.", "",
                  "| images | weighted rate | unweighted mean over layers | memory-45nm SNN / ANN |", "|---:|---:|---:|---:|"]
        for r in images["rows"]:
            lines.append(f"| {r['images']} | {r['weighted_rate']:.3g} | {r['layer_mean_rate']:.3g} | {f(r['snn_over_ann'])} |")
        lines.append("")
    return lines
