"""The event-driven engine against the independent dense reference, on random graphs."""
import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from neurosim.sim import FixedPointConfig, FixedPointPlan, simulate
from tests.graphs import random_case
from tests.reference import Reference

SETTINGS = dict(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def _compare_counts(result, counts, graph):
    for node in graph.nodes:
        nt = result.trace[node.name]
        ref = counts[node.name]
        for field in ("syn_ops", "macs", "out_spikes", "out_nonzero", "neuron_updates"):
            np.testing.assert_array_equal(getattr(nt, field), ref[field], err_msg=f"{node.name}.{field}")
        if nt.syn_ops_per_channel is not None:
            np.testing.assert_array_equal(nt.syn_ops_per_channel, ref["syn_ops_per_channel"], err_msg=node.name)
        if nt.out_spikes_per_channel is not None:
            np.testing.assert_array_equal(nt.out_spikes_per_channel, ref["out_spikes_per_channel"], err_msg=node.name)
            np.testing.assert_array_equal(nt.event_map, ref["event_map"], err_msg=node.name)


@settings(**SETTINGS)
@given(seed=st.integers(0, 2**32 - 1))
def test_float64_matches_reference(seed):
    graph, x = random_case(seed)
    result = simulate(graph, x, precision="float64")
    outs, counts = Reference(graph, np.float64).run(x)
    for name in graph.outputs:
        np.testing.assert_allclose(result.outputs[name], outs[name], rtol=1e-9, atol=1e-9, err_msg=name)
    _compare_counts(result, counts, graph)


@settings(**SETTINGS)
@given(seed=st.integers(0, 2**32 - 1))
def test_float32_matches_reference_exactly_on_dyadic_values(seed):
    graph, x = random_case(seed, dyadic=True)
    result = simulate(graph, x, precision="float32")
    outs, counts = Reference(graph, np.float64).run(x)
    for name in graph.outputs:
        np.testing.assert_allclose(result.outputs[name], outs[name], rtol=1e-5, atol=1e-6, err_msg=name)
    _compare_counts(result, counts, graph)


@settings(**SETTINGS)
@given(seed=st.integers(0, 2**32 - 1), wbits=st.sampled_from([4, 8]), sbits=st.sampled_from([8, 16, 24]))
def test_fixed_point_is_bit_exact(seed, wbits, sbits):
    graph, x = random_case(seed, fixed_point_safe=True)
    cfg = FixedPointConfig(weight_bits=wbits, state_bits=sbits, frac_bits=min(6, sbits - 3))
    result = simulate(graph, x, fixed_point=cfg)
    outs, counts = Reference(graph, plan=FixedPointPlan(graph, cfg)).run(x)
    for name in graph.outputs:
        if graph.kinds[name] != "analog" or FixedPointPlan(graph, cfg).unit[name] is not None:
            np.testing.assert_array_equal(result.outputs[name], outs[name], err_msg=name)
        else:
            np.testing.assert_allclose(result.outputs[name], outs[name], rtol=1e-12, atol=1e-12, err_msg=name)
    _compare_counts(result, counts, graph)


@pytest.mark.parametrize("seed", range(5))
def test_rasters_do_not_change_results(seed):
    graph, x = random_case(seed)
    plain = simulate(graph, x, precision="float64")
    with_rasters = simulate(graph, x, precision="float64", record_rasters=True)
    for name in graph.outputs:
        np.testing.assert_array_equal(plain.outputs[name], with_rasters.outputs[name])
    for node in graph.nodes:
        assert plain.trace[node.name].syn_ops.sum() == with_rasters.trace[node.name].syn_ops.sum()
        raster = with_rasters.trace[node.name].raster
        assert raster.shape == (x.shape[0], x.shape[1]) + graph.shapes[node.name]
