"""Hand-computed energies for the op-energy, memory-aware and dense (ANN twin) families."""
import numpy as np
import pytest

import neurosim.hw as hw
from neurosim.hw.ann_twin import twin_counts
from neurosim.ir.graph import GraphBuilder

from hw_testkit import empty_trace, fill

pJ = 1e-12


def build_detector():
    b = GraphBuilder()
    x = b.input((1, 4, 4), kind="analog", name="x")
    ca = b.conv2d(x, weight=np.ones((2, 1, 3, 3), np.float32), padding=1, name="conv_a")
    la = b.lif(ca, name="lif_a")
    cb = b.conv2d(la, weight=np.ones((3, 2, 1, 1), np.float32), bias=np.zeros(3, np.float32), name="conv_b")
    ib = getattr(b, "if")(cb, name="if_b")  # "if" is a Python keyword
    ch = b.conv2d(ib, weight=np.ones((1, 3, 1, 1), np.float32), name="conv_h")
    sg = b.sigmoid(ch, name="sig")
    return b.build(outputs=[sg])


@pytest.fixture
def detector_trace():
    graph = build_detector()
    trace = empty_trace(graph, batch=2, timesteps=3)
    fill(trace, "conv_a", macs=200.0)
    fill(trace, "lif_a", neuron_updates=32.0, active_neurons=10.0, out_spikes=[[4, 2, 0], [1, 1, 1]],
         out_nonzero=[[4, 2, 0], [1, 1, 1]])
    fill(trace, "conv_b", syn_ops=[[10, 20, 30], [0, 5, 5]], in_spikes=[[4, 2, 0], [1, 1, 1]])
    fill(trace, "if_b", neuron_updates=48.0, active_neurons=6.0, out_spikes=[[1, 1, 1], [1, 0, 0]],
         out_nonzero=[[1, 1, 1], [1, 0, 0]])
    fill(trace, "conv_h", syn_ops=[[3, 3, 3], [1, 1, 1]], in_spikes=[[1, 1, 1], [1, 0, 0]])
    fill(trace, "sig", analog_ops=16.0)
    return graph, trace


def test_layer_split_of_the_detector(detector_trace):
    graph, _ = detector_trace
    dec = hw.decompose(graph)
    assert [(l.name, l.kind) for l in dec.layers] == [
        ("lif_a", "neuron"), ("if_b", "neuron"), ("conv_h", "synaptic"), ("sig", "host")]
    assert dec.layer("lif_a").synapses == ("conv_a",)
    assert [l.depth for l in dec.placed] == [0, 1, 2]
    assert {(e.source, e.target) for e in dec.edges} == {("lif_a", "if_b"), ("if_b", "conv_h")}


def test_paper_convention_by_hand(detector_trace):
    graph, trace = detector_trace
    report = hw.evaluate(trace, graph, "paper-45nm")
    # per inference = run total / batch (2)
    assert report.layer("lif_a").energy["mac"] == pytest.approx(200 * 6 * 4.6 * pJ / 2)
    assert report.layer("if_b").energy["synaptic"] == pytest.approx((10 + 20 + 30 + 0 + 5 + 5) * 0.9 * pJ / 2)
    assert report.layer("conv_h").energy["synaptic"] == pytest.approx((9 + 3) * 0.9 * pJ / 2)
    assert report.layer("sig").energy_total == 0.0
    assert any("not priced" in w for w in report.warnings)
    expected = (200 * 6 * 4.6 + 70 * 0.9 + 12 * 0.9) * pJ / 2
    assert report.energy_per_inference == pytest.approx(expected)
    assert report.latency_per_inference is None
    # firing rate: events out / (neurons x T x batch)
    assert report.layer("lif_a").firing_rate == pytest.approx(9 / (32 * 3 * 2))
    assert report.layer("if_b").events_in == pytest.approx(9 / 2)


def test_ann_twin_counts_from_the_graph_alone(detector_trace):
    graph, trace = detector_trace
    counts = {n.name: n for n in twin_counts(graph)}
    # 3x3 conv, padding 1 on 4x4: valid taps per output row 2+3+3+2 = 10, same for columns
    assert counts["conv_a"].macs == 2 * 1 * 10 * 10
    assert counts["conv_b"].macs == 3 * 2 * 16
    assert counts["conv_h"].macs == 1 * 3 * 16
    assert counts["lif_a"].activation_ops == 32
    report = hw.evaluate(trace, graph, "paper-45nm")
    twin = report.ann_twin
    assert twin["macs_per_inference"] == 344
    paper = next(c for c in twin["comparisons"] if c["ann_profile"] == "paper-45nm")
    assert paper["ann_energy_per_inference"] == pytest.approx(344 * 4.6 * pJ)
    assert paper["snn_profile"] == "paper-45nm"
    assert paper["snn_over_ann"] == pytest.approx(report.energy_per_inference / (344 * 4.6 * pJ))
    dense = next(c for c in twin["comparisons"] if c["ann_profile"] == "ann-45nm")
    assert dense["snn_profile"] == "memory-45nm"
    mem = hw.evaluate(trace, graph, "memory-45nm", ann_twin=False)
    assert dense["snn_energy_per_inference"] == pytest.approx(mem.energy_per_inference)


def sram(size_bits, word_bits):
    """The memory-45nm SRAM fit, written out: (1.09e-5 pJ/bit x size + 13.2 pJ) x w / 64."""
    return (1.09e-5 * size_bits + 13.2) * word_bits / 64 * pJ


def test_memory_aware_by_hand():
    b = GraphBuilder()
    x = b.input((4,), kind="binary", name="x")
    fc = b.linear(x, weight=np.ones((3, 4), np.float32), bias=np.zeros(3, np.float32), name="fc")
    b.lif(fc, decay=0.5, name="n")
    graph = b.build(outputs=["n"])
    trace = empty_trace(graph, batch=1, timesteps=2)
    fill(trace, "fc", syn_ops=[[6, 3]], in_spikes=[[2, 1]])
    fill(trace, "n", neuron_updates=3.0, active_neurons=[[2, 1]], out_spikes=[[1, 0]], out_nonzero=[[1, 0]])
    report = hw.evaluate(trace, graph, "memory-45nm", ann_twin=False)
    row = report.layer("n")
    U, ops, fired = 6, 9, 1
    assert row.energy["synaptic"] == pytest.approx(ops * 0.9 * pJ)
    # per-step update adds + resets, plus one leak multiply per update (LIF, decay 0.5)
    assert row.energy["neuron"] == pytest.approx((U + fired) * 0.9 * pJ + U * 3.7 * pJ)
    memory = (ops * sram(12 * 32, 32)            # weight reads: one per synaptic op
              + 3 * sram(4 * 1, 1)               # input spike reads
              + 3 * 2 * sram(3 * 32, 32)         # bias reads: outputs x T x batch
              + 2 * (ops + U) * sram(3 * 32, 32)  # membrane reads and writes
              + fired * sram(3 * 1, 1))          # output spike writes
    assert row.energy["memory"] == pytest.approx(memory)
    assert row.memory == {"weights": 12 * 32, "bias": 3 * 32, "state": 3 * 32}
    assert report.energy_per_inference == pytest.approx(ops * 0.9 * pJ + (U + fired) * 0.9 * pJ
                                                        + U * 3.7 * pJ + memory)


def test_memory_aware_with_the_twins_reuse_by_hand():
    """memory-45nm-reuse: membranes in registers (state read + write once per update) and
    weights / analog inputs read once per step, the rest as memory-45nm."""
    b = GraphBuilder()
    x = b.input((4,), kind="binary", name="x")
    fc = b.linear(x, weight=np.ones((3, 4), np.float32), bias=np.zeros(3, np.float32), name="fc")
    b.lif(fc, decay=0.5, name="n")
    graph = b.build(outputs=["n"])
    trace = empty_trace(graph, batch=1, timesteps=2)
    fill(trace, "fc", syn_ops=[[6, 3]], in_spikes=[[2, 1]])
    fill(trace, "n", neuron_updates=3.0, active_neurons=[[2, 1]], out_spikes=[[1, 0]], out_nonzero=[[1, 0]])
    row = hw.evaluate(trace, graph, "memory-45nm-reuse", ann_twin=False).layer("n")
    U, ops, fired, T = 6, 9, 1, 2
    memory = (12 * T * sram(12 * 32, 32)       # each weight once per step
              + 3 * sram(4 * 1, 1)             # input spike reads, as memory-45nm
              + 3 * 2 * sram(3 * 32, 32)       # bias reads
              + 2 * U * sram(3 * 32, 32)       # membrane read + write per update only
              + fired * sram(3 * 1, 1))        # output spike writes
    assert row.energy["memory"] == pytest.approx(memory)
    assert row.energy["synaptic"] == pytest.approx(ops * 0.9 * pJ)  # arithmetic unchanged

    b = GraphBuilder()  # an analog-fed layer: its inputs are read once per step, not per MAC
    x = b.input((4,), name="img")
    fc = b.linear(x, weight=np.ones((3, 4), np.float32), name="fc")
    b.lif(fc, decay=0.5, name="n")
    graph = b.build(outputs=["n"])
    trace = empty_trace(graph, batch=1, timesteps=2)
    fill(trace, "fc", macs=12.0)
    fill(trace, "n", neuron_updates=3.0, active_neurons=3.0)
    rows = {p: hw.evaluate(trace, graph, p, ann_twin=False).layer("n").energy["memory"]
            for p in ("memory-45nm", "memory-45nm-reuse")}
    assert rows["memory-45nm"] == pytest.approx(24 * sram(12 * 32, 32) + 24 * sram(4 * 32, 32)
                                                + 2 * 6 * sram(3 * 32, 32))
    assert rows["memory-45nm-reuse"] == pytest.approx(24 * sram(12 * 32, 32) + 8 * sram(4 * 32, 32)
                                                      + 2 * 6 * sram(3 * 32, 32))


@pytest.mark.parametrize("profile, e_mac, e_act, bits, snn_pair", [
    ("ann-45nm", 4.6, 0.9, 32, "memory-45nm"),          # fp32 multiply + add; fp32 data
    ("ann-45nm-int8", 0.3, 0.1, 8, "memory-45nm-int8"),  # int8 multiply + int32 add; int8 data
])
def test_dense_twin_by_hand(profile, e_mac, e_act, bits, snn_pair):
    b = GraphBuilder()
    x = b.input((4,), kind="binary", name="x")
    fc = b.linear(x, weight=np.ones((3, 4), np.float32), name="fc")
    b.lif(fc, name="n")
    graph = b.build(outputs=["n"])
    twin = hw.hardware_model(profile).cost_twin(graph)
    fc_energy = (12 * e_mac * pJ + 12 * sram(12 * bits, bits) + 4 * sram(4 * bits, bits) + 3 * sram(3 * bits, bits))
    act_energy = 3 * e_act * pJ + 3 * sram(3 * bits, bits) + 3 * sram(3 * bits, bits)
    assert twin.per_node["fc"] == pytest.approx(fc_energy)
    assert twin.per_node["n"] == pytest.approx(act_energy)
    assert twin.energy == pytest.approx(fc_energy + act_energy)
    # costing a trace on the dense family reports the twin, split like the SNN's layers
    trace = empty_trace(graph, batch=3, timesteps=4)
    report = hw.hardware_model(profile).cost(trace, graph=graph, ann_twin=False)
    assert report.energy_per_inference == pytest.approx(twin.energy)
    assert report.details["workload"] == "ann-twin"
    # every SNN report compares the SNN on the paired profile with this twin
    snn = hw.hardware_model(snn_pair).cost(trace, graph=graph)
    comp = next(c for c in snn.ann_twin["comparisons"] if c["ann_profile"] == profile)
    assert comp["snn_profile"] == snn_pair
    assert comp["snn_over_ann"] == pytest.approx(snn.energy_per_inference / twin.energy)


def test_dense_twin_without_reuse_by_hand():
    """ann-45nm-noreuse: each of the 12 MACs reads its weight and its input; 3 bias reads, 3 writes."""
    b = GraphBuilder()
    x = b.input((4,), kind="binary", name="x")
    fc = b.linear(x, weight=np.ones((3, 4), np.float32), bias=np.zeros(3, np.float32), name="fc")
    b.lif(fc, name="n")
    graph = b.build(outputs=["n"])
    twin = hw.hardware_model("ann-45nm-noreuse").cost_twin(graph)
    fc_energy = (12 * 4.6 * pJ + 12 * sram(12 * 32, 32) + 3 * sram(3 * 32, 32) + 12 * sram(4 * 32, 32)
                 + 3 * sram(3 * 32, 32))
    assert twin.per_node["fc"] == pytest.approx(fc_energy)
    reuse = hw.hardware_model("ann-45nm").cost_twin(graph)
    assert twin.per_node["n"] == pytest.approx(reuse.per_node["n"])  # activations: one read, one write either way
    assert twin.energy > reuse.energy


def test_zero_events_zero_synaptic_energy(detector_trace):
    graph, trace = detector_trace
    for name in ("conv_b", "conv_h"):
        fill(trace, name, syn_ops=0.0, in_spikes=0.0)
    for profile in ("paper-45nm", "memory-45nm", "memory-45nm-int8"):
        report = hw.evaluate(trace, graph, profile, ann_twin=False)
        assert report.energy_by_component["synaptic"] == 0.0


def test_twin_energy_split_by_layers(detector_trace):
    graph, trace = detector_trace
    twin = hw.evaluate(trace, graph, "paper-45nm").ann_twin
    per_layer = twin["layers"]["paper-45nm"]
    assert per_layer["lif_a"] == pytest.approx(200 * 4.6 * pJ)
    assert sum(per_layer.values()) == pytest.approx(344 * 4.6 * pJ)


def test_chips_charge_analog_fed_layers_to_a_host(detector_trace):
    graph, trace = detector_trace
    report = hw.evaluate(trace, graph, "loihi", ann_twin=False)
    assert report.layer("lif_a").energy["mac"] == pytest.approx(200 * 6 * 4.6 * pJ / 2)
    assert any("'lif_a' is fed analog values" in w for w in report.warnings)
    assert report.layer("sig").energy["analog"] == pytest.approx(16 * 6 * 0.9 * pJ / 2)
