"""Our four detector families through from_torch give the graph and the spike counts of their own
``export``."""
import numpy as np
import pytest
import torch

from neurosim.models.export import export_graph
from neurosim.models.registry import build_model
from neurosim.sim import simulate
from neurosim.torch_import import record


def _signature(graph):
    """Each node as (op, shape, kind, scalar params, array shapes), in a canonical order."""
    rows = []
    for n in graph:
        params = {k: v for k, v in n.params().items()}
        rows.append((n.op, graph.shapes[n.name], graph.kinds[n.name], repr(sorted(params.items())),
                     tuple((k, a.shape) for k, a in sorted(n.arrays().items()))))
    return sorted(rows)


@pytest.mark.parametrize("family,T", [("spikeyolo", 2), ("emsyolo", 2), ("hoyer", 1), ("retina", 2)])
def test_family_matches_its_own_export(family, T):
    torch.manual_seed(0)
    model = build_model({"family": family, "T": T}, 3, (64, 64)).eval()
    exported = export_graph(model, (3, 64, 64))
    rec = record(model, (3, 64, 64), T=T)
    imported = rec.graph
    assert _signature(imported) == _signature(exported)
    weights = lambda g: sorted((n.op, k, float(np.abs(a).sum())) for n in g for k, a in n.arrays().items())  # noqa: E731
    for a, b in zip(weights(imported), weights(exported)):
        assert a[:2] == b[:2] and a[2] == pytest.approx(b[2], rel=1e-6)
    x = rec.inputs.astype(np.float32)
    ours, theirs = simulate(imported, x), simulate(exported, x)
    counts = lambda g, s: sorted(s.trace[n.name].total("out_spikes") for n in g if n.is_neuron)  # noqa: E731
    assert counts(imported, ours) == counts(exported, theirs)
    assert sum(rec.spikes.values()) == sum(counts(imported, ours)) > 0
    for a, b in zip(imported.outputs, exported.outputs):
        np.testing.assert_allclose(ours.outputs[a], theirs.outputs[b], rtol=1e-4, atol=1e-4)
