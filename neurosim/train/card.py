"""Evaluate an exported model through the event-driven simulator (and its checkpoint through
torch), and write its model card (``card.json`` + ``README.md``) beside ``graph.json``."""
from __future__ import annotations

import json
import platform
from pathlib import Path

import numpy as np

from ..detect import decode, read_out
from ..errors import NeurosimError
from ..fsutil import write_text_atomic
from ..ir import load_graph
from ..shipped import card_summary
from ..sim import Simulator

CARD_VERSION = 1


def simulate_detections(graph, dataset, batch_size: int = 8, limit: int | None = None):
    """Detections of an exported model on ``dataset`` and the per-node firing rates (simulator)."""
    spec = graph.metadata.get("detection")
    if not spec:
        raise NeurosimError("the model's graph.json has no 'detection' metadata: it is not an exported detector")
    sim = Simulator(graph)
    n = len(dataset) if limit is None else min(limit, len(dataset))
    detections, traces = [], []
    for start in range(0, n, batch_size):
        xs = np.stack([dataset[i][0] for i in range(start, min(n, start + batch_size))])
        result = sim.run(xs)
        detections += decode(spec, read_out(spec, result.outputs))
        traces.append(result.trace)
    return detections, traces


def firing_rates(graph, traces) -> dict:
    """Mean output spike value per neuron per timestep of every event-emitting neuron node."""
    rates = {}
    for node in graph.nodes:
        if node.is_neuron and graph.kinds[node.name] != "analog":
            spikes = sum(t[node.name].total("out_spikes") for t in traces)
            slots = sum(t[node.name].neurons * t.batch * t.timesteps for t in traces)
            rates[node.name] = spikes / slots if slots else 0.0
    return rates


def same_detections(a, b, tol: float = 1e-3) -> bool:
    return (len(a["labels"]) == len(b["labels"]) and np.array_equal(a["labels"], b["labels"])
            and np.allclose(a["boxes"], b["boxes"], atol=tol) and np.allclose(a["scores"], b["scores"], atol=1e-4))


def evaluate_model(model_dir, checkpoint=None, split: str = "test", limit: int | None = None) -> dict:
    """mAP of the exported model through the simulator and, given its checkpoint, through torch."""
    from .config import load_config
    from .data import build_dataset, ensure_dataset

    graph = load_graph(model_dir)
    training = graph.metadata.get("training", {})
    if "config" not in training:
        raise NeurosimError(f"{model_dir} records no training config: cannot tell which dataset to evaluate on")
    config = load_config(training["config"])
    ensure_dataset(config)
    dataset = build_dataset(config, split)
    sim_dets, traces = simulate_detections(graph, dataset, limit=limit)
    subset = dict(enumerate(sim_dets))
    result = {"split": split, "images": len(sim_dets), "sim": _stats(dataset.evaluate(subset)),
              "firing_rates": firing_rates(graph, traces)}
    if checkpoint is not None:
        import torch

        from ..detect import HeadSpec
        from .loop import load_checkpoint, model_from_checkpoint, predict

        model = model_from_checkpoint(load_checkpoint(checkpoint))
        torch_dets = predict(model, dataset, HeadSpec.from_dict(graph.metadata["detection"]), limit=limit)
        result["torch"] = _stats(dataset.evaluate(dict(enumerate(torch_dets))))
        agree = sum(same_detections(a, b) for a, b in zip(sim_dets, torch_dets))
        result["identical_detections"] = f"{agree}/{len(sim_dets)}"
        del torch
    return result


def _stats(stats: dict) -> dict:
    return {"map50": round(float(stats["AP50"]), 4), "map": round(float(stats["AP"]), 4)}


# Issue 7's quality bar: test mAP@50 at least this on each kind of data, within 5 points of the twin.
QUALITY_BAR_MAP50 = {"shapes": 0.6, "gen1-synth": 0.4}
QUALITY_BAR_TWIN_GAP = 0.05


def quality_bar(dataset: str, sim: dict, twin: dict | None, is_twin: bool) -> dict:
    """Whether a model meets the project's quality bar, and why not."""
    floor = QUALITY_BAR_MAP50.get(dataset)
    reasons = []
    if floor is not None and sim["map50"] < floor:
        reasons.append(f"test mAP@50 {sim['map50']:.3f} is below {floor}")
    if twin is not None and not is_twin and twin["map50"] - sim["map50"] > QUALITY_BAR_TWIN_GAP:
        reasons.append(f"{100 * (twin['map50'] - sim['map50']):.1f} points below its ANN twin")
    return {"min_map50": floor, "max_points_below_twin": 100 * QUALITY_BAR_TWIN_GAP, "met": not reasons,
            "reasons": reasons}


def write_card(model_dir, evaluation: dict, checkpoint_state: dict | None, twin: dict | None = None,
               command: str | None = None, notes: str | None = None) -> dict:
    """card.json + README.md for ``model_dir`` from an evaluation and the training checkpoint.

    ``notes``: what limits the model and what would fix it, in the trainer's words."""
    model_dir = Path(model_dir)
    graph = load_graph(model_dir)
    meta = graph.metadata
    training = meta.get("training", {})
    config = training.get("config", {})
    card = {
        "card_version": CARD_VERSION,
        "name": model_dir.name,
        "family": meta.get("family"),
        "neuron": meta.get("neuron"),
        "scale": config.get("model", {}).get("scale"),
        "parameters": graph.parameter_count(),
        "parameters_torch": _torch_parameters(checkpoint_state),
        "T": meta.get("T"), "D": meta.get("D"),
        "dataset": config.get("data", {}), "classes": meta.get("class_names"),
        "training": {
            "command": command or f"neurosim train scenarios/train/{model_dir.name}.yaml --out runs/{model_dir.name}",
            "config": config, "seed": config.get("seed"),
            "epochs": training.get("epochs_done"),
            "wall_time_s": round(checkpoint_state["elapsed_s"], 1) if checkpoint_state else None,
            "machine": f"{platform.machine()}, {__import__('os').cpu_count()} cores",
            "history": checkpoint_state.get("history") if checkpoint_state else None,
        },
        "evaluation": evaluation,
        "ann_twin": twin,
        "trained_weights_dtype": meta.get("trained_weights_dtype", "float32"),
        "quality_bar": quality_bar(config.get("data", {}).get("dataset"), evaluation["sim"], twin,
                                   meta.get("neuron") == "relu"),
        "notes": notes,
    }
    write_text_atomic(model_dir / "card.json", json.dumps(card, indent=1) + "\n")
    write_text_atomic(model_dir / "README.md", render_card(card))
    return card


def _torch_parameters(state: dict | None) -> int | None:
    """Trainable weights of the torch model (BN running statistics excluded)."""
    if not state:
        return None
    skip = ("running_mean", "running_var", "num_batches_tracked", "running_extremum")
    return int(sum(v.numel() for k, v in state["model"].items() if not k.endswith(skip)))


def render_card(card: dict) -> str:
    ev = card["evaluation"]
    lines = [f"# {card['name']}", "",
             card_summary(card), "",
             "| measured on the " + ev["split"] + f" split ({ev['images']} samples) | mAP@50 | mAP@50:95 |",
             "|---|---:|---:|",
             f"| event-driven simulator | {ev['sim']['map50']:.3f} | {ev['sim']['map']:.3f} |"]
    if "torch" in ev:
        lines.append(f"| torch | {ev['torch']['map50']:.3f} | {ev['torch']['map']:.3f} |")
    if card.get("ann_twin"):
        tw = card["ann_twin"]
        lines.append(f"| ANN twin ({tw['name']}) | {tw['map50']:.3f} | {tw['map']:.3f} |")
    if "identical_detections" in ev:
        lines += ["", f"Images whose detections are identical through torch and the simulator: {ev['identical_detections']}."]
    bar = card.get("quality_bar")
    if bar and bar["min_map50"] is not None:
        lines += ["", "Quality bar (test mAP@50 >= " + f"{bar['min_map50']}"
                  + ("" if card["neuron"] == "relu" else f", at most {bar['max_points_below_twin']:.0f} points below the ANN twin")
                  + "): " + ("met." if bar["met"] else "not met: " + "; ".join(bar["reasons"]) + ".")]
    if card.get("notes"):
        lines += ["", "## Notes", "", card["notes"]]
    tr = card["training"]
    lines += ["", "## Training", "", f"    {tr['command']}", "",
              f"Seed {tr['seed']}, {tr['epochs']} epochs, {tr['wall_time_s']} s on {tr['machine']}."
              + (" The weights were rounded to float16 before export; model.pt, the IR and every figure here use "
                 "those weights." if card.get("trained_weights_dtype") == "float16" else ""),
              "The full config is in card.json.", "", "## Firing rates (spikes per neuron per timestep)", ""]
    rates = ev.get("firing_rates", {})
    if rates:
        lines += ["| layer | rate |", "|---|---:|"] + [f"| {k} | {v:.4f} |" for k, v in rates.items()]
        lines += ["", f"Mean over layers: {np.mean(list(rates.values())):.4f}."]
    return "\n".join(lines) + "\n"


def render_index(trained_dir) -> str:
    """The table of every model card under ``trained_dir`` (its README.md), SNNs beside their twins."""
    cards = []
    for path in sorted(Path(trained_dir).glob("*/card.json")):
        cards.append(json.loads(path.read_text()))
    lines = ["# Trained detectors", "",
             "Every folder holds the exported IR (graph.json + weights.npz), the torch weights and config",
             "(model.pt, for fine-tuning), card.json and README.md (training command, seed, wall time, both mAPs,",
             "per-layer firing rates). This table is rewritten by `neurosim eval --card`.", "",
             "| model | family (scale) | data | T | D | params (torch) | mAP@50 sim / torch | mAP@50:95 | ANN twin mAP@50 "
             "| mean rate | quality bar |",
             "|---|---|---|---:|---:|---:|---|---:|---:|---:|---|"]
    for c in cards:
        ev = c["evaluation"]
        twin, bar = c.get("ann_twin"), c.get("quality_bar") or {}
        rates = list(ev.get("firing_rates", {}).values())
        is_twin = c["neuron"] == "relu"
        cells = [f"[{c['name']}]({c['name']}/README.md)",
                 f"{c['family']} ({c['scale']}), {'ANN twin' if is_twin else c['neuron']}",
                 str(c["dataset"].get("dataset")), str(c["T"]), str(c["D"]) if c["family"] == "spikeyolo" and not is_twin else "–",
                 f"{c.get('parameters_torch') or 0:,}",
                 f"{ev['sim']['map50']:.3f} / " + (f"{ev['torch']['map50']:.3f}" if "torch" in ev else "–"),
                 f"{ev['sim']['map']:.3f}",
                 f"{twin['map50']:.3f} ({twin['name']})" if twin else "–",
                 f"{np.mean(rates):.3f}" if rates and not is_twin else "–",
                 ("met" if bar.get("met") else "not met: " + "; ".join(bar.get("reasons", []))) if bar else "–"]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


def write_index(trained_dir) -> Path:
    path = Path(trained_dir) / "README.md"
    write_text_atomic(path, render_index(trained_dir))
    return path
