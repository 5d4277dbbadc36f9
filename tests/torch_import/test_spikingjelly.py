"""SpikingJelly 2.0 networks imported with from_torch match SpikingJelly's own outputs."""
import numpy as np
import pytest
import torch
from torch import nn

from tests.torch_import.helpers import compare, exact_bn

sj = pytest.importorskip("spikingjelly.activation_based")
from spikingjelly.activation_based import functional, layer, neuron  # noqa: E402


class ConvNet(nn.Module):
    """Multi-step conv net: conv-BN-LIF, max-pool, conv-BN-IF with a residual add, linear head."""

    def __init__(self, make_neuron1, make_neuron2):
        super().__init__()
        self.c1, self.b1, self.n1 = layer.Conv2d(2, 8, 3, padding=1, bias=False), layer.BatchNorm2d(8), make_neuron1()
        self.pool = layer.MaxPool2d(2)
        self.c2, self.b2, self.n2 = layer.Conv2d(8, 8, 3, padding=1, bias=False), layer.BatchNorm2d(8), make_neuron2()
        self.flat, self.fc = layer.Flatten(), layer.Linear(8 * 4 * 4, 5)

    def forward(self, x):
        y = self.pool(self.n1(self.b1(self.c1(x))))
        z = self.n2(self.b2(self.c2(y))) + y
        return self.fc(self.flat(z))


def _scaled(model, gain=3.0):
    with torch.no_grad():
        for m in model.modules():
            if isinstance(m, nn.Conv2d):
                m.weight.mul_(gain)
    return model


NEURONS = {
    "lif-hard": (lambda: neuron.LIFNode(tau=2.0), lambda: neuron.IFNode(v_reset=None)),
    "lif-no-decay-input-soft": (lambda: neuron.LIFNode(tau=4.0, decay_input=False, v_reset=None),
                                lambda: neuron.IFNode()),
    "plif-vreset": (lambda: neuron.ParametricLIFNode(init_tau=3.0, v_reset=-0.5, v_threshold=0.5),
                    lambda: neuron.LIFNode(tau=2.0, v_reset=0.25)),
}


@pytest.mark.parametrize("precision", ["float64", "float32"])
@pytest.mark.parametrize("kind", list(NEURONS))
@pytest.mark.parametrize("step_mode", ["m", "s"])
def test_conv_net_with_bn_pool_and_residual(kind, step_mode, precision):
    torch.manual_seed(1)
    model = _scaled(exact_bn(ConvNet(*NEURONS[kind])))
    functional.set_step_mode(model, step_mode)
    if precision == "float64":
        model = model.double()
    rec, _ = compare(model, (2, 8, 8), T=4, precision=precision)
    assert rec.graph.metadata["import"]["step_mode"] == ("multi" if step_mode == "m" else "single")
    ops = [n.op for n in rec.graph]
    assert "batch_norm" not in ops and ops.count("conv2d") == 2  # both BNs folded


def test_seq_to_ann_container_and_sequential():
    torch.manual_seed(2)
    model = nn.Sequential(
        layer.SeqToANNContainer(nn.Conv2d(3, 8, 3, padding=1, bias=False), nn.BatchNorm2d(8)),
        neuron.LIFNode(tau=2.0, step_mode="m"),
        layer.SeqToANNContainer(nn.AvgPool2d(2), nn.Conv2d(8, 4, 1), nn.AdaptiveAvgPool2d(1), nn.Flatten()),
    )
    model = _scaled(exact_bn(model), 4.0).double()
    compare(model, (3, 8, 8), T=3)


def test_stale_state_is_reset_and_noted():
    torch.manual_seed(3)
    model = _scaled(exact_bn(ConvNet(*NEURONS["lif-hard"]))).double()
    functional.set_step_mode(model, "m")
    model.eval()(torch.randn(4, 5, 2, 8, 8, dtype=torch.float64))  # leaves v as tensors of another batch
    rec, _ = compare(model, (2, 8, 8), T=4)
    assert any("left from an earlier run" in d for d in rec.graph.metadata["import"]["decisions"])
    assert not isinstance(model.n1.v, torch.Tensor) or not torch.any(model.n1.v != 0)


def zoo_modules(monkeypatch):
    """SpikingJelly's model zoo imports torchvision only for downloading pretrained weights (which
    these tests never do); torchvision's PyPI build does not run beside the CPU torch here."""
    import sys
    import types

    try:
        import torchvision  # noqa: F401
    except ImportError:
        for name in ("torchvision", "torchvision._internally_replaced_utils", "torchvision.models",
                     "torchvision.models.utils"):
            stub = types.ModuleType(name)
            stub.load_state_dict_from_url = None
            monkeypatch.setitem(sys.modules, name, stub)
    from spikingjelly.activation_based.model import sew_resnet, spiking_resnet
    return sew_resnet, spiking_resnet


@pytest.mark.parametrize("factory", ["spiking_resnet18", "sew_resnet18"])
def test_model_zoo_resnets(factory, monkeypatch):
    sew_resnet, spiking_resnet = zoo_modules(monkeypatch)

    torch.manual_seed(4)
    kwargs = dict(spiking_neuron=neuron.IFNode, num_classes=10)
    if factory == "sew_resnet18":
        model = sew_resnet.sew_resnet18(cnf="ADD", **kwargs)
    else:
        model = spiking_resnet.spiking_resnet18(**kwargs)
    functional.set_step_mode(model, "m")
    model = exact_bn(model).double()
    rec, sim = compare(model, (3, 32, 32), T=2, min_spikes=100)
    n_neurons = sum(1 for n in rec.graph if n.is_neuron)
    assert n_neurons == sum(1 for m in model.modules() if isinstance(m, neuron.IFNode))


def test_yolo_style_neck_with_sj_neurons():
    """Plain torch neck: cat, nearest upsample, residual add; SpikingJelly neurons, multi-step."""

    class Neck(nn.Module):
        def __init__(self):
            super().__init__()
            self.stem = layer.SeqToANNContainer(nn.Conv2d(3, 8, 3, 2, 1, bias=False), nn.BatchNorm2d(8))
            self.n0 = neuron.LIFNode(tau=2.0, step_mode="m")
            self.down = layer.SeqToANNContainer(nn.Conv2d(8, 16, 3, 2, 1, bias=False), nn.BatchNorm2d(16))
            self.n1 = neuron.LIFNode(tau=2.0, step_mode="m")
            self.up = layer.SeqToANNContainer(nn.Upsample(scale_factor=2, mode="nearest"))
            self.fuse = layer.SeqToANNContainer(nn.Conv2d(24, 8, 1, bias=False), nn.BatchNorm2d(8))
            self.n2 = neuron.LIFNode(tau=2.0, step_mode="m")
            self.head_p3 = layer.SeqToANNContainer(nn.Conv2d(8, 6, 1))
            self.head_p4 = layer.SeqToANNContainer(nn.Conv2d(16, 6, 1))

        def forward(self, x):
            p3 = self.n0(self.stem(x))
            p4 = self.n1(self.down(p3))
            f = self.n2(self.fuse(torch.cat([self.up(p4), p3], dim=2))) + p3
            return [self.head_p3(f), self.head_p4(p4)]

    torch.manual_seed(5)
    model = _scaled(exact_bn(Neck()), 3.0).double()
    rec, _ = compare(model, (3, 16, 16), T=4)
    ops = {n.op for n in rec.graph}
    assert {"concat", "upsample", "add"} <= ops
    assert len(rec.graph.outputs) == 2


def test_multistep_container_linear_bn1d_dropout():
    torch.manual_seed(6)
    model = nn.Sequential(
        layer.MultiStepContainer(nn.Conv2d(2, 8, 3, padding=1)), neuron.LIFNode(step_mode="m"),
        layer.Flatten(step_mode="m"), layer.Linear(8 * 8 * 8, 16, step_mode="m"),
        layer.BatchNorm1d(16, step_mode="m"), neuron.IFNode(step_mode="m"), layer.Dropout(0.5, step_mode="m"),
        layer.Linear(16, 4, step_mode="m"))
    with torch.no_grad():
        model[0][0].weight.mul_(6)
        model[3].weight.mul_(6)
    rec, _ = compare(exact_bn(model).double(), (2, 8, 8), T=4, min_spikes=5)
    assert [n.op for n in rec.graph] == ["input", "conv2d", "lif", "flatten", "linear", "if", "linear"]
