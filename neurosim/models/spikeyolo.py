"""SpikeYOLO (Luo, Yao et al., ECCV 2024): a YOLOv8-style spiking detector with integer LIF neurons.

Architecture after the authors' ``snn_yolov8.yaml`` and ``yolo_spikformer.py`` (reimplemented,
not copied). Every block works on [T, B, C, H, W] tensors; every convolution is
``neuron -> conv -> BN`` and every residual add is on real-valued (membrane) tensors.

Blocks
------
* :class:`MSDownSampling` - (neuron ->) conv (with bias) -> BN; the first one (7x7, stride 4)
  reads the raw image and has no neuron.
* :class:`SepConv` - neuron -> 1x1 (x2 expand) -> BN -> neuron -> 7x7 depthwise -> BN -> neuron
  -> :class:`SepRepConv` (BN-and-pad -> 1x1 -> 3x3 depthwise) -> BN.
* :class:`MSAllConvBlock` (SNN-Block-1) - ``x = SepConv(x) + x; x = x + conv2(conv1(x))`` with
  standard 3x3 :class:`MSStandardConv` (expansion ``mlp_ratio``).
* :class:`MSConvBlock` (SNN-Block-2) - as Block-1 but the 3x3 convs are :class:`RepConv`
  (1x1 -> BN-and-pad -> 3x3 depthwise -> 1x1 -> BN) followed by an extra BN.
* :class:`SpikeSPPF` - conv 1x1 (c -> c/2), three 5x5 stride-1 max-pools on the BN outputs,
  concat, conv 1x1.
* :class:`SpikeDetectHead` - per level a box branch (3x3, 3x3, neuron -> 1x1 with bias to
  ``4 * reg_max``) and a class branch (3x3, 3x3, neuron -> 1x1 with bias to ``nc``),
  concatenated along channels (box logits first).

"BN-and-pad" (the authors' ``BNAndPadLayer``) pads a BN output with the BN's value at zero
input, so the 3x3 depthwise conv (padding 0) that follows sees exactly what a zero-padded
input through the BN would give.

Export (``export(exporter, x, name) -> name``)
---------------------------------------------
BNs are folded into the convs in float64; weights are stored in the dtype of the module's
parameters (float64 for a ``.double()`` model, so the export is exact to rounding).
IR node names are the torch modules' qualified names (``backbone.2.0.sep.lif1`` ...), so
per-layer spike counts can be matched between torch hooks and the simulator's trace.

RepConv and SepRepConv are linear chains (1x1, per-channel affine, 3x3 depthwise, 1x1, affine)
whose padding is the BN-of-zero value. The algebra of merging them into **one 3x3 conv with zero
padding** is exact: the pad value ``c`` contributes exactly the constant
``sum_{u,v} K[m, u, v] c[m]`` that the merged bias carries, everywhere including the border.
So by default (``merge_repconv=True``) each is exported as one dense 3x3 conv (spike-driven:
its input is the neuron's spikes). With ``merge_repconv=False`` they are exported as the
authors' separate convs (1x1 without bias -> 3x3 depthwise with zero padding whose bias carries
the pad constant -> 1x1), equally exact; the depthwise conv then runs on analog values.

Head output
-----------
``SpikeYOLO.forward`` returns the per-level raw head outputs **averaged over T**
([B, 4*reg_max + nc, H_l, W_l]). In the IR the head outputs are per timestep; the average
over T happens outside the graph (the decoder averages the simulator's [B, T, ...] outputs
over T). DFL, softmax and sigmoid are not part of the network (decoder side).

Scales
------
``n``/``s``/``m``/``l`` follow the authors' yaml ([depth, width, max_channels]); for ``m`` and
``l`` the last neck block uses ``mlp_ratio`` 2 (the yaml's comment: "layer 25 should be changed
into [2, 7]"). ``tiny`` is ours: depth 0.17 (repeats 1/1/2/1 instead of 3/6/9/3 x depth),
width 0.125 (channels 16/32/64/128 at strides 4/8/16/32), max_channels 1024 (a cap of 256
would shrink the SPPF and neck below the backbone's 128 channels). It has 1.84 M parameters at
80 classes (1.57 M at 2 classes, the class branch is >= 80 channels wide as in the authors'
head); one SGD step on a batch of 16 at 128x128, T=1, takes about 0.45 s on 2 CPU threads.

Training note: as in the authors' BNAndPadLayer, the pad value uses the BN's running statistics
even in training mode (the padded interior uses batch statistics); in eval mode both agree.
"""
from __future__ import annotations

import math

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from .layers import ConvBN, bn_affine, export_neuron, fold_bns, time_flat
from .neurons import make_neuron

SCALES = {
    # name: (depth, width, max_channels, mlp ratio of the last neck block)
    "micro": (0.17, 0.0625, 1024, 1),
    "tiny": (0.17, 0.125, 1024, 1),
    "n": (0.33, 0.375, 1024, 1),
    "s": (0.33, 0.5, 1024, 1),
    "m": (0.5, 0.625, 7024, 2),
    "l": (0.5, 0.75, 1024, 2),
}
# Box-branch width where it departs from YOLOv8's max(16, c / 4, 4 reg_max): at the micro scale
# that rule would give the head a third of the parameters.
BOX_CHANNELS = {"micro": 32}


def make_divisible(x, divisor=8):
    return int(math.ceil(x / divisor) * divisor)


# --------------------------------------------------------------------------- export helpers


def _np_dtype(module: nn.Module):
    p = next(module.parameters(), None)
    return np.float64 if p is not None and p.dtype == torch.float64 else np.float32


def _conv_node(exporter, x, w, b, name, dtype, stride=1, padding=0, groups=1):
    return exporter.builder.conv2d(x, weight=w.numpy().astype(dtype),
                                   bias=None if b is None else b.numpy().astype(dtype),
                                   stride=stride, padding=padding, groups=groups, name=name)


def _export_convbn(m: ConvBN, exporter, x, name, extra_bns=()):
    """A ConvBN (plus extra BNs applied after it) folded in float64."""
    w, b = m.folded(extra_bns)
    return _conv_node(exporter, x, w, b, name, _np_dtype(m), m.conv.stride, m.conv.padding, m.conv.groups)


def _bn_pad(y, bn: nn.BatchNorm2d, pad: int):
    """The authors' BN-and-pad: pad a BN output with the BN's value at zero input (running stats)."""
    if pad <= 0:
        return y
    a = bn.weight / torch.sqrt(bn.running_var + bn.eps)
    value = (bn.bias - bn.running_mean * a).detach().view(1, -1, 1, 1)
    y = F.pad(y, [pad] * 4)
    h, w = y.shape[-2:]
    inner = torch.zeros(1, 1, h, w, dtype=torch.bool, device=y.device)
    inner[..., pad:h - pad, pad:w - pad] = True
    return torch.where(inner, y, value.to(y.dtype))


# --------------------------------------------------------------------------- blocks


class _ConvBNBias(ConvBN):
    """ConvBN whose conv also has a bias (the authors' MS_DownSampling)."""

    def __init__(self, cin, cout, k, stride, padding):
        super().__init__(cin, cout, k, stride, padding)
        self.conv = nn.Conv2d(cin, cout, k, stride, padding, bias=True)


class MSDownSampling(nn.Module):
    """(neuron ->) conv(k, stride, padding, bias) -> BN. ``first_layer``: no neuron (raw input)."""

    def __init__(self, cin, cout, k=3, stride=2, padding=1, first_layer=False, neuron=None):
        super().__init__()
        self.lif = None if first_layer else neuron()
        self.conv = _ConvBNBias(cin, cout, k, stride, padding)

    def forward(self, x):
        if self.lif is not None:
            x = self.lif(x)
        return self.conv(x)

    def export(self, exporter, x, name):
        if self.lif is not None:
            x = export_neuron(self.lif, exporter, x, f"{name}.lif")
        return _export_convbn(self.conv, exporter, x, f"{name}.conv")


class MSStandardConv(nn.Module):
    """neuron -> conv(k, stride, 'same' padding, no bias) -> BN (also the authors' SpikeConv)."""

    def __init__(self, cin, cout, k=1, stride=1, neuron=None):
        super().__init__()
        self.lif = neuron()
        self.conv = ConvBN(cin, cout, k, stride, k // 2)

    def forward(self, x):
        return self.conv(self.lif(x))

    def export(self, exporter, x, name):
        x = export_neuron(self.lif, exporter, x, f"{name}.lif")
        return _export_convbn(self.conv, exporter, x, f"{name}.conv")


class RepConv(nn.Module):
    """1x1 (cin -> cin) -> BN-and-pad -> 3x3 depthwise (no padding) -> 1x1 (cin -> cout) -> BN,
    per frame ([N, C, H, W]); re-parameterizable into one 3x3 conv (see the module docstring)."""

    def __init__(self, cin, cout, k=3):
        super().__init__()
        self.pad = (k - 1) // 2
        self.pw1 = nn.Conv2d(cin, cin, 1, bias=False)
        self.bn_pad = nn.BatchNorm2d(cin)
        self.dw = nn.Conv2d(cin, cin, k, 1, 0, groups=cin, bias=False)
        self.pw2 = nn.Conv2d(cin, cout, 1, bias=False)
        self.bn = nn.BatchNorm2d(cout)

    def forward(self, x):
        y = _bn_pad(self.bn_pad(self.pw1(x)), self.bn_pad, self.pad)
        return self.bn(self.pw2(self.dw(y)))

    def export(self, exporter, x, name, extra_bns=(), merge=True):
        dtype = _np_dtype(self)
        w1 = self.pw1.weight.detach().double()[:, :, 0, 0]          # [m, i]
        a, c = bn_affine(self.bn_pad)
        k = self.dw.weight.detach().double()[:, 0]                  # [m, u, v]
        w2 = self.pw2.weight.detach().double()[:, :, 0, 0]          # [o, m]
        bns = (self.bn, *extra_bns)
        if merge:
            w = torch.einsum("om,muv,mi->oiuv", w2, k, a[:, None] * w1)
            b = w2 @ (k.sum((1, 2)) * c)
            w, b = fold_bns(w, b, bns)
            return _conv_node(exporter, x, w, b, name, dtype, padding=self.pad)
        y = _conv_node(exporter, x, (a[:, None] * w1)[:, :, None, None], None, f"{name}.pw1", dtype)
        y = _conv_node(exporter, y, k[:, None], k.sum((1, 2)) * c, f"{name}.dw", dtype,
                       padding=self.pad, groups=k.shape[0])
        w, b = fold_bns(w2[:, :, None, None], torch.zeros(w2.shape[0], dtype=torch.float64), bns)
        return _conv_node(exporter, y, w, b, f"{name}.pw2", dtype)


class SepRepConv(nn.Module):
    """BN-and-pad -> 1x1 (cin -> cout) -> 3x3 depthwise (no padding), per frame; the last conv of
    SepConv. Re-parameterizable into one 3x3 conv."""

    def __init__(self, cin, cout, k=3):
        super().__init__()
        self.pad = (k - 1) // 2
        self.bn_pad = nn.BatchNorm2d(cin)
        self.pw = nn.Conv2d(cin, cout, 1, bias=False)
        self.dw = nn.Conv2d(cout, cout, k, 1, 0, groups=cout, bias=False)

    def forward(self, x):
        return self.dw(self.pw(_bn_pad(self.bn_pad(x), self.bn_pad, self.pad)))

    def export(self, exporter, x, name, extra_bns=(), merge=True):
        dtype = _np_dtype(self)
        a, c = bn_affine(self.bn_pad)
        w1 = self.pw.weight.detach().double()[:, :, 0, 0]           # [o, i]
        k = self.dw.weight.detach().double()[:, 0]                  # [o, u, v]
        if merge:
            w = k[:, None] * (w1 * a[None, :])[:, :, None, None]
            b = k.sum((1, 2)) * (w1 @ c)
            w, b = fold_bns(w, b, extra_bns)
            return _conv_node(exporter, x, w, b, name, dtype, padding=self.pad)
        y = _conv_node(exporter, x, (w1 * a[None, :])[:, :, None, None], None, f"{name}.pw", dtype)
        w, b = fold_bns(k[:, None], k.sum((1, 2)) * (w1 @ c), extra_bns)
        return _conv_node(exporter, y, w, b, f"{name}.dw", dtype, padding=self.pad, groups=k.shape[0])


class SepConv(nn.Module):
    """neuron -> 1x1 (dim -> 2 dim) -> BN -> neuron -> kxk depthwise -> BN -> neuron -> SepRepConv -> BN."""

    def __init__(self, dim, kernel_size=7, expansion=2, neuron=None):
        super().__init__()
        med = int(expansion * dim)
        self.lif1, self.lif2, self.lif3 = neuron(), neuron(), neuron()
        self.pw1 = ConvBN(dim, med, 1)
        self.dw = ConvBN(med, med, kernel_size, 1, kernel_size // 2, groups=med)
        self.pw3 = SepRepConv(med, dim)
        self.bn3 = nn.BatchNorm2d(dim)

    def forward(self, x):
        x = self.pw1(self.lif1(x))
        x = self.dw(self.lif2(x))
        return time_flat(lambda f: self.bn3(self.pw3(f)), self.lif3(x))

    def export(self, exporter, x, name, merge=True):
        x = export_neuron(self.lif1, exporter, x, f"{name}.lif1")
        x = _export_convbn(self.pw1, exporter, x, f"{name}.pw1")
        x = export_neuron(self.lif2, exporter, x, f"{name}.lif2")
        x = _export_convbn(self.dw, exporter, x, f"{name}.dw")
        x = export_neuron(self.lif3, exporter, x, f"{name}.lif3")
        return self.pw3.export(exporter, x, f"{name}.pw3", extra_bns=(self.bn3,), merge=merge)


class MSAllConvBlock(nn.Module):
    """SNN-Block-1: ``x = SepConv(x) + x; x = x + conv2(conv1(x))`` with standard 3x3 convs."""

    def __init__(self, dim, mlp_ratio=4, kernel_size=7, neuron=None):
        super().__init__()
        hidden = int(dim * mlp_ratio)
        self.sep = SepConv(dim, kernel_size, neuron=neuron)
        self.conv1 = MSStandardConv(dim, hidden, 3, neuron=neuron)
        self.conv2 = MSStandardConv(hidden, dim, 3, neuron=neuron)

    def forward(self, x):
        x = self.sep(x) + x
        return x + self.conv2(self.conv1(x))

    def export(self, exporter, x, name, merge=True):
        y = self.sep.export(exporter, x, f"{name}.sep", merge=merge)
        x = exporter.builder.add(y, x, name=f"{name}.add1")
        y = self.conv1.export(exporter, x, f"{name}.conv1")
        y = self.conv2.export(exporter, y, f"{name}.conv2")
        return exporter.builder.add(x, y, name=f"{name}.add2")


class MSConvBlock(nn.Module):
    """SNN-Block-2: ``x = SepConv(x) + x; x = x + BN(RepConv(neuron(BN(RepConv(neuron(x))))))``."""

    def __init__(self, dim, mlp_ratio=4, kernel_size=7, neuron=None):
        super().__init__()
        hidden = int(dim * mlp_ratio)
        self.sep = SepConv(dim, kernel_size, neuron=neuron)
        self.lif1, self.lif2 = neuron(), neuron()
        self.conv1 = RepConv(dim, hidden)
        self.bn1 = nn.BatchNorm2d(hidden)
        self.conv2 = RepConv(hidden, dim)
        self.bn2 = nn.BatchNorm2d(dim)

    def forward(self, x):
        x = self.sep(x) + x
        y = time_flat(lambda f: self.bn1(self.conv1(f)), self.lif1(x))
        y = time_flat(lambda f: self.bn2(self.conv2(f)), self.lif2(y))
        return x + y

    def export(self, exporter, x, name, merge=True):
        y = self.sep.export(exporter, x, f"{name}.sep", merge=merge)
        x = exporter.builder.add(y, x, name=f"{name}.add1")
        y = export_neuron(self.lif1, exporter, x, f"{name}.lif1")
        y = self.conv1.export(exporter, y, f"{name}.conv1", extra_bns=(self.bn1,), merge=merge)
        y = export_neuron(self.lif2, exporter, y, f"{name}.lif2")
        y = self.conv2.export(exporter, y, f"{name}.conv2", extra_bns=(self.bn2,), merge=merge)
        return exporter.builder.add(x, y, name=f"{name}.add2")


class SpikeSPPF(nn.Module):
    """conv 1x1 (c1 -> c1/2) -> three kxk stride-1 max-pools (on real values) -> concat -> conv 1x1."""

    def __init__(self, cin, cout, k=5, neuron=None):
        super().__init__()
        hidden = cin // 2
        self.k = k
        self.cv1 = MSStandardConv(cin, hidden, 1, neuron=neuron)
        self.cv2 = MSStandardConv(hidden * 4, cout, 1, neuron=neuron)

    def forward(self, x):
        x = self.cv1(x)
        pool = lambda f: F.max_pool2d(f, self.k, 1, self.k // 2)  # noqa: E731
        y1 = time_flat(pool, x)
        y2 = time_flat(pool, y1)
        y3 = time_flat(pool, y2)
        return self.cv2(torch.cat((x, y1, y2, y3), 2))

    def export(self, exporter, x, name, merge=True):
        x = self.cv1.export(exporter, x, f"{name}.cv1")
        ys = [x]
        for i in range(3):
            ys.append(exporter.builder.maxpool2d(ys[-1], kernel=self.k, stride=1, padding=self.k // 2,
                                                 name=f"{name}.pool{i + 1}"))
        x = exporter.builder.concat(*ys, name=f"{name}.cat")
        return self.cv2.export(exporter, x, f"{name}.cv2")


class SpikeConvOut(nn.Module):
    """neuron -> 1x1 conv with bias, no BN (the authors' SpikeConvWithoutBN)."""

    def __init__(self, cin, cout, neuron=None):
        super().__init__()
        self.lif = neuron()
        self.conv = ConvBN(cin, cout, 1, bn=False)

    def forward(self, x):
        return self.conv(self.lif(x))

    def export(self, exporter, x, name):
        x = export_neuron(self.lif, exporter, x, f"{name}.lif")
        return _export_convbn(self.conv, exporter, x, f"{name}.conv")


class _Seq(nn.Sequential):
    """Sequential of blocks over [T, B, ...] whose export chains the children's exports."""

    def export(self, exporter, x, name, merge=True):
        for i, m in enumerate(self):
            sub = f"{name}.{i}"
            x = m.export(exporter, x, sub, merge=merge) if isinstance(m, (MSAllConvBlock, MSConvBlock, SpikeSPPF)) \
                else m.export(exporter, x, sub)
        return x


class SpikeDetectHead(nn.Module):
    """Per level: box branch (3x3, 3x3, neuron -> 1x1 -> 4 reg_max) and class branch (3x3, 3x3,
    neuron -> 1x1 -> nc), concatenated along channels (box first). Output per timestep."""

    def __init__(self, nc, channels, reg_max=16, neuron=None, box_channels=None):
        super().__init__()
        self.nc, self.reg_max = nc, reg_max
        c2, c3 = max(16, channels[0] // 4, reg_max * 4), max(channels[0], min(nc, 100))
        if box_channels is not None:  # our micro scale narrows YOLOv8's 4 * reg_max box branch
            c2 = box_channels
        self.box = nn.ModuleList(_Seq(MSStandardConv(c, c2, 3, neuron=neuron), MSStandardConv(c2, c2, 3, neuron=neuron),
                                      SpikeConvOut(c2, 4 * reg_max, neuron=neuron)) for c in channels)
        self.cls = nn.ModuleList(_Seq(MSStandardConv(c, c3, 3, neuron=neuron), MSStandardConv(c3, c3, 3, neuron=neuron),
                                      SpikeConvOut(c3, nc, neuron=neuron)) for c in channels)

    def forward(self, xs):
        return [torch.cat((b(x), c(x)), 2) for x, b, c in zip(xs, self.box, self.cls)]

    def bias_init(self, strides=(8, 16, 32), image_size=640):
        """The authors' (YOLOv8) bias init: box logits 1.0, class logits for ~0.01 objects per cell."""
        for b, c, s in zip(self.box, self.cls, strides):
            b[-1].conv.conv.bias.data[:] = 1.0
            c[-1].conv.conv.bias.data[:] = math.log(5 / self.nc / (image_size / s) ** 2)

    def export(self, exporter, xs, name):
        outs = []
        for i, (x, b, c) in enumerate(zip(xs, self.box, self.cls)):
            yb = b.export(exporter, x, f"{name}.box.{i}")
            yc = c.export(exporter, x, f"{name}.cls.{i}")
            outs.append(exporter.builder.concat(yb, yc, name=f"{name}.out{i}"))
        return outs


# --------------------------------------------------------------------------- the detector


class SpikeYOLO(nn.Module):
    """SpikeYOLO at scale ``tiny``/``n``/``s``/``m``/``l``; ``neuron="relu"`` is the ANN twin.

    ``forward(x)`` takes [B, T, C, H, W] and returns, per level (strides 8, 16, 32), the raw head
    output averaged over T: [B, 4 * reg_max + nc, H / s, W / s] (box logits first). The exported
    IR graph emits the head outputs per timestep; average them over T outside the graph.
    """

    def __init__(self, scale="s", num_classes=80, T=1, D=4, neuron="ilif", in_channels=3, reg_max=16,
                 decay=0.25, decay_input=False, merge_repconv=True):
        super().__init__()
        if scale not in SCALES:
            raise ValueError(f"unknown scale '{scale}' (known: {', '.join(SCALES)})")
        depth, width, max_ch, last_mlp = SCALES[scale]
        self.scale, self.num_classes, self.T, self.reg_max = scale, num_classes, T, reg_max
        self.neuron_kind, self.merge_repconv = neuron, merge_repconv
        params = dict(max_spike=D, decay=decay, decay_input=decay_input) if neuron == "ilif" else {}
        self.neuron_params = params

        def nf():
            return make_neuron(neuron, **params)

        def reps(n):
            return max(round(n * depth), 1) if n > 1 else n

        c1, c2, c3, c4 = (int(c * width) for c in (128, 256, 512, 1024))
        c_sppf = make_divisible(min(1024, max_ch) * width, 8)

        def std_ch(c):
            return min(int(c * width), int(max_ch * width))

        # backbone (yaml layers 1-9)
        self.backbone = nn.ModuleList([
            MSDownSampling(in_channels, c1, 7, 4, 2, first_layer=True, neuron=nf),                    # 1 (/4)
            _Seq(*(MSAllConvBlock(c1, 4, 7, neuron=nf) for _ in range(reps(3)))),                      # 2
            MSDownSampling(c1, c2, 3, 2, 1, neuron=nf),                                                 # 3 (/8)
            _Seq(*(MSAllConvBlock(c2, 4, 7, neuron=nf) for _ in range(reps(6)))),                      # 4 -> P3
            MSDownSampling(c2, c3, 3, 2, 1, neuron=nf),                                                 # 5 (/16)
            _Seq(*(MSConvBlock(c3, 3, 7, neuron=nf) for _ in range(reps(9)))),                         # 6 -> P4
            MSDownSampling(c3, c4, 3, 2, 1, neuron=nf),                                                 # 7 (/32)
            _Seq(*(MSConvBlock(c4, 2, 7, neuron=nf) for _ in range(reps(3)))),                         # 8
            SpikeSPPF(c4, c_sppf, 5, neuron=nf),                                                        # 9
        ])
        n10, n14, n18, n20, n23 = std_ch(512), std_ch(256), std_ch(256), std_ch(256), std_ch(512)
        # neck (yaml layers 10-25); upsample and concat have no parameters
        self.neck = nn.ModuleDict({
            "l10": MSStandardConv(c_sppf, n10, 1, neuron=nf),
            "l12": MSConvBlock(n10, 3, 7, neuron=nf),                      # after upsample, /16
            "l14": MSStandardConv(n10 + c3, n14, 1, neuron=nf),            # on cat(l12, P4)
            "l16": MSAllConvBlock(n14, 4, 7, neuron=nf),                   # after upsample, /8
            "l18": MSStandardConv(n14 + c2, n18, 1, neuron=nf),            # on cat(l16, P3)
            "l19": MSAllConvBlock(n18, 4, 7, neuron=nf),                   # output P3
            "l20": MSStandardConv(n18, n20, 3, 2, neuron=nf),
            "l22": MSConvBlock(n20 + n14, 3, 7, neuron=nf),                # on cat(l20, l14); output P4
            "l23": MSStandardConv(n20 + n14, n23, 3, 2, neuron=nf),
            "l25": MSConvBlock(n23 + n10, last_mlp, 7, neuron=nf),         # on cat(l23, l10); output P5
        })
        self.out_channels = [n18, n20 + n14, n23 + n10]
        self.head = SpikeDetectHead(num_classes, self.out_channels, reg_max, neuron=nf,
                                    box_channels=BOX_CHANNELS.get(scale))
        self.strides = [8, 16, 32]

    # ---- torch

    def forward(self, x):
        """x: [B, T, C, H, W] -> list of [B, 4 reg_max + nc, H_l, W_l] (averaged over T)."""
        x = x.transpose(0, 1)
        feats = []
        for i, m in enumerate(self.backbone):
            x = m(x)
            if i in (3, 5):
                feats.append(x)
        p3, p4 = feats
        n = self.neck
        up = lambda t: t.repeat_interleave(2, -2).repeat_interleave(2, -1)  # noqa: E731  nearest x2
        x10 = n["l10"](x)
        x12 = n["l12"](up(x10))
        x14 = n["l14"](torch.cat((x12, p4), 2))
        x16 = n["l16"](up(x14))
        x19 = n["l19"](n["l18"](torch.cat((x16, p3), 2)))
        x22 = n["l22"](torch.cat((n["l20"](x19), x14), 2))
        x25 = n["l25"](torch.cat((n["l23"](x22), x10), 2))
        return [y.mean(0) for y in self.head([x19, x22, x25])]

    # ---- IR

    def export(self, exporter, input_name):
        merge = self.merge_repconv
        b = exporter.builder

        def ex(m, x, name):
            if isinstance(m, (_Seq, MSAllConvBlock, MSConvBlock, SpikeSPPF)):
                return m.export(exporter, x, name, merge=merge)
            return m.export(exporter, x, name)

        x, feats = input_name, []
        for i, m in enumerate(self.backbone):
            x = ex(m, x, f"backbone.{i}")
            if i in (3, 5):
                feats.append(x)
        p3, p4 = feats
        n = self.neck
        x10 = ex(n["l10"], x, "neck.l10")
        x12 = ex(n["l12"], b.upsample(x10, scale=2, name="neck.up11"), "neck.l12")
        x14 = ex(n["l14"], b.concat(x12, p4, name="neck.cat13"), "neck.l14")
        x16 = ex(n["l16"], b.upsample(x14, scale=2, name="neck.up15"), "neck.l16")
        x18 = ex(n["l18"], b.concat(x16, p3, name="neck.cat17"), "neck.l18")
        x19 = ex(n["l19"], x18, "neck.l19")
        x20 = ex(n["l20"], x19, "neck.l20")
        x22 = ex(n["l22"], b.concat(x20, x14, name="neck.cat21"), "neck.l22")
        x23 = ex(n["l23"], x22, "neck.l23")
        x25 = ex(n["l25"], b.concat(x23, x10, name="neck.cat24"), "neck.l25")
        return self.head.export(exporter, [x19, x22, x25], "head")

    def output_names(self):
        return [f"head.out{i}" for i in range(3)]

    def head_spec(self, input_size):
        """Detection metadata for the exported graph (store under metadata["detection"])."""
        h, w = (input_size, input_size) if isinstance(input_size, int) else tuple(input_size)
        return {"type": "yolov8", "num_classes": self.num_classes, "strides": list(self.strides),
                "input_size": [int(h), int(w)], "outputs": self.output_names(), "reg_max": self.reg_max}

    def export_graph(self, input_size, in_channels=None, **kwargs):
        """Convenience: the IR graph with ``metadata["detection"] = head_spec(input_size)``."""
        from .export import export_graph
        h, w = (input_size, input_size) if isinstance(input_size, int) else tuple(input_size)
        c = in_channels or self.backbone[0].conv.conv.in_channels
        meta = dict(kwargs.pop("metadata", None) or {})
        meta["detection"] = self.head_spec((h, w))
        return export_graph(self, (c, h, w), metadata=meta, **kwargs)
