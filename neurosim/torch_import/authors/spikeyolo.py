"""SpikeYOLO rebuilt from the authors' YAML, with the authors' state_dict key names.

Written from reading BICLab/SpikeYOLO at commit 309ef5e590ff1a955b4a6fc5201897e8647f24ca
(``ultralytics/nn/modules/yolo_spikformer.py``, "ys.py" below; ``ultralytics/nn/tasks.py``);
no code of theirs is used. Every module here has the attribute names of the authors' module
it stands for, so ``state_dict()`` keys and shapes equal theirs (``model.<layer>[.<repeat>]...``),
and its ``forward`` over [T, B, C, H, W] computes their eval-mode forward:

* ``mem_update`` (ys.py:30-55) -> :class:`neurosim.models.neurons.ILIF` (IR ``ilif``):
  ``mem_0 = x_0`` (ys.py:49), ``mem_t = (mem_{t-1} - s_{t-1}) * 0.25 + x_t`` (ys.py:46, decay
  ys.py:25), ``s_t = round(clamp(mem_t, 0, D))`` (``MultiSpike4`` ys.py:36 and :86, ``torch.round``
  = half to even). With ``V = H - S`` this is ILIF(decay 0.25, decay_input False, max_spike D);
  the reset (``- s``) acts at the next step before the decay. ``MultiSpike8/2/1`` (ys.py:57-140)
  are D = 8/2/1; a pickled checkpoint tells which one each neuron uses.
* Gen1 model (``SpikeYOLO_for_Gen1/``, same modules and YAML layout): every ``mem_update`` is
  SpikingJelly's ``MultiStepLIFNode(detach_reset=True, v_reset=None)`` (e.g. Gen1 ys.py:399)
  of the bundled, modified spikingjelly-0.0.0.0.12: ``v = v + (x - v) / tau`` with tau = 2
  (clock_driven/neuron.py:538 and :647), spike ``quant4(v)`` = ``round(clamp(v, 0, 4))``
  (neuron.py:130 and surrogate.py:620-621, :486-492; no threshold subtracted), soft reset
  ``v = v - spike`` (neuron.py:156) -> ILIF(decay 0.5, decay_input True, max_spike 4).
* BatchNorm: every ``nn.BatchNorm2d`` of the authors' model gets ``eps = 1e-3`` from
  ``initialize_weights`` (ultralytics/utils/torch_utils.py:307-309, called at tasks.py:258); ours
  too (a pickled checkpoint's own ``eps`` is used when present). eps is not in a state_dict.
* ``BNAndPadLayer`` (ys.py:248-284) pads a BN output with the BN's value at zero input
  (``bias - mean * weight / sqrt(var + eps)``, ys.py:268-283); that is exactly BN applied to the
  zero-padded input. In SepRepConv a 1x1 conv follows; in eval mode we compute the pair as one
  padded conv with the BN folded in (exact; see ``_padded_bn_conv``), since the importer
  converts convolutions but not ``F.pad``.

The network returns the head's raw per-level outputs ``cat(cv2(x), cv3(x))`` per timestep,
[T, B, 4 reg_max + nc, H_l, W_l] (ys.py:209); the authors then average over T (ys.py:210), the
decoder does the same. DFL (ys.py:161-181, a fixed 1x1 conv with weights 0..15) stays in the
state_dict for strict loading but is decoder-side (HeadSpec type ``yolov8``, reg_max 16).
"""
from __future__ import annotations

import torch
from torch import nn

from neurosim.errors import NeurosimError
from neurosim.models.neurons import ILIF

from .checkpoint import Checkpoint, CheckpointError
from .common import (Concat, InputStage, LayerNetwork, MultiStep, TimeUpsample, _Head, apply_pickled_eps,
                     check_pickled_classes, check_pickled_layers, repeated, time_flat)
from .config import AuthorsConfig, bad_args, load_config, make_divisible, unsupported_module

COMMIT = "309ef5e590ff1a955b4a6fc5201897e8647f24ca"
REPO = "BICLab/SpikeYOLO"
BN_EPS, BN_MOMENTUM = 1e-3, 0.03
REG_MAX = 16           # ys.py:196
VARIANTS = ("coco", "gen1")


def _bn(c):
    return nn.BatchNorm2d(c, eps=BN_EPS, momentum=BN_MOMENTUM)


def autopad(k, p=None, d=1):
    """'same' padding (ys.py:143-149)."""
    if d > 1:
        k = d * (k - 1) + 1
    return k // 2 if p is None else p


class _Neurons:
    """Factory of the family's neuron (set once per build)."""

    def __init__(self, variant="coco", D=4):
        if variant == "coco":
            self.params = dict(max_spike=D, decay=0.25, decay_input=False)
        else:
            self.params = dict(max_spike=4, decay=0.5, decay_input=True)

    def __call__(self):
        return ILIF(**self.params)


# --------------------------------------------------------------------------- blocks (authors' names)


class MSDownSampling(MultiStep):
    """MS_DownSampling (ys.py:524-547): (encode_lif ->) encode_conv (bias) -> encode_bn."""

    def __init__(self, neuron, in_channels, embed_dims, kernel_size=3, stride=2, padding=1, first_layer=True):
        super().__init__()
        self.encode_conv = nn.Conv2d(in_channels, embed_dims, kernel_size, stride, padding)
        self.encode_bn = _bn(embed_dims)
        if not first_layer:
            self.encode_lif = neuron()

    def forward(self, x):
        if hasattr(self, "encode_lif"):
            x = self.encode_lif(x)
        return time_flat(lambda f: self.encode_bn(self.encode_conv(f)), x)


class BNAndPad(nn.Module):
    """BNAndPadLayer (ys.py:248-284), per frame: ``bn(zero_pad(x))`` (see the module docstring)."""

    def __init__(self, pad_pixels, num_features):
        super().__init__()
        self.bn = _bn(num_features)
        self.pad = nn.ZeroPad2d(pad_pixels) if pad_pixels > 0 else None

    def forward(self, x):
        return self.bn(self.pad(x) if self.pad is not None else x)


class RepConv(nn.Module):
    """RepConv (ys.py:306-331), per frame: 1x1 -> BNAndPad -> kxk depthwise (no padding) -> 1x1 -> BN.

    The padding is put in the first 1x1 conv (no bias, so its border is 0) and the BN after it
    turns the border into BN(0), the authors' pad value; ``body.1`` is then a plain BN.
    """

    def __init__(self, in_channel, out_channel, kernel_size=3, group=1):
        super().__init__()
        padding = (kernel_size - 1) // 2
        self.body = nn.Sequential(
            nn.Conv2d(in_channel, in_channel, 1, 1, padding, bias=False, groups=group),
            BNAndPad(0, in_channel),
            nn.Sequential(nn.Conv2d(in_channel, in_channel, kernel_size, 1, 0, groups=in_channel, bias=False),
                          nn.Conv2d(in_channel, out_channel, 1, 1, 0, groups=group, bias=False),
                          _bn(out_channel)))

    def forward(self, x):
        return self.body(x)


class SepRepConv(nn.Module):
    """SepRepConv (ys.py:334-357), per frame: BNAndPad -> 1x1 -> kxk depthwise (no padding)."""

    def __init__(self, in_channel, out_channel, kernel_size=3, group=1):
        super().__init__()
        padding = (kernel_size - 1) // 2
        self.body = nn.Sequential(
            BNAndPad(padding, in_channel),
            nn.Sequential(nn.Conv2d(in_channel, out_channel, 1, 1, 0, groups=group, bias=False),
                          nn.Conv2d(out_channel, out_channel, kernel_size, 1, 0, groups=out_channel, bias=False)))

    def forward(self, x):
        if self.training:
            return self.body(x)
        return self.body[1][1](_padded_bn_conv(x, self.body[0], self.body[1][0]))


def _padded_bn_conv(x, bn_and_pad: BNAndPad, conv: nn.Conv2d):
    """Eval-mode ``conv(bn(zero_pad(x)))`` for a 1x1 ``conv`` without bias, as one padded conv:

    with ``a = gamma / sqrt(var + eps)`` and ``c = beta - mean * a`` (BN(0), the border value),
    ``W' = W diag(a)`` and ``b' = W c`` (grouped), ``conv'(x) = W' zero_pad(x) + b'`` equals
    ``W (a * x + c)`` inside and ``W c`` on the border, as the authors' BNAndPadLayer gives.
    The importer converts a conv but not a pad."""
    bn, pad = bn_and_pad.bn, bn_and_pad.pad
    a = bn.weight / torch.sqrt(bn.running_var + bn.eps)
    c = bn.bias - bn.running_mean * a
    groups = conv.groups
    weight = conv.weight * a.view(groups, -1)[torch.arange(conv.out_channels) // (conv.out_channels // groups)] \
        .view(conv.out_channels, -1, 1, 1)
    bias = nn.functional.conv2d(c.view(1, -1, 1, 1), conv.weight, groups=groups).view(-1)
    padding = pad.padding[0] if pad is not None else 0
    return nn.functional.conv2d(x, weight, bias, padding=padding, groups=groups)


class SepConv(MultiStep):
    """SepConv (ys.py:401-441): lif1 -> pwconv1 -> bn1 -> lif2 -> dwconv2 -> bn2 -> lif3 -> pwconv3 -> bn3."""

    def __init__(self, neuron, dim, expansion_ratio=2, kernel_size=3):
        super().__init__()
        med = int(expansion_ratio * dim)
        padding = int((kernel_size - 1) / 2)
        self.pwconv1 = nn.Conv2d(dim, med, kernel_size=1, stride=1, bias=False)
        self.dwconv2 = nn.Conv2d(med, med, kernel_size=kernel_size, padding=padding, groups=med, bias=False)
        self.pwconv3 = SepRepConv(med, dim)
        self.bn1, self.bn2, self.bn3 = _bn(med), _bn(med), _bn(dim)
        self.lif1, self.lif2, self.lif3 = neuron(), neuron(), neuron()

    def forward(self, x):
        x = time_flat(lambda f: self.bn1(self.pwconv1(f)), self.lif1(x))
        x = time_flat(lambda f: self.bn2(self.dwconv2(f)), self.lif2(x))
        return time_flat(lambda f: self.bn3(self.pwconv3(f)), self.lif3(x))


class MSConvBlock(MultiStep):
    """MS_ConvBlock (ys.py:448-481): ``x = Conv(x) + x; x = x + bn2(conv2(lif2(bn1(conv1(lif1(x))))))``."""

    def __init__(self, neuron, input_dim, mlp_ratio=4.0, sep_kernel_size=7, full=False):
        super().__init__()
        hidden = int(input_dim * mlp_ratio)
        self.Conv = SepConv(neuron, dim=input_dim, kernel_size=sep_kernel_size)
        self.lif1, self.lif2 = neuron(), neuron()
        self.conv1 = RepConv(input_dim, hidden)
        self.bn1 = _bn(hidden)
        self.conv2 = RepConv(hidden, input_dim)
        self.bn2 = _bn(input_dim)

    def forward(self, x):
        x = self.Conv(x) + x
        y = time_flat(lambda f: self.bn1(self.conv1(f)), self.lif1(x))
        y = time_flat(lambda f: self.bn2(self.conv2(f)), self.lif2(y))
        return x + y


class MSStandardConv(MultiStep):
    """MS_StandardConv (ys.py:509-522): lif -> conv (no bias, 'same' padding) -> bn."""

    def __init__(self, neuron, c1, c2, k=1, s=1, p=None, g=1, d=1):
        super().__init__()
        self.conv = nn.Conv2d(c1, c2, k, s, autopad(k, p, d), groups=g, dilation=d, bias=False)
        self.bn = _bn(c2)
        self.lif = neuron()

    def forward(self, x):
        return time_flat(lambda f: self.bn(self.conv(f)), self.lif(x))


class MSAllConvBlock(MultiStep):
    """MS_AllConvBlock (ys.py:484-507): ``x = Conv(x) + x; x = x + conv2(conv1(x))`` (3x3 MS_StandardConvs)."""

    def __init__(self, neuron, input_dim, mlp_ratio=4.0, sep_kernel_size=7, group=False):
        super().__init__()
        hidden = int(input_dim * mlp_ratio)
        self.Conv = SepConv(neuron, dim=input_dim, kernel_size=sep_kernel_size)
        self.conv1 = MSStandardConv(neuron, input_dim, hidden, 3)
        self.conv2 = MSStandardConv(neuron, hidden, input_dim, 3)

    def forward(self, x):
        x = self.Conv(x) + x
        return x + self.conv2(self.conv1(x))


class SpikeConv(MultiStep):
    """SpikeConv (ys.py:568-586): lif -> conv (no bias) -> bn (attribute order conv, lif, bn)."""

    def __init__(self, neuron, c1, c2, k=1, s=1, p=None, g=1, d=1):
        super().__init__()
        self.conv = nn.Conv2d(c1, c2, k, s, autopad(k, p, d), groups=g, dilation=d, bias=False)
        self.lif = neuron()
        self.bn = _bn(c2)

    def forward(self, x):
        return time_flat(lambda f: self.bn(self.conv(f)), self.lif(x))


class SpikeConvWithoutBN(MultiStep):
    """SpikeConvWithoutBN (ys.py:588-605): lif -> conv with bias."""

    def __init__(self, neuron, c1, c2, k=1, s=1, p=None, g=1, d=1):
        super().__init__()
        self.conv = nn.Conv2d(c1, c2, k, s, autopad(k, p, d), groups=g, dilation=d, bias=True)
        self.lif = neuron()

    def forward(self, x):
        return time_flat(self.conv, self.lif(x))


class SpikeSPPF(MultiStep):
    """SpikeSPPF (ys.py:607-624): cv1 -> three kxk stride-1 max-pools (on BN outputs) -> cat -> cv2."""

    def __init__(self, neuron, c1, c2, k=5):
        super().__init__()
        c_ = c1 // 2
        self.cv1 = SpikeConv(neuron, c1, c_, 1, 1)
        self.cv2 = SpikeConv(neuron, c_ * 4, c2, 1, 1)
        self.m = nn.MaxPool2d(kernel_size=k, stride=1, padding=k // 2)

    def forward(self, x):
        x = self.cv1(x)
        y1 = time_flat(self.m, x)
        y2 = time_flat(self.m, y1)
        y3 = time_flat(self.m, y2)
        return self.cv2(torch.cat((x, y1, y2, y3), 2))


class TimeSequential(nn.Sequential, MultiStep):
    """nn.Sequential of multi-step blocks (a repeated layer, or a head branch)."""


class SpikeDFL(nn.Module):
    """SpikeDFL (ys.py:161-181): a fixed 1x1 conv with weights 0 .. c1-1; kept for the keys only."""

    def __init__(self, c1=16):
        super().__init__()
        self.conv = nn.Conv2d(c1, 1, 1, bias=False).requires_grad_(False)
        self.conv.weight.data[:] = torch.arange(c1, dtype=self.conv.weight.dtype).view(1, c1, 1, 1)
        self.c1 = c1


class SpikeDetect(_Head):
    """SpikeDetect (ys.py:183-235) up to the raw maps: per level ``cat(cv2[i](x), cv3[i](x))``
    along channels, per timestep (box logits 4 reg_max first, then nc class logits)."""

    def __init__(self, neuron, nc=80, ch=()):
        super().__init__()
        self.nc, self.nl, self.reg_max = nc, len(ch), REG_MAX
        c2, c3 = max((16, ch[0] // 4, self.reg_max * 4)), max(ch[0], min(self.nc, 100))   # ys.py:199
        self.cv2 = nn.ModuleList(TimeSequential(SpikeConv(neuron, x, c2, 3), SpikeConv(neuron, c2, c2, 3),
                                                SpikeConvWithoutBN(neuron, c2, 4 * self.reg_max, 1)) for x in ch)
        self.cv3 = nn.ModuleList(TimeSequential(SpikeConv(neuron, x, c3, 3), SpikeConv(neuron, c3, c3, 3),
                                                SpikeConvWithoutBN(neuron, c3, self.nc, 1)) for x in ch)
        self.dfl = SpikeDFL(self.reg_max)

    def forward(self, xs):
        return [torch.cat((self.cv2[i](x), self.cv3[i](x)), 2) for i, x in enumerate(xs)]


# --------------------------------------------------------------------------- the YAML -> network builder

SUPPORTED = ("MS_GetT", "MS_DownSampling", "MS_AllConvBlock", "MS_ConvBlock", "MS_StandardConv", "SpikeConv",
             "SpikeSPPF", "nn.Upsample", "Concat", "SpikeDetect")
# our module type -> the authors' class names a pickled checkpoint may hold at that path
PICKLED_CLASSES = {MSDownSampling: ("MS_DownSampling",), SepConv: ("SepConv",), MSConvBlock: ("MS_ConvBlock",),
                   MSAllConvBlock: ("MS_AllConvBlock",), MSStandardConv: ("MS_StandardConv",),
                   SpikeConv: ("SpikeConv",), SpikeConvWithoutBN: ("SpikeConvWithoutBN",), SpikeSPPF: ("SpikeSPPF",),
                   SpikeDetect: ("SpikeDetect",), RepConv: ("RepConv",), SepRepConv: ("SepRepConv",),
                   BNAndPad: ("BNAndPadLayer",), SpikeDFL: ("SpikeDFL",), nn.BatchNorm2d: ("BatchNorm2d",),
                   nn.Conv2d: ("Conv2d",), nn.MaxPool2d: ("MaxPool2d",)}


def _int_args(cfg, layer, args, n, expected):
    if len(args) < n or not all(isinstance(a, int) and not isinstance(a, bool) for a in args[:n]):
        raise bad_args(cfg, layer, expected)


def build_network(cfg: AuthorsConfig, variant: str = "coco", D: int = 4, in_channels: int = 3) -> LayerNetwork:
    """The network of ``cfg`` (tasks.py parse_model, 663-773, module by module)."""
    if variant not in VARIANTS:
        raise NeurosimError(f"SpikeYOLO variant must be one of {', '.join(VARIANTS)}, got {variant!r}")
    if isinstance(D, bool) or not isinstance(D, int) or D < 1:
        raise NeurosimError(f"D (the I-LIF's largest spike) must be a positive integer, got {D!r}")
    if variant == "gen1" and D != 4:
        raise NeurosimError(f"the Gen1 SpikeYOLO's neuron has D = 4 fixed (spikingjelly surrogate.py:492), got D = {D}")
    neuron = _Neurons(variant, D)
    width, max_ch, nc = cfg.width, cfg.max_channels, cfg.nc
    ch, strides, layers, T_yaml = [], [], [], None
    for layer in cfg.layers:
        i, name, args = layer.index, layer.module, list(layer.args)
        srcs = layer.inputs()
        c1 = ch[srcs[0]] if i > 0 else in_channels
        s_in = strides[srcs[0]] if i > 0 else 1
        stride = s_in
        if i == 0 and name != "MS_GetT":
            raise NeurosimError(f"{cfg.where(0)} is '{name}'; a SpikeYOLO config starts with MS_GetT (the "
                                f"timestep expansion)")
        if name == "MS_GetT":                                             # tasks.py:726-729, ys.py:549-557
            if i != 0:
                raise NeurosimError(f"{cfg.where(i)} uses MS_GetT, which is only supported as layer 0")
            _int_args(cfg, layer, args, 1, "[channels, T]")
            c2 = args[0]
            if c2 != in_channels:
                raise NeurosimError(f"{cfg.where(0)} (MS_GetT) declares {c2}-channel images, the input has {in_channels}")
            T_yaml = args[1] if len(args) > 1 else 4
            make = lambda: InputStage("MS_GetT")  # noqa: E731
        elif name == "MS_DownSampling":                                   # tasks.py:735-738
            _int_args(cfg, layer, args, 4, "[channels, kernel, stride, padding, first_layer]")
            c2 = int(args[0] * width)
            rest = args[1:]
            stride = s_in * rest[1]
            make = lambda: MSDownSampling(neuron, c1, c2, *rest)  # noqa: E731
        elif name in ("MS_ConvBlock", "MS_AllConvBlock"):                # tasks.py:740-748
            c2 = c1
            cls = MSConvBlock if name == "MS_ConvBlock" else MSAllConvBlock
            if args and not all(isinstance(a, (int, float)) and not isinstance(a, bool) for a in args[:2]):
                raise bad_args(cfg, layer, "[mlp_ratio, sep_kernel_size]")
            make = lambda cls=cls: cls(neuron, c1, *args)  # noqa: E731
        elif name == "MS_StandardConv":                                   # tasks.py:752-755
            _int_args(cfg, layer, args, 1, "[channels, kernel, stride]")
            c2 = min(int(args[0] * width), int(max_ch * width))
            rest = args[1:]
            stride = s_in * (rest[1] if len(rest) > 1 else 1)
            make = lambda: MSStandardConv(neuron, c1, c2, *rest)  # noqa: E731
        elif name in ("SpikeConv", "SpikeSPPF"):                          # tasks.py:695-702
            _int_args(cfg, layer, args, 1, "[channels, ...]")
            c2 = args[0] if args[0] == nc else make_divisible(min(args[0], max_ch) * width, 8)
            rest = args[1:]
            cls = SpikeConv if name == "SpikeConv" else SpikeSPPF
            if name == "SpikeConv":
                stride = s_in * (rest[1] if len(rest) > 1 else 1)
            make = lambda cls=cls: cls(neuron, c1, c2, *rest)  # noqa: E731
        elif name == "nn.Upsample":                                       # tasks.py:688 and :759-760
            size, scale = (args + [None, None])[:2]
            mode = args[2] if len(args) > 2 else "nearest"
            factor = _upsample_factor(scale)
            if size is not None or mode != "nearest" or factor is None:
                raise NeurosimError(f"{cfg.where(i)} is nn.Upsample{tuple(args)!r}; supported: nearest upsampling by an "
                                    f"integer factor on H and W (scale_factor (1, s, s) or s)")
            c2 = c1
            stride = s_in // factor if s_in % factor == 0 else 0
            make = lambda: TimeUpsample(factor)  # noqa: E731
        elif name == "Concat":                                            # tasks.py:717-718
            if (args or [1])[0] != 2:
                raise NeurosimError(f"{cfg.where(i)} concatenates along dimension {args[0] if args else 1}; only "
                                    f"dimension 2 (channels of [T, B, C, H, W]) is supported")
            c2 = sum(ch[j] for j in srcs)
            if len({strides[j] for j in srcs}) != 1:
                raise NeurosimError(f"{cfg.where(i)} concatenates maps of strides {[strides[j] for j in srcs]}")
            make = lambda: Concat(2)  # noqa: E731
        elif name == "SpikeDetect":                                       # tasks.py:719-720
            if i != len(cfg.layers) - 1:
                raise NeurosimError(f"{cfg.where(i)} is SpikeDetect, which must be the last layer")
            _int_args(cfg, layer, args, 1, "[nc]")
            head_nc = args[0]
            levels = [ch[j] for j in srcs]
            head_strides = [strides[j] for j in srcs]
            c2 = None
            make = lambda: SpikeDetect(neuron, head_nc, levels)  # noqa: E731
        else:
            raise unsupported_module(cfg, layer, SUPPORTED)
        layers.append(repeated(make, layer.repeats, c2 == c1 and stride == s_in, cfg.where(i), name, TimeSequential))
        ch.append(c2)
        strides.append(stride)
    if not isinstance(layers[-1], SpikeDetect):
        raise NeurosimError(f"the last layer of {cfg.name} is '{cfg.layers[-1].module}'; a SpikeYOLO config ends "
                            f"with SpikeDetect")
    if any(s <= 0 for s in head_strides):
        raise NeurosimError(f"{cfg.name}: the head's input strides {head_strides} are not whole numbers of pixels")
    net = LayerNetwork(layers, cfg.layers, "spikeyolo")
    net.head_spec_fields = dict(type="yolov8", num_classes=head_nc, strides=tuple(head_strides), reg_max=REG_MAX)
    net.meta = dict(T_yaml=T_yaml, variant=variant, D=neuron.params["max_spike"], neuron=dict(neuron.params),
                    max_stride=max(head_strides), in_channels=in_channels)
    return net


def _upsample_factor(scale):
    if isinstance(scale, int) and not isinstance(scale, bool) and scale >= 1:
        return scale
    if isinstance(scale, (tuple, list)) and len(scale) == 3 and scale[0] == 1 and scale[1] == scale[2] \
            and float(scale[1]).is_integer() and scale[1] >= 1:
        return int(scale[1])
    if isinstance(scale, float) and scale.is_integer() and scale >= 1:
        return int(scale)
    return None


# --------------------------------------------------------------------------- checkpoint checks


def pickled_neurons(ckpt: Checkpoint, net: LayerNetwork) -> tuple[str | None, int | None]:
    """(variant, D) that the pickled neurons at our neurons' paths say; None where not pickled.

    A ``mem_update`` with a ``MultiSpike<D>`` ``qtrick`` is the COCO neuron with that D; a
    ``MultiStepLIFNode`` is the Gen1 neuron, accepted only with tau 2, decay_input True and
    v_reset None. Anything else is refused.
    """
    if not ckpt.pickled:
        return None, None
    variants, Ds = set(), set()
    for path, m in net.named_modules():
        if not isinstance(m, ILIF):
            continue
        info = ckpt.modules.get(path)
        if info is None:
            raise CheckpointError(f"{ckpt.source} has no neuron at {path}, where the config places one")
        if info.class_name == "mem_update":
            q = ckpt.modules.get(f"{path}.qtrick")
            qname = q.class_name if q is not None else "?"
            if not qname.startswith("MultiSpike") or not qname[10:].isdigit():
                raise CheckpointError(f"{ckpt.source} has a mem_update at {path} whose quantizer is {qname}; supported: "
                                      f"MultiSpike<D> (round(clamp(mem, 0, D)))")
            variants.add("coco")
            Ds.add(int(qname[10:]))
        elif info.class_name == "MultiStepLIFNode":
            a = info.attrs
            if a.get("tau") != 2.0 or a.get("decay_input") is not True or a.get("v_reset", "?") is not None:
                raise CheckpointError(f"{ckpt.source} has a MultiStepLIFNode at {path} with tau={a.get('tau')}, "
                                      f"decay_input={a.get('decay_input')}, v_reset={a.get('v_reset', '?')}; supported: "
                                      f"the Gen1 model's tau=2.0, decay_input=True, v_reset=None")
            variants.add("gen1")
            Ds.add(4)
        else:
            raise CheckpointError(f"{ckpt.source} has a {info.cls} at {path}, where SpikeYOLO has a neuron; supported: "
                                  f"mem_update (COCO) and spikingjelly MultiStepLIFNode (Gen1)")
    if len(variants) > 1 or len(Ds) > 1:
        raise CheckpointError(f"{ckpt.source} mixes neurons ({', '.join(sorted(variants))}; D {sorted(Ds)}); one kind "
                              f"per network is supported")
    return (variants.pop() if variants else None), (Ds.pop() if Ds else None)


def infer_nc(state_dict, cfg: AuthorsConfig) -> int | None:
    key = f"model.{len(cfg.layers) - 1}.cv3.0.2.conv.weight"
    t = state_dict.get(key)
    return int(t.shape[0]) if t is not None and t.dim() == 4 else None


def check_dfl(net: LayerNetwork, what: str) -> None:
    """The decoder's DFL is the expectation over bins 0..15: the checkpoint's DFL weights must be that."""
    import torch

    w = net.model[-1].dfl.conv.weight.detach().flatten().double()
    if not torch.equal(w, torch.arange(w.numel(), dtype=torch.float64)):
        raise CheckpointError(f"{what}: the DFL weights at model.{len(net.model) - 1}.dfl.conv.weight are not 0..{w.numel() - 1}, "
                              f"which the yolov8 decoder assumes")


def build(cfg, nc=None, D=None, variant=None, in_channels=3, ckpt: Checkpoint | None = None):
    """Config (path or :class:`AuthorsConfig`) -> LayerNetwork (eval mode) with ``ckpt`` loaded, if given.

    ``nc`` None: read from the checkpoint's head (else the config's). ``D``/``variant`` None: what
    the pickled neurons say, else 4 / ``"coco"``; given values that contradict a pickle raise.
    """
    from .checkpoint import load_into

    if not isinstance(cfg, AuthorsConfig):
        cfg = load_config(cfg)
    if nc is None and ckpt is not None:
        nc = infer_nc(ckpt.state_dict, cfg)
    if nc is not None and nc != cfg.nc:
        cfg = load_config(cfg.path, nc=nc, scale=cfg.scale)
    net = build_network(cfg, variant or "coco", 4 if D is None else D, in_channels)
    if ckpt is not None:
        p_variant, p_D = pickled_neurons(ckpt, net)
        for given, found, what in ((variant, p_variant, "variant"), (D, p_D, "D")):
            if given is not None and found is not None and given != found:
                raise CheckpointError(f"{ckpt.source} holds {what} {found!r} neurons, but {what} {given!r} was asked for")
        if (p_variant or "coco") != (variant or "coco") or (D is None and p_D not in (None, 4)):
            net = build_network(cfg, p_variant or variant or "coco", p_D if p_D is not None else 4, in_channels)
        check_pickled_layers(cfg, ckpt)
        check_pickled_classes(net, ckpt, PICKLED_CLASSES)
        scale = f" at scale '{cfg.scale}'" if cfg.scale else ""
        load_into(net, ckpt.state_dict, ckpt.source,
                  hint=f"check that {cfg.name}{scale} with nc={cfg.nc} and {in_channels} input channels is the "
                       f"checkpoint's config (--cfg, --nc, --input-shape)")
        apply_pickled_eps(net, ckpt)
        check_dfl(net, ckpt.source)
    net.meta.update(cfg=str(cfg.path), cfg_name=cfg.name, scale=cfg.scale, nc=cfg.nc)
    return net.eval()
