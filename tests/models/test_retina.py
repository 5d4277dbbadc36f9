"""Spiking RetinaNet: the exported graph simulates to the torch model's outputs (last timestep)
and spikes; the head spec fits the retina contract and the RetinaLoss trains the whole model."""
import math

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from neurosim.detect import HeadSpec, read_out
from neurosim.ir import load_graph, save_graph
from neurosim.losses import RetinaLoss
from neurosim.models.export import export_graph
from neurosim.models.neurons import LIF
from neurosim.models.retina import SpikingRetinaNet
from neurosim.sim import simulate
from tests.models.helpers import randomize_bn  # noqa: E402

SIZE = (64, 64)


def lif_spike_counts(model, x):
    counts = {}
    hooks = [m.register_forward_hook(lambda mod, inp, out, name=name: counts.__setitem__(name, float(out.sum())))
             for name, m in model.named_modules() if isinstance(m, LIF)]
    with torch.no_grad():
        outputs = model(x)
    for h in hooks:
        h.remove()
    return outputs, counts


@pytest.mark.parametrize("T", [2, 4])
@pytest.mark.parametrize("neuron", ["lif", "relu"])
def test_export_matches_torch_at_last_timestep(T, neuron, tmp_path):
    torch.manual_seed(0)
    model = SpikingRetinaNet("tiny", num_classes=3, T=T, neuron=neuron, input_size=SIZE, asd_decay=0.6)
    randomize_bn(model)
    # the heads' N(0, 0.01) init makes outputs nearly constant; larger weights test the graph harder
    for sub in (model.cls_head, model.box_head):
        for conv in [*sub.convs, sub.out]:
            torch.nn.init.normal_(conv.weight, std=0.1)
    model = model.double().eval()
    x = torch.rand(2, T, 3, *SIZE, dtype=torch.float64) * 2
    outputs, counts = lif_spike_counts(model, x)
    graph = export_graph(model, (3, *SIZE), metadata=model.metadata(SIZE))
    assert graph.metadata["readout"] == "last"
    save_graph(graph, tmp_path / "m")
    graph = load_graph(tmp_path / "m")
    assert sum(n.op == "li" for n in graph.nodes) == 3 and sum(n.op == "mul" for n in graph.nodes) >= 3 * 2 + 4
    result = simulate(graph, x.numpy(), precision="float64", readout="every")  # the heads at every step
    fast = simulate(graph, x.numpy(), precision="float64")  # metadata readout "last": heads at the last step only
    names = graph.metadata["detection"]["outputs"]
    assert len(names) == len(outputs) == 6
    decoded = read_out(graph.metadata["detection"], result.outputs)
    for name, expected in zip(names, outputs):
        got = result.outputs[name]
        assert got.shape[:2] == (2, T) and fast.outputs[name].shape[:2] == (2, 1)
        np.testing.assert_allclose(got[:, -1], expected.numpy(), rtol=1e-6, atol=1e-6)
        np.testing.assert_allclose(fast.outputs[name][:, -1], expected.numpy(), rtol=1e-6, atol=1e-6)
        np.testing.assert_array_equal(decoded[name], got[:, -1])
        assert np.std(expected.numpy()) > 1e-4  # not a trivially constant output
    if neuron == "lif":
        lif_nodes = [n.name for n in graph.nodes if n.op == "lif"]
        assert len(lif_nodes) == len(counts)
        sim_counts = {n: result.trace[n].total("out_spikes") for n in lif_nodes}
        assert sorted(sim_counts.values()) == sorted(counts.values()) and sum(counts.values()) > 0
        assert {n: fast.trace[n].total("out_spikes") for n in lif_nodes} == sim_counts
        # the gates and the ASD spikes are named after their modules
        for level in ("p3", "p4", "p5"):
            module = f"asd.{['p3', 'p4', 'p5'].index(level)}.neuron"
            assert sim_counts[f"asd.{level}.n"] == counts[module]
        assert sim_counts["stage2.block0.gate"] == counts["stages.1.0.gate"]
    else:
        assert not any(n.op == "lif" for n in graph.nodes)


def test_paper_scale_builds():
    model = SpikingRetinaNet("paper", num_classes=2, T=1, input_size=(64, 64))
    assert [len(s) for s in model.stages] == [3, 4, 6, 3]
    out = model(torch.rand(1, 1, 3, 64, 64))
    assert [o.shape[1] for o in out] == [18, 36] * 3


def test_head_spec_loss_and_backward():
    torch.manual_seed(0)
    nc = 2
    model = SpikingRetinaNet("tiny", num_classes=nc, T=2, input_size=SIZE)
    doc = model.head_spec(SIZE)
    spec = HeadSpec.from_dict(doc)
    assert spec.readout == "last"
    assert spec.to_dict() == {**doc, "anchor_ratios": list(spec.anchor_ratios), "anchor_scales": list(spec.anchor_scales)}
    assert spec.strides == (8, 16, 32) and spec.anchor_sizes == (16.0, 32.0, 64.0)
    out = model(torch.rand(2, 2, 3, *SIZE))
    channels = spec.output_channels()
    assert [o.shape[1] for o in out] == [channels[n] for n in spec.outputs] == [9 * nc, 36] * 3
    assert [tuple(o.shape[2:]) for o in out] == [spec.grid_size(lvl) for lvl in range(3) for _ in (0, 1)]
    # prior-probability init of the class logits
    assert torch.allclose(model.cls_head.out.bias, torch.full_like(model.cls_head.out.bias, -math.log(99)))
    targets = [{"boxes": torch.tensor([[4.0, 6.0, 30.0, 40.0], [20.0, 20.0, 60.0, 50.0]]), "labels": torch.tensor([0, 1])},
               {"boxes": torch.tensor([[10.0, 10.0, 26.0, 22.0]]), "labels": torch.tensor([1])}]
    total, _parts = RetinaLoss(spec)(out, targets)
    assert torch.isfinite(total)
    total.backward()
    assert model.stem.conv.weight.grad is not None and model.stem.conv.weight.grad.abs().sum() > 0
    assert all(asd.decay_logit.grad is not None for asd in model.asd)
    assert model.stages[1][0].gate_conv.conv.weight.grad.abs().sum() > 0


def test_asd_decay_is_the_li_decay():
    model = SpikingRetinaNet("tiny", num_classes=1, T=3, input_size=SIZE, asd_decay=0.3)
    graph = export_graph(model, (3, *SIZE), metadata=model.metadata(SIZE))
    for node in graph.nodes:
        if node.op == "li":
            np.testing.assert_allclose(np.asarray(node.decay), 0.3, rtol=1e-6)
            np.testing.assert_allclose(np.asarray(node.gain), 1.0)
            np.testing.assert_allclose(np.asarray(node.bias), 0.0)
    with pytest.raises(ValueError):
        SpikingRetinaNet("tiny", num_classes=1, input_size=(60, 64))
