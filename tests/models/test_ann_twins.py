"""Each ANN twin is its SNN's architecture with analog activations, and nothing else changed."""
import pytest

torch = pytest.importorskip("torch")

from neurosim.models.export import export_graph  # noqa: E402
from neurosim.models.registry import NEURONS, build_model  # noqa: E402


@pytest.mark.parametrize("family", ["spikeyolo", "emsyolo", "hoyer", "retina"])
def test_twin_has_the_same_parameters_and_graph(family):
    T = 1 if family == "hoyer" else 2
    snn = build_model({"family": family, "T": T}, 3, (64, 64))
    ann = build_model({"family": family, "T": T, "neuron": "relu"}, 3, (64, 64))
    snn_params = {k: tuple(v.shape) for k, v in snn.named_parameters() if not k.endswith(".clip")}
    ann_params = {k: tuple(v.shape) for k, v in ann.named_parameters()}
    assert snn_params == ann_params  # Hoyer's trainable clip is the only extra (a neuron parameter)
    g_snn = export_graph(snn, (3, 64, 64))
    g_ann = export_graph(ann, (3, 64, 64))
    spiking = NEURONS[family][0]
    assert [n.name for n in g_snn.nodes] == [n.name for n in g_ann.nodes]
    for a, b in zip(g_snn.nodes, g_ann.nodes):
        assert (a.op, b.op) == (spiking, "relu") or a.op == b.op
        assert a.inputs == b.inputs
    assert any(n.op == spiking for n in g_snn.nodes) and not any(n.op == spiking for n in g_ann.nodes)
