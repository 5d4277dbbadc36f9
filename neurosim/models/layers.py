"""Multi-step layers over [T, B, C, H, W] tensors, each with an ``export`` to the IR.

Convolutions and BatchNorm run on the time-flattened tensor [T*B, C, H, W], so BatchNorm's
statistics are taken over time and batch together (tdBN-style). At export BatchNorm is folded
into the convolution::

    W' = W * g / sqrt(var + eps)          b' = (b - mean) * g / sqrt(var + eps) + beta
"""
from __future__ import annotations

import torch
from torch import nn


def time_flat(fn, x):
    """Apply a per-frame module to [T, B, ...] by flattening time into the batch."""
    t, b = x.shape[:2]
    y = fn(x.reshape(t * b, *x.shape[2:]))
    return y.reshape(t, b, *y.shape[1:])


class ConvBN(nn.Module):
    """``BN(conv(X))`` per timestep; BN optional (``bn=False`` gives a conv with bias)."""

    def __init__(self, cin, cout, k=3, stride=1, padding=None, groups=1, bn=True):
        super().__init__()
        padding = k // 2 if padding is None else padding
        self.conv = nn.Conv2d(cin, cout, k, stride, padding, groups=groups, bias=not bn)
        self.bn = nn.BatchNorm2d(cout) if bn else None

    def forward(self, x):
        return time_flat(lambda f: self.bn(self.conv(f)) if self.bn is not None else self.conv(f), x)

    def folded(self, extra_bns=()) -> tuple[torch.Tensor, torch.Tensor]:
        """Weight and bias (float64) with this BN, then ``extra_bns``, folded in (eval statistics)."""
        w = self.conv.weight.detach().double()
        b = self.conv.bias.detach().double() if self.conv.bias is not None else torch.zeros(w.shape[0], dtype=torch.float64)
        return fold_bns(w, b, (self.bn, *extra_bns))

    def export(self, exporter, x: str, name: str) -> str:
        w, b = self.folded()
        return exporter.builder.conv2d(x, weight=w.float().numpy(), bias=b.float().numpy(), stride=self.conv.stride, padding=self.conv.padding,
                                       groups=self.conv.groups, name=name)


def bn_affine(bn: nn.BatchNorm2d):
    """Eval-mode BN as ``y = a x + c`` (float64)."""
    a = bn.weight.detach().double() / torch.sqrt(bn.running_var.double() + bn.eps)
    c = bn.bias.detach().double() - bn.running_mean.double() * a
    return a, c


def fold_bns(w, b, bns):
    """Fold BNs applied in turn after a conv ``(w, b)`` into it: ``w' = a w``, ``b' = a b + c``."""
    for bn in bns:
        if bn is None:
            continue
        a, c = bn_affine(bn)
        w = w * a.view(-1, *([1] * (w.dim() - 1)))
        b = b * a + c
    return w, b


def export_neuron(module: nn.Module, exporter, x: str, name: str) -> str:
    """Add the IR node of a neuron module (see neurosim.models.neurons)."""
    op, params = module.ir_node()
    return getattr(exporter.builder, op)(x, name=name, **params)
