"""``syn_events``: the exact fan-out of the nonzero input events of an event-fed synaptic node,
whatever the spike values, against a dense torch count (indicator of the input raster through a
ones kernel of the node's shape)."""
import numpy as np
import pytest
import torch
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from neurosim.claims.breakeven import synthetic_trace
from neurosim.ir import GraphBuilder
from neurosim.sim import FixedPointConfig, simulate
from neurosim.sim import batch_kernels as bk
from neurosim.sim.steps import make_steps
from tests.graphs import random_case

SETTINGS = dict(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def dense_syn_events(node, raster: np.ndarray) -> np.ndarray:
    """[B, T] fan-out of the nonzero entries of ``raster`` ([B, T, *input shape], torch layout)."""
    batch, steps = raster.shape[:2]
    indicator = torch.from_numpy((raster != 0).astype(np.float64).reshape((batch * steps,) + raster.shape[2:]))
    if node.op == "linear":
        fanout = indicator.sum(dim=1) * node.weight.shape[0]
    else:
        ones = torch.ones(node.weight.shape, dtype=torch.float64)
        y = torch.nn.functional.conv2d(indicator, ones, stride=tuple(node.stride), padding=tuple(node.padding),
                                       groups=node.groups)
        fanout = y.sum(dim=(1, 2, 3))
    return fanout.numpy().reshape(batch, steps)


def check_trace(graph, x, **kw):
    """Run with rasters (the reference's inputs) and without (fused Adds): syn_events of every
    node equals the dense count, and both runs agree on every count."""
    with_rasters = simulate(graph, x, record_rasters=True, **kw).trace
    fused = simulate(graph, x, **kw).trace
    checked = 0
    for node in graph.nodes:
        nt, nf = with_rasters[node.name], fused[node.name]
        np.testing.assert_array_equal(nf.syn_events, nt.syn_events, err_msg=node.name)
        np.testing.assert_array_equal(nf.syn_ops, nt.syn_ops, err_msg=node.name)
        assert np.all(nt.syn_events <= nt.syn_ops), node.name
        in_kind = graph.kinds[node.inputs[0]] if node.inputs else None
        if not node.is_synaptic or in_kind == "analog":
            assert not nt.syn_events.any(), node.name  # MACs and non-synaptic nodes: 0, as syn_ops
            assert not nt.syn_ops.any(), node.name
            continue
        ref = dense_syn_events(node, with_rasters[node.inputs[0]].raster)
        np.testing.assert_array_equal(nt.syn_events, ref, err_msg=node.name)
        if in_kind == "binary":
            np.testing.assert_array_equal(nt.syn_events, nt.syn_ops, err_msg=node.name)
        raster = with_rasters[node.inputs[0]].raster
        if np.any(raster > 1):
            # some spike value > 1 inside the node's reach: strictly fewer events than ops
            has_big = dense_syn_events(node, np.where(raster > 1, raster, 0)) > 0
            assert np.all(nt.syn_events[has_big] < nt.syn_ops[has_big]), node.name
            np.testing.assert_array_equal(nt.syn_events[~has_big], nt.syn_ops[~has_big], err_msg=node.name)
        checked += 1
    return with_rasters, checked


def _weight(rng, shape, scale=1.0):
    return (rng.normal(0, scale, shape)).astype(np.float32)


def integer_graph(rng, k, stride, padding, groups, cin=4, cout=8, hw=(9, 11), D=4, kind="integer",
                  depthwise=False):
    """input -> conv -> I-LIF(D) -> conv under test -> I-LIF(D) -> flatten -> linear -> I-LIF."""
    b = GraphBuilder()
    x = b.input((cin,) + hw, kind=kind)
    h = b.conv2d(x, weight=_weight(rng, (cin, cin, 3, 3), 1.2), padding=1)
    s = b.ilif(h, decay=0.5, max_spike=D)
    if depthwise:
        groups, cout = cin, cin
    conv = b.conv2d(s, weight=_weight(rng, (cout, cin // groups, k, k), 0.8), stride=stride, padding=padding,
                    groups=groups, name="under_test")
    s2 = b.ilif(conv, decay=0.5, max_spike=D)
    flat = b.flatten(s2)
    graph_so_far = b.build([flat])
    lin = b.linear(flat, weight=_weight(rng, (5, graph_so_far.shapes[flat][0]), 0.5), name="fc")
    out = b.ilif(lin, decay=0.5, max_spike=D)
    return b.build([out])


def integer_input(rng, graph, batch=2, steps=3, top=4):
    shape = (batch, steps) + graph.shapes[graph.input_names[0]]
    if graph.kinds[graph.input_names[0]] == "binary":
        return (rng.random(shape) < 0.3).astype(np.float32)
    counts = rng.integers(0, top + 1, shape)
    return np.where(rng.random(shape) < 0.5, 0, counts).astype(np.float32)


CONV_CASES = [  # (k, stride, padding, groups, depthwise)
    (1, 1, 0, 1, False), (3, 1, 1, 1, False), (3, 1, 0, 1, False), (3, 2, 1, 1, False), (3, 2, 0, 1, False),
    (7, 1, 1, 1, False), (7, 2, 0, 1, False), (7, 2, 1, 1, False), (1, 2, 0, 1, False),
    (3, 1, 1, 2, False), (3, 2, 1, 2, False), (1, 1, 0, 4, False),
    (3, 1, 1, 4, True), (3, 2, 1, 4, True), (7, 2, 0, 4, True),
]


@pytest.mark.parametrize("k,stride,padding,groups,depthwise", CONV_CASES)
@pytest.mark.parametrize("kind", ["integer", "binary"])
def test_conv_and_linear_match_dense_count(k, stride, padding, groups, depthwise, kind):
    rng = np.random.default_rng([k, stride, padding, groups, int(depthwise), int(kind == "binary")])
    graph = integer_graph(rng, k, stride, padding, groups, depthwise=depthwise, kind=kind)
    x = integer_input(rng, graph)
    trace, checked = check_trace(graph, x, precision="float64")
    assert checked == 3  # the input's conv, the conv under test, the linear layer
    src = graph.node("under_test").inputs[0]
    assert trace[src].raster.max() > 1, "the I-LIF should emit values above 1"
    assert trace["under_test"].syn_events.sum() < trace["under_test"].syn_ops.sum()


@pytest.mark.parametrize("precision", ["float32", "float64"])
def test_fixed_and_float_modes_agree(precision):
    rng = np.random.default_rng(7)
    graph = integer_graph(rng, 3, 2, 1, 2)
    x = integer_input(rng, graph)
    float_trace, _ = check_trace(graph, x, precision=precision)
    fixed_trace, checked = check_trace(graph, x, fixed_point=FixedPointConfig(weight_bits=8, state_bits=16,
                                                                                frac_bits=6))
    assert checked == 3
    assert fixed_trace["under_test"].syn_events.sum() > 0


def test_binary_spikes_give_syn_ops():
    """I-LIF with D = 1 and binary inputs: binary kinds everywhere, syn_events = syn_ops."""
    rng = np.random.default_rng(3)
    graph = integer_graph(rng, 3, 2, 1, 1, D=1, kind="binary")
    assert all(graph.kinds[n] in ("binary", "analog") for n in graph.kinds)
    x = integer_input(rng, graph)
    trace, _ = check_trace(graph, x, precision="float32")
    for nt in trace:
        np.testing.assert_array_equal(nt.syn_events, nt.syn_ops, err_msg=nt.name)
    assert trace["under_test"].syn_events.sum() > 0


def test_integer_kind_with_only_ones_takes_syn_ops():
    """Integer-kind events that all happen to be 1 (D = 4 but weak drive): syn_events = syn_ops."""
    rng = np.random.default_rng(5)
    graph = integer_graph(rng, 3, 1, 1, 1)
    x = (rng.random((2, 3) + graph.shapes[graph.input_names[0]]) < 0.2).astype(np.float32)  # values 0/1
    trace, _ = check_trace(graph, x, precision="float64")
    conv0 = graph.node(graph.consumers()[graph.input_names[0]][0])
    np.testing.assert_array_equal(trace[conv0.name].syn_events, trace[conv0.name].syn_ops)


def test_sparse_analog_input_counts_macs_not_events():
    """A sparse analog input is scattered like events for speed, but it is MACs: syn_events 0."""
    rng = np.random.default_rng(11)
    b = GraphBuilder()
    x = b.input((3, 16, 16), kind="analog")
    conv = b.conv2d(x, weight=_weight(rng, (4, 3, 3, 3)), stride=2, padding=1)
    out = b.ilif(conv, decay=0.5, max_spike=4)
    graph = b.build([out])
    inp = np.zeros((2, 2, 3, 16, 16), np.float32)
    inp[:, :, 0, 3, 4] = 2.5
    inp[:, 1, 2, 7, 9] = -1.0
    trace = simulate(graph, inp, precision="float32").trace
    assert trace[conv].macs.sum() > 0
    assert not trace[conv].syn_events.any() and not trace[conv].syn_ops.any()


def test_fanout_table_equals_kernel_syn_ops_on_binary_events():
    """The per-pixel fan-out table summed over binary events is the scatter kernels' syn_ops,
    for every conv path (row path, depthwise, general) and linear."""
    rng = np.random.default_rng(1)
    for k, stride, padding, groups, depthwise in CONV_CASES:
        graph = integer_graph(rng, k, stride, padding, groups, depthwise=depthwise)
        steps = make_steps(graph, np.float64, None, {})
        for name in ("under_test", "fc"):
            step = steps[name]
            step.start(3)
            size = step.in_shapes[0]
            n_in = int(np.prod(size))
            dense = (rng.random((3, n_in)) < 0.4).astype(np.float64)
            dense[0] = 1.0  # every position, borders included
            idx = np.empty((3, n_in), np.int64)
            val = np.empty((3, n_in), np.float64)
            n = np.zeros(3, np.int64)
            bk.compact_events(dense, idx, val, n)
            out = np.zeros((3, step.size))
            if name == "fc":
                totals = np.zeros(3)
                bk.linear_events(idx, val, n, step.wt, out, totals)
            else:
                totals, _ = step._scatter_events(idx, val, n, out)
            counted = np.zeros(3)
            bk.fanout_events(idx, val, n, step.fanout_per, step.fanout, counted)
            np.testing.assert_array_equal(counted, totals, err_msg=f"{name} {k, stride, padding, groups}")
            # and with integer values the table ignores them
            val2 = val * rng.integers(1, 5, val.shape)
            counted2 = np.zeros(3)
            bk.fanout_events(idx, val2, n, step.fanout_per, step.fanout, counted2)
            np.testing.assert_array_equal(counted2, counted)


@settings(**SETTINGS)
@given(seed=st.integers(0, 2**32 - 1))
def test_random_graphs_match_dense_count(seed):
    graph, x = random_case(seed)
    check_trace(graph, x, precision="float64")


@settings(**SETTINGS)
@given(seed=st.integers(0, 2**32 - 1))
def test_random_graphs_fixed_point(seed):
    graph, x = random_case(seed, fixed_point_safe=True)
    check_trace(graph, x, fixed_point=FixedPointConfig(weight_bits=8, state_bits=16, frac_bits=6))


@pytest.mark.parametrize("rate", [0.0, 0.3, 1.0, 2.5])
def test_synthetic_trace_syn_events(rate):
    rng = np.random.default_rng(2)
    graph = integer_graph(rng, 3, 2, 1, 1)
    trace = synthetic_trace(graph, rate, T=2)
    for node in graph.nodes:
        nt = trace[node.name]
        assert np.all(nt.syn_events <= nt.syn_ops + 1e-9)
        if rate <= 1:
            np.testing.assert_allclose(nt.syn_events, nt.syn_ops)
    fc = trace["fc"]
    assert fc.syn_events.sum() > 0 or rate == 0


def _old_shard(tmp_path, trace, name):
    """A shard file as written before syn_events existed (its arrays dropped)."""
    import io

    from neurosim.scaleout import shard_bytes

    with np.load(io.BytesIO(shard_bytes(trace, []))) as data:
        arrays = {k: data[k] for k in data.files if not k.endswith("|syn_events")}
    path = tmp_path / name
    np.savez_compressed(path, **arrays)
    return path


def test_shards_carry_syn_events_and_old_shards_load_where_it_is_syn_ops(tmp_path):
    from neurosim.errors import NeurosimError
    from neurosim.scaleout import load_shard, shard_bytes

    rng = np.random.default_rng(4)
    graph = integer_graph(rng, 3, 2, 1, 1)
    trace = simulate(graph, integer_input(rng, graph), precision="float32").trace
    path = tmp_path / "new.npz"
    path.write_bytes(shard_bytes(trace, []))
    loaded, _ = load_shard(path)
    for nt in trace:
        np.testing.assert_array_equal(loaded[nt.name].syn_events, nt.syn_events, err_msg=nt.name)
    # integer spikes: syn_events of an old shard cannot be recovered
    with pytest.raises(NeurosimError, match="syn_events"):
        load_shard(_old_shard(tmp_path, trace, "old_integer.npz"))
    # binary spikes (and analog-fed, non-synaptic nodes): syn_events = syn_ops
    binary = integer_graph(rng, 3, 2, 1, 1, D=1, kind="binary")
    trace = simulate(binary, integer_input(rng, binary), precision="float32").trace
    loaded, _ = load_shard(_old_shard(tmp_path, trace, "old_binary.npz"))
    for nt in trace:
        np.testing.assert_array_equal(loaded[nt.name].syn_events, nt.syn_events, err_msg=nt.name)
