"""``neurosim claims``: compute every number of the claims report and write docs/claims.md.

Nothing in the page is typed in by hand except the papers' published figures (``CLAIMS``,
each with its citation); everything else is computed here from the code, the hardware
profiles and the shipped models.
"""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from ..errors import DoesNotFit
from ..fsutil import write_text_atomic

CLAIMS = {
    "spikeyolo": {"ratio": 5.7, "arch": "spikeyolo-s-gen1",
                  "cite": "Luo, Yao et al., ECCV 2024 (SpikeYOLO), abstract: Gen1, \"energy efficiency is improved by 5.7*\""},
    "emsyolo": {"ratio": 5.83, "arch": "ems-resnet34-gen1",
                "cite": "Su et al., ICCV 2023 (EMS-YOLO), abstract: \"5.83 times less energy\" on COCO and Gen1"},
}
PAPER_ARCHS = ("spikeyolo-n-640", "spikeyolo-s-640", "spikeyolo-m-640", "spikeyolo-l-640", "spikeyolo-s-gen1",
               "ems-resnet10-640", "ems-resnet18-640", "ems-resnet34-640", "ems-resnet10-gen1",
               "ems-resnet34-gen1")
CHIP_PROFILES = ("paper-45nm", "memory-45nm", "memory-45nm-int8", "loihi", "truenorth", "speck")
BREAK_EVEN_PROFILES = ("paper-45nm", "memory-45nm", "memory-45nm-int8", "loihi")


def paper_arithmetic() -> dict:
    """Section 1: sizes of the paper-scale graphs and the firing rates each claim implies."""
    from .architectures import ARCHITECTURES, build_graph, layer_table, table_totals
    from .conventions import default_reading, implied_rate, implied_rate_range

    sizes = []
    for name in PAPER_ARCHS:
        graph = build_graph(name)
        totals = table_totals(layer_table(graph))
        spec = ARCHITECTURES[name]
        sizes.append({"arch": name, "params": graph.metadata["claims"]["torch_parameters"],
                      "flops_G": totals["flops"] / 1e9, "T": spec["T"], "D": spec["D"], "size": spec["size"]})
    implied = {}
    for convention, claim in CLAIMS.items():
        graph = build_graph(claim["arch"])
        rates = [r for _, r in implied_rate_range(convention, graph, claim["ratio"])]
        reachable = [r for r in rates if r is not None]
        implied[convention] = {
            "arch": claim["arch"], "claimed_ratio": claim["ratio"], "cite": claim["cite"],
            "literal": implied_rate(convention, graph, claim["ratio"], default_reading(convention)),
            "min": min(reachable) if reachable else None, "max": max(reachable) if reachable else None,
            "readings": len(rates), "unreachable_readings": len(rates) - len(reachable)}
    return {"sizes": sizes, "implied": implied}


def shipped_models(trained_dir: Path, images: int) -> list[dict]:
    """Section 2: each shipped SNN (with an ANN twin) simulated on its test images and costed."""
    import neurosim.hw as hw

    from ..cli.common import detection_accuracy, model_inputs
    from ..ir import load_graph
    from ..sim import simulate

    rows = []
    for card_path in sorted(trained_dir.glob("*/card.json")):
        card = json.loads(card_path.read_text())
        if not card.get("ann_twin"):
            continue  # an ANN twin itself, or an SNN without a twin to compare with
        graph = load_graph(card_path.parent)
        x, dataset = model_inputs(graph, None, images, None)
        result = simulate(graph, x)
        rates = card["evaluation"]["firing_rates"]
        row = {"model": card["name"], "T": card["T"], "D": card["D"], "map50": card["evaluation"]["sim"]["map50"],
               "twin_map50": card["ann_twin"]["map50"], "mean_rate": float(np.mean(list(rates.values()))),
               "images": len(x), "profiles": {}}
        accuracy = detection_accuracy(graph, dataset, result) if dataset is not None else None
        row["map50_on_images"] = accuracy and accuracy["map50"]
        for profile in CHIP_PROFILES:
            model = hw.hardware_model(profile)
            try:
                report = model.cost(result.trace, model.place(graph), graph)
            except DoesNotFit as exc:
                row["profiles"][profile] = {"fits": False, "reason": str(exc)}
                continue
            t = report.totals()
            comps = {c["ann_profile"]: c for c in (report.ann_twin or {}).get("comparisons", [])}
            reference = "paper-45nm" if profile == "paper-45nm" else "ann-45nm"
            row["profiles"][profile] = {
                "fits": True, "energy_uJ": t["energy_per_inference"] * 1e6,
                "latency_ms": (t["latency_per_inference"] or 0) * 1e3 or None,
                "chips": t.get("chips_used"), "cores": t.get("cores_used") or None,
                "ann_reference": reference,
                "snn_over_ann": comps[reference]["this_over_ann"] if reference in comps else None}
        rows.append((row, graph))
    return rows


def break_evens(rows_graphs, figure_path: Path | None) -> dict:
    """Section 3: break-even rates of each shipped SNN and the ratio-vs-rate curves."""
    from .breakeven import break_even_rate, max_rate, ratio_curve

    out = {}
    curves = {}
    for row, graph in rows_graphs:
        per = {}
        for profile in BREAK_EVEN_PROFILES:
            against = "paper-45nm" if profile == "paper-45nm" else "ann-45nm"
            be = break_even_rate(graph, profile, int(row["T"]), against=against, tol=1e-3)
            per[profile] = {"rate": be.rate, "reason": be.reason, "fits": be.fits, "against": against}
            if be.fits is not False:
                grid = np.unique(np.concatenate([np.linspace(0, 0.5, 11), np.linspace(0, max_rate(graph), 9)]))
                curves[(row["model"], profile)] = ratio_curve(graph, profile, int(row["T"]), grid, against)
        out[row["model"]] = per
    if figure_path is not None and curves:
        _curve_figure(curves, {r["model"]: r["mean_rate"] for r, _ in rows_graphs}, figure_path)
    return out


def _curve_figure(curves, measured, path):
    import matplotlib

    matplotlib.use("Agg", force=False)
    import matplotlib.pyplot as plt

    from ..fsutil import atomic_path

    fig, ax = plt.subplots(figsize=(8, 4.5))
    for (model, profile), points in curves.items():
        rates = [p[0] for p in points]
        ratios = [p[3] for p in points]
        ax.plot(rates, ratios, marker="o", ms=3, label=f"{model} on {profile}")
        ax.axvline(measured[model], color="0.5", ls=":", lw=1)
    ax.axhline(1.0, color="k", lw=1)
    ax.set_yscale("log")
    ax.set_xlabel("uniform firing rate (spikes per neuron per timestep); dotted: measured mean")
    ax.set_ylabel("SNN energy / ANN twin energy")
    ax.set_title("where the SNN stops winning (below 1: SNN cheaper)")
    ax.legend(fontsize=7)
    with atomic_path(path) as tmp:
        fig.savefig(tmp, format="png", dpi=120, bbox_inches="tight")
    plt.close(fig)


def render(arith: dict, shipped: list[dict], breakeven: dict, figure: str | None) -> str:
    f = lambda v, d=3: "–" if v is None else f"{v:.{d}g}"  # noqa: E731
    lines = ["# The 5.7x and 5.83x claims, checked", "",
             "Generated by `neurosim claims` from the code, the hardware profiles (hwmodels/) and the shipped",
             "models (trained/). Method: [claims_method.md](claims_method.md). Do not edit by hand.", "",
             "## 1. The papers' own arithmetic", "",
             "Paper-scale graphs (weights random: only shapes count). FLOPs as the papers count them",
             "(Cin x Cout x k^2 x Hout x Wout / groups, padding included):", "",
             "| architecture | input | T | D | parameters | FLOPs (G) |", "|---|---:|---:|---:|---:|---:|"]
    for s in arith["sizes"]:
        lines.append(f"| {s['arch']} | {s['size']} | {s['T']} | {s['D']} | {s['params']:,} | {s['flops_G']:.2f} |")
    lines += ["", "Average firing rate (events per neuron per timestep; for I-LIF the mean integer value) that",
              "each claim implies under the authors' convention (4.6 pJ per MAC, 0.9 pJ per AC):", "",
              "| claim | source | graph | literal reading | range over readings | readings with no solution |",
              "|---|---|---|---:|---:|---:|"]
    for conv, imp in arith["implied"].items():
        lines.append(f"| {imp['claimed_ratio']}x ({conv}) | {imp['cite']} | {imp['arch']} | {f(imp['literal'])} | "
                     f"{f(imp['min'])} – {f(imp['max'])} | {imp['unreachable_readings']} of {imp['readings']} |")
    lines += ["", "## 2. Our trained detectors, re-costed", ""]
    for row in shipped:
        lines += [f"**{row['model']}** (T={row['T']}, D={row['D']}): test mAP@50 {row['map50']:.3f} "
                  f"(ANN twin {row['twin_map50']:.3f}); mean firing rate over layers {row['mean_rate']:.3f}; "
                  f"costed on {row['images']} test images.", "",
                  "| profile | fits | energy per inference (uJ) | latency (ms) | chips | SNN / ANN twin | ANN twin costed on |",
                  "|---|---|---:|---:|---:|---:|---|"]
        for profile, p in row["profiles"].items():
            if not p["fits"]:
                lines.append(f"| {profile} | no: {p['reason']} | | | | | |")
            else:
                lines.append(f"| {profile} | yes | {p['energy_uJ']:.4g} | {f(p['latency_ms'])} | {p['chips'] or '–'} | "
                             f"{f(p['snn_over_ann'])} | {p['ann_reference']} |")
        lines.append("")
    lines += ["memory-45nm-int8 prices the SNN with int8 weights against the fp32 ANN twin on ann-45nm; the fair",
              "int8-for-both comparison needs an int8 dense-accelerator profile, which is not built yet.", "",
              "## 3. Break-even firing rates", "",
              "The uniform firing rate below which the SNN on a profile costs less than its ANN twin",
              "(synthetic traces at that rate; paper-45nm against the twin on paper-45nm, the others",
              "against the twin on ann-45nm):", "", "| model | profile | break-even rate | note |", "|---|---|---:|---|"]
    for model, per in breakeven.items():
        for profile, b in per.items():
            note = "" if b["rate"] is not None else b["reason"]
            if b["fits"] is False:
                note = "placement does not fit the chip; " + note
            lines.append(f"| {model} | {profile} | {f(b['rate'])} | {note} |")
    if figure:
        lines += ["", f"![SNN/ANN energy against firing rate]({figure})"]
    lines += ["", "## 4. Verdict (numbers from the sections above)", ""]
    for conv, imp in arith["implied"].items():
        lines.append(f"* **{imp['claimed_ratio']}x ({conv})**: under the authors' convention the claim needs an "
                     f"average rate of {f(imp['literal'])} on {imp['arch']} (range {f(imp['min'])}–{f(imp['max'])} "
                     f"over the readings of an ambiguous convention). It counts arithmetic only.")
    for row in shipped:
        p = row["profiles"]
        parts = []
        for profile in ("paper-45nm", "memory-45nm", "memory-45nm-int8", "loihi"):
            if profile in p and p[profile]["fits"] and p[profile]["snn_over_ann"] is not None:
                parts.append(f"{profile} {p[profile]['snn_over_ann']:.3g}x the ANN twin's energy")
        be = breakeven.get(row["model"], {})
        mem = be.get("memory-45nm", {}).get("rate")
        lines.append(f"* **{row['model']}** at its measured mean rate {row['mean_rate']:.3f}: " + "; ".join(parts)
                     + (f". With memory traffic counted it would need a rate below {mem:.3g} to beat its twin."
                        if mem is not None else "."))
    return "\n".join(lines) + "\n"


def build_claims_report(out_dir, trained_dir, images: int = 8) -> Path:
    out_dir = Path(out_dir)
    arith = paper_arithmetic()
    rows_graphs = shipped_models(Path(trained_dir), images)
    figure = out_dir / "img" / "claims_breakeven.png"
    breakeven = break_evens(rows_graphs, figure)
    text = render(arith, [r for r, _ in rows_graphs], breakeven, "img/claims_breakeven.png" if figure.exists() else None)
    write_text_atomic(out_dir / "claims.md", text)
    write_text_atomic(out_dir / "claims.json", json.dumps(
        {"arithmetic": arith, "shipped": [r for r, _ in rows_graphs], "break_even": breakeven}, indent=1, default=float) + "\n")
    return out_dir / "claims.md"
