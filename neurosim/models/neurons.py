"""Spiking neurons for training (torch, surrogate gradients), multi-step over [T, B, ...] tensors.

Each forward pass computes exactly the equations of the matching IR node (neurosim.ir.nodes),
so an exported network simulates to the same spikes. Each module's ``ir_node()`` returns the
node type and parameters it exports to.
"""
from __future__ import annotations

import torch
from torch import nn


class _RectangularSpike(torch.autograd.Function):
    """Heaviside ``H > threshold`` forward; rectangular surrogate ``dS/dH = [|H - threshold| < width]``
    backward (EMS-YOLO's ActFun with lens = 0.5)."""

    @staticmethod
    def forward(ctx, h, threshold: float, width: float):
        ctx.save_for_backward(h)
        ctx.threshold, ctx.width = threshold, width
        return (h > threshold).to(h.dtype)

    @staticmethod
    def backward(ctx, grad):
        (h,) = ctx.saved_tensors
        return grad * ((h - ctx.threshold).abs() < ctx.width).to(grad.dtype), None, None


class _IntegerSpike(torch.autograd.Function):
    """``round_half_even(clamp(H, 0, D))`` forward; straight-through gradient on [0, D]
    (SpikeYOLO's I-LIF), zero outside."""

    @staticmethod
    def forward(ctx, h, max_spike: int):
        ctx.save_for_backward(h)
        ctx.max_spike = max_spike
        return torch.round(torch.clamp(h, 0, max_spike))

    @staticmethod
    def backward(ctx, grad):
        (h,) = ctx.saved_tensors
        return grad * ((h >= 0) & (h <= ctx.max_spike)).to(grad.dtype), None


class LIF(nn.Module):
    """EMS-YOLO LIF: ``H_t = decay V_{t-1} + X_t``, ``S_t = [H_t > threshold]``, hard reset to 0
    (the reset is detached from the gradient, as in the authors' code).

    Defaults are EMS-YOLO's: decay 0.25, threshold 0.5, surrogate width 0.5.
    Exports to IR ``lif`` (reset hard, reset_value 0, compare '>').
    """

    def __init__(self, threshold: float = 0.5, decay: float = 0.25, surrogate_width: float = 0.5):
        super().__init__()
        self.threshold, self.decay, self.surrogate_width = threshold, decay, surrogate_width

    def forward(self, x):  # x: [T, B, ...]
        v = torch.zeros_like(x[0])
        spikes = []
        for t in range(x.shape[0]):
            h = self.decay * v + x[t]
            s = _RectangularSpike.apply(h, self.threshold, self.surrogate_width)
            v = h * (1 - s.detach())
            spikes.append(s)
        return torch.stack(spikes)

    def ir_node(self):
        return "lif", dict(threshold=self.threshold, decay=self.decay, reset="hard", reset_value=0.0,
                           compare=">", decay_input=False)


class ILIF(nn.Module):
    """SpikeYOLO I-LIF: integer spikes in [0, D] during training, D virtual binary steps at inference.

    ``H_t = decay V_{t-1} + X_t`` (COCO model) or ``H_t = V_{t-1} + (X_t - V_{t-1})(1 - decay)``
    (``decay_input``, the Gen1 model's SpikingJelly LIF with tau = 1 / (1 - decay));
    ``S_t = round_half_even(clamp(H_t, 0, D))``; ``V_t = H_t - S_t`` with the reset detached.
    Exports to IR ``ilif``.
    """

    def __init__(self, max_spike: int = 4, decay: float = 0.25, decay_input: bool = False):
        super().__init__()
        self.max_spike, self.decay, self.decay_input = int(max_spike), decay, decay_input

    def forward(self, x):
        v = torch.zeros_like(x[0])
        spikes = []
        for t in range(x.shape[0]):
            h = v + (x[t] - v) * (1 - self.decay) if self.decay_input else self.decay * v + x[t]
            s = _IntegerSpike.apply(h, self.max_spike)
            v = h - s.detach()
            spikes.append(s)
        return torch.stack(spikes)

    def ir_node(self):
        return "ilif", dict(decay=self.decay, max_spike=self.max_spike, decay_input=self.decay_input)


class _HoyerSpikeFn(torch.autograd.Function):
    """``[U >= E]`` forward; ``0.5`` x gradient where ``0 < U <= 2`` backward (Datta et al.)."""

    @staticmethod
    def forward(ctx, u, extremum):
        ctx.save_for_backward(u)
        return (u >= extremum).to(u.dtype)

    @staticmethod
    def backward(ctx, grad):
        (u,) = ctx.saved_tensors
        return grad * 0.5 * ((u > 0) & (u <= 2)).to(grad.dtype), None


class HoyerSpike(nn.Module):
    """One-time-step spiking activation with a Hoyer-extremum threshold (Datta et al.).

    ``U = X / |clip|`` (clip trainable, init 1); ``Z = clamp(U, 0, 1)``; the Hoyer extremum
    ``E = sum(Z^2) / sum(|Z|)`` over the layer (training) or its running mean (inference);
    ``S = [U >= E]``. Each forward adds the layer's Hoyer regularizer
    ``(sum |Z|)^2 / sum(Z^2)`` to ``self.regularizer`` (read and reset by the training loop).
    Stateless across timesteps. Exports to IR ``hoyer`` (clip = |clip|, threshold = running E).
    """

    def __init__(self, momentum: float = 0.1):
        super().__init__()
        self.clip = nn.Parameter(torch.tensor(1.0))
        self.register_buffer("running_extremum", torch.tensor(1.0))
        self.momentum = momentum
        self.regularizer = None

    def forward(self, x):
        u = x / self.clip.abs()
        z = torch.clamp(u, 0, 1)
        sum_abs = z.abs().sum()
        sum_sq = (z * z).sum()
        if self.training:
            extremum = (sum_sq / sum_abs.clamp_min(1e-12)).detach()
            with torch.no_grad():
                self.running_extremum.mul_(1 - self.momentum).add_(self.momentum * extremum)
            self.regularizer = sum_abs ** 2 / sum_sq.clamp_min(1e-12)
        else:
            extremum = self.running_extremum
        return _HoyerSpikeFn.apply(u, extremum)

    def ir_node(self):
        return "hoyer", dict(clip=float(self.clip.detach().abs()), threshold=float(self.running_extremum))


class AnalogActivation(nn.Module):
    """The ANN twin's activation: ReLU, applied per timestep (exports to IR ``relu``)."""

    def forward(self, x):
        return torch.relu(x)

    def ir_node(self):
        return "relu", {}


NEURONS = {"lif": LIF, "ilif": ILIF, "hoyer": HoyerSpike, "relu": AnalogActivation}


def make_neuron(kind: str, **params) -> nn.Module:
    """A neuron module by name: ``lif``, ``ilif``, ``hoyer`` or ``relu`` (the ANN twin)."""
    if kind not in NEURONS:
        raise ValueError(f"unknown neuron '{kind}' (known: {', '.join(NEURONS)})")
    if kind == "relu":
        return AnalogActivation()
    if kind == "hoyer":
        return HoyerSpike()
    return NEURONS[kind](**params)
