"""Targeted neuron semantics: rounding, comparison, reset, leak forms, hand-computed sequences."""
import numpy as np
import pytest

from neurosim.ir import GraphBuilder
from neurosim.sim import FixedPointConfig, simulate


def run_neuron(method, currents, precision="float64", fixed_point=None, **params):
    """Feed a [T, N] sequence of currents straight into one neuron node."""
    currents = np.asarray(currents, dtype=np.float64)
    b = GraphBuilder()
    x = b.input((currents.shape[1],), kind="analog")
    s = getattr(b, method)(x, **params)
    graph = b.build([s])
    return simulate(graph, currents, precision=precision, fixed_point=fixed_point).outputs[s][0]


@pytest.mark.parametrize("precision", ["float32", "float64"])
def test_ilif_rounds_half_to_even(precision):
    x = [[0.5, 1.5, 2.5, 3.5, 4.5, 4.7, -1.0, 0.49]]
    out = run_neuron("ilif", x, precision, decay=0.25, max_spike=4)
    np.testing.assert_array_equal(out[0], [0, 2, 2, 4, 4, 4, 0, 0])


def test_ilif_fixed_point_rounds_half_to_even():
    cfg = FixedPointConfig(frac_bits=4)
    x = [[0.5, 1.5, 2.5, 3.5, 4.5, -1.0]]
    out = run_neuron("ilif", x, fixed_point=cfg, decay=0.25, max_spike=4)
    np.testing.assert_array_equal(out[0], [0, 2, 2, 4, 4, 0])


def test_ilif_soft_reset_and_leak_by_hand():
    # SpikeYOLO: H = 0.25 (H_prev - S_prev) + X, S = round(clamp(H, 0, 4))
    out = run_neuron("ilif", [[1.4], [1.4], [0.0]], decay=0.25, max_spike=4)
    # t0: H=1.4 S=1 V=0.4; t1: H=0.1+1.4=1.5 S=2 V=-0.5; t2: H=-0.125 S=0
    np.testing.assert_array_equal(out[:, 0], [1, 2, 0])


def test_ilif_decay_input_form():
    # SpikingJelly tau=2: H = V + (X - V) / 2
    out = run_neuron("ilif", [[3.0], [3.0]], decay=0.5, max_spike=4, decay_input=True)
    # t0: H=1.5 -> S=2 (half even) V=-0.5; t1: H=-0.5+(3+0.5)/2=1.25 -> S=1
    np.testing.assert_array_equal(out[:, 0], [2, 1])


@pytest.mark.parametrize("compare,expected", [(">", 0), (">=", 1)])
def test_lif_strict_and_non_strict_threshold(compare, expected):
    out = run_neuron("lif", [[0.5]], threshold=0.5, decay=0.25, compare=compare)
    assert out[0, 0] == expected


def test_ems_yolo_lif_hard_reset_by_hand():
    # EMS-YOLO: mem = 0.25 mem_prev (1 - spike_prev) + x; spike = mem > 0.5
    out = run_neuron("lif", [[0.4], [0.4], [0.4], [0.4]], threshold=0.5, decay=0.25, reset="hard")
    # mem: 0.4 (0), 0.5 (0, not > 0.5), 0.525 (1), 0.4 (0)
    np.testing.assert_array_equal(out[:, 0], [0, 0, 1, 0])


def test_soft_reset_keeps_the_excess():
    out = run_neuron("if", [[1.5], [0.0], [0.6]], threshold=1.0, reset="soft")
    # H: 1.5 -> spike, V=0.5; H=0.5; H=1.1 -> spike
    np.testing.assert_array_equal(out[:, 0], [1, 0, 1])
    hard = run_neuron("if", [[1.5], [0.0], [0.6]], threshold=1.0, reset="hard")
    np.testing.assert_array_equal(hard[:, 0], [1, 0, 0])


def test_hard_reset_to_a_nonzero_value():
    out = run_neuron("if", [[1.2], [0.5], [0.6]], threshold=1.0, reset="hard", reset_value=0.5, compare=">=")
    # V after spike 0.5; t1: 1.0 >= 1 spike; V=0.5; t2: 1.1 spike
    np.testing.assert_array_equal(out[:, 0], [1, 1, 1])


def test_lif_decay_input_form_by_hand():
    out = run_neuron("lif", [[1.5], [1.5]], threshold=1.0, decay=0.5, decay_input=True, reset="hard")
    # H0 = 0 + 1.5/2 = 0.75 no spike; H1 = 0.75 + (1.5-0.75)/2 = 1.125 spike
    np.testing.assert_array_equal(out[:, 0], [0, 1])


def test_hoyer_spike_is_stateless_and_inclusive():
    out = run_neuron("hoyer", [[1.0, 0.99, 2.0], [1.0, 0.99, 0.0]], clip=2.0, threshold=0.5)
    np.testing.assert_array_equal(out, [[1, 0, 1], [1, 0, 0]])


def test_fixed_point_state_saturates():
    cfg = FixedPointConfig(state_bits=8, frac_bits=4)  # range [-128, 127] units of 1/16 threshold
    out = run_neuron("if", [[-100.0], [0.0], [9.0]], threshold=1.0, reset="soft", fixed_point=cfg)
    # t0: -1600 units saturate at -128 (= -8.0); t2: -8 + 9 = 1.0 -> not > 1.0
    np.testing.assert_array_equal(out[:, 0], [0, 0, 0])
    out = run_neuron("if", [[-100.0], [0.0], [9.1]], threshold=1.0, reset="soft", fixed_point=cfg)
    np.testing.assert_array_equal(out[:, 0], [0, 0, 1])


def test_lif_soft_delayed_reset_by_hand():
    # snnTorch Leaky, reset by subtraction one step late and not decayed:
    # H_t = 0.5 H_{t-1} + X_t - 1 [H_{t-1} > 1]
    out = run_neuron("lif", [[1.5], [1.0], [0.0], [0.0]], threshold=1.0, decay=0.5, reset="soft-delayed")
    # t0: H=1.5 S=1; t1: H=0.75+1-1=0.75 S=0; t2: H=0.375 S=0; t3: 0.1875
    np.testing.assert_array_equal(out[:, 0], [1, 0, 0, 0])
    out = run_neuron("lif", [[1.5], [1.0], [1.0]], threshold=1.0, decay=0.5, reset="soft")
    # soft (decayed) reset: t1: H = 0.5 (1.5 - 1) + 1 = 1.25 S=1; t2: 0.125 + 1 = 1.125 S=1
    np.testing.assert_array_equal(out[:, 0], [1, 1, 1])


@pytest.mark.parametrize("reset, expected", [("soft-delayed", [1, 0, 1]), ("zero-delayed", [1, 0, 0]),
                                             ("hard", [1, 1, 1])])
def test_cubalif_delayed_resets_by_hand(reset, expected):
    # I = X (syn_decay 0); H = 0.5 V + I (- 1 if V fired | zeroed if V fired); V = H (delayed)
    # soft-delayed: t0 H=2 S; t1 H=1+1-1=1 (not > 1); t2 H=0.5+1=1.5 S
    # zero-delayed: t0 H=2 S; t1 H=0; t2 H=1 (not > 1); hard: V=0 after each spike, H = 2 each step
    out = run_neuron("cubalif", [[2.0], [1.0], [1.0]] if reset != "hard" else [[2.0], [2.0], [2.0]],
                     syn_decay=0.0, syn_gain=1.0, mem_decay=0.5, mem_gain=1.0, bias=0.0, threshold=1.0,
                     reset_value=0.0, reset=reset)
    np.testing.assert_array_equal(out[:, 0], expected)


@pytest.mark.parametrize("method, params", [
    ("lif", dict(threshold=0.8, decay=0.7, reset="soft-delayed")),
    ("lif", dict(threshold=0.8, decay=0.7, reset="soft-delayed", compare=">=", decay_input=True)),
    ("cubalif", dict(syn_decay=0.5, syn_gain=1.0, mem_decay=0.75, mem_gain=1.0, bias=0.0, threshold=1.0,
                     reset_value=0.0, reset="soft-delayed")),
    ("cubalif", dict(syn_decay=0.5, syn_gain=1.0, mem_decay=0.75, mem_gain=1.0, bias=0.0, threshold=1.0,
                     reset_value=0.0, reset="zero-delayed")),
])
def test_delayed_resets_match_the_dense_reference(method, params):
    from tests.reference import Reference
    rng = np.random.default_rng(3)
    b = GraphBuilder()
    x = b.input((64,), kind="analog")
    s = getattr(b, method)(x, **params)
    graph = b.build([s])
    inputs = rng.normal(0.6, 1.0, (2, 9, 64))
    ours = simulate(graph, inputs, precision="float64").outputs[s]
    ref, _ = Reference(graph, np.float64).run(inputs)
    np.testing.assert_array_equal(ours, ref[s])
    assert ours.sum() > 50
