"""neuromorphic-mesh with ``axons: population`` (a convolution's channels at one position share
one axon, as nengo-loihi builds conv connections): input axons, output routes and the
re-cut by positions, counted by hand; the costing does not depend on the axon model."""
import numpy as np
import pytest

import neurosim.hw as hw
from neurosim.errors import ProfileError
from neurosim.ir.graph import GraphBuilder

from hw_testkit import builtin_doc, random_trace, variant

POPULATION = {"axons": "population", "synapse_memory": "shared-kernels"}


def two_conv_net():
    """x (2 x 8 x 8) -1x1-> a (8 x 8 x 8) -3x3, pad 1-> b (16 x 8 x 8)."""
    b = GraphBuilder()
    x = b.input((2, 8, 8), kind="binary", name="x")
    c1 = b.conv2d(x, weight=np.ones((8, 2, 1, 1), np.float32), name="c1")
    a = getattr(b, "if")(c1, name="a")
    c2 = b.conv2d(a, weight=np.ones((16, 8, 3, 3), np.float32), padding=1, name="c2")
    getattr(b, "if")(c2, name="b")
    return b.build(outputs=["b"])


def model(axons="population", **params):
    settings = dict(POPULATION, axons=axons)
    return hw.hardware_model(variant("loihi", settings=settings, neurons_per_core=256, **params))


def test_population_axons_count_positions_per_source_core_by_hand():
    placement = model().place(two_conv_net())
    a, b = placement.cores_of("a"), placement.cores_of("b")
    # 256 neurons per core: a = 2 cores of 4 channels x 64 positions, b = 4 cores of 4 channels
    assert [c.box for c in a] == [(0, 4, 0, 8, 0, 8), (4, 8, 0, 8, 0, 8)]
    assert [c.box for c in b] == [(4 * i, 4 * i + 4, 0, 8, 0, 8) for i in range(4)]
    # a core of b reads all 64 positions of both cores of a: 2 x 64 axons (discrete: 8 x 64)
    assert all(c.usage["fan_in"] == 2 * 64 for c in b)
    # a core of a reaches the 4 cores of b at each of its 64 positions, 2 routes per pop32 axon
    assert all(c.usage["fan_out"] == 64 * 4 * 2 for c in a)
    # a reads the event input at its 64 positions (its 2 channels share each axon)
    assert all(c.usage["fan_in"] == 64 for c in a)


def test_discrete_axons_count_neurons_by_hand():
    placement = model("discrete").place(two_conv_net())
    a, b = placement.cores_of("a"), placement.cores_of("b")
    assert all(c.usage["fan_in"] == 8 * 64 for c in b)
    assert all(c.usage["fan_out"] == 256 * 4 for c in a)


def test_population_fan_out_recuts_positions_not_channels_by_hand():
    # 512 routes per core of a exceed 256: its boxes are re-cut to 32 positions (4 rows),
    # keeping all 8 channels; each core of b then reads 32 positions of each of them
    placement = model(fan_out_per_core=256).place(two_conv_net())
    a, b = placement.cores_of("a"), placement.cores_of("b")
    assert [c.box for c in a] == [(0, 8, 0, 4, 0, 8), (0, 8, 4, 8, 0, 8)]
    # rows 0-3 of a are read by all 4 cores of b: 32 positions x 4 cores x 2 routes
    assert [c.usage["fan_out"] for c in a] == [32 * 4 * 2] * 2
    assert all(c.usage["fan_in"] == 64 for c in b)


def test_population_fan_in_over_the_limit_recuts_the_destination():
    # b's cores read 2 x 64 = 128 axons; with 100 allowed, b is re-cut to half the positions:
    # 2 x 32 (+ the halo row of 8 positions from each source core) = 80 axons
    placement = model(fan_in_per_core=100).place(two_conv_net())
    b = placement.cores_of("b")
    assert all((c.box[3] - c.box[2]) * (c.box[5] - c.box[4]) == 32 for c in b)
    assert all(c.usage["fan_in"] == 2 * (32 + 8) for c in b)


def test_costing_is_the_same_with_either_axon_model():
    # where the limits do not bind, both models cut the layers alike, and one packet per event
    # per destination core costs the same whichever axon it travels on
    graph = two_conv_net()
    trace = random_trace(graph, batch=2, timesteps=3, seed=1)
    reports = []
    for axons in ("discrete", "population"):
        m = model(axons)
        p = m.place(graph)
        reports.append((m.cost(trace, p, ann_twin=False), [c.box for c in p.cores]))
    (discrete, boxes_d), (population, boxes_p) = reports
    assert boxes_d == boxes_p
    assert population.totals() == discrete.totals()
    assert population.latency_per_inference == discrete.latency_per_inference > 0
    assert population.totals()["energy_by_component"]["routing"] > 0


def test_population_axons_need_their_slot_count():
    doc = builtin_doc("loihi")
    del doc["parameters"]["population_axon_slots"]
    from neurosim.hw.profile import profile_from_dict
    with pytest.raises(ProfileError, match="population_axon_slots"):
        hw.hardware_model(profile_from_dict(doc, "<no slots>"))
