"""EMS-YOLO (Su et al., ICCV 2023): full-spike residual blocks (EMS-ResNet) and a two-scale
YOLOv3-tiny-style anchor head, over [T, B, C, H, W] tensors.

Our reading of the authors' code (checked, not copied):

* Every block's branches start with an LIF on the (analog, membrane-level) block input, so
  blocks exchange real-valued currents and convolutions always receive spikes.
* EMS-Block1 (``EMSBlock``): residual ``BN(conv(LIF(BN(conv_s(LIF(x))))))``, shortcut identity or
  ``BN(conv1x1(LIF(maxpool_s(x))))`` when the shape changes; output = residual + shortcut.
* EMS-Block2 (``EMSConcatBlock``): same residual; shortcut ``maxpool_s(concat(BN(conv1x1(LIF(x))), x))``
  reaching C_out channels by concatenation.
* First layer: ``BN(conv7x7_s2(image))`` (the only conv on analog input: MACs).
* Head: per level a 1x1 conv with bias on the block output (analog input: MACs), output
  ``[B, A (5 + nc), H, W]`` averaged over T (anchor a's fields at channels a(5+nc) .. a(5+nc)+4+nc).
* BN scale is initialised to the threshold (0.5) and to 0.2 x threshold for the last BN of a
  residual branch, as the authors do (tdBN-style).
* ResNet18's and ResNet34-cat's heads use the authors' "Conv" (conv, BN, then ``mem_update(act=True)``,
  which applies SiLU to a leaky membrane): analog, non-spiking; we keep conv-BN-SiLU without the
  membrane's recurrence (same operation counts).

``neuron="relu"`` gives the ANN twin: the same graph with ReLU in place of every LIF.
"""
from __future__ import annotations

import torch
from torch import nn

from .layers import ConvBN, export_neuron, time_flat
from .neurons import make_neuron

ANCHORS = [[(10, 14), (23, 27), (37, 58)], [(81, 82), (135, 169), (344, 319)]]  # P4/16, P5/32 at 640 px

# (block, channels, kernel, stride) per backbone layer after the 7x7 stem; P4 is the output of
# layer ``p4_index`` (counted as in the authors' yaml: stem = 0).
BACKBONES = {
    "resnet10": dict(layers=[("b1", 64, 3, 2), ("b2", 128, 3, 2), ("b2", 256, 3, 2), ("b2", 512, 3, 2)],
                     p4_index=3, head="blocks"),
    "resnet18": dict(layers=[("b1", 64, 3, 2), ("b1", 64, 3, 1), ("b1", 128, 3, 2), ("b1", 128, 3, 1),
                             ("b1", 256, 3, 2), ("b1", 256, 3, 1), ("b1", 512, 3, 2), ("b1", 512, 3, 1)],
                     p4_index=6, head="conv"),
    "resnet34": dict(layers=[("b1", 64, 3, 2)] + [("b1", 64, 3, 1)] * 2 + [("b1", 128, 3, 2)]
                     + [("b1", 128, 3, 1)] * 3 + [("b1", 256, 3, 2)] + [("b1", 256, 3, 1)] * 5
                     + [("b1", 512, 3, 2)] + [("b1", 512, 3, 1)] * 2,
                     p4_index=None, head="blocks"),
    # resnet34-cat.yaml, the cfg of the authors' released COCO and Gen1 runs: resnet34 with
    # EMS-Block2 (Concat_res2) at each downsampling to 128/256/512, and the conv head of resnet18.
    "resnet34-cat": dict(layers=[("b1", 64, 3, 2)] + [("b1", 64, 3, 1)] * 2 + [("b2", 128, 3, 2)]
                         + [("b1", 128, 3, 1)] * 3 + [("b2", 256, 3, 2)] + [("b1", 256, 3, 1)] * 5
                         + [("b2", 512, 3, 2)] + [("b1", 512, 3, 1)] * 2,
                         p4_index=None, head="conv"),
}
# resnet34's yaml counts each repeated run as one layer: P4 is the end of the 256-channel run.
SCALES = {"micro": 0.125, "tiny": 0.25, "paper": 1.0}


class _Pool(nn.Module):
    def __init__(self, stride):
        super().__init__()
        self.stride = stride

    def forward(self, x):
        return x if self.stride == 1 else time_flat(lambda f: nn.functional.max_pool2d(f, self.stride), x)

    def export(self, exporter, x, name):
        return x if self.stride == 1 else exporter.builder.maxpool2d(x, kernel=self.stride, name=name)


class _Residual(nn.Module):
    """``BN2(conv2(N2(BN1(conv1_s(N1(x))))))`` with BN2 initialised to 0.2 x threshold."""

    def __init__(self, cin, cout, k, stride, neuron, hidden=None):
        super().__init__()
        hidden = hidden or cout
        self.n1, self.c1 = make_neuron(neuron), ConvBN(cin, hidden, k, stride)
        self.n2, self.c2 = make_neuron(neuron), ConvBN(hidden, cout, k, 1)
        nn.init.constant_(self.c1.bn.weight, 0.5)
        nn.init.constant_(self.c2.bn.weight, 0.1)

    def forward(self, x):
        return self.c2(self.n2(self.c1(self.n1(x))))

    def export(self, exporter, x, name):
        y = self.c1.export(exporter, export_neuron(self.n1, exporter, x, f"{name}.n1"), f"{name}.conv1")
        return self.c2.export(exporter, export_neuron(self.n2, exporter, y, f"{name}.n2"), f"{name}.conv2")


class _Shortcut(nn.Module):
    """Identity, or ``BN(conv1x1(N(maxpool_s(x))))`` when the block changes stride or width."""

    def __init__(self, cin, cout, stride, neuron):
        super().__init__()
        self.project = stride != 1 or cin != cout
        if self.project:
            self.pool = _Pool(stride)
            self.neuron = make_neuron(neuron)
            self.conv = ConvBN(cin, cout, 1, 1)
            nn.init.constant_(self.conv.bn.weight, 0.5)

    def forward(self, x):
        return self.conv(self.neuron(self.pool(x))) if self.project else x

    def export(self, exporter, x, name):
        if not self.project:
            return x
        s = self.pool.export(exporter, x, f"{name}.pool")
        return self.conv.export(exporter, export_neuron(self.neuron, exporter, s, f"{name}.n"), f"{name}.conv")


class EMSBlock(nn.Module):
    """EMS-Block1 (the authors' BasicBlock_2; BasicBlock_1 when ``hidden`` is given)."""

    def __init__(self, cin, cout, k=3, stride=1, neuron="lif", hidden=None):
        super().__init__()
        self.residual = _Residual(cin, cout, k, stride, neuron, hidden)
        self.shortcut = _Shortcut(cin, cout, stride, neuron)

    def forward(self, x):
        return self.residual(x) + self.shortcut(x)

    def export(self, exporter, x, name):
        res = self.residual.export(exporter, x, f"{name}.res")
        return exporter.builder.add(res, self.shortcut.export(exporter, x, f"{name}.short"), name=name)


class EMSConcatBlock(nn.Module):
    """EMS-Block2 (the authors' Concat_res2): the shortcut reaches C_out by concatenation."""

    def __init__(self, cin, cout, k=3, stride=2, neuron="lif"):
        super().__init__()
        if cin >= cout:
            raise ValueError("EMS-Block2 needs more output than input channels")
        self.residual = _Residual(cin, cout, k, stride, neuron)
        self.neuron = make_neuron(neuron)
        self.conv = ConvBN(cin, cout - cin, 1, 1)
        nn.init.constant_(self.conv.bn.weight, 0.5)
        self.pool = _Pool(stride)

    def forward(self, x):
        shortcut = self.pool(torch.cat([self.conv(self.neuron(x)), x], dim=2))
        return self.residual(x) + shortcut

    def export(self, exporter, x, name):
        res = self.residual.export(exporter, x, f"{name}.res")
        s = self.conv.export(exporter, export_neuron(self.neuron, exporter, x, f"{name}.short.n"), f"{name}.short.conv")
        s = exporter.builder.concat(s, x, name=f"{name}.short.cat")
        s = self.pool.export(exporter, s, f"{name}.short.pool")
        return exporter.builder.add(res, s, name=name)


class ConvSiLU(nn.Module):
    """The authors' "Conv" in the ResNet18 head: ``SiLU(BN(conv(x)))``, analog."""

    def __init__(self, cin, cout, k=3, stride=1):
        super().__init__()
        self.conv = ConvBN(cin, cout, k, stride)

    def forward(self, x):
        return nn.functional.silu(self.conv(x))

    def export(self, exporter, x, name):
        return exporter.builder.silu(self.conv.export(exporter, x, f"{name}.conv"), name=name)


class EMSYOLO(nn.Module):
    """EMS-YOLO detector: ``EMSYOLO(backbone="resnet10", scale="tiny", num_classes=3, T=4)``.

    ``forward(x)`` takes [B, T, C, H, W] and returns the two raw head outputs (P4/16, P5/32),
    each [B, A (5 + nc), H_l, W_l], averaged over T. In the exported IR graph the head outputs
    are per timestep; the decoder averages the simulator's outputs over T.
    """

    def __init__(self, backbone="resnet10", scale="tiny", num_classes=80, T=4, neuron="lif", in_channels=3,
                 anchors=None, input_size=(640, 640)):
        super().__init__()
        if backbone not in BACKBONES:
            raise ValueError(f"unknown backbone '{backbone}' (known: {', '.join(BACKBONES)})")
        if scale not in SCALES:
            raise ValueError(f"unknown scale '{scale}' (known: {', '.join(SCALES)})")
        width = SCALES[scale]
        ch = lambda c: max(4, int(round(c * width)))  # noqa: E731
        cfg = BACKBONES[backbone]
        self.config = dict(backbone=backbone, scale=scale, num_classes=num_classes, T=T, neuron=neuron,
                           in_channels=in_channels, input_size=list(input_size))
        self.num_classes, self.T = num_classes, T
        self.anchors = anchors or [[(w * input_size[1] / 640, h * input_size[0] / 640) for w, h in lvl] for lvl in ANCHORS]
        self.stem = ConvBN(in_channels, ch(64), 7, 2, 3)
        blocks, c = [], ch(64)
        for kind, cout, k, stride in cfg["layers"]:
            block = EMSBlock(c, ch(cout), k, stride, neuron) if kind == "b1" else EMSConcatBlock(c, ch(cout), k, stride, neuron)
            blocks.append(block)
            c = ch(cout)
        self.blocks = nn.ModuleList(blocks)
        p4_index = cfg["p4_index"]
        if p4_index is None:  # the last 256-channel block
            p4_index = max(i + 1 for i, layer in enumerate(cfg["layers"]) if layer[1] == 256)
        self.p4_index = p4_index
        c_p4 = ch(256)
        if cfg["head"] == "blocks":
            self.neck = EMSBlock(c, ch(256), 3, 1, neuron, hidden=ch(1024))
            self.p5 = EMSBlock(ch(256), ch(512), 3, 1, neuron)
        else:
            self.neck = EMSBlock(c, ch(256), 3, 1, neuron)
            self.p5 = ConvSiLU(ch(256), ch(512), 3, 1)
        self.lateral = EMSBlock(ch(256), ch(128), 1, 1, neuron)
        self.p4 = (EMSBlock(ch(128) + c_p4, ch(256), 3, 1, neuron) if cfg["head"] == "blocks"
                   else ConvSiLU(ch(128) + c_p4, ch(256), 3, 1))
        outputs_per_anchor = 5 + num_classes
        self.detect = nn.ModuleList([nn.Conv2d(ch(256), 3 * outputs_per_anchor, 1),
                                     nn.Conv2d(ch(512), 3 * outputs_per_anchor, 1)])

    def forward(self, x):
        x = x.transpose(0, 1)  # [T, B, C, H, W]
        y = self.stem(x)
        p4_source = None
        for i, block in enumerate(self.blocks, start=1):
            y = block(y)
            if i == self.p4_index:
                p4_source = y
        h = self.neck(y)
        p5 = self.p5(h)
        up = time_flat(lambda f: nn.functional.interpolate(f, scale_factor=2, mode="nearest"), self.lateral(h))
        p4 = self.p4(torch.cat([up, p4_source], dim=2))
        return [time_flat(conv, level).mean(dim=0) for conv, level in zip(self.detect, (p4, p5))]

    def export(self, exporter, x):
        b = exporter.builder
        y = self.stem.export(exporter, x, "stem")
        p4_source = None
        for i, block in enumerate(self.blocks, start=1):
            y = block.export(exporter, y, f"block{i}")
            if i == self.p4_index:
                p4_source = y
        h = self.neck.export(exporter, y, "neck")
        p5 = self.p5.export(exporter, h, "p5")
        up = b.upsample(self.lateral.export(exporter, h, "lateral"), scale=2, name="lateral.up")
        p4 = self.p4.export(exporter, b.concat(up, p4_source, name="p4.cat"), "p4")
        outputs = []
        for conv, level, name in zip(self.detect, (p4, p5), ("detect.p4", "detect.p5")):
            outputs.append(b.conv2d(level, weight=conv.weight.detach().float().numpy(),
                                    bias=conv.bias.detach().float().numpy(), name=name))
        return outputs

    def head_spec(self, input_size) -> dict:
        return {"type": "yolov3", "num_classes": self.num_classes, "strides": [16, 32], "input_size": list(input_size),
                "outputs": ["detect.p4", "detect.p5"], "anchors": [[list(a) for a in lvl] for lvl in self.anchors]}
