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


def energy_breakdown(per_chip: dict[str, dict[str, float]], path, title: str) -> Path:
    """Stacked bars: energy per inference (uJ) by component, one bar per chip profile."""
    fig, ax = _figure()
    names = list(per_chip)
    bottom = np.zeros(len(names))
    for comp in COMPONENTS:
        values = np.array([per_chip[n].get(comp, 0.0) * 1e6 for n in names])
        if values.any():
            ax.bar(names, values, bottom=bottom, label=comp)
            bottom += values
    ax.set_yscale("log" if bottom.max() > 100 * max(bottom.min(), 1e-12) else "linear")
    ax.set_ylabel("energy per inference (uJ)")
    ax.set_xlabel("hardware profile")
    ax.set_title(title)
    ax.legend(fontsize=8)
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
