"""Shared checks of the torch-import tests: record a model, simulate the graph, compare with torch."""
import numpy as np
import torch

from neurosim.sim import simulate
from neurosim.torch_import import record


def exact_bn(model: torch.nn.Module, seed: int = 0) -> torch.nn.Module:
    """Give every BatchNorm statistics whose fold is exact in float32 (dyadic mean and beta,
    variance a power of 4, eps 0), so a float64 model's folded weights survive the IR's float32."""
    g = torch.Generator().manual_seed(seed)
    for m in model.modules():
        if isinstance(m, torch.nn.modules.batchnorm._BatchNorm):
            n = m.num_features
            m.eps = 0.0
            m.running_var.copy_(4.0 ** torch.randint(-1, 2, (n,), generator=g))
            m.running_mean.copy_(torch.randint(-4, 5, (n,), generator=g) / 16)
            if m.weight is not None:
                m.weight.data.copy_(torch.randint(4, 13, (n,), generator=g) / 8)
                m.bias.data.copy_(torch.randint(-4, 5, (n,), generator=g) / 16)
    return model


def compare(model, input_shape, T, precision="float64", input_kind="analog", min_spikes=10, **kwargs):
    """Record ``model``, simulate its graph on the recording input and assert the contract:
    float64 within 1e-9, float32 within 1e-5 relative, spike counts per neuron layer exact."""
    rec = record(model, input_shape, T=T, input_kind=input_kind, **kwargs)
    sim = simulate(rec.graph, rec.inputs, precision=precision)
    for name, expected in rec.outputs.items():
        got = sim.outputs[name]
        if rec.readouts.get(name) == "mean":
            got = got.mean(axis=1)
        elif rec.readouts.get(name) == "sum":
            got = got.sum(axis=1)
        elif rec.readouts.get(name) == "last":
            got = got[:, -1]
        scale = max(1.0, float(np.abs(expected).max()))
        tol = 1e-9 if precision == "float64" else 1e-5
        assert np.abs(got - expected).max() <= tol * scale, (name, np.abs(got - expected).max())
    assert rec.spikes, "the model has no neuron"
    for node, count in rec.spikes.items():
        assert sim.trace[node].total("out_spikes") == count, (node, sim.trace[node].total("out_spikes"), count)
    assert sum(rec.spikes.values()) >= min_spikes, rec.spikes
    return rec, sim
