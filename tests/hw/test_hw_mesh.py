"""neuromorphic-mesh (Loihi) and crossbar (TrueNorth): placement, hops, energy, latency by hand."""
import numpy as np
import pytest

import neurosim.hw as hw
from neurosim.errors import DoesNotFit
from neurosim.ir.graph import GraphBuilder

from hw_testkit import DISCRETE, deep_net, empty_trace, fill, small_mesh, two_layer_net, two_layer_trace, variant

pJ, ns = 1e-12, 1e-9


def conv_net(cin, cout, size, kernel=3, padding=1, second=None):
    b = GraphBuilder()
    x = b.input((cin, size, size), kind="binary", name="x")
    c = b.conv2d(x, weight=np.ones((cout, cin, kernel, kernel), np.float32), padding=padding, name="conv1")
    n = getattr(b, "if")(c, name="n1")
    out = n
    if second:
        c2 = b.conv2d(n, weight=np.ones((second, cout, 1, 1), np.float32), name="conv2")
        out = getattr(b, "if")(c2, name="n2")
    return b.build(outputs=[out])


# --------------------------------------------------------------------------- placement


def test_conv_layer_split_by_neurons_with_synapse_lists_by_hand():
    graph = conv_net(2, 32, 16)                   # 32 x 16 x 16 = 8192 neurons
    placement = hw.hardware_model(variant("loihi", settings=DISCRETE)).place(graph)
    cores = placement.cores_of("n1")
    assert len(cores) == 8                        # 1024 neurons per core
    assert [c.box for c in cores] == [(4 * i, 4 * i + 4, 0, 16, 0, 16) for i in range(8)]
    core = cores[0]
    assert core.usage["fan_in"] == 2 * 16 * 16
    # nengo-loihi rule: each input axon stores roundup64(n x 8 bits + 10) bits, n = its synapses.
    # n = 4 channels x taps_y x taps_x: 36 inside (14 x 14 axons), 24 on edges (56), 16 at corners (4)
    per_channel = 196 * 320 + 56 * 256 + 4 * 192     # 298 -> 320, 202 -> 256, 138 -> 192 bits
    assert core.usage["synapse_bits"] == 2 * per_channel
    assert core.utilization()["neurons"] == 1.0
    assert (core.chip, core.x, core.y) == (0, 0, 0)
    assert (cores[5].x, cores[5].y) == (1, 0)     # 4 cores per tile, tiles row-major


def test_layer_larger_than_core_memory_is_split():
    profile = variant("loihi", settings=DISCRETE, synapse_memory_per_core=16)   # 16 KiB = 131072 bits
    b = GraphBuilder()
    x = b.input((512,), kind="binary", name="x")
    fc = b.linear(x, weight=np.ones((64, 512), np.float32), name="fc")
    getattr(b, "if")(fc, name="n")
    graph = b.build(outputs=["n"])
    placement = hw.hardware_model(profile).place(graph)
    cores = placement.cores_of("n")
    # 512 axons x roundup64(8 c + 10) <= 131072  ->  8 c + 10 <= 256  ->  c <= 30
    assert [c.box[:2] for c in cores] == [(0, 30), (30, 60), (60, 64)]
    assert [c.usage["synapse_bits"] for c in cores] == [512 * 256, 512 * 256, 512 * 64]
    assert all(c.usage["synapse_bits"] <= 131072 for c in cores)
    assert all(c.usage["fan_in"] == 512 for c in cores)


def test_network_larger_than_chip_names_layer_needs_and_chips():
    profile = variant("loihi", max_chips=1)
    graph = deep_net()
    # 1x1 convs over 64 channels: a core reads 64 x rows x cols <= 4096 axons -> an 8 x 8 tile,
    # 16 channels per core (1024 neurons): l1 and l2 take 64 cores each, l3 16 cores
    with pytest.raises(DoesNotFit) as err:
        hw.hardware_model(profile).place(graph)
    msg = str(err.value)
    assert "layer 'l3'" in msg and "needs 16 cores" in msg
    assert "0 of 128 cores" in msg and "144 cores = 2 chips" in msg
    loose = hw.hardware_model(profile).place(graph, strict=False)
    assert not loose.fits and loose.chips == 2 and len(loose.cores) == 144
    assert [len(loose.cores_of(n)) for n in ("l1", "l2", "l3")] == [64, 64, 16]


def test_one_neuron_too_wide_for_a_truenorth_core():
    b = GraphBuilder()
    x = b.input((300,), kind="binary", name="x")
    fc = b.linear(x, weight=np.ones((10, 300), np.float32), name="fc")
    getattr(b, "if")(fc, name="n")
    with pytest.raises(DoesNotFit) as err:
        hw.hardware_model("truenorth").place(b.build(outputs=["n"]))
    assert "layer 'n'" in str(err.value) and "300 input axons" in str(err.value) and "256" in str(err.value)


# --------------------------------------------------------------------------- routing and latency


def test_hops_energy_and_latency_for_a_known_placement():
    model = hw.hardware_model(small_mesh())
    graph = two_layer_net()
    placement = model.place(graph)
    # A on core 0 at (0, 0); B (5000 neurons) on cores 1..5 at (1,0) (2,0) (3,0) (0,1) (1,1)
    assert placement.layer_cores == {"A": [0], "B": [1, 2, 3, 4, 5]}
    assert [c.neurons for c in placement.cores_of("B")] == [1024, 1024, 1024, 1024, 904]
    assert [(c.x, c.y) for c in placement.cores] == [(0, 0), (1, 0), (2, 0), (3, 0), (0, 1), (1, 1)]
    assert placement.cores[0].usage["fan_out"] == 5 * 64   # every A neuron reaches all 5 B cores

    report = model.cost(two_layer_trace(graph), placement, ann_twin=False)
    a = report.layer("A")
    # 4 events of A, each sent to the 5 cores of B (a Linear reads all its inputs)
    assert a.routing == {"packets": 20, "hops_ew": 4 * (1 + 2 + 3 + 0 + 1), "hops_ns": 4 * 2, "chip_hops": 0}
    assert a.energy["routing"] == pytest.approx(20 * 1.7 * pJ + 28 * 3.0 * pJ + 8 * 4.0 * pJ)
    assert a.energy["synaptic"] == pytest.approx(192 * 23.6 * pJ)
    assert a.energy["neuron"] == pytest.approx(7 * 81 * pJ + (128 - 7) * 52 * pJ)
    b = report.layer("B")
    assert b.energy["synaptic"] == pytest.approx(20000 * 23.6 * pJ)
    assert b.energy["neuron"] == pytest.approx(400 * 81 * pJ + 9600 * 52 * pJ)
    assert b.energy["routing"] == 0.0

    # latency: A at depth 0, B at depth 1 -> 3 chip steps
    busy_a = [128 * 3.5 + 5 * 8.4 + 59 * 5.3 + 15 * 2.1,            # syn, active, idle, 15 packets sent
              64 * 3.5 + 2 * 8.4 + 62 * 5.3 + 5 * 2.1]
    busy_b = [1024 * 3 * 3.5 + 300 * 1024 / 5000 * 8.4 + (1024 - 300 * 1024 / 5000) * 5.3,  # fullest core
              1024 * 1 * 3.5 + 100 * 1024 / 5000 * 8.4 + (1024 - 100 * 1024 / 5000) * 5.3]
    # busiest link: east out of (0,0) carries packets for cores 1, 2, 3 and 5
    network = [4 * 3 * 4.1, 4 * 1 * 4.1, 0.0]
    barrier = 113 + (465 - 113) * (6 - 1) / (32 - 1)             # 6 tiles used
    steps = [busy_a[0] + network[0] + barrier,
             max(busy_a[1], busy_b[0]) + network[1] + barrier,
             busy_b[1] + network[2] + barrier]
    assert report.latency_per_inference == pytest.approx(sum(steps) * ns)
    assert report.details["chip_steps_per_sample"] == 3
    links = report.details["links"]
    assert links["busiest_link"] == {"direction": "east", "x": 0, "y": 0, "packets_per_inference": 16}
    assert links["max_link_load_per_step"] == pytest.approx([12, 4, 0])
    static = 0.104 * 1 * sum(steps) * ns
    assert report.energy_by_component["static"] == pytest.approx(static)
    assert report.throughput == pytest.approx(1 / (sum(steps) * ns))
    # per-core sums equal per-layer sums, layers sum to the total
    by_layer = report.core_energy_by_layer()
    for row in report.layers:
        for comp, value in row.energy.items():
            assert by_layer[row.name][comp] == pytest.approx(value, rel=1e-12, abs=1e-30)
    assert sum(r.energy_total for r in report.layers) == pytest.approx(report.energy_per_inference)


def test_chip_hops_between_chips():
    profile = variant("loihi", cores_per_chip=2, cores_per_tile=1, tile_columns=2, tile_rows=1, max_chips=4)
    model = hw.hardware_model(profile)
    graph = two_layer_net()
    placement = model.place(graph)
    # A on core 0 (chip 0, x 0); B on cores 1..5 at x = 1, 2, 3, 4, 5 across chips 0, 1, 1, 2, 2
    assert [c.chip for c in placement.cores] == [0, 0, 1, 1, 2, 2]
    report = model.cost(two_layer_trace(graph), placement, ann_twin=False)
    crossings = [0, 1, 1, 2, 2]
    ew = [x - c for x, c in zip([1, 2, 3, 4, 5], crossings)]
    routing = report.layer("A").routing
    assert routing["chip_hops"] == 4 * sum(crossings)
    assert routing["hops_ew"] == 4 * sum(ew)
    assert report.layer("A").energy["routing"] == pytest.approx(
        20 * 1.7 * pJ + 4 * sum(ew) * 3.0 * pJ + 4 * sum(crossings) * 30 * pJ)
    assert report.chips == 3


def test_spatial_split_attributes_events_by_position():
    """Two cores holding the top and bottom halves of a map: each receives the events of the
    input rows its receptive field covers, and sends the events of its own rows."""
    profile = variant("loihi", neurons_per_core=32, cores_per_chip=16, cores_per_tile=1, tile_columns=4,
                      tile_rows=4)
    b = GraphBuilder()
    x = b.input((1, 8, 8), kind="binary", name="x")
    c1 = b.conv2d(x, weight=np.ones((1, 1, 1, 1), np.float32), name="c1")
    n1 = getattr(b, "if")(c1, name="n1")                     # 64 neurons -> 2 cores of 4 rows
    c2 = b.conv2d(n1, weight=np.ones((1, 1, 1, 1), np.float32), name="c2")
    getattr(b, "if")(c2, name="n2")                          # 2 cores of 4 rows
    graph = b.build(outputs=["n2"])
    model = hw.hardware_model(profile)
    placement = model.place(graph)
    assert [c.box for c in placement.cores_of("n1")] == [(0, 1, 0, 4, 0, 8), (0, 1, 4, 8, 0, 8)]
    trace = empty_trace(graph, batch=1, timesteps=1)
    ev = np.zeros((1, 8, 8))
    ev[0, 1, 2] = 3          # top half
    ev[0, 6, 6] = 1          # bottom half
    for name in ("x", "n1"):
        fill(trace, name, out_spikes=4, out_nonzero=2)
        trace.nodes[name].event_map[...] = ev
        trace.nodes[name].out_spikes_per_channel[...] = 4
    for name in ("c1", "c2"):
        fill(trace, name, syn_ops=4, in_spikes=4)
        trace.nodes[name].syn_ops_per_channel[...] = 4
    for name in ("n1", "n2"):
        fill(trace, name, neuron_updates=64)
    report = model.cost(trace, placement, ann_twin=False)
    cores = {c.index: c for c in report.cores}
    n1_cores = placement.layer_cores["n1"]
    n2_cores = placement.layer_cores["n2"]
    # a 1x1 conv: synaptic ops land where the input events are: 3 on the top core, 1 on the bottom
    assert cores[n1_cores[0]].energy["synaptic"] == pytest.approx(3 * 23.6 * pJ)
    assert cores[n1_cores[1]].energy["synaptic"] == pytest.approx(1 * 23.6 * pJ)
    assert cores[n2_cores[0]].energy["synaptic"] == pytest.approx(3 * 23.6 * pJ)
    # top core of n1 (core 0) sends 3 packets to core 2 (x=2): 2 hops; bottom (core 1) 1 packet to core 3
    assert report.layer("n1").routing["packets"] == pytest.approx(4)
    assert report.layer("n1").routing["hops_ew"] == pytest.approx(3 * 2 + 1 * 2)
    assert cores[n1_cores[0]].energy["routing"] == pytest.approx(3 * (1.7 + 2 * 3.0) * pJ)


# --------------------------------------------------------------------------- TrueNorth


def test_truenorth_unrolls_convs_and_charges_26pJ_per_event():
    graph = conv_net(4, 8, 16, second=8)
    model = hw.hardware_model("truenorth")
    placement = model.place(graph)
    cores = placement.cores_of("n1")
    # 2048 neurons, 256 per core; a box of 8 channels x 2 full rows reads 4 x 3 x 16 axons
    # (a box of 4 rows would read 4 x 6 x 16 = 384 > 256 axons)
    assert len(cores) == 8
    assert cores[0].box == (0, 8, 0, 2, 0, 16)
    assert cores[0].usage["fan_in"] == 4 * 3 * 16
    assert cores[1].usage["fan_in"] == 4 * 4 * 16
    assert all(c.usage["fan_in"] <= 256 and c.neurons <= 256 for c in placement.cores)
    trace = empty_trace(graph, batch=2, timesteps=3)
    fill(trace, "conv1", syn_ops=100.0, in_spikes=10.0)
    fill(trace, "n1", neuron_updates=2048, out_spikes=7.0, out_nonzero=7.0)
    trace.nodes["n1"].event_map[...] = 7 * 6 / 2048
    fill(trace, "conv2", syn_ops=56.0, in_spikes=7.0)
    fill(trace, "n2", neuron_updates=2048)
    report = model.cost(trace, placement, ann_twin=False)
    assert report.energy_per_inference == pytest.approx((100 + 56) * 6 * 26 * pJ / 2)
    comp = report.energy_by_component
    assert comp["static"] == comp["routing"] == comp["neuron"] == comp["memory"] == 0.0
    assert report.latency_per_inference == pytest.approx((3 + 1) * 1e-3)   # T + depth ticks
    assert report.layer("n1").routing["packets"] > 0                      # hops reported, not priced


def test_same_trace_costed_twice_and_on_many_profiles():
    graph = two_layer_net()
    trace = two_layer_trace(graph)
    model = hw.hardware_model(small_mesh())
    placement = model.place(graph)
    first = model.cost(trace, placement, ann_twin=False)
    second = model.cost(trace, placement, ann_twin=False)
    assert first.to_dict() == second.to_dict()
    reports = hw.compare(trace, graph, ["paper-45nm", "memory-45nm", small_mesh()], ann_twin=False)
    assert [r.profile_name for r in reports] == ["paper-45nm", "memory-45nm", "loihi"]
