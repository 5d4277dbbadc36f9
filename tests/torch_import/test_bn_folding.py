"""BatchNorms in a row after one convolution fold one after the other (``W' = a2 a1 W``,
``b' = a2 (a1 b + c1) + c2``), in multi-step and single-step models; a BN after a neuron stays a
depthwise 1x1 convolution."""
import pytest
import torch
from torch import nn

from .helpers import compare, exact_bn

sj = pytest.importorskip("spikingjelly.activation_based")
from spikingjelly.activation_based import functional, layer, neuron  # noqa: E402


@pytest.mark.parametrize("step_mode", ["m", "s"])
def test_two_batchnorms_after_a_conv_both_fold(step_mode):
    torch.manual_seed(3)
    model = nn.Sequential(layer.Conv2d(2, 6, 3, padding=1, bias=False), layer.BatchNorm2d(6), layer.BatchNorm2d(6),
                          neuron.IFNode(v_reset=None), layer.BatchNorm2d(6), layer.Conv2d(6, 3, 1))
    functional.set_step_mode(model, step_mode)
    with torch.no_grad():
        model[0].weight.mul_(3)
    rec, _ = compare(exact_bn(model).double(), (2, 8, 8), T=3)
    assert [n.op for n in rec.graph] == ["input", "conv2d", "if", "conv2d", "conv2d"]
    decisions = rec.graph.metadata["import"]["decisions"]
    assert sum("folded into '0'" in d for d in decisions) == 2
    assert any("does not follow a convolution" in d for d in decisions)
