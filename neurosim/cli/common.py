"""What several commands share: loading a model and choosing its inputs."""
from __future__ import annotations

from pathlib import Path

import numpy as np

from ..errors import NeurosimError
from ..examples import EXAMPLES, example_graph, example_input
from ..ir import load_graph
from ..shipped import resolve_model
from . import values


def load_model(spec: str):
    """A model folder, a shipped model's bare name, or ``example:NAME``; an unknown one names the
    valid choices."""
    if spec.startswith("example:"):
        return example_graph(spec.split(":", 1)[1])
    return load_graph(resolve_model(spec, others=tuple("example:" + e for e in EXAMPLES)))


def add_input_arguments(p, model_help: str = "model: a folder (graph.json + weights.npz), a shipped model's name (see 'neurosim models') or example:NAME"):
    """The model and input options shared by simulate, compare and sparsity."""
    p.add_argument("model", help=model_help)
    p.add_argument("--T", type=values.count, help="timesteps (default: the model's own T, else 4)")
    p.add_argument("--D", type=values.count, help="I-LIF integer spike limit at inference (default: the model's own D)")
    p.add_argument("--images", type=values.count_or_all, default=None,
                   help="number of samples, or 'all' of the test split or input file (default: 8 from a trained "
                        "model's test split, else 1)")
    p.add_argument("--data", type=values.in_dir, help="root of a dataset of the kind the model was trained on; its test split is "
                                  "simulated (default: the model's own, generated if missing)")
    p.add_argument("--input", type=values.in_file, help=".npy file with inputs [B, T, *shape] (default: a seeded synthetic input)")
    p.add_argument("--seed", type=values.seed, default=None, help="seed of the synthetic input (default 0)")
    p.add_argument("--quiet", action="store_true", help="no progress bar")


def simulate_model(args, precision: str = "float32", progress: bool | None = None):
    """Load ``args.model`` (with ``--D``), choose its inputs and simulate: (graph, x, dataset, result)."""
    from ..sim import simulate

    graph = with_D(load_model(args.model), args.D, args.model)
    x, dataset = model_inputs(graph, args.T, args.images, args.input, args.seed, data_root=args.data)
    if args.input:
        _note_input_T(graph, x, args.T)
    if progress is None:
        progress = not (args.quiet or getattr(args, "json", False))
    return graph, x, dataset, simulate(graph, x, precision=precision, progress=progress)


def with_D(graph, D: int | None, spec: str = "the model"):
    """``graph`` with every I-LIF's D set to ``D`` (None: unchanged); one-sentence errors."""
    if D is None:
        return graph
    from ..ir.nodes import ILIF
    from ..sweep import with_max_spike

    if D < 1:
        raise NeurosimError(f"--D must be at least 1, got {D}")
    if not any(isinstance(n, ILIF) for n in graph.nodes):
        raise NeurosimError(f"--D sets the integer spike limit of I-LIF neurons, and {spec} has none")
    return with_max_spike(graph, D)


def model_inputs(graph, timesteps: int | None, images: int | None, input_file: str | None, seed: int | None = 0,
                 data_root: str | None = None):
    """(x [B, T, ...], dataset or None): an input file; else the test split of ``data_root`` or
    of a trained model's own dataset (generated if missing); else a seeded synthetic input.

    With an input file, ``timesteps`` (if given) must equal the file's T, ``images`` (if given)
    takes the first that many samples, and ``seed`` / ``data_root`` are refused (they choose
    other inputs), so no value the user typed is ignored."""
    if (timesteps is not None and timesteps < 1) or (images not in (None, "all") and images < 1):
        raise NeurosimError("--T and --images must be at least 1")
    if input_file:
        for given, flag in ((data_root, "--data"), (seed, "--seed")):
            if given is not None:
                raise NeurosimError(f"{flag} chooses the inputs, and so does --input {input_file}: give one of them")
        x = _load_input_file(Path(input_file))
        if x.ndim < 3:
            raise NeurosimError(f"input file {input_file} holds an array of shape {list(x.shape)}; expected "
                                f"[B, T, *shape]")
        if timesteps is not None and x.shape[1] != timesteps:
            raise NeurosimError(f"--T {timesteps} differs from the T = {x.shape[1]} of input file {input_file} "
                                f"(shape [B, T, ...] = {list(x.shape)}); drop --T or give a file with T = {timesteps}")
        if images not in (None, "all"):
            if images > x.shape[0]:
                raise NeurosimError(f"--images {images} asks for more samples than input file {input_file} holds "
                                    f"({x.shape[0]})")
            x = x[:images]
        return x, None
    timesteps = timesteps or int(graph.metadata.get("T", 4))
    seed = 0 if seed is None else seed
    trained = "training" in graph.metadata and "detection" in graph.metadata
    if data_root is not None and not trained:
        raise NeurosimError("--data needs a trained detector (its card says which kind of dataset it reads); "
                            "give other inputs with --input")
    if trained:
        dataset = model_dataset(graph, timesteps, data_root)
        n = split_images(images, len(dataset))
        return np.stack([dataset[i][0] for i in range(n)]), dataset
    if images == "all":
        raise NeurosimError("--images all takes every sample of a dataset or input file, and this model reads "
                            "neither (give --input, or a trained detector)")
    return example_input(graph, timesteps, images or 1, seed), None


def split_images(images, available: int) -> int:
    """How many test images ``--images`` asks for (default 8, 'all'), at most what the split holds."""
    if images == "all":
        return available
    if images is not None and images > available:
        raise NeurosimError(f"--images {images} asks for more images than the test split holds ({available})")
    return min(images or 8, available)


def _note_input_T(graph, x, timesteps) -> None:
    """Say on stderr when an input file's T is not the model's own (the file's is used)."""
    import sys

    own = graph.metadata.get("T")
    if timesteps is None and own is not None and int(own) != x.shape[1]:
        print(f"neurosim: note: running at the input file's T = {x.shape[1]}; the model's own T is {own}",
              file=sys.stderr)


def _load_input_file(path: Path) -> np.ndarray:
    if not path.is_file():
        raise NeurosimError(f"input file {path} does not exist")
    try:
        x = np.load(path, allow_pickle=False)
    except (ValueError, OSError, EOFError) as exc:
        raise NeurosimError(f"input file {path} is not a readable .npy array ({exc})") from None
    if not isinstance(x, np.ndarray) or not (np.issubdtype(x.dtype, np.number) or x.dtype == bool):
        raise NeurosimError(f"input file {path} holds {getattr(x, 'dtype', type(x).__name__)} values, not numbers")
    return x


def model_dataset(graph, timesteps: int, data_root: str | None = None):
    """The test split of the dataset a trained model records in its metadata (generated if
    missing), or of the set at ``data_root`` (which must exist, of the same kind)."""
    from ..train.config import load_config
    from ..train.data import build_dataset, ensure_dataset

    config = load_config(graph.metadata["training"]["config"])
    config["data"]["T"] = timesteps
    if data_root is None:
        ensure_dataset(config)
    else:
        kind = config["data"]["dataset"]
        root = Path(data_root)
        if not root.is_dir():
            raise NeurosimError(f"dataset {data_root} does not exist; the model reads a {kind} set "
                                f"(make one with: neurosim data {kind} {data_root})")
        generator = _generator_of(root)
        if generator is not None and generator != kind:
            raise NeurosimError(f"dataset {data_root} is a {generator} set but the model was trained on {kind}")
        config["data"]["root"] = str(root)
    try:
        return build_dataset(config, "test")
    except (OSError, ValueError, KeyError) as exc:
        raise NeurosimError(f"cannot read the test split of {config['data']['root']} as a "
                            f"{config['data']['dataset']} set ({exc})") from None


def _generator_of(root: Path) -> str | None:
    """The generator named by a synthetic set's manifest (None for a set without one, e.g. real Gen1)."""
    import json

    path = root / "manifest.json"
    if not path.is_file():
        return None
    try:
        return json.loads(path.read_text(encoding="utf-8"))["params"]["generator"]
    except (ValueError, KeyError, TypeError):
        raise NeurosimError(f"dataset manifest {path} is unreadable") from None


def detection_accuracy(graph, dataset, result) -> dict | None:
    """mAP of the simulated detections on the simulated images (COCO-layout sets only)."""
    from ..detect import decode, read_out

    if not hasattr(dataset, "coco"):
        return None
    spec = graph.metadata["detection"]
    detections = decode(spec, read_out(spec, result.outputs))
    stats = dataset.evaluate(dict(enumerate(detections)), subset=True)
    return {"map50": stats["AP50"], "map": stats["AP"], "images": len(detections)}
