"""Datasets for training and evaluation, generated on first use."""
from __future__ import annotations

from pathlib import Path

import numpy as np

GEN1_RESIZE = {"half": (128, 160), "full": (256, 320)}  # (H, W): multiples of 32 for the strides


def dataset_root(config: dict) -> Path:
    return Path(config["data"]["root"])


def ensure_dataset(config: dict) -> Path:
    """Generate the configured synthetic set if it is not there yet (idempotent)."""
    from ..data import generate_gen1_synth, generate_shapes

    data = config["data"]
    counts = data.get("counts")
    if data["dataset"] == "shapes":
        return generate_shapes(data["root"], seed=0, counts=counts, size=data["image_size"])
    return generate_gen1_synth(data["root"], seed=0, size=data["size"], n_files=counts)


def build_dataset(config: dict, split: str):
    """The numpy dataset of ``split``; ``x`` is [T, C, H, W]."""
    from ..data import Gen1Dataset, ShapesDataset

    data = config["data"]
    if data["dataset"] == "shapes":
        resize = tuple(data["resize"]) if data["resize"] else None
        return ShapesDataset(data["root"], split, T=data["T"], resize=resize)
    resize = tuple(data["resize"]) if data["resize"] else GEN1_RESIZE[data["size"]]
    return Gen1Dataset(data["root"], split, T=data["T"], encoding=data["encoding"], window_us=data["window_us"],
                       resize=resize)


def dataset_info(dataset) -> dict:
    x, _ = dataset[0]
    names = list(getattr(dataset, "category_names", None) or getattr(dataset, "classes", []))
    return {"input_shape": list(x.shape[1:]), "num_classes": len(names), "class_names": names}


def horizontal_flip(x: np.ndarray, target: dict) -> tuple[np.ndarray, dict]:
    """Mirror a sample [T, C, H, W] and its xyxy boxes."""
    width = x.shape[-1]
    boxes = target["boxes"].copy()
    boxes[:, [0, 2]] = width - target["boxes"][:, [2, 0]]
    return x[..., ::-1].copy(), dict(target, boxes=boxes)
