"""What several commands share: loading a model and choosing its inputs."""
from __future__ import annotations

from pathlib import Path

import numpy as np

from ..errors import NeurosimError
from ..examples import EXAMPLES, example_graph, example_input
from ..ir import load_graph


def load_model(spec: str):
    """A model directory or ``example:NAME``; an unknown one names the valid choices."""
    if spec.startswith("example:"):
        return example_graph(spec.split(":", 1)[1])
    path = Path(spec)
    if not path.exists():
        raise NeurosimError(f"model {spec} does not exist; choose a model directory (shipped: "
                            f"{', '.join(available_models()) or 'none'}) or one of {', '.join('example:' + e for e in EXAMPLES)}")
    return load_graph(path)


def available_models(root: str = "trained") -> list[str]:
    """Model directories under ``root`` (those holding a graph.json)."""
    return sorted(str(p.parent) for p in Path(root).glob("*/graph.json"))



def model_inputs(graph, timesteps: int | None, images: int | None, input_file: str | None, seed: int = 0):
    """(x [B, T, ...], dataset or None): an input file; else a trained model's own test split
    (generated if missing); else a seeded synthetic input."""
    timesteps = timesteps or int(graph.metadata.get("T", 4))
    if timesteps < 1 or (images is not None and images < 1):
        raise NeurosimError("--T and --images must be at least 1")
    if input_file:
        return _load_input_file(Path(input_file)), None
    if "training" in graph.metadata and "detection" in graph.metadata:
        dataset = _model_dataset(graph, timesteps)
        n = min(images or 8, len(dataset))
        return np.stack([dataset[i][0] for i in range(n)]), dataset
    return example_input(graph, timesteps, images or 1, seed), None


def _load_input_file(path: Path) -> np.ndarray:
    if not path.is_file():
        raise NeurosimError(f"input file {path} does not exist")
    try:
        return np.load(path, allow_pickle=False)
    except (ValueError, OSError) as exc:
        raise NeurosimError(f"input file {path} is not a readable .npy array ({exc})") from None


def _model_dataset(graph, timesteps: int):
    """The test split of the dataset a trained model records in its metadata (generated if missing)."""
    from ..train.config import load_config
    from ..train.data import build_dataset, ensure_dataset

    config = load_config(graph.metadata["training"]["config"])
    config["data"]["T"] = timesteps
    ensure_dataset(config)
    return build_dataset(config, "test")


def detection_accuracy(graph, dataset, result) -> dict | None:
    """mAP of the simulated detections on the simulated images (COCO-layout sets only)."""
    from ..detect import decode, read_out

    if not hasattr(dataset, "coco"):
        return None
    spec = graph.metadata["detection"]
    detections = decode(spec, read_out(spec, result.outputs))
    stats = dataset.evaluate(dict(enumerate(detections)), subset=True)
    return {"map50": stats["AP50"], "map": stats["AP"], "images": len(detections)}
