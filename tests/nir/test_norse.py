"""Norse networks, exported by Norse's own NIR exporter, simulated by Norse and by neurosim.

Norse steps ``v += dt tau_inv (v_leak - v + x)`` (forward Euler, R = 1, dt = 1e-3), which
neurosim imports as a LIF with ``decay_input``. Norse <= 1.1.0 writes ``tau = dt / tau_inv``
instead of ``1 / tau_inv`` (norse issue #411), i.e. time constants scaled by dt: such files
reproduce Norse's simulation when imported with ``dt = dt_norse ** 2``.
"""
import numpy as np
import pytest

import tests.nir.nirgraphs  # noqa: F401  (skips without nir >= 1.0.5)
from neurosim.nir import import_nir
from tests.nir.frameworks import agreement, record, round_weights, simulate_nodes

torch = pytest.importorskip("torch")
norse = pytest.importorskip("norse.torch")
from norse.torch.utils.export_nir import to_nir  # noqa: E402

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")
NORSE_DT = 1e-3


def import_dt(nir_tau, tau_mem_inv) -> float:
    """The dt that reproduces Norse's steps from its exported tau (see the module docstring)."""
    exported, meant = float(np.asarray(nir_tau).reshape(-1)[0]), 1.0 / float(tau_mem_inv)
    return NORSE_DT ** 2 if np.isclose(exported, NORSE_DT * meant) else NORSE_DT


def norse_step(net, x_t, state):
    return net(x_t, state)[1]


def test_integrate_and_fire_conv_net_spikes_are_identical():
    torch.manual_seed(5)
    c1, c2 = torch.nn.Conv2d(2, 4, 3, padding=1), torch.nn.Conv2d(4, 3, 3, stride=2, padding=1)
    with torch.no_grad():
        c1.weight.mul_(2.0)
        c2.weight.mul_(2.0)
    net = round_weights(norse.SequentialState(
        c1, norse.IAFCell(norse.IAFParameters(v_th=torch.full((4, 8, 8), 0.5))),
        c2, norse.IAFCell(norse.IAFParameters(v_th=torch.full((3, 4, 4), 0.5)))))
    graph = import_nir(to_nir(net, torch.zeros(2, 8, 8)), input_kind="binary")  # IF needs no dt
    assert [n.op for n in graph.nodes] == ["input", "conv2d", "if", "conv2d", "if"]
    x = (torch.rand(30, 2, 2, 8, 8) < 0.3).float()
    theirs = record(net, x, {"1": net[1], "3": net[3]}, norse_step)
    ours = simulate_nodes(graph, x.numpy(), ["1", "3"])
    for name in ("1", "3"):
        assert theirs[name].sum() > 20
        np.testing.assert_array_equal(ours[name], theirs[name], err_msg=name)


def test_leaky_network_matches_within_tolerance():
    """LIF hidden layer, leaky-integrator readout; torch's float weights (no rounding)."""
    torch.manual_seed(6)
    lin1, lin2 = torch.nn.Linear(10, 16), torch.nn.Linear(16, 3)
    with torch.no_grad():
        lin1.weight.mul_(3.0)
        lin2.weight.mul_(3.0)
    lif = norse.LIFBoxParameters(tau_mem_inv=torch.full((16,), 100.0), v_leak=torch.zeros(16),
                                 v_th=torch.full((16,), 0.3))
    li = norse.LIBoxParameters(tau_mem_inv=torch.full((3,), 200.0), v_leak=torch.zeros(3))
    net = norse.SequentialState(lin1, norse.LIFBoxCell(lif), lin2, norse.LIBoxCell(li))
    exported = to_nir(net, torch.zeros(10))
    graph = import_nir(exported, dt=import_dt(exported.nodes["1"].tau, 100.0), input_kind="binary")
    assert graph.node("1").op == "lif" and graph.node("1").decay_input and graph.node("3").op == "li"
    np.testing.assert_allclose(graph.node("1").decay, 1 - NORSE_DT * 100.0, rtol=1e-6)
    x = (torch.rand(60, 3, 10) < 0.3).float()
    theirs = record(net, x, {"1": net[1], "3": net[3]}, norse_step)
    ours = simulate_nodes(graph, x.numpy(), ["1", "3"])
    assert theirs["1"].sum() > 50
    assert agreement(ours["1"], theirs["1"]) >= 0.999
    np.testing.assert_allclose(ours["3"], theirs["3"], atol=1e-5)
