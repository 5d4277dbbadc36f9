"""snnTorch networks, exported by snnTorch's own NIR exporter, simulated by snnTorch and by neurosim.

snnTorch writes ``tau = dt / (1 - beta)`` and ``R = tau / dt`` with dt = 1e-4, so the import
uses dt = 1e-4 and recovers ``H = beta V + X``. Neurons use ``reset_mechanism="zero"``: NIR
resets to v_reset (snnTorch's default subtractive reset is also exported as reset-to-zero).
"""
import numpy as np
import pytest

import tests.nir.nirgraphs  # noqa: F401  (skips without nir >= 1.0.5)
from neurosim.nir import import_nir
from tests.nir.frameworks import agreement, record, round_weights, simulate_nodes

snn = pytest.importorskip("snntorch")
torch = pytest.importorskip("torch")
from snntorch import utils as snn_utils  # noqa: E402
from snntorch.export_nir import export_to_nir  # noqa: E402

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")
SNNTORCH_DT = 1e-4


def leaky(shape, beta, threshold, output=False):
    """snnTorch exports need per-neuron tensors (nir's type check compares their shape)."""
    beta = beta if isinstance(beta, torch.Tensor) else torch.full(shape, beta)
    return snn.Leaky(beta=beta, threshold=torch.full(shape, threshold), init_hidden=True,
                     reset_mechanism="zero", output=output)


def snntorch_step(net, x_t, state):
    net(x_t)


def compare(net, sample, x, watched):
    """Export ``net``, import it, and return (snnTorch outputs, neurosim outputs) of ``watched``."""
    graph = import_nir(export_to_nir(net, sample, ignore_dims=[0]), dt=SNNTORCH_DT, input_kind="binary")
    snn_utils.reset(net)
    theirs = record(net, x, {name: net[int(name)] for name in watched}, snntorch_step)
    ours = simulate_nodes(graph, x.numpy(), list(watched))
    return graph, theirs, ours


@pytest.mark.parametrize("per_neuron", [False, True], ids=["shared-beta", "per-neuron-beta"])
def test_leaky_mlp_spikes_are_identical(per_neuron):
    torch.manual_seed(1)
    beta = torch.rand(16) * 0.5 + 0.45 if per_neuron else 0.9
    net = torch.nn.Sequential(torch.nn.Linear(12, 16), leaky((16,), beta, 0.5),
                              torch.nn.Linear(16, 4), leaky((4,), 0.8, 0.4, output=True))
    with torch.no_grad():
        net[0].weight.mul_(2.0)
    round_weights(net)
    x = (torch.rand(40, 3, 12) < 0.3).float()
    graph, theirs, ours = compare(net, torch.zeros(1, 12), x, ["1", "3"])
    assert graph.node("1").op == ("cubalif" if per_neuron else "lif")
    for name in ("1", "3"):
        assert theirs[name].sum() > 10, "the case must exercise spikes"
        np.testing.assert_array_equal(ours[name], theirs[name], err_msg=name)


def test_synaptic_is_a_cubalif_with_identical_spikes():
    torch.manual_seed(2)
    syn = snn.Synaptic(alpha=torch.rand(6) * 0.5 + 0.4, beta=torch.rand(6) * 0.5 + 0.4, threshold=torch.full((6,), 0.6),
                       init_hidden=True, reset_mechanism="zero", reset_delay=False, output=True)
    net = round_weights(torch.nn.Sequential(torch.nn.Linear(10, 6), syn))
    x = (torch.rand(50, 3, 10) < 0.3).float()
    graph, theirs, ours = compare(net, torch.zeros(1, 10), x, ["1"])
    assert graph.node("1").op == "cubalif"
    assert theirs["1"].sum() > 10
    np.testing.assert_array_equal(ours["1"], theirs["1"])


def test_convolutional_network_spikes_are_identical():
    torch.manual_seed(3)
    net = torch.nn.Sequential(torch.nn.Conv2d(2, 4, 3, padding=1), leaky((4, 8, 8), 0.85, 0.4),
                              torch.nn.AvgPool2d(2), torch.nn.Flatten(), torch.nn.Linear(64, 5),
                              leaky((5,), 0.9, 0.3, output=True))
    with torch.no_grad():
        net[0].weight.mul_(2.0)
    round_weights(net)
    x = (torch.rand(30, 2, 2, 8, 8) < 0.3).float()
    graph, theirs, ours = compare(net, torch.zeros(1, 2, 8, 8), x, ["1", "5"])
    assert [n.op for n in graph.nodes] == ["input", "conv2d", "lif", "avgpool2d", "flatten", "linear", "lif"]
    for name in ("1", "5"):
        assert theirs[name].sum() > 10
        np.testing.assert_array_equal(ours[name], theirs[name], err_msg=name)


def test_unrounded_weights_agree_within_float32_rounding():
    """With torch's float weights, sums may differ in the last bit (summation order): spikes
    agree except where a membrane lands within rounding of the threshold."""
    torch.manual_seed(4)
    net = torch.nn.Sequential(torch.nn.Linear(20, 32), leaky((32,), torch.rand(32) * 0.4 + 0.5, 0.3),
                              torch.nn.Linear(32, 8), leaky((8,), 0.9, 0.3, output=True))
    x = (torch.rand(60, 4, 20) < 0.3).float()
    _, theirs, ours = compare(net, torch.zeros(1, 20), x, ["1", "3"])
    for name in ("1", "3"):
        assert theirs[name].sum() > 50
        assert agreement(ours[name], theirs[name]) >= 0.999, name
