"""Chunks of samples run together, and reuse of dense results when the input repeats: both must
leave outputs and every count exactly as a sample-by-sample, recompute-everything run."""
import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from neurosim.sim import COUNT_FIELDS, Simulator
from tests.graphs import random_case
from tests.reference import Reference

SETTINGS = dict(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
PER_CHANNEL = ("syn_ops_per_channel", "out_spikes_per_channel", "event_map")


def _assert_same(a, b, graph):
    for name in graph.outputs:
        np.testing.assert_array_equal(a.outputs[name], b.outputs[name], err_msg=name)
    for node in graph.nodes:
        for field in COUNT_FIELDS + PER_CHANNEL:
            x, y = getattr(a.trace[node.name], field), getattr(b.trace[node.name], field)
            if x is None:
                assert y is None
            else:
                np.testing.assert_array_equal(x, y, err_msg=f"{node.name}.{field}")


@settings(**SETTINGS)
@given(seed=st.integers(0, 2**32 - 1), chunk=st.integers(1, 4))
def test_chunk_size_does_not_change_results(seed, chunk):
    graph, x = random_case(seed, batch=5, steps=2, dyadic=True)
    sim = Simulator(graph, precision="float64")
    _assert_same(sim.run(x, chunk=chunk), sim.run(x, chunk=5), graph)


@settings(**SETTINGS)
@given(seed=st.integers(0, 2**32 - 1))
def test_repeated_frames_match_the_reference(seed):
    """The same frame at every timestep (a static image): dense nodes fed by it reuse their
    result, and the counts at every timestep still equal the reference's."""
    graph, x = random_case(seed, batch=2, steps=3)
    x = {name: np.repeat(v[:, :1], 3, axis=1) for name, v in x.items()} if isinstance(x, dict) \
        else np.repeat(x[:, :1], 3, axis=1)
    result = Simulator(graph, precision="float64").run(x)
    outs, counts = Reference(graph, np.float64).run(x)
    for name in graph.outputs:
        np.testing.assert_allclose(result.outputs[name], outs[name], rtol=1e-9, atol=1e-9, err_msg=name)
    for node in graph.nodes:
        for field in ("syn_ops", "macs", "out_spikes", "out_nonzero", "neuron_updates"):
            np.testing.assert_array_equal(getattr(result.trace[node.name], field), counts[node.name][field],
                                          err_msg=f"{node.name}.{field}")


def test_reuse_happens_for_a_dense_encoder():
    """An analog conv fed the same frame at every step is computed once per chunk."""
    from neurosim.ir import GraphBuilder

    rng = np.random.default_rng(0)
    b = GraphBuilder()
    x = b.input((2, 6, 6))
    conv = b.conv2d(x, weight=rng.normal(size=(3, 2, 3, 3)), padding=1)
    lif = b.lif(conv, decay=0.5, threshold=0.5)
    graph = b.build([lif])
    sim = Simulator(graph, precision="float64")
    calls = []
    step = sim.steps[conv]
    original = step._dense
    step._dense = lambda *a: (calls.append(1), original(*a))
    frames = np.repeat(rng.random((2, 1, 2, 6, 6)), 4, axis=1)
    result = sim.run(frames)
    assert len(calls) == 1
    assert np.all(result.trace[conv].macs == result.trace[conv].macs[0, 0]) and result.trace[conv].macs[0, 0] > 0
    calls.clear()
    sim.run(frames + rng.random(frames.shape))  # different frames at each step: recomputed
    assert len(calls) == 4



@pytest.mark.parametrize("stride,groups,kernel", [(1, 1, 3), (2, 1, 7), (1, 4, 3), (2, 2, 3)])
def test_sparse_analog_input_is_scattered_with_dense_counts(stride, groups, kernel):
    """An analog input with few nonzero values (an event-camera histogram) is scattered value by
    value; outputs equal the reference and MACs are still counted densely."""
    from neurosim.ir import GraphBuilder

    rng = np.random.default_rng(stride * 10 + groups)
    b = GraphBuilder()
    x = b.input((4, 12, 10))
    conv = b.conv2d(x, weight=rng.normal(size=(4, 4 // groups, kernel, kernel)), bias=rng.normal(size=4),
                    stride=stride, padding=kernel // 2, groups=groups)
    lif = b.lif(conv, decay=0.5, threshold=0.5)
    graph = b.build([conv, lif])
    frames = rng.random((2, 3, 4, 12, 10)) * (rng.random((2, 3, 4, 12, 10)) < 0.02)
    sim = Simulator(graph, precision="float64")
    calls = []
    original = sim.steps[conv]._scatter_events
    sim.steps[conv]._scatter_events = lambda *a: (calls.append(1), original(*a))[1]
    result = sim.run(frames)
    assert calls, "the sparse input was not scattered"
    outs, counts = Reference(graph, np.float64).run(frames)
    for name in graph.outputs:
        np.testing.assert_allclose(result.outputs[name], outs[name], rtol=1e-9, atol=1e-9, err_msg=name)
    np.testing.assert_array_equal(result.trace[conv].macs, counts[conv]["macs"])
    assert np.all(result.trace[conv].macs > 0)


@pytest.mark.parametrize("mode", ["max", "avg", "sum"])
@pytest.mark.parametrize("kernel,stride,padding", [((2, 2), (2, 2), (0, 0)), ((3, 3), (2, 2), (1, 1)),
                                                   ((3, 2), (1, 2), (1, 0))])
def test_dense_pooling_matches_torch(mode, kernel, stride, padding):
    import torch

    from neurosim.sim.dense_ops import pool_dense

    x = np.random.default_rng(1).normal(size=(3, 9, 11, 5))
    xt = torch.from_numpy(x.transpose(0, 3, 1, 2).copy())
    if mode == "max":
        ref = torch.nn.functional.max_pool2d(xt, kernel, stride, padding)
    else:
        ref = torch.nn.functional.avg_pool2d(xt, kernel, stride, padding, count_include_pad=True)
        if mode == "sum":
            ref = ref * (kernel[0] * kernel[1])
    np.testing.assert_allclose(pool_dense(x, kernel, stride, padding, mode), ref.numpy().transpose(0, 2, 3, 1),
                               rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("chunk", [0, -2, 1.5])
def test_bad_chunk_is_one_clear_error(chunk):
    from neurosim.errors import NeurosimError

    graph, x = random_case(1, batch=2, steps=1)
    with pytest.raises(NeurosimError, match="chunk must be a positive"):
        Simulator(graph).run(x, chunk=chunk)
