"""What the two rebuilt families share: the layer-list network, time-flattened layers, checks."""
from __future__ import annotations

import torch
from torch import nn

from neurosim.errors import NeurosimError
from neurosim.models.layers import time_flat

from .checkpoint import Checkpoint, CheckpointError

__all__ = ["time_flat", "MultiStep", "TimeSeq", "Concat", "TimeUpsample", "LayerNetwork", "apply_pickled_eps",
           "check_input_shape"]


class MultiStep(nn.Module):
    """Marker base: ``forward`` takes and returns [T, B, ...] tensors (not per-frame)."""


def _is_multistep(module: nn.Module) -> bool:
    return isinstance(module, MultiStep) or hasattr(module, "ir_node")


class TimeSeq(nn.Sequential, MultiStep):
    """``nn.Sequential`` over [T, B, ...]: neurons and multi-step blocks see the whole sequence,
    per-frame torch layers (Conv2d, BatchNorm2d, MaxPool2d) run on the time-flattened
    [T*B, C, H, W] tensor. Keys are those of ``nn.Sequential`` (``0.weight``, ``1.bn.weight``...)."""

    def forward(self, x):
        for m in self:
            x = m(x) if _is_multistep(m) else time_flat(m, x)
        return x


class Concat(MultiStep):
    """``torch.cat`` of a list of [T, B, C, H, W] tensors along ``dim`` (the authors' Concat)."""

    def __init__(self, dim: int = 2):
        super().__init__()
        self.d = dim

    def forward(self, xs):
        return torch.cat(list(xs), self.d)


class TimeUpsample(MultiStep):
    """Nearest-neighbour upsampling by an integer factor, per frame."""

    def __init__(self, scale: int):
        super().__init__()
        self.up = nn.Upsample(scale_factor=scale, mode="nearest")

    def forward(self, x):
        return time_flat(self.up, x)


class InputStage(MultiStep):
    """A parameter-free first layer the network skips (the input is already [T, B, C, H, W])."""

    def __init__(self, what: str):
        super().__init__()
        self.what = what

    def forward(self, x):  # pragma: no cover - LayerNetwork does not call it
        return x


class LayerNetwork(nn.Module):
    """The authors' ``model`` Sequential run with their layer wiring (``_predict_once`` /
    ``_forward_once``: each layer reads the previous output, or the saved outputs of the layers
    its ``from`` names). ``forward(x)``: x [T, B, C, H, W] -> the head's list of per-level raw
    outputs [T, B, C_l, H_l, W_l] (per timestep; the authors average them over T in the head)."""

    def __init__(self, layers, layer_defs, family: str):
        super().__init__()
        self.model = nn.ModuleList(layers)
        # per layer: absolute source indices, and whether 'from' was a list (then the layer gets a list)
        self.sources = [(d.inputs(), isinstance(d.source, tuple)) for d in layer_defs]
        self.family = family
        self.head_spec_fields: dict = {}
        self.meta: dict = {}

    def forward(self, x):
        saved = {j for srcs, _ in self.sources[1:] for j in srcs}
        outputs = {}
        for i, (m, (srcs, as_list)) in enumerate(zip(self.model, self.sources)):
            if i > 0:
                x = [outputs[j] if j != i - 1 else x for j in srcs] if as_list else (outputs[srcs[0]] if srcs[0] != i - 1 else x)
            if not isinstance(m, InputStage):
                x = m(x)
            if i in saved:
                outputs[i] = x
        return x

    def head_spec(self, input_size, output_names=None):
        """The :class:`neurosim.detect.HeadSpec` of the outputs of :meth:`forward` (averaged over T)."""
        from neurosim.detect.spec import HeadSpec

        fields = dict(self.head_spec_fields)
        if callable(fields.get("anchors")):
            fields["anchors"] = fields["anchors"]()
        levels = len(fields["strides"])
        names = list(output_names) if output_names is not None else [f"p{s.bit_length() - 1}" for s in fields["strides"]]
        if len(names) != levels:
            raise NeurosimError(f"the head has {levels} outputs, got {len(names)} output names")
        h, w = (input_size, input_size) if isinstance(input_size, int) else tuple(input_size)
        return HeadSpec(input_size=(int(h), int(w)), outputs=tuple(names), **fields)


class _Head(MultiStep):
    """Base of the detection heads: forward takes the list of level inputs."""


def repeated(make, repeats: int, chainable: bool, where: str, name: str, sequential: type) -> nn.Module:
    """One layer of a config: ``make()``, or for ``repeats > 1`` a ``sequential`` of that many
    copies (keys ``model.i.j...``, tasks.py:694 / yolo.py:279), which needs copies that keep the
    channels and the stride (``chainable``)."""
    if repeats <= 1:
        return make()
    if not chainable:
        raise NeurosimError(f"{where} repeats {name} {repeats} times, but it changes the channels or the stride, so its "
                            f"copies cannot be chained")
    return sequential(*(make() for _ in range(repeats)))


def apply_pickled_eps(model: nn.Module, ckpt: Checkpoint) -> int:
    """Copy each BatchNorm's ``eps`` from the pickled module at the same path; the count set."""
    n = 0
    for path, m in model.named_modules():
        if isinstance(m, nn.modules.batchnorm._BatchNorm):
            info = ckpt.modules.get(path)
            if info is not None and isinstance(info.attrs.get("eps"), float):
                m.eps = info.attrs["eps"]
                n += 1
    return n


def check_pickled_classes(model: LayerNetwork, ckpt: Checkpoint, expected: dict) -> None:
    """Each pickled module at a path we rebuild must be of the class we rebuilt it from.

    ``expected``: our module type -> tuple of accepted authors' class names.
    """
    if not ckpt.pickled:
        return
    for path, m in model.named_modules():
        names = expected.get(type(m))
        info = ckpt.modules.get(path)
        if names is None or info is None:
            continue
        if info.class_name not in names:
            raise CheckpointError(f"{ckpt.source} has a {info.cls} at {path}, where the config gives "
                                  f"{' or '.join(names)}")


def check_pickled_layers(cfg, ckpt: Checkpoint) -> None:
    """The pickled model's own yaml (``model.yaml``) must describe the same layers as ``cfg``."""
    root = ckpt.modules.get("")
    doc = root.attrs.get("yaml") if root is not None else None
    if not isinstance(doc, dict) or not isinstance(doc.get("backbone"), list) or not isinstance(doc.get("head"), list):
        return
    theirs = doc["backbone"] + doc["head"]
    ours = cfg.raw["backbone"] + cfg.raw["head"]
    for i, (a, b) in enumerate(zip(theirs, ours)):
        if list(a)[:3] != list(b)[:3] or [str(v) for v in a[3]] != [str(v) for v in b[3]]:
            raise CheckpointError(f"{ckpt.source} was built from a config whose layer {i} is {a!r}, but layer {i} of "
                                  f"{cfg.name} is {b!r}; pass the config the checkpoint was trained with")
    if len(theirs) != len(ours):
        raise CheckpointError(f"{ckpt.source} was built from a config with {len(theirs)} layers, {cfg.name} has {len(ours)}")
    if cfg.scale and doc.get("scale") and doc["scale"] != cfg.scale:
        raise CheckpointError(f"{ckpt.source} was built at scale '{doc['scale']}', the config names scale '{cfg.scale}'")


def check_input_shape(input_shape, stride: int, in_channels: int, what: str) -> tuple:
    shape = tuple(int(v) for v in input_shape)
    if len(shape) != 3 or min(shape) < 1:
        raise NeurosimError(f"the input shape must be C,H,W (e.g. 3,640,640), got {input_shape!r}")
    c, h, w = shape
    if c != in_channels:
        raise NeurosimError(f"{what} reads {in_channels}-channel images, the input shape has {c} channels")
    if h % stride or w % stride:
        raise NeurosimError(f"{what} needs H and W divisible by its largest stride {stride} (its concatenations of "
                            f"upsampled and skip maps need equal sizes), got {h}x{w}")
    return shape
