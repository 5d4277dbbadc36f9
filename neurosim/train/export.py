"""Export a training checkpoint to an IR model directory (graph.json + weights.npz)."""
from __future__ import annotations

from pathlib import Path

from ..models.export import export_graph
from ..ir import save_graph
from .loop import load_checkpoint, model_from_checkpoint


def save_slim_state(state: dict, path: Path) -> Path:
    """The weights and config of a checkpoint without the optimizer state: enough to rebuild the
    torch model (``model_from_checkpoint``), to fine-tune it, and to check that its detections
    equal the exported IR's, at a third of the size of a training checkpoint."""
    import torch

    from ..fsutil import atomic_path

    slim = {k: state[k] for k in ("version", "config", "dataset_info", "epoch", "best_map50", "history",
                                  "elapsed_s") if k in state}
    slim["model"] = dict(state["model"])
    with atomic_path(path) as tmp:
        torch.save(slim, tmp)
    return path


def round_weights(state: dict, dtype: str) -> dict:
    """``state`` with its model tensors rounded to ``dtype`` (float16 / float32) and kept in it.

    Shipping float16 weights halves ``model.pt``; rounding *before* export means the IR, the
    model card and the torch model rebuilt from ``model.pt`` all use the very same weights."""
    import torch

    target = {"float16": torch.float16, "float32": torch.float32}.get(dtype)
    if target is None:
        raise ValueError(f"weights dtype must be float16 or float32, got {dtype!r}")
    rounded = dict(state)
    rounded["model"] = {k: v.to(target) if v.is_floating_point() else v for k, v in state["model"].items()}
    return rounded


def export_checkpoint(checkpoint, out_dir, with_state_dict: bool = False, merge_repconv: bool = True,
                      weights_dtype: str = "float32") -> Path:
    """Fold BN, merge RepConv, map every neuron to its IR node; keep the head's analog part.

    The graph's metadata carries the head spec (``detection``), the class names, T, D and the
    training config, so the simulator side can decode detections without torch. With
    ``weights_dtype="float16"`` the trained weights are first rounded to float16 (see
    :func:`round_weights`); the IR itself stays float32 (BN folding makes full-precision values).
    """
    state = round_weights(load_checkpoint(checkpoint), weights_dtype)
    model = model_from_checkpoint(state)
    if hasattr(model, "merge_repconv"):
        # SpikeYOLO: merged RepConv = one dense 3x3 conv on spikes (spike-driven, more weights);
        # unmerged = 1x1 -> depthwise 3x3 -> 1x1 (as trained; fine for an ANN twin, all analog anyway)
        model.merge_repconv = merge_repconv
    info = state["dataset_info"]
    config = state["config"]
    metadata = {
        "name": Path(out_dir).name,
        "repconv": "merged" if merge_repconv else "unmerged",
        "trained_weights_dtype": weights_dtype,
        "family": config["model"]["family"],
        "neuron": config["model"].get("neuron") or "default",
        "T": config["data"]["T"],
        "D": config["model"]["D"],
        "dataset": config["data"]["dataset"],
        "class_names": info["class_names"],
        "detection": model.head_spec(info["input_shape"][1:]),
        "training": {"config": config, "epochs_done": state["epoch"] + 1, "best_map50": state["best_map50"]},
    }
    if hasattr(model, "metadata"):  # e.g. Spiking RetinaNet: readout at the last timestep
        metadata.update(model.metadata(info["input_shape"][1:]))
    graph = export_graph(model, info["input_shape"], metadata=metadata)
    save_graph(graph, out_dir)
    if with_state_dict:
        save_slim_state(state, Path(out_dir) / "model.pt")
    return Path(out_dir)
