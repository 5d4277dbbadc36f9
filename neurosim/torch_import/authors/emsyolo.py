"""EMS-YOLO rebuilt from the authors' YAML, with the authors' state_dict key names.

Written from reading BICLab/EMS-YOLO at commit fbfc2caeac5ff4d60cbc2ad23864911df63d0f85
(``models/common.py``, "common.py" below; ``models/yolo.py``); no code of theirs is used.
The Gen1 code (``g1-resnet/``) has the same modules and YAMLs (only ``nc`` and the P5 anchors
differ, and its input is a [B, T, C, H, W] event tensor, g1-resnet/models/yolo.py:136).

* ``mem_update(act=False)`` (common.py:55-80) -> :class:`neurosim.models.neurons.LIF` (IR ``lif``):
  ``mem_0 = x_0`` (common.py:71), ``mem_t = mem_{t-1} * 0.25 * (1 - s_{t-1}) + x_t``
  (common.py:69, decay common.py:27), ``s_t = [mem_t > 0.5]`` (strictly greater: ``gt(thresh)``,
  common.py:43, thresh common.py:25). Hard reset to 0, applied at the next step before the
  leak: with ``V = H (1 - S)`` this is LIF(threshold 0.5, decay 0.25, reset hard to 0, '>').
* ``mem_update(act=True)`` (the ``Conv`` layer's activation, common.py:90 and :72-73) outputs
  ``SiLU(mem_t)`` but keeps the same membrane recurrence with that analog output in the reset,
  ``mem_t = mem_{t-1} * 0.25 * (1 - SiLU(mem_{t-1})) + x_t``: no IR node computes this for T > 1,
  so configs with ``Conv`` (resnet18, resnet34-cat, the released COCO checkpoint's) import
  only at T = 1, where it is exactly ``SiLU(BN(conv(x)))``.
* ``Snn_Conv2d`` (common.py:143-159) is ``nn.Conv2d`` applied per timestep; ``batch_norm_2d``
  and ``batch_norm_2d1`` (common.py:162-181) hold a ``BatchNorm3d`` (attribute ``bn``) over
  [B, C, T, H, W]: in eval mode a per-channel affine, so we use ``nn.BatchNorm2d`` per frame
  (same keys and shapes). Their eps stays PyTorch's 1e-5: YOLOv3's ``initialize_weights`` only
  changes ``nn.BatchNorm2d`` (utils/torch_utils.py:160-162), and these are BatchNorm3d subclasses.
* ``nn.MaxPool3d((1, s, s), stride=(1, s, s))`` on [T, B, C, H, W] pools H and W per channel:
  ``nn.MaxPool2d(s, s)`` per frame (identity when s = 1).
* The code hard-codes ``time_window = 5`` (common.py:28, yolo.py:34): every layer loops over 5
  timesteps and the image is repeated 5 times (yolo.py:130-132). The paper reports T = 4.

The network returns the Detect convs' raw outputs per timestep, [T, B, A (5 + nc), H_l, W_l]
with channel ``a (5 + nc) + k`` (the ``view(T, B, na, no, ny, nx)`` of yolo.py:58); the authors
average over T (yolo.py:60) and decode ``xy = (2 sigmoid - 0.5 + grid) stride``,
``wh = (2 sigmoid)^2 anchor`` (yolo.py:66-69), score ``obj * cls`` (utils/general.py:684): HeadSpec
type ``yolov3``, anchors = the checkpoint's ``anchors`` buffer (stored in grid units,
yolo.py:119) times the level's stride.
"""
from __future__ import annotations

import torch
from torch import nn

from neurosim.errors import NeurosimError
from neurosim.models.neurons import LIF

from .checkpoint import Checkpoint, CheckpointError
from .common import (Concat, LayerNetwork, MultiStep, TimeSeq, TimeUpsample, _Head, apply_pickled_eps,
                     check_pickled_classes, check_pickled_layers, repeated, time_flat)
from .config import AuthorsConfig, bad_args, load_config, make_divisible, unsupported_module

COMMIT = "fbfc2caeac5ff4d60cbc2ad23864911df63d0f85"
REPO = "BICLab/EMS-YOLO"
AUTHORS_T = 5          # common.py:28


def lif():
    return LIF(threshold=0.5, decay=0.25)


def autopad(k, p=None):
    return k // 2 if p is None else p     # common.py:31-35


class TdBN(MultiStep):
    """batch_norm_2d / batch_norm_2d1 (common.py:162-181): attribute ``bn``, per-channel BN in eval."""

    def __init__(self, num_features):
        super().__init__()
        self.bn = nn.BatchNorm2d(num_features)

    def forward(self, x):
        return time_flat(self.bn, x)


def _pool(stride):
    return nn.MaxPool2d(stride, stride) if stride != 1 else nn.Identity()


class SiLUMemory(nn.Module):
    """``mem_update(act=True)`` (common.py:55-80): ``mem_t = 0.25 mem_{t-1} (1 - SiLU(mem_{t-1})) + x_t``,
    output ``SiLU(mem_t)``. ``ir_node`` gives IR ``silu``, which equals it only at T = 1 (the
    builder refuses T > 1)."""

    def forward(self, x):
        outs, mem, out = [], None, None
        for t in range(x.shape[0]):
            mem = x[t] if t == 0 else mem * 0.25 * (1 - out) + x[t]
            out = nn.functional.silu(mem)
            outs.append(out)
        return torch.stack(outs)

    def ir_node(self):
        return "silu", {}


class Conv(MultiStep):
    """Conv (common.py:84-96): conv -> bn -> mem_update(act=True) (analog SiLU output)."""

    def __init__(self, c1, c2, k, s, p=None, g=1, act=True):
        super().__init__()
        self.conv = nn.Conv2d(c1, c2, k, s, autopad(k, p), groups=g, bias=False)
        self.bn = TdBN(c2)
        self.act = SiLUMemory()

    def forward(self, x):
        return self.act(self.bn(time_flat(self.conv, x)))


class Conv_1(MultiStep):  # noqa: N801 - the authors' class name
    """Conv_1 / Conv_2 (common.py:114-140): conv -> bn, no neuron (the stem, on the analog image)."""

    def __init__(self, c1, c2, k, s, p=None, g=1, act=True):
        super().__init__()
        self.conv = nn.Conv2d(c1, c2, k, s, autopad(k, p), groups=g, bias=False)
        self.bn = TdBN(c2)

    def forward(self, x):
        return self.bn(time_flat(self.conv, x))


def _pad(cfg_where, k):
    if k not in (1, 3):  # the authors set the padding only for k = 3 (1) and k = 1 (0)
        raise NeurosimError(f"{cfg_where} uses kernel size {k}; the authors' blocks define padding only for 1 and 3")
    return 1 if k == 3 else 0


def _residual(cin, hidden, cout, k, stride, pad):
    """residual_function: mem_update, conv (stride), BN, mem_update, conv, BN (second BN: batch_norm_2d1)."""
    return TimeSeq(lif(), nn.Conv2d(cin, hidden, k, stride, pad, bias=False), TdBN(hidden),
                   lif(), nn.Conv2d(hidden, cout, k, 1, pad, bias=False), TdBN(cout))


def _spiking_shortcut(in_channels, out_channels, stride):
    """BasicBlock_1/2's shortcut: identity, or ``MaxPool(s) -> mem_update -> 1x1 conv -> BN``."""
    if stride == 1 and in_channels == out_channels:
        return TimeSeq()
    return TimeSeq(_pool(stride), lif(), nn.Conv2d(in_channels, out_channels, 1, 1, bias=False), TdBN(out_channels))


class BasicBlock_2(MultiStep):  # noqa: N801
    """BasicBlock_2 = EMS-Block1 (common.py:301-329): ``residual(x) + shortcut(x)``, shortcut
    identity or ``MaxPool(s) -> mem_update -> 1x1 conv -> BN`` when stride or width change."""

    def __init__(self, in_channels, out_channels, k_size=3, stride=1, where="BasicBlock_2"):
        super().__init__()
        pad = _pad(where, k_size)
        self.residual_function = _residual(in_channels, out_channels, out_channels, k_size, stride, pad)
        self.shortcut = _spiking_shortcut(in_channels, out_channels, stride)

    def forward(self, x):
        return self.residual_function(x) + self.shortcut(x)


class BasicBlock_1(MultiStep):  # noqa: N801
    """BasicBlock_1 (common.py:271-298): BasicBlock_2 with 3x3 convs through 1024 hidden channels
    (``c_ = 1024``, fixed, common.py:275)."""

    def __init__(self, in_channels, out_channels, stride=1, e=0.5):
        super().__init__()
        self.residual_function = _residual(in_channels, 1024, out_channels, 3, stride, 1)
        self.shortcut = _spiking_shortcut(in_channels, out_channels, stride)

    def forward(self, x):
        return self.residual_function(x) + self.shortcut(x)


class BasicBlock_ms(MultiStep):  # noqa: N801
    """BasicBlock_ms (common.py:368-397): hidden ``int(out * e)``; its shortcut has no neuron
    (``MaxPool -> 1x1 conv -> BN`` on the analog block input)."""

    def __init__(self, in_channels, out_channels, k_size=3, stride=1, e=0.5, where="BasicBlock_ms"):
        super().__init__()
        pad = _pad(where, k_size)
        self.residual_function = _residual(in_channels, int(out_channels * e), out_channels, k_size, stride, pad)
        self.shortcut = TimeSeq()
        if stride != 1 or in_channels != out_channels:
            self.shortcut = TimeSeq(_pool(stride), nn.Conv2d(in_channels, out_channels, 1, 1, bias=False),
                                    TdBN(out_channels))

    def forward(self, x):
        return self.residual_function(x) + self.shortcut(x)


class Concat_res2(MultiStep):  # noqa: N801
    """Concat_res2 = EMS-Block2 (common.py:332-365): ``residual(x) + pools(cat(shortcut(x), x))``,
    shortcut ``mem_update -> 1x1 conv (C_in -> C_out - C_in) -> BN``; ``hidden`` as ConcatBlock_ms."""

    def __init__(self, in_channels, out_channels, k_size=3, stride=1, e=0.5, where="Concat_res2", hidden=None):
        super().__init__()
        if in_channels >= out_channels:
            raise NeurosimError(f"{where} has {in_channels} input and {out_channels} output channels; the authors' "
                                f"concatenating shortcut needs more output than input channels")
        pad = _pad(where, k_size)
        self.residual_function = _residual(in_channels, hidden or out_channels, out_channels, k_size, stride, pad)
        self.shortcut = TimeSeq(lif(), nn.Conv2d(in_channels, out_channels - in_channels, 1, 1, bias=False),
                                TdBN(out_channels - in_channels))
        self.pools = _pool(stride)

    def forward(self, x):
        out = time_flat(self.pools, torch.cat((self.shortcut(x), x), 2))
        return self.residual_function(x) + out


class ConcatBlock_ms(Concat_res2):  # noqa: N801
    """ConcatBlock_ms (common.py:400-433): Concat_res2 with hidden ``int(out * e)``."""

    def __init__(self, in_channels, out_channels, k_size=3, stride=1, e=0.5, where="ConcatBlock_ms"):
        super().__init__(in_channels, out_channels, k_size, stride, e, where, hidden=int(out_channels * e))


class Sample(MultiStep):
    """Sample (common.py:230-248): ``nn.Upsample`` per timestep (attribute ``up``)."""

    def __init__(self, scale):
        super().__init__()
        self.up = nn.Upsample(scale_factor=scale, mode="nearest")

    def forward(self, x):
        return time_flat(self.up, x)


class Detect(_Head):
    """Detect (yolo.py:36-76) up to the raw maps: per level a 1x1 conv with bias, per timestep.
    ``anchors`` (buffer, [levels, A, 2], grid units) is kept as the checkpoint has it."""

    def __init__(self, nc=80, anchors=(), ch=()):
        super().__init__()
        self.nc, self.no, self.nl = nc, nc + 5, len(anchors)
        self.na = len(anchors[0]) // 2
        self.register_buffer("anchors", torch.tensor(anchors).float().view(self.nl, -1, 2))
        self.m = nn.ModuleList(nn.Conv2d(x, self.no * self.na, 1) for x in ch)

    def forward(self, xs):
        return [time_flat(self.m[i], x) for i, x in enumerate(xs)]


SUPPORTED = ("Conv_1", "Conv_2", "BasicBlock_1", "BasicBlock_2", "Concat_res2", "BasicBlock_ms", "ConcatBlock_ms",
             "Conv (at T=1 only)", "Sample", "Concat", "Detect")
_CHANNEL_RULE = ("Conv", "Conv_1", "Conv_2", "BasicBlock_1", "BasicBlock_2", "Concat_res2", "BasicBlock_ms",
                 "ConcatBlock_ms")
PICKLED_CLASSES = {Conv: ("Conv",), Conv_1: ("Conv_1", "Conv_2"), BasicBlock_1: ("BasicBlock_1",),
                   BasicBlock_2: ("BasicBlock_2",), BasicBlock_ms: ("BasicBlock_ms",),
                   Concat_res2: ("Concat_res2",), ConcatBlock_ms: ("ConcatBlock_ms",), Sample: ("Sample",),
                   Detect: ("Detect",), TdBN: ("batch_norm_2d", "batch_norm_2d1"), LIF: ("mem_update",),
                   SiLUMemory: ("mem_update",), nn.Conv2d: ("Snn_Conv2d", "Conv2d"),
                   nn.BatchNorm2d: ("BatchNorm3d1", "BatchNorm3d2", "BatchNorm3d"),
                   nn.MaxPool2d: ("MaxPool3d",), nn.Identity: ("MaxPool3d",)}


def _ints(cfg, layer, args, n, expected):
    if len(args) < n or not all(isinstance(a, int) and not isinstance(a, bool) for a in args[:n]):
        raise bad_args(cfg, layer, expected)


def build_network(cfg: AuthorsConfig, T: int = AUTHORS_T, in_channels: int = 3) -> LayerNetwork:
    """The network of ``cfg`` (yolo.py parse_model, 264-311, module by module)."""
    gw, nc = cfg.width, cfg.nc
    ch, strides, layers = [], [], []
    head = None
    for layer in cfg.layers:
        i, name, args = layer.index, layer.module, list(layer.args)
        srcs = layer.inputs()
        where = cfg.where(i)
        c1 = ch[srcs[0]] if i > 0 else in_channels
        s_in = strides[srcs[0]] if i > 0 else 1
        stride = s_in
        if name in _CHANNEL_RULE:                                      # yolo.py:280-287
            _ints(cfg, layer, args, 1, "[channels, ...]")
            c2 = make_divisible(args[0] * gw, 8)
            rest = args[1:]
            if name == "Conv" and T != 1:
                raise NeurosimError(f"{where} uses the authors' Conv, whose mem_update(act=True) keeps a membrane with "
                                    f"SiLU output across timesteps (mem = 0.25 mem (1 - SiLU(mem)) + x, common.py:69-73), "
                                    f"which no neurosim node computes; it is supported at T=1 only (got T={T})")
            if name in ("Conv", "Conv_1", "Conv_2"):
                _ints(cfg, layer, args, 3, "[channels, kernel, stride]")
                stride = s_in * rest[1]
                cls = Conv if name == "Conv" else Conv_1
                make = lambda cls=cls, rest=rest, c1=c1, c2=c2: cls(c1, c2, *rest)  # noqa: E731
            elif name == "BasicBlock_1":
                s = rest[0] if rest else 1
                stride = s_in * s
                make = lambda rest=rest, c1=c1, c2=c2: BasicBlock_1(c1, c2, *rest)  # noqa: E731
            else:
                k = rest[0] if rest else 3
                s = rest[1] if len(rest) > 1 else 1
                stride = s_in * s
                cls = {"BasicBlock_2": BasicBlock_2, "Concat_res2": Concat_res2, "BasicBlock_ms": BasicBlock_ms,
                       "ConcatBlock_ms": ConcatBlock_ms}[name]
                n_args = 2 if name == "BasicBlock_2" else 3          # (k_size, stride[, e])
                if len(rest) > n_args:
                    raise bad_args(cfg, layer, f"at most {n_args + 1} arguments for {name}")
                make = lambda cls=cls, rest=rest, c1=c1, c2=c2: cls(c1, c2, *rest, where=f"{where} ({name})")  # noqa: E731
        elif name == "Sample":                                         # common.py:230-248; yolo.py:298-299
            size, scale = (args + [None, None])[:2]
            mode = args[2] if len(args) > 2 else "nearset"
            if size is not None or mode != "nearest" or isinstance(scale, bool) or not isinstance(scale, int) or scale < 1:
                raise NeurosimError(f"{where} is Sample{tuple(args)!r}; supported: Sample(None, s, 'nearest') with an "
                                    f"integer s")
            c2 = c1
            stride = s_in // scale if s_in % scale == 0 else 0
            make = lambda scale=scale: Sample(scale)  # noqa: E731
        elif name == "Concat":                                         # yolo.py:290-291
            if (args or [1])[0] != 2:
                raise NeurosimError(f"{where} concatenates along dimension {args[0] if args else 1}; only dimension 2 "
                                    f"(channels of [T, B, C, H, W]) is supported")
            c2 = sum(ch[j] for j in srcs)
            if len({strides[j] for j in srcs}) != 1:
                raise NeurosimError(f"{where} concatenates maps of strides {[strides[j] for j in srcs]}")
            make = lambda: Concat(2)  # noqa: E731
        elif name == "Detect":                                         # yolo.py:292-295
            if i != len(cfg.layers) - 1:
                raise NeurosimError(f"{where} is Detect, which must be the last layer")
            if len(args) < 2 or not isinstance(args[0], int):
                raise bad_args(cfg, layer, "[nc, anchors]")
            anchors = args[1]
            if isinstance(anchors, int):
                raise NeurosimError(f"{where} gives Detect a number of anchors ({anchors}) instead of the anchor sizes; "
                                    f"the anchors must come from the checkpoint, which the config cannot know")
            if not isinstance(anchors, list) or len(anchors) != len(srcs) or \
                    len({len(a) for a in anchors}) != 1 or any(len(a) % 2 or not a for a in anchors):
                raise bad_args(cfg, layer, "[nc, anchors] with one list of w, h pairs per input level")
            levels = [ch[j] for j in srcs]
            head = dict(nc=args[0], strides=[strides[j] for j in srcs], na=len(anchors[0]) // 2)
            c2 = None
            make = lambda: Detect(args[0], anchors, levels)  # noqa: E731
        else:
            raise unsupported_module(cfg, layer, SUPPORTED)
        layers.append(repeated(make, layer.repeats, c2 == c1 and stride == s_in, where, name, TimeSeq))
        ch.append(c2)
        strides.append(stride)
    if head is None:
        raise NeurosimError(f"the last layer of {cfg.name} is '{cfg.layers[-1].module}'; an EMS-YOLO config ends with Detect")
    if any(s <= 0 for s in head["strides"]):
        raise NeurosimError(f"{cfg.name}: the head's input strides {head['strides']} are not whole numbers of pixels")
    net = LayerNetwork(layers, cfg.layers, "emsyolo")
    det = layers[-1]
    det.anchors /= torch.tensor(head["strides"], dtype=torch.float32).view(-1, 1, 1)   # yolo.py:119
    strides_t = tuple(head["strides"])

    def anchors_px():
        a = det.anchors.detach().double() * torch.tensor(strides_t, dtype=torch.float64).view(-1, 1, 1)
        return tuple(tuple((float(w), float(h)) for w, h in level) for level in a.tolist())

    net.head_spec_fields = dict(type="yolov3", num_classes=head["nc"], strides=strides_t, anchors=anchors_px)
    net.meta = dict(max_stride=max(strides_t), in_channels=in_channels, T=T)
    return net


def infer_nc(state_dict, cfg: AuthorsConfig) -> int | None:
    last = len(cfg.layers) - 1
    w, a = state_dict.get(f"model.{last}.m.0.weight"), state_dict.get(f"model.{last}.anchors")
    if w is None or a is None or a.dim() != 3 or w.shape[0] % a.shape[1]:
        return None
    return int(w.shape[0] // a.shape[1] - 5)


def check_pickled_neurons(net: LayerNetwork, ckpt: Checkpoint) -> None:
    """mem_update(act=False) where we have a LIF, mem_update(act=True) where we have SiLUMemory."""
    if not ckpt.pickled:
        return
    for path, m in net.named_modules():
        if isinstance(m, (LIF, SiLUMemory)):
            info = ckpt.modules.get(path)
            if info is None:
                raise CheckpointError(f"{ckpt.source} has no neuron at {path}, where the config places one")
            want = isinstance(m, SiLUMemory)
            if info.class_name != "mem_update" or bool(info.attrs.get("act")) != want:
                raise CheckpointError(f"{ckpt.source} has a {info.cls} (act={info.attrs.get('act')}) at {path}, where "
                                      f"the config gives mem_update(act={want})")


def build(cfg, nc=None, T=AUTHORS_T, in_channels=3, ckpt: Checkpoint | None = None):
    """Config (path or :class:`AuthorsConfig`) -> LayerNetwork (eval mode) with ``ckpt`` loaded, if given."""
    from .checkpoint import load_into

    if not isinstance(cfg, AuthorsConfig):
        cfg = load_config(cfg, names=("nc", "anchors"))
    if nc is None and ckpt is not None:
        nc = infer_nc(ckpt.state_dict, cfg)
    if nc is not None and nc != cfg.nc:
        cfg = load_config(cfg.path, nc=nc, scale=cfg.scale, names=("nc", "anchors"))
    net = build_network(cfg, T, in_channels)
    if ckpt is not None:
        check_pickled_layers(cfg, ckpt)
        check_pickled_classes(net, ckpt, PICKLED_CLASSES)
        check_pickled_neurons(net, ckpt)
        load_into(net, ckpt.state_dict, ckpt.source,
                  hint=f"check that {cfg.name} with nc={cfg.nc} and {in_channels} input channels is the checkpoint's "
                       f"config (--cfg, --nc, --input-shape)")
        apply_pickled_eps(net, ckpt)
    net.meta.update(cfg=str(cfg.path), cfg_name=cfg.name, nc=cfg.nc)
    return net.eval()
