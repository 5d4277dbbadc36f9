"""End to end: simulate a small network with the event-driven engine, then cost it everywhere."""
import numpy as np
import pytest

import neurosim.hw as hw
from neurosim.ir.graph import GraphBuilder

try:
    from neurosim.sim import simulate
except Exception:  # the engine is optional for the hardware tests
    simulate = None

pytestmark = pytest.mark.skipif(simulate is None, reason="neurosim.sim.simulate is not available")


def network():
    rng = np.random.default_rng(0)
    b = GraphBuilder()
    x = b.input((2, 16, 16), kind="binary", name="x")
    l1 = b.lif(b.conv2d(x, weight=rng.normal(0, 0.6, (8, 2, 3, 3)).astype(np.float32), padding=1, name="c1"),
               threshold=0.5, name="l1")
    p1 = b.sumpool2d(l1, kernel=2, name="p1")
    l2 = b.lif(b.conv2d(p1, weight=rng.normal(0, 0.6, (8, 8, 3, 3)).astype(np.float32), padding=1, name="c2"),
               threshold=0.5, name="l2")
    p2 = b.sumpool2d(l2, kernel=4, name="p2")
    fc = b.linear(b.flatten(p2, name="flat"), weight=rng.normal(0, 0.3, (4, 32)).astype(np.float32), name="fc")
    l3 = b.lif(fc, threshold=0.5, name="l3")
    return b.build(outputs=[l3])


def test_simulated_trace_costed_on_every_profile():
    graph = network()
    rng = np.random.default_rng(1)
    inputs = (rng.random((2, 3, 2, 16, 16)) < 0.2).astype(np.float32)
    trace = simulate(graph, inputs).trace
    reports = hw.compare(trace, graph, hw.available_profiles())
    by_name = {r.profile_name: r for r in reports}
    assert {"paper-45nm", "loihi", "truenorth", "speck"} <= set(by_name)
    syn = sum(trace.nodes[s].total("syn_ops") for s in ("c1", "c2", "fc"))
    assert syn > 0
    assert by_name["paper-45nm"].energy_per_inference == pytest.approx(syn * 0.9e-12 / 2)
    assert by_name["truenorth"].energy_by_component["synaptic"] == pytest.approx(syn * 26e-12 / 2)
    assert by_name["speck"].fits  # three one-convolution layers, sum pooling, 16x16 events
    for r in reports:
        assert sum(row.energy_total for row in r.layers) == pytest.approx(r.energy_per_inference)
        for name, comps in r.core_energy_by_layer().items():
            row = r.layer(name)
            for comp, value in comps.items():
                assert value == pytest.approx(row.energy[comp], rel=1e-9, abs=1e-30)
        assert r.ann_twin and r.ann_twin["comparisons"]
    loihi = by_name["loihi"]
    assert loihi.latency_per_inference > 0 and loihi.fits
    # events routed between layers: packets from l1 reach l2's cores
    assert loihi.layer("l1").routing["packets"] >= trace.nodes["l1"].total("out_spikes") / 2
