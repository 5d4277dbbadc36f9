"""Speck (dynapcnn family): sinabs memory formulas, layer-to-core assignment, energy, latency."""
import numpy as np
import pytest

import neurosim.hw as hw
from neurosim.errors import DoesNotFit
from neurosim.hw.families.dynapcnn import match_layers, sinabs_memory
from neurosim.ir.graph import GraphBuilder

from hw_testkit import empty_trace, fill

pJ, us = 1e-12, 1e-6
Ki = 1024


def ones(*shape):
    return np.ones(shape, np.float32)


def speck_net(pool_before_fc=True):
    b = GraphBuilder()
    x = b.input((2, 64, 64), kind="binary", name="x")
    a = getattr(b, "if")(b.conv2d(x, weight=ones(16, 2, 3, 3), padding=1, name="cA"), name="A")
    pa = b.sumpool2d(a, kernel=4, name="poolA")                              # 16 x 16 x 16
    bb = getattr(b, "if")(b.conv2d(pa, weight=ones(64, 16, 3, 3), padding=1, name="cB"), name="B")
    c = getattr(b, "if")(b.conv2d(bb, weight=ones(64, 64, 3, 3), padding=1, name="cC"), name="C")
    src = b.sumpool2d(c, kernel=4, name="poolC") if pool_before_fc else c  # 64 x 4 x 4
    n_in = 64 * 4 * 4 if pool_before_fc else 64 * 16 * 16
    flat = b.flatten(src, name="flat")
    d = getattr(b, "if")(b.linear(flat, weight=ones(10, n_in), bias=np.zeros(10, np.float32), name="fc"), name="D")
    return b.build(outputs=[d])


def test_sinabs_memory_formulas_by_hand():
    graph = speck_net()
    dec = hw.decompose(graph)
    need = {l.name: sinabs_memory(graph, l) for l in dec.placed}
    # kernel = c 2^(ceil log2(kh kw) + ceil log2 f); neuron = f 2^(ceil log2 H + ceil log2 W)
    assert need["A"] == {"kernel": 2 * 2 ** (4 + 4), "neuron": 16 * 2 ** (6 + 6), "bias": 0}
    assert need["B"] == {"kernel": 16 * 2 ** (4 + 6), "neuron": 64 * 2 ** (4 + 4), "bias": 0}
    assert need["C"] == {"kernel": 64 * 2 ** (4 + 6), "neuron": 64 * 2 ** (4 + 4), "bias": 0}
    # Linear on a flattened 64 x 4 x 4 map = a 4x4 convolution with 64 input channels
    assert need["D"] == {"kernel": 64 * 2 ** (4 + 4), "neuron": 10, "bias": 10}


def test_layer_to_core_assignment_follows_the_memory_budgets():
    graph = speck_net()
    placement = hw.hardware_model("speck").place(graph)
    cores = {c.layer: c.index for c in placement.cores}
    # A needs 64 Ki neuron entries: cores 0-2; C needs 64 Ki kernel entries: cores 5-6
    assert cores == {"A": 0, "B": 1, "C": 5, "D": 2}
    kernel = [16, 16, 16, 32, 32, 64, 64, 16, 16]
    neuron = [64, 64, 64, 32, 32, 16, 16, 16, 16]
    for c in placement.cores:
        assert c.usage["kernel"] <= kernel[c.index] * Ki
        assert c.usage["neuron"] <= neuron[c.index] * Ki
        assert c.usage["bias"] <= Ki
    assert placement.cores_of("C")[0].memory == {"kernel": 65536 * 8, "neuron": 16384 * 16, "bias": 0}


def test_matching_reassigns_when_needed():
    # layer 0 fits cores 5 or 6, layer 1 only core 5: the matching moves layer 0 to core 6
    assert match_layers([[5, 6], [5]]) == [6, 5]
    assert match_layers([[5], [5]]) == [5, None]


def test_fc_without_pooling_does_not_fit():
    with pytest.raises(DoesNotFit) as err:
        hw.hardware_model("speck").place(speck_net(pool_before_fc=False))
    msg = str(err.value)
    # 64 x 2^(ceil log2 256 + ceil log2 10) = 64 x 2^12 kernel entries; the largest core has 64 Ki
    assert "layer 'D'" in msg and str(64 * 2 ** 12) in msg and "65536 kernel" in msg


def chain(n_layers, channels=4, size=16):
    b = GraphBuilder()
    h = b.input((channels, size, size), kind="binary", name="x")
    for i in range(n_layers):
        h = getattr(b, "if")(b.conv2d(h, weight=ones(channels, channels, 3, 3), padding=1, name=f"c{i}"), name=f"n{i}")
    return b.build(outputs=[h])


def test_too_many_layers():
    with pytest.raises(DoesNotFit, match="10 layers but speck has 9 cores"):
        hw.hardware_model("speck").place(chain(10))
    assert len(hw.hardware_model("speck").place(chain(9)).cores) == 9


def test_competing_layers():
    b = GraphBuilder()
    h = b.input((64, 16, 16), kind="binary", name="x")
    for i in range(3):   # each needs 64 Ki kernel entries: only cores 5 and 6 have them
        h = getattr(b, "if")(b.conv2d(h, weight=ones(64, 64, 3, 3), padding=1, name=f"c{i}"), name=f"n{i}")
    with pytest.raises(DoesNotFit, match="compete"):
        hw.hardware_model("speck").place(b.build(outputs=[h]))


def test_too_many_destinations():
    b = GraphBuilder()
    x = b.input((2, 16, 16), kind="binary", name="x")
    a = getattr(b, "if")(b.conv2d(x, weight=ones(4, 2, 3, 3), padding=1, name="ca"), name="a")
    outs = [getattr(b, "if")(b.conv2d(a, weight=ones(4, 4, 1, 1), name=f"c{i}"), name=f"o{i}") for i in range(3)]
    with pytest.raises(DoesNotFit, match="layer 'a' sends events to 3 layers"):
        hw.hardware_model("speck").place(b.build(outputs=outs))


def test_max_pooling_and_large_input_are_flagged():
    b = GraphBuilder()
    x = b.input((2, 256, 256), kind="binary", name="x")
    a = getattr(b, "if")(b.conv2d(x, weight=ones(4, 2, 3, 3), padding=1, name="ca"), name="a")
    p = b.maxpool2d(a, kernel=2, name="mp")
    c = getattr(b, "if")(b.conv2d(p, weight=ones(4, 4, 3, 3), padding=1, name="cb"), name="c")
    placement = hw.hardware_model("speck").place(b.build(outputs=[c]), strict=False)
    assert not placement.fits
    assert "256x256" in placement.misfit and "pools by summation" in placement.misfit


def test_speck_energy_and_latency_by_hand():
    graph = chain(2)
    trace = empty_trace(graph, batch=1, timesteps=3)
    fill(trace, "c0", syn_ops=[[100, 0, 50]], in_spikes=[[4, 0, 2]])
    fill(trace, "n0", neuron_updates=1024, out_spikes=[[1, 3, 0]], out_nonzero=[[1, 3, 0]])
    fill(trace, "c1", syn_ops=[[30, 90, 0]], in_spikes=[[1, 3, 0]])
    fill(trace, "n1", neuron_updates=1024)
    report = hw.evaluate(trace, graph, "speck", ann_twin=False)
    t_event = 0.373 * us
    # per step the slowest core (most input events) sets the pace; plus one hop of the 2-layer chain
    latency = (max(4, 1) + max(0, 3) + max(2, 0)) * t_event + 1 * t_event
    assert report.latency_per_inference == pytest.approx(latency)
    assert report.energy_by_component["synaptic"] == pytest.approx((150 + 120) * 10 * pJ)
    assert report.energy_by_component["static"] == pytest.approx(0.42e-3 * latency)
    assert report.energy_per_inference == pytest.approx((150 + 120) * 10 * pJ + 0.42e-3 * latency)
    assert report.layer("n0").routing["packets"] == pytest.approx(4)   # 4 events to 1 destination
