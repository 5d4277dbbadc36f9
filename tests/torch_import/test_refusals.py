"""What from_torch does not convert is one sentence naming the module, its class and what is supported."""
import pytest
import torch
from torch import nn

from neurosim.errors import NeurosimError
from neurosim.torch_import import ImportRefused, from_torch


class Seq(nn.Module):
    """A multi-step wrapper: applies ``body`` per frame on [T*B, ...]."""

    def __init__(self, *body):
        super().__init__()
        self.body = nn.Sequential(*body)

    def forward(self, x):
        T, B = x.shape[:2]
        y = self.body(x.flatten(0, 1))
        return y.view(T, B, *y.shape[1:])


@pytest.mark.parametrize("model, match", [
    (Seq(nn.Conv2d(2, 4, 3), nn.GELU()), r"module 'body.1' \(GELU\) calls torch 'gelu'.*supported: .*conv2d"),
    (Seq(nn.Conv2d(2, 4, 3, dilation=2)), r"module 'body.0' \(Conv2d\) uses a dilated convolution"),
    (Seq(nn.Upsample(scale_factor=2, mode="bilinear")), r"upsamples with mode 'bilinear'"),
    (Seq(nn.MaxPool2d(2, ceil_mode=True)), r"ceil_mode"),
    (Seq(nn.Conv2d(2, 4, 1), nn.BatchNorm2d(4, track_running_stats=False)), r"batch statistics"),
])
def test_unsupported_ops_name_the_module(model, match):
    with pytest.raises(ImportRefused, match=match):
        from_torch(model, (2, 8, 8), T=2)


class _ConvOnSequence(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(2, 3, 1)
        self.fc = nn.Linear(8, 3)

    def forward(self, x):  # [T, B, C, H, W]: a per-frame conv cannot take it; a Linear takes a map
        return self.fc(x)


def test_linear_on_a_map_is_refused():
    with pytest.raises(ImportRefused, match=r"module 'fc' \(Linear\) applies a Linear layer to a map"):
        from_torch(_ConvOnSequence(), (2, 8, 8), T=2)


def test_unknown_framework_neuron_is_refused():
    sj = pytest.importorskip("spikingjelly.activation_based.neuron")
    model = nn.Sequential(sj.QIFNode(step_mode="m")) if hasattr(sj, "QIFNode") else None
    if model is None:
        pytest.skip("no QIFNode in this SpikingJelly")
    with pytest.raises(ImportRefused, match=r"module '0' \(QIFNode\) is a neuron model the importer does not convert"):
        from_torch(model, (4,), T=2)


def test_a_neuron_called_twice_is_refused():
    from neurosim.models.neurons import LIF

    class Twice(nn.Module):
        def __init__(self):
            super().__init__()
            self.lif = LIF()

        def forward(self, x):
            return self.lif(self.lif(x))

    with pytest.raises(ImportRefused, match=r"module 'lif' \(LIF\) is called twice"):
        from_torch(Twice(), (4,), T=2)


def test_time_mixing_is_refused():
    class Shift(nn.Module):
        def forward(self, x):
            return torch.stack([x[t] + x[t - 1] for t in range(x.shape[0])])

    with pytest.raises(ImportRefused, match="different timesteps"):
        from_torch(Shift(), (4,), T=3)


def test_bad_arguments_are_one_sentence():
    with pytest.raises(NeurosimError, match="T must be a positive integer"):
        from_torch(nn.Identity(), (4,), T=0)
    with pytest.raises(NeurosimError, match="input_kind"):
        from_torch(nn.Identity(), (4,), T=1, input_kind="spikes")
    with pytest.raises(NeurosimError, match="forward failed"):
        from_torch(nn.Linear(5, 2), (4,), T=1)
