"""SpikeYOLO: architecture size vs the authors', exact export to the IR, round trip, gradients."""
import numpy as np
import pytest

torch = pytest.importorskip("torch")

from neurosim.ir import load_graph, save_graph  # noqa: E402
from neurosim.models.neurons import ILIF  # noqa: E402
from neurosim.models.spikeyolo import SpikeYOLO  # noqa: E402
from neurosim.sim import simulate  # noqa: E402

#: The authors' SpikeDFL holds a frozen 1x1 conv (16 weights 0..15) that the ultralytics summary
#: counts; our model leaves DFL to the decoder, so it has 16 parameters fewer.
DFL_PARAMS = 16


def n_params(model):
    return sum(p.numel() for p in model.parameters())


def test_s_scale_parameter_count_matches_authors():
    """The authors' summary of snn_yolov8 scale s at 80 classes reads 23,153,024 parameters;
    ours is exactly that minus the 16 frozen DFL weights (DFL is decoder-side here)."""
    assert n_params(SpikeYOLO("s", num_classes=80)) + DFL_PARAMS == 23_153_024


@pytest.mark.parametrize("scale,paper_millions", [("n", 13.2), ("m", 48.0), ("l", 69.0)])
def test_other_scales_close_to_paper(scale, paper_millions):
    """The paper quotes n/m/l rounded (13.2M / 48M / 69M); ours: 13.27M / 47.84M / 68.48M."""
    count = n_params(SpikeYOLO(scale)) / 1e6
    assert abs(count - paper_millions) / paper_millions < 0.01


def random_model(neuron, T, seed=0, merge_repconv=True):
    torch.manual_seed(seed)
    model = SpikeYOLO("tiny", num_classes=5, T=T, neuron=neuron, merge_repconv=merge_repconv)
    g = torch.Generator().manual_seed(seed + 1)
    with torch.no_grad():
        for m in model.modules():
            if isinstance(m, torch.nn.BatchNorm2d):  # randomized statistics: exercise the BN fold
                n = m.num_features
                m.running_mean.copy_(torch.rand(n, generator=g) - 0.5)
                m.running_var.copy_(torch.rand(n, generator=g) * 1.5 + 0.5)
                m.weight.copy_(torch.rand(n, generator=g) + 0.5)
                m.bias.copy_(torch.rand(n, generator=g) * 0.6 - 0.2)
    return model.double().eval()


@pytest.mark.parametrize("neuron", ["ilif", "relu"])
@pytest.mark.parametrize("T", [1, 2])
def test_export_matches_torch(neuron, T):
    """float64 torch vs float64 simulation of the exported graph: head outputs (averaged over T
    outside the graph) within 1e-6, and for I-LIF every neuron layer's total spike count equal."""
    model = random_model(neuron, T)
    x = torch.rand(2, T, 3, 64, 64, generator=torch.Generator().manual_seed(7), dtype=torch.float64) * 2
    counts = {}
    hooks = [m.register_forward_hook(lambda mod, inp, out, name=name: counts.__setitem__(name, float(out.sum())))
             for name, m in model.named_modules() if isinstance(m, ILIF)]
    with torch.no_grad():
        ys = model(x)
    for h in hooks:
        h.remove()
    graph = model.export_graph(64)
    assert graph.metadata["detection"] == {"type": "yolov8", "num_classes": 5, "strides": [8, 16, 32],
                                           "input_size": [64, 64], "outputs": list(graph.outputs), "reg_max": 16}
    result = simulate(graph, x.numpy(), precision="float64")
    for y, name in zip(ys, graph.outputs):
        out = result.outputs[name]
        assert out.shape == (2, T) + tuple(y.shape[1:])
        assert np.abs(out.mean(1) - y.numpy()).max() < 1e-6
    if neuron == "ilif":
        assert len(counts) > 50
        assert sum(v > 0 for v in counts.values()) > 0.8 * len(counts)  # the layers do fire
        for name, c in counts.items():
            assert result.trace[name].out_spikes.sum() == c, name
    assert [y.shape[-1] for y in ys] == [8, 4, 2]


def test_unmerged_repconv_export_matches_torch():
    """``merge_repconv=False`` exports RepConv/SepRepConv as their separate convs; equally exact."""
    model = random_model("ilif", 2, seed=3, merge_repconv=False)
    x = torch.rand(1, 2, 3, 64, 64, generator=torch.Generator().manual_seed(8), dtype=torch.float64) * 2
    with torch.no_grad():
        ys = model(x)
    graph = model.export_graph(64)
    assert any(n.name.endswith(".pw3.dw") for n in graph.nodes)
    result = simulate(graph, x.numpy(), precision="float64")
    for y, name in zip(ys, graph.outputs):
        assert np.abs(result.outputs[name].mean(1) - y.numpy()).max() < 1e-6


def test_graph_round_trips(tmp_path):
    model = random_model("ilif", 1)
    graph = model.export_graph(64)
    save_graph(graph, tmp_path / "g")
    loaded = load_graph(tmp_path / "g")
    assert [n.name for n in loaded.nodes] == [n.name for n in graph.nodes]
    assert list(loaded.outputs) == list(graph.outputs)
    assert loaded.metadata["detection"] == graph.metadata["detection"]
    x = np.random.default_rng(0).random((1, 1, 3, 64, 64)) * 2
    a = simulate(graph, x, precision="float64").outputs
    b = simulate(loaded, x, precision="float64").outputs
    for name in graph.outputs:
        np.testing.assert_array_equal(a[name], b[name])


@pytest.mark.parametrize("neuron", ["ilif", "relu"])
def test_forward_backward(neuron):
    model = SpikeYOLO("tiny", num_classes=3, T=2, neuron=neuron)
    model.head.bias_init(image_size=64)
    x = torch.rand(2, 2, 3, 64, 64) * 2
    ys = model(x)
    assert [tuple(y.shape) for y in ys] == [(2, 67, 8, 8), (2, 67, 4, 4), (2, 67, 2, 2)]
    sum(y.square().mean() for y in ys).backward()
    grad = model.backbone[0].conv.conv.weight.grad
    assert grad is not None and grad.abs().sum() > 0
