"""Matplotlib figures of reports and traces, written atomically as PNG."""
from __future__ import annotations

from pathlib import Path

import numpy as np

from ..fsutil import atomic_path

COMPONENTS = ("synaptic", "neuron", "memory", "routing", "static", "mac", "analog")


def _save(fig, path) -> Path:
    import matplotlib.pyplot as plt

    with atomic_path(path) as tmp:
        fig.savefig(tmp, format="png", dpi=120, bbox_inches="tight")
    plt.close(fig)
    return Path(path)


def _figure(width=8, height=4.5):
    import matplotlib

    matplotlib.use("Agg", force=False)
    import matplotlib.pyplot as plt

    return plt.subplots(figsize=(width, height))


def layer_energy(report, path, title: str, top: int = 30) -> Path:
    """Left: energy per inference by component (uJ, log scale). Right: the ``top`` layers by
    energy, each a horizontal bar stacked by component (uJ, linear), largest first."""
    import matplotlib.pyplot as plt

    _figure()
    rows = sorted(report.layers, key=lambda r: r.energy_total, reverse=True)[:top]
    fig, (ax_comp, ax_layers) = plt.subplots(1, 2, figsize=(12, max(4.5, 0.22 * len(rows) + 1.5)),
                                             gridspec_kw={"width_ratios": [1, 2]})
    by_comp = {c: v * 1e6 for c, v in report.energy_by_component.items() if v > 0}
    ax_comp.bar(list(by_comp), list(by_comp.values()), color=[f"C{COMPONENTS.index(c)}" for c in by_comp])
    ax_comp.set_yscale("log")
    ax_comp.set_ylabel("energy per inference (uJ)")
    ax_comp.set_xlabel("component")
    ax_comp.tick_params(axis="x", rotation=45)
    names = [r.name for r in rows][::-1]
    left = np.zeros(len(rows))
    for i, comp in enumerate(COMPONENTS):
        values = np.array([r.energy.get(comp, 0.0) * 1e6 for r in rows][::-1])
        if values.sum() > 0:
            ax_layers.barh(names, values, left=left, color=f"C{i}", label=comp)
            left += values
    ax_layers.set_xlabel("energy per inference (uJ)")
    ax_layers.tick_params(axis="y", labelsize=7)
    ax_layers.set_title(f"top {len(rows)} of {len(report.layers)} layers")
    ax_layers.legend(fontsize=8, loc="lower right")
    fig.suptitle(title)
    return _save(fig, path)


def energy_breakdown(per_chip: dict[str, dict[str, float]], path, title: str) -> Path:
    """Left: energy per inference (uJ) per chip profile, log scale. Right: its composition by
    component as 100% stacked bars (stacked segments on a log axis would mislead)."""
    import matplotlib.pyplot as plt

    _figure()  # selects the Agg backend
    fig, (ax_total, ax_share) = plt.subplots(1, 2, figsize=(11, 4.5))
    names = list(per_chip)
    totals = np.array([sum(per_chip[n].values()) * 1e6 for n in names])
    ax_total.bar(names, totals, color="0.35")
    ax_total.set_yscale("log")
    ax_total.set_ylabel("energy per inference (uJ)")
    ax_total.set_xlabel("hardware profile")
    ax_total.set_title(title)
    for i, v in enumerate(totals):
        ax_total.annotate(f"{v:.3g}", (i, v), ha="center", va="bottom", fontsize=8)
    bottom = np.zeros(len(names))
    for comp in COMPONENTS:
        share = np.array([per_chip[n].get(comp, 0.0) * 1e6 for n in names]) / np.where(totals > 0, totals, 1)
        if share.any():
            ax_share.bar(names, share * 100, bottom=bottom, label=comp)
            bottom += share * 100
    ax_share.set_ylabel("share of the energy (%)")
    ax_share.set_xlabel("hardware profile")
    ax_share.set_title("composition")
    ax_share.legend(fontsize=8, loc="upper left", bbox_to_anchor=(1.0, 1.0))
    for ax in (ax_total, ax_share):
        ax.tick_params(axis="x", labelrotation=20)
    return _save(fig, path)


def firing_rate_bars(layers: list[str], mean: np.ndarray, spread: np.ndarray, path, title: str) -> Path:
    """Mean firing rate per layer, with the spread across images as error bars."""
    fig, ax = _figure(max(8, 0.25 * len(layers)), 4.5)
    x = np.arange(len(layers))
    ax.bar(x, mean, yerr=spread, capsize=2)
    ax.set_xticks(x, layers, rotation=90, fontsize=6)
    ax.set_ylabel("spikes per neuron per timestep")
    ax.set_xlabel("layer")
    ax.set_title(title)
    return _save(fig, path)


def firing_rate_heatmap(layers: list[str], rates: np.ndarray, path, title: str) -> Path:
    """Layer x timestep heat map of firing rates (rates: [layers, T])."""
    fig, ax = _figure(max(5, 1.2 * rates.shape[1] + 3), max(4, 0.18 * len(layers)))
    im = ax.imshow(rates, aspect="auto", cmap="viridis", interpolation="nearest")
    ax.set_yticks(np.arange(len(layers)), layers, fontsize=6)
    ax.set_xticks(np.arange(rates.shape[1]), [str(t) for t in range(rates.shape[1])])
    ax.set_xlabel("timestep")
    ax.set_ylabel("layer")
    ax.set_title(title)
    fig.colorbar(im, ax=ax, label="spikes per neuron")
    return _save(fig, path)


def pareto(rows: list[dict], path, twins: list[dict] | None = None) -> Path:
    """Energy per inference vs mAP@50, one marker per sweep point (labelled T/D), the Pareto
    front joined, and each ANN twin (``name``, ``map50``, ``energy_uJ``, ``profile``) as a star."""
    from ..sweep import pareto_front

    fig, ax = _figure()
    for model in dict.fromkeys(r["model"] for r in rows):
        pts = [r for r in rows if r["model"] == model]
        ax.scatter([r["energy_uJ"] for r in pts], [r["map50"] for r in pts], label=Path(model).name, zorder=3)
        for r in pts:
            ax.annotate(f"T{r['T']}" + (f" D{r['D']}" if r.get("D") else ""), (r["energy_uJ"], r["map50"]),
                        textcoords="offset points", xytext=(4, 4), fontsize=7)
    front = sorted(pareto_front(rows), key=lambda r: r["energy_uJ"])
    ax.plot([r["energy_uJ"] for r in front], [r["map50"] for r in front], "k--", lw=1, label="Pareto front")
    for i, twin in enumerate(twins or []):
        if twin.get("map50") is not None and twin.get("energy_uJ"):
            ax.scatter([twin["energy_uJ"]], [twin["map50"]], marker="*", s=160, c=("red", "darkred", "orange")[i % 3],
                       label=f"{twin.get('name', 'ANN twin')} ({twin.get('profile', 'ann-45nm')})", zorder=4)
    ax.set_xscale("log")
    ax.set_xlabel(f"energy per inference (uJ, {rows[0]['chip']})")
    ax.set_ylabel("mAP@50")
    ax.set_title("accuracy vs energy")
    ax.legend(fontsize=8)
    return _save(fig, path)
