"""The node types added for NIR (Scale, Threshold, LI, CubaLI, CubaLIF): hand-computed sequences,
parameter broadcasting, validation, save/load and the fixed-point rules."""
import numpy as np
import pytest

from neurosim.errors import GraphError, NeurosimError
from neurosim.ir import CubaLIF, GraphBuilder, load_graph, save_graph
from neurosim.sim import FixedPointConfig, simulate


def run_node(method, currents, shape=None, precision="float64", fixed_point=None, **params):
    currents = np.asarray(currents, dtype=np.float64)
    shape = shape or currents.shape[1:]
    b = GraphBuilder()
    x = b.input(shape)
    y = getattr(b, method)(x, **params)
    graph = b.build([y])
    return simulate(graph, currents.reshape((len(currents),) + tuple(shape)), precision=precision,
                    fixed_point=fixed_point).outputs[y][0]


def test_threshold_is_strict_and_per_neuron():
    out = run_node("threshold", [[0.5, 0.6, -1.0], [0.4, 0.6, -0.5]], threshold=np.array([0.5, 0.5, -1.0]))
    np.testing.assert_array_equal(out, [[0, 1, 0], [0, 1, 1]])


def test_scale_per_channel_on_a_map():
    x = np.arange(8, dtype=np.float64).reshape(1, 2, 2, 2)
    out = run_node("scale", x, scale=np.array([2.0, -1.0]))
    np.testing.assert_array_equal(out[0], x[0] * np.array([2.0, -1.0])[:, None, None])


def test_li_leaks_and_outputs_the_membrane():
    # V = 0.5 V + 2 X + 0.25
    out = run_node("li", [[1.0], [0.0], [0.0]], decay=0.5, gain=2.0, bias=0.25)
    np.testing.assert_allclose(out[:, 0], [2.25, 1.375, 0.9375])


def test_cubali_membrane_sees_this_steps_current():
    # I = 0.5 I + X; V = 0.5 V + I
    out = run_node("cubali", [[1.0], [0.0], [0.0]], syn_decay=0.5, syn_gain=1.0, mem_decay=0.5, mem_gain=1.0)
    np.testing.assert_allclose(out[:, 0], [1.0, 1.0, 0.75])


def test_cubalif_by_hand():
    # I = 0.5 I + X; H = 0.75 V + I; spike where H > 1; V -> -0.25 where it spikes; I is not reset
    x = [[1.0], [0.0], [0.0], [0.5], [0.0]]
    out = run_node("cubalif", x, syn_decay=0.5, mem_decay=0.75, threshold=1.0, reset_value=-0.25)
    # I: 1, .5, .25, .625, .3125   H: 1 (no: not > 1), 1.25 (spike), -0.1875+.25=.0625,
    # .046875+.625=.671875, .50390625+.3125=.81640625
    np.testing.assert_array_equal(out[:, 0], [0, 1, 0, 0, 0])


def test_cubalif_without_synaptic_stage_is_a_lif():
    x = np.random.default_rng(0).uniform(-0.5, 1.5, (12, 5))
    lif = run_node("lif", x, threshold=0.75, decay=0.5, reset_value=-0.25)
    cuba = run_node("cubalif", x, syn_decay=0.0, syn_gain=1.0, mem_decay=0.5, threshold=0.75, reset_value=-0.25)
    np.testing.assert_array_equal(lif, cuba)


def test_per_neuron_parameters_follow_torch_layout():
    thr = np.array([[[0.5, 2.0]], [[2.0, 0.5]]])  # (C=2, H=1, W=2)
    out = run_node("cubalif", np.ones((1, 2, 1, 2)), threshold=thr)
    np.testing.assert_array_equal(out[0], [[[1, 0]], [[0, 1]]])


@pytest.mark.parametrize("params,match", [
    (dict(threshold=np.ones(3)), "one value, one per channel or one per neuron"),
    (dict(mem_decay=1.5), r"mem_decay must lie in \[0, 1\]"),
    (dict(bias=np.array([np.nan])), "bias must hold finite numbers"),
])
def test_bad_parameters_name_the_node(params, match):
    b = GraphBuilder()
    x = b.input((2, 4, 4))
    with pytest.raises(GraphError, match=match):
        b.build([b.cubalif(x, name="neuron", **params)])


def test_new_nodes_save_and_load(tmp_path):
    b = GraphBuilder()
    x = b.input((2, 3, 3))
    s = b.scale(x, scale=np.array([1.0, 0.5]))
    c = b.cubalif(s, syn_decay=0.5, threshold=np.full((2, 3, 3), 0.75))
    t = b.threshold(s, threshold=0.25)
    r = b.cubali(b.li(c, decay=0.5), mem_decay=0.25)
    graph = b.build([c, t, r])
    save_graph(graph, tmp_path / "m")
    loaded = load_graph(tmp_path / "m")
    assert [n.op for n in loaded.nodes] == [n.op for n in graph.nodes]
    x_in = np.random.default_rng(1).uniform(-1, 2, (3, 2, 3, 3))
    a, b2 = simulate(graph, x_in).outputs, simulate(loaded, x_in).outputs
    for name in graph.outputs:
        np.testing.assert_array_equal(a[name], b2[name])


def test_fixed_point_threshold_and_scale_run_but_cuba_nodes_are_refused():
    cfg = FixedPointConfig(frac_bits=4)
    out = run_node("threshold", [[0.5, 0.6, 0.0]], fixed_point=cfg, threshold=np.array([0.5, 0.5, -0.25]))
    np.testing.assert_array_equal(out[0], [0, 1, 1])
    b = GraphBuilder()
    x = b.input((3,))
    graph = b.build([b.cubalif(x, name="cuba")])
    with pytest.raises(NeurosimError, match="node 'cuba': no fixed-point rule for neuron type cubalif"):
        simulate(graph, np.zeros((1, 3)), fixed_point=cfg)


def test_default_parameters_are_single_values():
    node = CubaLIF("n", ("x",))
    assert node.threshold.shape == (1,) and node.syn_decay[0] == 0 and node.mem_decay[0] == 1
