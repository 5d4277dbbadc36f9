"""The authors' checkpoints (SpikeYOLO, EMS-YOLO) rebuilt into torch modules with their key names.

``import_spikeyolo`` / ``import_emsyolo`` read a checkpoint (state_dict, nested dict, or pickled
model object, without the authors' code), rebuild the network from the authors' YAML config,
load the weights strictly and return the eval-mode model (forward: [T, B, C, H, W] -> list of
per-level raw head outputs [T, B, C_l, H_l, W_l]), its :class:`~neurosim.detect.HeadSpec`, T, D
and graph metadata, ready for :func:`neurosim.torch_import.from_torch`. See docs/import-authors.md.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from neurosim.errors import NeurosimError

from .checkpoint import Checkpoint, CheckpointError, read_checkpoint
from .config import AuthorsConfig, ConfigError, load_config

__all__ = ["import_spikeyolo", "import_emsyolo", "ImportResult", "read_checkpoint", "load_config", "Checkpoint",
           "CheckpointError", "ConfigError", "AuthorsConfig"]


@dataclass
class ImportResult:
    model: object                 # LayerNetwork (torch.nn.Module), eval mode, float32
    head: object                  # neurosim.detect.HeadSpec
    input_shape: tuple            # (C, H, W)
    T: int
    D: int | None
    metadata: dict = field(default_factory=dict)


def _shape(input_shape):
    if isinstance(input_shape, str):
        try:
            input_shape = tuple(int(v) for v in input_shape.split(","))
        except ValueError:
            raise NeurosimError(f"the input shape must be C,H,W (e.g. 3,640,640), got {input_shape!r}") from None
    shape = tuple(input_shape)
    if len(shape) != 3 or not all(isinstance(v, int) and v > 0 for v in shape):
        raise NeurosimError(f"the input shape must be C,H,W (e.g. 3,640,640), got {input_shape!r}")
    return shape


def _timesteps(T):
    if isinstance(T, bool) or not isinstance(T, int) or T < 1:
        raise NeurosimError(f"T must be a positive integer, got {T!r}")
    return T


def import_spikeyolo(ckpt, cfg, input_shape=(3, 640, 640), T: int | None = None, D: int | None = None,
                     nc: int | None = None, variant: str | None = None, trust_pickle: bool = False,
                     key: str | None = None) -> ImportResult:
    """SpikeYOLO checkpoint + ``snn_yolov8<scale>.yaml`` -> :class:`ImportResult`.

    ``T`` None: the config's MS_GetT T (1 in the authors' COCO config); the Gen1 model needs it
    given (its T is the number of event frames per sample). ``D``/``variant``/``nc`` None: from
    the checkpoint (pickled neurons, head shape), else 4 / ``"coco"`` / the config's nc.
    """
    from . import spikeyolo
    from .common import check_input_shape

    shape = _shape(input_shape)
    checkpoint = read_checkpoint(ckpt, key=key, trust_pickle=trust_pickle)
    net = spikeyolo.build(cfg, nc=nc, D=D, variant=variant, in_channels=shape[0], ckpt=checkpoint)
    check_input_shape(shape, net.meta["max_stride"], net.meta["in_channels"], f"SpikeYOLO ({net.meta['cfg_name']})")
    if T is None:
        if net.meta["variant"] == "gen1":
            raise NeurosimError("the Gen1 SpikeYOLO's T is the number of event frames per sample, not set by its config; "
                                "pass it (--T)")
        T = net.meta["T_yaml"]
    T = _timesteps(T)
    scale = net.meta["scale"]
    meta = {"name": f"SpikeYOLO {Path(net.meta['cfg_name']).stem}{scale or ''} ({Path(ckpt).name})",
            "T": T, "D": net.meta["D"],
            "authors_checkpoint": {"repository": spikeyolo.REPO, "commit": spikeyolo.COMMIT, "checkpoint": str(ckpt),
                                   "weights": checkpoint.source, "config": net.meta["cfg_name"], "scale": scale,
                                   "variant": net.meta["variant"], "neuron": net.meta["neuron"]}}
    return ImportResult(net, net.head_spec(shape[1:]), shape, T, net.meta["D"], meta)


def import_emsyolo(ckpt, cfg, input_shape=(3, 640, 640), T: int | None = None, nc: int | None = None,
                   trust_pickle: bool = False, key: str | None = None) -> ImportResult:
    """EMS-YOLO checkpoint + its YAML (e.g. ``resnet34-cat.yaml``) -> :class:`ImportResult`.

    ``T`` None: 5, the authors' hard-coded ``time_window`` (models/common.py:28).
    """
    from . import emsyolo
    from .common import check_input_shape

    shape = _shape(input_shape)
    T = _timesteps(emsyolo.AUTHORS_T if T is None else T)
    checkpoint = read_checkpoint(ckpt, key=key, trust_pickle=trust_pickle)
    net = emsyolo.build(cfg, nc=nc, T=T, in_channels=shape[0], ckpt=checkpoint)
    check_input_shape(shape, net.meta["max_stride"], net.meta["in_channels"], f"EMS-YOLO ({net.meta['cfg_name']})")
    meta = {"name": f"EMS-YOLO {Path(net.meta['cfg_name']).stem} ({Path(ckpt).name})", "T": T,
            "authors_checkpoint": {"repository": emsyolo.REPO, "commit": emsyolo.COMMIT, "checkpoint": str(ckpt),
                                   "weights": checkpoint.source, "config": net.meta["cfg_name"]}}
    return ImportResult(net, net.head_spec(shape[1:]), shape, T, None, meta)
