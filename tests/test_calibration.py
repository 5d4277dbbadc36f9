"""Calibrating random-weight graphs to a target firing rate per layer."""
from __future__ import annotations

import numpy as np
import pytest

from neurosim.calibration import calibrate_rates
from neurosim.errors import NeurosimError
from neurosim.ir import GraphBuilder, load_graph, save_graph
from neurosim.sim import simulate


def _chain(seed=0):
    """binary in -> conv -> LIF -> conv -> I-LIF (D=4) -> conv -> threshold, and a skip: add -> IF."""
    rng = np.random.default_rng(seed)
    w = lambda cout, cin: rng.normal(0, 0.5, (cout, cin, 3, 3)).astype(np.float32)  # noqa: E731
    g = GraphBuilder()
    x = g.input((3, 10, 10), kind="binary")
    a = g.lif(g.conv2d(x, weight=w(8, 3), padding=(1, 1), name="conv_a"), decay=0.5, threshold=1.0, name="lif_a")
    b = g.ilif(g.conv2d(a, weight=w(8, 8), padding=(1, 1), name="conv_b"), max_spike=4, name="ilif_b")
    c = g.threshold(g.conv2d(b, weight=w(8, 8), padding=(1, 1), name="conv_c"), threshold=np.float32([0.5]),
                    name="thr_c")
    d = g.conv2d(a, weight=w(8, 8), padding=(1, 1), name="conv_d")
    e = getattr(g, "if")(g.add(c, d, name="sum"), threshold=1.0, name="if_e")
    return g.build([e])


def _inputs(graph, batch=3, steps=2, seed=1):
    shape = (batch, steps) + graph.shapes[graph.input_names[0]]
    return (np.random.default_rng(seed).random(shape) < 0.3).astype(np.float32)


@pytest.mark.parametrize("target", [0.05, 0.1, 0.2])
def test_every_calibrated_layer_fires_at_the_target_on_its_inputs(target):
    graph = _chain()
    x = _inputs(graph)
    calibrated, report = calibrate_rates(graph, target, x, tolerance=0.02)
    trace = simulate(calibrated, x).trace
    for name in ("lif_a", "ilif_b", "thr_c"):
        assert "skipped" not in report[name]
        assert trace[name].firing_rate() == pytest.approx(target, rel=0.021), name
        assert report[name]["rate"] == pytest.approx(trace[name].firing_rate())
    assert report["if_e"]["bias_of"] == ["conv_d"]  # fed by add(conv_c, conv_d): conv_c drives thr_c, calibrated before
    assert trace["if_e"].firing_rate() == pytest.approx(target, rel=0.021)


def test_per_layer_targets_and_only_biases_change(tmp_path):
    graph = _chain(seed=3)
    x = _inputs(graph, seed=4)
    targets = {"lif_a": 0.3, "ilif_b": 0.6, "thr_c": 0.05}  # an I-LIF spike of value k counts k
    calibrated, report = calibrate_rates(graph, targets, x)
    trace = simulate(calibrated, x).trace
    for name, target in targets.items():
        assert trace[name].firing_rate() == pytest.approx(target, rel=0.021), name
    before, after = {n.name: n for n in graph.nodes}, {n.name: n for n in calibrated.nodes}
    for name in ("conv_a", "conv_b", "conv_c"):
        np.testing.assert_array_equal(before[name].weight, after[name].weight)
        shift = after[name].bias - (0 if before[name].bias is None else before[name].bias)
        assert np.allclose(shift, shift[0])  # one uniform shift per layer
    assert after["conv_d"].bias is None or np.array_equal(after["conv_d"].bias, before["conv_d"].bias)
    save_graph(calibrated, tmp_path / "m")
    meta = load_graph(tmp_path / "m").metadata["calibration"]
    assert meta["images"] == 3 and meta["layers"]["lif_a"]["target"] == 0.3


def test_an_unreachable_rate_is_reported_not_hidden():
    graph = _chain()
    _, report = calibrate_rates(graph, {"lif_a": 1.5}, _inputs(graph))  # a LIF fires at most once per step
    assert report["lif_a"]["skipped"] == "no shift of the bias reaches the rate"
    assert report["lif_a"]["rate"] == pytest.approx(1.0)


@pytest.mark.parametrize("rate, message", [(0.0, "positive and finite"), (float("nan"), "positive and finite"),
                                           ({"nope": 0.1}, "no spiking layer is named nope")])
def test_bad_targets_are_one_sentence(rate, message):
    graph = _chain()
    with pytest.raises(NeurosimError, match=message):
        calibrate_rates(graph, rate, _inputs(graph))


def test_layers_fed_through_upsampling_and_concatenation_are_calibrated_through_all_their_parts():
    rng = np.random.default_rng(5)
    g = GraphBuilder()
    x = g.input((2, 8, 8), kind="binary")
    a = g.conv2d(x, weight=rng.normal(0, 0.5, (4, 2, 3, 3)).astype(np.float32), padding=(1, 1), name="conv_a")
    b = g.conv2d(x, weight=rng.normal(0, 0.5, (4, 2, 1, 1)).astype(np.float32), stride=(2, 2), name="conv_b")
    joined = g.concat(a, g.upsample(b, scale=2, name="up"), name="cat")
    out = g.lif(joined, decay=0.5, threshold=1.0, name="lif")
    graph = g.build([out])
    x = _inputs(graph, batch=4)
    calibrated, report = calibrate_rates(graph, 0.15, x)
    assert report["lif"]["bias_of"] == ["conv_a", "conv_b"]
    assert simulate(calibrated, x).trace["lif"].firing_rate() == pytest.approx(0.15, rel=0.021)
    maxed = GraphBuilder()
    x2 = maxed.input((2, 8, 8), kind="binary")
    spikes = maxed.lif(maxed.conv2d(x2, weight=np.ones((2, 2, 1, 1), np.float32), name="c"), name="s")
    maxed.lif(maxed.maxpool2d(spikes, kernel=(2, 2), stride=(2, 2), name="pool"), name="after")
    graph2 = maxed.build(["after"])
    _, report2 = calibrate_rates(graph2, {"after": 0.1}, _inputs(graph2))
    assert report2["after"]["skipped"].startswith("no convolution or linear layer moves its input pool")


def test_calibrate_command_writes_a_model_firing_at_the_rate(tmp_path, capsys):
    from neurosim.cli import main

    out = tmp_path / "tiny-r01"
    assert main(["calibrate", "example:tiny-snn", str(out), "--rate", "0.1", "--T", "4", "--images", "2",
                 "--quiet"]) == 0
    assert "3 of 3 spiking layers fire at 0.1" in capsys.readouterr().out
    graph = load_graph(out)
    assert graph.metadata["calibration"]["images"] == 2
    from neurosim.examples import example_input

    trace = simulate(graph, example_input(graph, 4, 2, 0)).trace  # the command's own inputs (seed 0)
    for name, entry in graph.metadata["calibration"]["layers"].items():
        assert trace[name].firing_rate() == pytest.approx(0.1, rel=0.021)
