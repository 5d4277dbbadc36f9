"""neuromorphic-mesh: a neuron's fan-in split over cores (partial currents) and graded spikes,
costed by hand."""
import copy

import numpy as np
import pytest

import neurosim.hw as hw
from neurosim.errors import DoesNotFit
from neurosim.hw.profile import profile_from_dict
from neurosim.ir.graph import GraphBuilder

from hw_testkit import builtin_doc, empty_trace, fill

pJ = 1e-12


def mesh_profile(**settings):
    """loihi on a 4 x 4 mesh of one-core tiles, 256 input axons per core, with ``settings``."""
    doc = copy.deepcopy(builtin_doc("loihi"))
    for key, value in dict(cores_per_chip=16, cores_per_tile=1, tile_columns=4, tile_rows=4,
                           fan_in_per_core=256).items():
        doc["parameters"][key]["value"] = value
    for key, value in settings.items():
        doc["settings"][key] = {"value": value, "source": "test"}
    return hw.hardware_model(profile_from_dict(doc, "<test mesh>"))


def wide_net():
    b = GraphBuilder()
    x = b.input((600,), kind="binary", name="x")
    fc = b.linear(x, weight=np.ones((10, 600), np.float32), name="fc")
    getattr(b, "if")(fc, name="n")
    return b.build(outputs=["n"])


def test_wide_neuron_does_not_fit_without_a_split():
    with pytest.raises(DoesNotFit) as err:
        mesh_profile().place(wide_net())
    assert "one neuron needs 600 input axons but a core accepts 256" in str(err.value)


def test_split_fan_in_places_and_costs_partial_currents_by_hand():
    graph = wide_net()
    model = mesh_profile(fan_in_split="partial-currents")
    placement = model.place(graph)
    # P = 2: 300 + 10 partial axons > 256; P = 3: 200 + 2 x 10 = 220 fits
    cores = placement.cores_of("n")
    assert placement.split("n") == 3 and [c.part for c in cores] == [0, 1, 2]
    assert all(c.usage["fan_in"] == 220 and c.neurons == 10 for c in cores)
    assert [c.usage["fan_out"] for c in cores[1:]] == [10, 10]

    trace = empty_trace(graph, batch=1, timesteps=2)
    fill(trace, "x", out_spikes=[[30, 60]], out_nonzero=[[30, 60]])
    emap = trace.nodes["x"].event_map
    emap[0:100], emap[400:450] = 1.0, 1.0          # input events: 2/3 in group 0, 1/3 in group 2
    fill(trace, "fc", syn_ops=[[300, 600]], syn_events=[[300, 600]], in_spikes=[[30, 60]], in_nonzero=[[30, 60]])
    fill(trace, "n", neuron_updates=10, active_neurons=[[4, 6]], out_spikes=[[2, 3]], out_nonzero=[[2, 3]])
    report = model.cost(trace, placement, ann_twin=False)
    rows = {c.index: c for c in report.cores}
    # soma: its group's 2/3 of 900 ops + (P - 1) x 10 partial currents per step x 2 steps
    syn = [900 * 2 / 3 + 2 * 10 * 2, 0.0, 900 / 3]
    for i, ops in enumerate(syn):
        assert rows[i].energy["synaptic"] == pytest.approx(ops * 23.6 * pJ)
        # every core updates one compartment per neuron per step; active as often as the soma
        assert rows[i].energy["neuron"] == pytest.approx((10 * 81 + 10 * 52) * pJ)
    # each dendrite core sends 10 partial currents per step to core 0 (x = 0): 1 and 2 E-W hops
    assert rows[0].energy["routing"] == 0.0
    assert rows[1].energy["routing"] == pytest.approx(20 * (1.7 + 3.0) * pJ)
    assert rows[2].energy["routing"] == pytest.approx(20 * (1.7 + 2 * 3.0) * pJ)
    layer = next(r for r in report.layers if r.name == "n")
    assert layer.routing["packets"] == pytest.approx(40)
    assert layer.routing["hops_ew"] == pytest.approx(20 * 1 + 20 * 2)


def integer_net():
    b = GraphBuilder()
    x = b.input((16,), kind="binary", name="x")
    l1 = b.linear(x, weight=np.ones((8, 16), np.float32), name="L1")
    a = b.ilif(l1, name="A")
    l2 = b.linear(a, weight=np.ones((4, 8), np.float32), name="L2")
    getattr(b, "if")(l2, name="B")
    return b.build(outputs=["B"])


def integer_trace(graph):
    trace = empty_trace(graph, batch=1, timesteps=2)
    fill(trace, "x", out_spikes=[[2, 1]], out_nonzero=[[2, 1]])
    fill(trace, "L1", syn_ops=[[16, 8]], syn_events=[[16, 8]], in_spikes=[[2, 1]], in_nonzero=[[2, 1]])
    fill(trace, "A", neuron_updates=8, active_neurons=[[5, 2]], out_spikes=[[6, 3]], out_nonzero=[[3, 2]])
    trace.nodes["A"].event_map[:] = 9 / 8
    fill(trace, "L2", syn_ops=[[24, 12]], syn_events=[[12, 8]], in_spikes=[[6, 3]], in_nonzero=[[3, 2]])
    fill(trace, "B", neuron_updates=4, active_neurons=[[4, 4]], out_spikes=[[1, 0]], out_nonzero=[[1, 0]])
    return trace


@pytest.mark.parametrize("payload, packets, l2_ops", [("binary", 9, 36), ("graded", 5, 20)])
def test_graded_spikes_are_one_packet_and_one_op_per_synapse(payload, packets, l2_ops):
    graph = integer_net()
    model = mesh_profile(spike_payload=payload)
    report = model.cost(integer_trace(graph), model.place(graph), ann_twin=False)
    rows = {r.name: r for r in report.layers}
    assert rows["A"].routing["packets"] == pytest.approx(packets)
    # A (core 0) and B (core 1) are one east-west hop apart
    assert rows["A"].energy["routing"] == pytest.approx(packets * (1.7 + 3.0) * pJ)
    assert rows["B"].energy["synaptic"] == pytest.approx(l2_ops * 23.6 * pJ)
    assert report.details["spike_payload"] == payload
