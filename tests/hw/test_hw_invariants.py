"""Invariants on every built-in profile, over random self-consistent traces."""
import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

import neurosim.hw as hw
from neurosim.ir.graph import GraphBuilder

from hw_testkit import random_trace, scale_events

PROFILES = ["paper-45nm", "memory-45nm", "memory-45nm-int8", "ann-45nm", "ann-45nm-int8", "ann-45nm-noreuse", "loihi", "truenorth", "speck"]


def mixed_graph():
    """Conv, grouped conv, a residual Add of two convs, max-pool, upsample, concat, I-LIF,
    a strided conv, a Linear head without neurons and a host sigmoid."""
    rng = np.random.default_rng(1)
    w = lambda *s: rng.normal(0, 0.3, s).astype(np.float32)  # noqa: E731
    b = GraphBuilder()
    x = b.input((2, 12, 12), kind="binary", name="x")
    l1 = b.lif(b.conv2d(x, weight=w(6, 2, 3, 3), padding=1, name="c1"), name="l1")
    p1 = b.maxpool2d(l1, kernel=2, name="p1")
    c2a = b.conv2d(p1, weight=w(8, 3, 3, 3), padding=1, groups=2, name="c2a")
    c2b = b.conv2d(p1, weight=w(8, 6, 1, 1), name="c2b")
    n2 = b.ilif(b.add(c2a, c2b, name="sum2"), max_spike=3, name="n2")
    cat = b.concat(b.upsample(n2, scale=2, name="up"), l1, name="cat")
    n3 = getattr(b, "if")(b.conv2d(cat, weight=w(4, 14, 3, 3), stride=3, name="c3"), name="n3")
    fc = b.linear(b.flatten(n3, name="flat"), weight=w(5, 64), name="fc")
    sg = b.sigmoid(fc, name="sig")
    return b.build(outputs=[sg])


GRAPH = mixed_graph()
PLACEMENTS = {}


def report_for(profile, trace):
    model = hw.hardware_model(profile)
    if profile not in PLACEMENTS:
        PLACEMENTS[profile] = model.place(GRAPH, strict=False)
    return model.cost(trace, PLACEMENTS[profile], ann_twin=False)


def test_mixed_graph_layers():
    dec = hw.decompose(GRAPH)
    assert [(l.name, l.kind) for l in dec.layers] == [
        ("l1", "neuron"), ("n2", "neuron"), ("n3", "neuron"), ("fc", "synaptic"), ("sig", "host")]
    assert dec.layer("n2").synapses == ("c2a", "c2b") and dec.layer("n2").adds == ("sum2",)
    assert set(dec.routing_nodes) == {"p1", "up", "cat", "flat"}
    paths = {(e.source, e.target, e.path) for e in dec.edges}
    assert ("n2", "n3", ("up", "cat")) in paths and ("l1", "n3", ("cat",)) in paths
    assert [l.depth for l in dec.placed] == [0, 1, 2, 3]


@settings(max_examples=8, deadline=None)
@given(seed=st.integers(0, 10_000), batch=st.integers(1, 3), timesteps=st.integers(1, 3))
def test_layers_sum_to_total_and_cores_sum_to_layers(seed, batch, timesteps):
    trace = random_trace(GRAPH, batch, timesteps, seed=seed)
    for profile in PROFILES:
        report = report_for(profile, trace)
        rows = report.layers
        assert sum(r.energy_total for r in rows) == pytest.approx(report.energy_per_inference, rel=1e-12)
        for comp, total in report.energy_by_component.items():
            assert sum(r.energy[comp] for r in rows) == pytest.approx(total, rel=1e-12, abs=1e-30)
        by_layer = report.core_energy_by_layer()
        for row in rows:
            if row.cores:
                for comp, value in row.energy.items():
                    assert by_layer[row.name][comp] == pytest.approx(value, rel=1e-9, abs=1e-30)
        assert all(v >= 0 for r in rows for v in r.energy.values())


@settings(max_examples=5, deadline=None)
@given(seed=st.integers(0, 10_000))
def test_doubling_events_doubles_synaptic_and_routing_energy(seed):
    base = random_trace(GRAPH, 2, 2, seed=seed)
    double = scale_events(random_trace(GRAPH, 2, 2, seed=seed), 2.0)
    for profile in ("paper-45nm", "memory-45nm", "loihi", "truenorth", "speck"):
        one, two = report_for(profile, base), report_for(profile, double)
        for comp in ("synaptic", "routing"):
            assert two.energy_by_component[comp] == pytest.approx(2 * one.energy_by_component[comp], rel=1e-9)


def test_zero_events_give_zero_synaptic_and_routing_energy():
    trace = random_trace(GRAPH, 2, 3, silent=True)
    for profile in PROFILES:
        report = report_for(profile, trace)
        if profile.startswith("ann-45nm"):
            continue  # the dense twin runs every MAC whatever the events
        assert report.energy_by_component["synaptic"] == 0.0
        assert report.energy_by_component["routing"] == 0.0


def test_placed_cores_respect_their_limits():
    for profile in ("loihi", "truenorth"):
        placement = PLACEMENTS.get(profile) or hw.hardware_model(profile).place(GRAPH)
        assert placement.fits
        for core in placement.cores:
            for key, used in core.usage.items():
                if key in core.capacity:
                    assert used <= core.capacity[key], (profile, core.index, key)
    # Speck cannot run two convolutions into one layer (the residual Add): flagged, not hidden
    speck = hw.hardware_model("speck").place(GRAPH, strict=False)
    assert not speck.fits and "layer 'n2' has 2 synaptic nodes" in speck.misfit
