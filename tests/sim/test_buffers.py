"""Lent output buffers and float32 event maps change memory, never a number."""
from __future__ import annotations

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from neurosim.ir import GraphBuilder, load_graph
from neurosim.sim import FixedPointConfig, Simulator
from neurosim.sim import buffers
from neurosim.sim.buffers import event_map_dtype, event_value_bounds, pool_peak_bytes, release_plan
from neurosim.sim.trace import COUNT_FIELDS
from tests.graphs import random_case

ARRAY_FIELDS = COUNT_FIELDS + ("syn_ops_per_channel", "out_spikes_per_channel", "event_map")


def _owned_everything(sim: Simulator) -> Simulator:
    """The same simulator with every buffer owned by its step (the engine before lending)."""
    for step in sim.steps.values():
        step.pooled = False
    sim.release_after = {}
    return sim


def _assert_same_runs(a, b, graph):
    for name in graph.outputs:
        np.testing.assert_array_equal(a.outputs[name], b.outputs[name], err_msg=name)
    for node in graph.nodes:
        for f in ARRAY_FIELDS:
            x, y = getattr(a.trace[node.name], f), getattr(b.trace[node.name], f)
            assert (x is None) == (y is None), f"{node.name}.{f}"
            if x is not None:
                np.testing.assert_array_equal(x, y, err_msg=f"{node.name}.{f}")


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(seed=st.integers(0, 2**32 - 1), precision=st.sampled_from(["float32", "float64", "fixed"]),
       chunk=st.sampled_from([None, 1, 2]))
def test_lent_buffers_give_the_same_run_as_owned_ones(seed, precision, chunk):
    graph, x = random_case(seed, batch=3, fixed_point_safe=precision == "fixed")
    kwargs = ({"fixed_point": FixedPointConfig(weight_bits=8, state_bits=16, frac_bits=6)} if precision == "fixed"
              else {"precision": precision})
    lent = Simulator(graph, **kwargs).run(x, chunk=chunk)
    owned = _owned_everything(Simulator(graph, **kwargs)).run(x, chunk=chunk)
    _assert_same_runs(lent, owned, graph)


def _skip_graph():
    """in -> conv a -> lif A -> conv b -> lif B -> conv c -> add(c, conv d of A) -> lif C; outputs C and B."""
    g = GraphBuilder()
    rng = np.random.default_rng(0)
    w = lambda: (rng.normal(0, 0.6, (4, 4, 3, 3))).astype(np.float32)  # noqa: E731
    x = g.input((4, 6, 6), kind="binary")
    a = g.lif(g.conv2d(x, weight=w(), padding=(1, 1), name="conv_a"), decay=0.5, threshold=0.5, name="A")
    b = g.lif(g.conv2d(a, weight=w(), padding=(1, 1), name="conv_b"), decay=0.5, threshold=0.5, name="B")
    c = g.conv2d(b, weight=w(), padding=(1, 1), name="conv_c")
    d = g.conv2d(a, weight=w(), padding=(1, 1), name="conv_d")
    out = g.lif(g.add(c, d, name="sum"), decay=0.5, threshold=0.5, name="C")
    return g.build([out, b])


def test_a_neurons_buffers_are_free_after_its_last_consumer_and_outputs_at_the_end():
    graph = _skip_graph()
    sim = Simulator(graph)
    position = {n.name: i for i, n in enumerate(graph.nodes)}
    freed = {name: pos for pos, names in sim.release_after.items() for name in names}
    assert freed["A"] == max(position["conv_b"], position["conv_d"])  # read by the skip branch last
    assert "B" not in freed and "C" not in freed  # graph outputs: until the timestep ends
    assert sim.steps["A"].pooled and sim.steps["conv_b"].pooled and not sim.steps["sum"].pooled
    x = (np.random.default_rng(1).random((2, 3, 4, 6, 6)) < 0.4).astype(np.float32)
    _assert_same_runs(sim.run(x), _owned_everything(Simulator(graph)).run(x), graph)
    assert not sim.pool.lent  # every buffer back in the pool after the run


def test_the_pool_holds_what_is_alive_at_once_not_one_buffer_set_per_node():
    graph = load_graph("trained/spikeyolo-shapes")
    sim = Simulator(graph)
    one_each = sum(int(np.prod(shape)) * dtype.itemsize for step in sim.steps.values() if step.pooled
                   for _, shape, dtype in step.pooled_specs(1))
    peak = pool_peak_bytes(graph, sim.steps, sim.release_after)
    assert peak < 0.5 * one_each
    x = np.random.default_rng(0).random((1, 1) + graph.shapes[graph.input_names[0]]).astype(np.float32)
    sim.run(x)
    held = sum(a.nbytes for arrays in sim.pool.free.values() for a in arrays)
    assert held == peak  # the static plan is what the run allocated


def test_event_value_bounds_follow_the_nodes():
    graph = _skip_graph()
    bounds = event_value_bounds(graph)
    assert bounds[graph.input_names[0]] == 1 and bounds["A"] == 1 and bounds["conv_a"] is None
    g = GraphBuilder()
    x = g.input((2, 4, 4), kind="integer")
    s = g.ilif(g.conv2d(x, weight=np.ones((2, 2, 1, 1), np.float32)), max_spike=4, name="s")
    pooled = g.sumpool2d(s, kernel=(2, 2), stride=(2, 2), name="p")
    both = g.add(g.upsample(pooled, scale=2, name="u"), s, name="both")
    bounds = event_value_bounds(g.build([both]))
    assert bounds[g.build([both]).input_names[0]] is None  # event counts: unbounded
    assert (bounds["s"], bounds["p"], bounds["u"], bounds["both"]) == (4, 16, 16, 20)


def test_event_maps_are_float32_only_where_every_count_is_exact():
    assert event_map_dtype(4, batch=8, timesteps=4) is np.float32
    assert event_map_dtype(4, batch=2**20, timesteps=4) is np.float64  # 2^24 and more: float64
    assert event_map_dtype(None, batch=1, timesteps=1) is np.float64


def test_float32_event_maps_equal_float64_ones(monkeypatch):
    graph = load_graph("trained/spikeyolo-shapes")
    x = np.random.default_rng(0).random((2, 1) + graph.shapes[graph.input_names[0]]).astype(np.float32)
    narrow = Simulator(graph).run(x)
    monkeypatch.setattr(buffers, "FLOAT32_EXACT", 0)  # every map float64
    wide = Simulator(graph).run(x)
    maps = [n for n in graph.nodes if narrow.trace[n.name].event_map is not None]
    assert maps and all(narrow.trace[n.name].event_map.dtype == np.float32 for n in maps)
    assert all(wide.trace[n.name].event_map.dtype == np.float64 for n in maps)
    for n in maps:
        np.testing.assert_array_equal(narrow.trace[n.name].event_map, wide.trace[n.name].event_map)


@pytest.mark.parametrize("chunk", [1, 2])
def test_a_simulator_run_twice_gives_the_same_trace(chunk):
    graph, x = random_case(7, batch=3)
    sim = Simulator(graph)
    first, second = sim.run(x, chunk=chunk), sim.run(x, chunk=chunk)
    _assert_same_runs(first, second, graph)
