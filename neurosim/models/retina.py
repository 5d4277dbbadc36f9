"""Spiking RetinaNet (Zhang et al., Front. Neurosci. 2023): a hybrid SNN-ANN detector with a
spiking-gate ("SG") ResNet backbone, an attention spike decoder ("ASD") per pyramid level, and
non-spiking FPN / RetinaNet heads, over [T, B, C, H, W] tensors.

Only the paper's abstract is available; the design below is OUR READING of it, not the
authors' code:

* **SG ResNet backbone.** Stem ``BN(conv7x7_s2(image))`` (the only conv on analog input: MACs),
  then stages of ``SGBlock``s; the first block of each stage has stride 2, giving feature maps
  at strides 4, 8, 16, 32 (levels 3, 4, 5 = strides 8, 16, 32 feed the decoder).
  ``SGBlock(cin, cout, stride)``:

  - residual current ``r = BN2(conv3x3(LIF(BN1(conv3x3_s(LIF(x))))))`` (as EMS-YOLO's residual);
  - binary selection gate ``g = LIF_g(BN_g(conv1x1_s(LIF(x))))`` (spikes, 0/1);
  - shortcut ``sc = x``, or ``BN(conv1x1(LIF(maxpool_s(x))))`` when the shape changes;
  - output ``y = sc + g * r`` (IR: ``mul(r, g)`` then ``add``).

  Blocks exchange analog currents; every conv after the stem is fed by spikes.
  micro: widths 8/16/32/64, FPN 24 (the shipped models); tiny: widths 16/32/64/128, one block per stage; paper: ResNet34-like widths 64/128/256/512,
  depths 3/4/6/3.
* **Attention spike decoder (ASD)**, per level, on the block output ``y``:
  ``S = LIF(y)``; channel attention ``c = sigmoid(conv1x1_b(relu(conv1x1_a(gap(S)))))`` (C, 1, 1),
  hidden width ``max(C // 4, 4)``; spatial attention ``s = sigmoid(conv7x7(conv1x1_{C->1}(S)))``
  (1, H, W); ``A = (S * c) * s``; temporal attention by a leaky integrator
  ``F_t = lambda F_{t-1} + A_t`` (IR ``li``, decay lambda, gain 1, bias 0) with
  ``lambda = sigmoid(learned scalar)`` initialised to ``asd_decay``, so
  ``F_{T-1} = sum_t lambda^(T-1-t) A_t``. All ASD convs have biases and no BN.
* **FPN** (ANN, analog, no BN): lateral conv1x1 per level to ``fpn_channels``, top-down
  nearest ``upsample x2`` + ``add``, output conv3x3 per level (P3, P4, P5; no P6 / P7).
* **RetinaNet heads** (ANN): cls and box subnets, each ``n_convs x (conv3x3 + relu)`` then a
  conv3x3 to ``A nc`` / ``A 4`` channels (A = 9); weights shared across levels in torch, exported
  once per level as separate conv nodes. Head convs are initialised N(0, 0.01), the cls bias to
  ``-log((1 - 0.01) / 0.01)`` (Lin et al.).
* **Readout.** torch's ``forward`` runs the backbone and ASD over all T steps and the FPN / heads
  on ``F_{T-1}`` only; the exported graph runs the FPN / heads on ``F_t`` every timestep, and the
  decoder reads the simulator's outputs at the LAST timestep (metadata ``"readout": "last"``),
  which equals torch's outputs. ``metadata()`` also sets the simulator's top-level
  ``"readout": "last"`` mode, in which the FPN / heads (they feed no neuron) run only at the
  last timestep.
* BN init as EMS-YOLO: scale 0.5 (the LIF threshold), 0.1 for the last BN of a residual branch;
  the gate BN's bias is initialised to 1 so that gates start mostly open.

``neuron="relu"`` gives the ANN twin: every LIF (gates and ASD spikes included) becomes a ReLU;
the ``li`` temporal integrator is kept.
"""
from __future__ import annotations

import math

import torch
from torch import nn

from .emsyolo import _Residual, _Shortcut
from .layers import ConvBN, export_neuron, time_flat
from .neurons import make_neuron

SCALES = {
    "micro": {"stem": 8, "widths": (8, 16, 32, 64), "depths": (1, 1, 1, 1), "fpn": 24, "head_convs": 2,
              "anchor_sizes": (16, 32, 64)},
    "tiny": {"stem": 16, "widths": (16, 32, 64, 128), "depths": (1, 1, 1, 1), "fpn": 32, "head_convs": 2,
             "anchor_sizes": (16, 32, 64)},
    "paper": {"stem": 64, "widths": (64, 128, 256, 512), "depths": (3, 4, 6, 3), "fpn": 256, "head_convs": 4,
              "anchor_sizes": (32, 64, 128)},
}
STRIDES = (8, 16, 32)
LEVELS = ("p3", "p4", "p5")
NUM_ANCHORS = 9  # default HeadSpec ratios (3) x scales (3)
PRIOR = 0.01


def _conv_export(b, conv: nn.Conv2d, x: str, name: str) -> str:
    return b.conv2d(x, weight=conv.weight.detach().float().numpy(),
                    bias=None if conv.bias is None else conv.bias.detach().float().numpy(),
                    stride=conv.stride, padding=conv.padding, groups=conv.groups, name=name)


class SGBlock(nn.Module):
    """Spiking-gate residual block: ``y = shortcut(x) + g * r`` (see module docstring)."""

    def __init__(self, cin, cout, stride=1, neuron="lif"):
        super().__init__()
        self.residual = _Residual(cin, cout, 3, stride, neuron)
        self.gate_in = make_neuron(neuron)
        self.gate_conv = ConvBN(cin, cout, 1, stride, 0)
        self.gate = make_neuron(neuron)
        nn.init.constant_(self.gate_conv.bn.weight, 0.5)
        nn.init.constant_(self.gate_conv.bn.bias, 1.0)
        self.shortcut = _Shortcut(cin, cout, stride, neuron)

    def forward(self, x):
        r = self.residual(x)
        g = self.gate(self.gate_conv(self.gate_in(x)))
        return self.shortcut(x) + r * g

    def export(self, exporter, x, name):
        b = exporter.builder
        r = self.residual.export(exporter, x, f"{name}.res")
        g = export_neuron(self.gate_in, exporter, x, f"{name}.gate.n")
        g = export_neuron(self.gate, exporter, self.gate_conv.export(exporter, g, f"{name}.gate.conv"), f"{name}.gate")
        gated = b.mul(r, g, name=f"{name}.gated")
        return b.add(self.shortcut.export(exporter, x, f"{name}.short"), gated, name=name)


class ASD(nn.Module):
    """Attention spike decoder: spikes, channel and spatial attention, leaky temporal integration.

    ``forward`` returns ``F_t`` for every t, [T, B, C, H, W].
    """

    def __init__(self, channels, neuron="lif", decay=0.5, reduction=4):
        super().__init__()
        if not 0.0 < decay < 1.0:
            raise ValueError(f"asd_decay must lie in (0, 1), got {decay}")
        hidden = max(channels // reduction, 4)
        self.neuron = make_neuron(neuron)
        self.ca1 = nn.Conv2d(channels, hidden, 1)
        self.ca2 = nn.Conv2d(hidden, channels, 1)
        self.sa1 = nn.Conv2d(channels, 1, 1)
        self.sa2 = nn.Conv2d(1, 1, 7, padding=3)
        self.decay_logit = nn.Parameter(torch.tensor(math.log(decay / (1 - decay))))

    @property
    def decay(self) -> torch.Tensor:
        return torch.sigmoid(self.decay_logit)

    def attend(self, s):  # s: [N, C, H, W] per frame
        c = torch.sigmoid(self.ca2(torch.relu(self.ca1(s.mean(dim=(2, 3), keepdim=True)))))
        a = torch.sigmoid(self.sa2(self.sa1(s)))
        return (s * c) * a

    def forward(self, y):
        attended = time_flat(self.attend, self.neuron(y))
        lam = self.decay.to(attended.dtype)
        f, out = torch.zeros_like(attended[0]), []
        for t in range(attended.shape[0]):
            f = lam * f + attended[t]
            out.append(f)
        return torch.stack(out)

    def export(self, exporter, x, name):
        b = exporter.builder
        s = export_neuron(self.neuron, exporter, x, f"{name}.n")
        c = b.globalavgpool(s, name=f"{name}.ca.gap")
        c = b.relu(_conv_export(b, self.ca1, c, f"{name}.ca.conv1"), name=f"{name}.ca.relu")
        c = b.sigmoid(_conv_export(b, self.ca2, c, f"{name}.ca.conv2"), name=f"{name}.ca")
        a = _conv_export(b, self.sa1, s, f"{name}.sa.conv1")
        a = b.sigmoid(_conv_export(b, self.sa2, a, f"{name}.sa.conv2"), name=f"{name}.sa")
        y = b.mul(b.mul(s, c, name=f"{name}.mul_ca"), a, name=f"{name}.mul_sa")
        return b.li(y, decay=float(self.decay.detach()), gain=1.0, bias=0.0, name=f"{name}.li")


class FPN(nn.Module):
    """Top-down feature pyramid over P3..P5 (analog, per frame [N, C, H, W])."""

    def __init__(self, in_channels, out_channels):
        super().__init__()
        self.lateral = nn.ModuleList(nn.Conv2d(c, out_channels, 1) for c in in_channels)
        self.output = nn.ModuleList(nn.Conv2d(out_channels, out_channels, 3, padding=1) for _ in in_channels)

    def forward(self, feats):
        lat = [conv(f) for conv, f in zip(self.lateral, feats)]
        for i in range(len(lat) - 2, -1, -1):
            lat[i] = lat[i] + nn.functional.interpolate(lat[i + 1], scale_factor=2, mode="nearest")
        return [conv(f) for conv, f in zip(self.output, lat)]

    def export(self, exporter, feats, name):
        b = exporter.builder
        lat = [_conv_export(b, conv, f, f"{name}.lateral.{lvl}") for conv, f, lvl in zip(self.lateral, feats, LEVELS)]
        for i in range(len(lat) - 2, -1, -1):
            up = b.upsample(lat[i + 1], scale=2, name=f"{name}.up.{LEVELS[i + 1]}")
            lat[i] = b.add(lat[i], up, name=f"{name}.topdown.{LEVELS[i]}")
        return [_conv_export(b, conv, f, f"{name}.{lvl}") for conv, f, lvl in zip(self.output, lat, LEVELS)]


class Subnet(nn.Module):
    """RetinaNet subnet: ``n x (conv3x3 + relu)`` then a conv3x3 to ``cout`` (shared across levels)."""

    def __init__(self, channels, cout, n_convs, bias_init=0.0):
        super().__init__()
        self.convs = nn.ModuleList(nn.Conv2d(channels, channels, 3, padding=1) for _ in range(n_convs))
        self.out = nn.Conv2d(channels, cout, 3, padding=1)
        for conv in [*self.convs, self.out]:
            nn.init.normal_(conv.weight, std=0.01)
            nn.init.zeros_(conv.bias)
        nn.init.constant_(self.out.bias, bias_init)

    def forward(self, x):
        for conv in self.convs:
            x = torch.relu(conv(x))
        return self.out(x)

    def export(self, exporter, x, name, out_name):
        b = exporter.builder
        for i, conv in enumerate(self.convs):
            x = b.relu(_conv_export(b, conv, x, f"{name}.conv{i}"), name=f"{name}.relu{i}")
        return _conv_export(b, self.out, x, out_name)


class SpikingRetinaNet(nn.Module):
    """``SpikingRetinaNet(scale="tiny", num_classes=2, T=4)``.

    ``forward(x)`` takes [B, T, C, H, W] and returns ``[cls_p3, box_p3, cls_p4, box_p4, cls_p5, box_p5]``
    (the retina head contract), each [B, A nc | A 4, H_l, W_l], computed from the last timestep's
    decoded features. The exported graph's outputs are per timestep; read the last one
    (``readout: "last"``).
    """

    def __init__(self, scale="tiny", num_classes=80, T=4, neuron="lif", in_channels=3, input_size=(640, 640),
                 asd_decay=0.5):
        super().__init__()
        if scale not in SCALES:
            raise ValueError(f"unknown scale '{scale}' (known: {', '.join(SCALES)})")
        if input_size[0] % 32 or input_size[1] % 32:
            raise ValueError(f"input_size must be a multiple of 32 (the FPN's top-down adds), got {tuple(input_size)}")
        cfg = SCALES[scale]
        self.config = {"scale": scale, "num_classes": num_classes, "T": T, "neuron": neuron,
                       "in_channels": in_channels, "input_size": list(input_size), "asd_decay": asd_decay}
        self.num_classes, self.T = num_classes, T
        self.anchor_sizes = list(cfg["anchor_sizes"])
        self.stem = ConvBN(in_channels, cfg["stem"], 7, 2, 3)
        stages, c = [], cfg["stem"]
        for width, depth in zip(cfg["widths"], cfg["depths"]):
            blocks = []
            for i in range(depth):
                blocks.append(SGBlock(c, width, 2 if i == 0 else 1, neuron))
                c = width
            stages.append(nn.Sequential(*blocks))
        self.stages = nn.ModuleList(stages)
        level_channels = cfg["widths"][1:]
        self.asd = nn.ModuleList(ASD(ch, neuron, asd_decay) for ch in level_channels)
        self.fpn = FPN(level_channels, cfg["fpn"])
        self.cls_head = Subnet(cfg["fpn"], NUM_ANCHORS * num_classes, cfg["head_convs"],
                               bias_init=-math.log((1 - PRIOR) / PRIOR))
        self.box_head = Subnet(cfg["fpn"], NUM_ANCHORS * 4, cfg["head_convs"])

    @staticmethod
    def output_names() -> list:
        return [name for lvl in LEVELS for name in (f"cls_{lvl}", f"box_{lvl}")]

    def features(self, x):
        """Decoded features ``F_t`` of the three levels, each [T, B, C, H, W]."""
        y = self.stem(x.transpose(0, 1))
        levels = []
        for i, stage in enumerate(self.stages):
            for block in stage:
                y = block(y)
            if i >= 1:
                levels.append(y)
        return [asd(level) for asd, level in zip(self.asd, levels)]

    def forward(self, x):
        feats = [f[-1] for f in self.features(x)]
        outputs = []
        for p in self.fpn(feats):
            outputs += [self.cls_head(p), self.box_head(p)]
        return outputs

    def export(self, exporter, x):
        y = self.stem.export(exporter, x, "stem")
        levels = []
        for i, stage in enumerate(self.stages):
            for j, block in enumerate(stage):
                y = block.export(exporter, y, f"stage{i + 1}.block{j}")
            if i >= 1:
                levels.append(y)
        feats = [asd.export(exporter, level, f"asd.{lvl}") for asd, level, lvl in zip(self.asd, levels, LEVELS)]
        outputs = []
        for p, lvl in zip(self.fpn.export(exporter, feats, "fpn"), LEVELS):
            outputs.append(self.cls_head.export(exporter, p, f"head.cls.{lvl}", f"cls_{lvl}"))
            outputs.append(self.box_head.export(exporter, p, f"head.box.{lvl}", f"box_{lvl}"))
        return outputs

    def head_spec(self, input_size) -> dict:
        """The ``"detection"`` metadata (``HeadSpec.from_dict``-compatible), with ``"readout": "last"``:
        the decoder takes the simulator's outputs at the last timestep (``neurosim.detect.read_out``)."""
        return {"type": "retina", "num_classes": self.num_classes, "strides": list(STRIDES),
                "input_size": list(input_size), "outputs": self.output_names(),
                "anchor_sizes": list(self.anchor_sizes), "readout": "last"}

    def metadata(self, input_size) -> dict:
        """Graph metadata: the head spec under ``"detection"`` and the simulator's ``"readout": "last"``
        mode at the top level (the FPN and heads, which feed no neuron, then run only at the last
        timestep; outputs are [B, 1, ...] and equal a full run's last timestep)."""
        return {"detection": self.head_spec(input_size), "readout": "last"}
