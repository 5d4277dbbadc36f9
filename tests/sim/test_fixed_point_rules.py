"""The quantization rules of the fixed-point mode on a hand-computed case."""
import numpy as np

from neurosim.ir import GraphBuilder
from neurosim.sim import FixedPointConfig, FixedPointPlan


def test_weights_get_mantissa_and_exponent_in_the_neuron_unit():
    b = GraphBuilder()
    x = b.input((2,), kind="binary")
    y = b.linear(x, weight=np.array([[3.0, -0.3]], np.float32), bias=np.array([0.26], np.float32))
    s = b.lif(y, threshold=1.0, decay=0.5)
    graph = b.build([s])
    plan = FixedPointPlan(graph, FixedPointConfig(weight_bits=4, frac_bits=3))
    unit = 1.0 / 8  # threshold / 2^3
    assert plan.unit[y] == unit
    # max|W| / unit = 24 > m = 7 -> e = ceil(log2(24/7)) = 2; step = 0.5
    assert plan.exponent[y] == 2
    # W / 0.5 = [6, -0.6] -> [6, -1] -> times 2^2 = [24, -4] units
    np.testing.assert_array_equal(plan.weights[y], [[24, -4]])
    np.testing.assert_array_equal(plan.bias[y], [2])  # 0.26 / 0.125 = 2.08 -> 2
    params = plan.neuron_params(graph.node(s))
    assert params["threshold"] == 8 and params["decay_q"] == 2048


def test_head_conv_gets_its_own_unit():
    b = GraphBuilder()
    x = b.input((1, 3, 3), kind="binary")
    y = b.conv2d(x, weight=np.full((2, 1, 1, 1), 0.5, np.float32))
    graph = b.build([y])
    plan = FixedPointPlan(graph, FixedPointConfig(weight_bits=8))
    assert plan.unit[y] == 0.5 / 127
    np.testing.assert_array_equal(plan.weights[y].ravel(), [127, 127])
