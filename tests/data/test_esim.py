import numpy as np
import pytest

from neurosim.data.esim import EventSimulator, simulate


def sim1(**kw):
    """A 1x2 sensor with exact thresholds 0.2, eps 0: L = log(I)."""
    opts = {"threshold_mean": 0.2, "threshold_std": 0.0, "eps": 0.0, "refractory_us": 0}
    opts.update(kw)
    return EventSimulator(1, 2, **opts)


def test_crossings_and_interpolated_times():
    s = sim1()
    s.reset(np.array([[1.0, 1.0]]), 0)
    # pixel 0: log goes 0 -> 0.5: crossings of 0.2 and 0.4 at 0.4 and 0.8 of the interval
    # pixel 1: log goes 0 -> -0.3: one negative crossing at -0.2, 2/3 of the interval
    ev = s.step(np.array([[np.exp(0.5), np.exp(-0.3)]]), 1000)
    assert list(ev["t"]) == [400, 667, 800]
    assert list(ev["x"]) == [0, 1, 0] and list(ev["p"]) == [1, 0, 1]
    # reference moved to 0.4 (pixel 0): going to 0.7 crosses 0.6 at (0.6-0.5)/(0.2) of the interval
    ev = s.step(np.array([[np.exp(0.7), np.exp(-0.3)]]), 2000)
    assert list(ev["t"]) == [1500] and list(ev["p"]) == [1]


def test_flat_input_gives_no_events():
    s = sim1()
    s.reset(np.full((1, 2), 0.5), 0)
    assert len(s.step(np.full((1, 2), 0.5), 1000)) == 0
    assert len(s.step(np.full((1, 2), 0.55), 2000)) == 0  # below threshold


def test_refractory_period_drops_close_events():
    s = sim1(refractory_us=500)
    s.reset(np.array([[1.0, 1.0]]), 0)
    ev = s.step(np.array([[np.exp(0.5), 1.0]]), 1000)
    assert list(ev["t"]) == [400]  # 800 - 400 < 500: dropped
    ev = s.step(np.array([[np.exp(0.7), 1.0]]), 2000)
    assert list(ev["t"]) == [1500]  # reference still moved past 0.4; 1500 - 400 >= 500


def test_noise_rate_and_determinism():
    def run(seed):
        s = EventSimulator(20, 30, rng=seed, noise_rate_hz=10.0)
        s.reset(np.full((20, 30), 0.5), 0)
        return s.step(np.full((20, 30), 0.5), 1_000_000)

    a, b = run(1), run(1)
    np.testing.assert_array_equal(a, b)
    assert 6000 * 0.9 < len(a) < 6000 * 1.1
    assert np.all(np.diff(a["t"]) >= 0) and a["t"].min() > 0 and a["t"].max() <= 1_000_000


def test_thresholds_are_per_pixel_and_positive():
    s = EventSimulator(50, 50, rng=0, threshold_mean=0.2, threshold_std=0.03)
    assert s.thresholds.min() > 0
    assert abs(s.thresholds.mean() - 0.2) < 0.005 and abs(s.thresholds.std() - 0.03) < 0.005


def test_simulate_sequence_is_sorted_and_signed():
    frames = np.stack([np.tile(np.linspace(0.1, 1, 16), (4, 1))] * 2)
    frames[1] = frames[1][:, ::-1]
    ev = simulate(frames, [0, 10_000], rng=0)
    assert np.all(np.diff(ev["t"]) >= 0)
    assert set(np.unique(ev["p"])) == {0, 1}
    left = ev[ev["x"] < 8]
    assert np.all(left["p"] == 1)  # the left half got brighter


def test_frame_shape_and_time_are_checked():
    s = sim1()
    with pytest.raises(RuntimeError):
        s.step(np.ones((1, 2)), 10)
    s.reset(np.ones((1, 2)), 0)
    with pytest.raises(ValueError):
        s.step(np.ones((2, 2)), 10)
    with pytest.raises(ValueError):
        s.step(np.ones((1, 2)), 0)
