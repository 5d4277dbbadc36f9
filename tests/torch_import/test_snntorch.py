"""snnTorch networks (time loop in forward, or single-step) imported with from_torch match snnTorch."""
import pytest
import torch
from torch import nn

from tests.torch_import.helpers import compare, exact_bn

snn = pytest.importorskip("snntorch")


class LoopNet(nn.Module):
    """snnTorch tutorial style: forward(x [T, B, ...]) loops over time, explicit membranes.
    (snnTorch's spikes are always float32: ``.to(x.dtype)`` lets the float64 copy run.)"""

    def __init__(self, reset="subtract", synaptic=False):
        super().__init__()
        self.conv1, self.bn1 = nn.Conv2d(2, 8, 3, padding=1), nn.BatchNorm2d(8)
        self.lif1 = snn.Leaky(beta=0.8, threshold=1.0, reset_mechanism=reset)
        self.pool = nn.MaxPool2d(2)
        self.fc = nn.Linear(8 * 4 * 4, 6)
        self.lif2 = (snn.Synaptic(alpha=0.5, beta=0.75, reset_mechanism=reset) if synaptic
                     else snn.Leaky(beta=0.5, threshold=0.5, reset_mechanism=reset))
        self.synaptic = synaptic

    def forward(self, x):
        mem1 = self.lif1.reset_mem()
        state2 = self.lif2.reset_mem()
        spikes = []
        for step in range(x.shape[0]):
            spk1, mem1 = self.lif1(self.bn1(self.conv1(x[step])), mem1)
            cur2 = self.fc(torch.flatten(self.pool(spk1.to(x.dtype)), 1))
            if self.synaptic:
                spk2, syn2, mem2 = self.lif2(cur2, *state2)
                state2 = (syn2, mem2)
            else:
                spk2, state2 = self.lif2(cur2, state2)
            spikes.append(spk2.to(x.dtype))
        return torch.stack(spikes)


@pytest.mark.parametrize("precision", ["float64", "float32"])
@pytest.mark.parametrize("reset,synaptic", [("subtract", False), ("zero", False), ("subtract", True),
                                            ("zero", True)])
def test_time_loop_conv_net(reset, synaptic, precision):
    torch.manual_seed(0)
    model = exact_bn(LoopNet(reset, synaptic))
    with torch.no_grad():
        model.conv1.weight.mul_(3)
        model.fc.weight.mul_(4)
    if precision == "float64":
        model = model.double()
    rec, _ = compare(model, (2, 8, 8), T=6, precision=precision)
    lif1 = rec.graph.node("lif1")
    assert lif1.op == "lif" and lif1.reset == ("soft-delayed" if reset == "subtract" else "hard")


def test_single_step_model_with_init_hidden():
    torch.manual_seed(1)
    model = nn.Sequential(nn.Flatten(), nn.Linear(20, 16), snn.Leaky(beta=0.9, init_hidden=True),
                          nn.Linear(16, 4), snn.Leaky(beta=0.9, init_hidden=True))
    with torch.no_grad():
        model[1].weight.mul_(3)
        model[3].weight.mul_(3)
    rec, _ = compare(model, (20,), T=8, step_mode="single", precision="float32")
    assert rec.graph.metadata["import"]["step_mode"] == "single"


def test_membrane_output_is_refused():
    from neurosim.torch_import import ImportRefused, from_torch

    class MemOut(nn.Module):
        def __init__(self):
            super().__init__()
            self.fc, self.lif = nn.Linear(4, 3), snn.Leaky(beta=0.5)

        def forward(self, x):
            mem, mems = self.lif.reset_mem(), []
            for t in range(x.shape[0]):
                spk, mem = self.lif(self.fc(x[t]), mem)
                mems.append(mem)
            return torch.stack(mems)

    with pytest.raises(ImportRefused, match="membrane"):
        from_torch(MemOut(), (4,), T=3)
