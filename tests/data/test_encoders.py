import numpy as np
import pytest

from neurosim.data.encoders import (
    encode,
    encode_gray,
    encode_histogram,
    encode_voxel_binary,
    encoder_channels,
    resize_nearest,
)
from neurosim.data.gen1_io import EVENT_DTYPE
from neurosim.errors import DataError


def events(*rows):
    """rows of (t, x, y, p)."""
    out = np.zeros(len(rows), dtype=EVENT_DTYPE)
    for i, r in enumerate(rows):
        out[i] = r
    return out


# window [0, 100) with T = 2: slices [0, 50) and [50, 100)
EV = events(
    (-1, 1, 1, 1),   # before the window: ignored
    (10, 0, 0, 1),
    (20, 0, 0, 0),   # last at (0,0) in slice 0: negative
    (49, 2, 1, 1),   # slice 0
    (50, 1, 0, 1),   # exactly on the inner edge: slice 1
    (60, 1, 0, 1),
    (99, 2, 1, 0),   # slice 1
    (100, 0, 1, 1),  # at t_end: outside
)


def test_gray_frames_hand_computed():
    g = encode_gray(EV, 100, T=2, height=2, width=3, window_us=100, scale=False)
    assert g.shape == (2, 3, 2, 3) and g.dtype == np.float32
    bg = 127
    np.testing.assert_array_equal(g[0, 0], [[0, bg, bg], [bg, bg, 255]])
    np.testing.assert_array_equal(g[1, 0], [[bg, 255, bg], [bg, bg, 0]])
    assert np.all(g[:, 0] == g[:, 1]) and np.all(g[:, 0] == g[:, 2])
    scaled = encode_gray(EV, 100, T=2, height=2, width=3, window_us=100)
    np.testing.assert_allclose(scaled, g / 255.0)


def test_gray_last_event_is_by_time_then_array_order():
    ev = events((30, 0, 0, 0), (10, 0, 0, 1), (20, 1, 0, 1), (20, 1, 0, 0))
    g = encode_gray(ev, 100, T=1, height=1, width=2, window_us=100, scale=False)
    # (0,0): latest time is negative; (1,0): equal times, the later one in the array (negative)
    np.testing.assert_array_equal(g[0, 0], [[0, 0]])


def test_slice_rule_with_a_window_not_divisible_by_T():
    # window 100, T = 3: slice k holds (t - t0) * 3 // 100 == k
    ev = events((1000 + 33, 0, 0, 1), (1000 + 34, 1, 0, 1), (1000 + 66, 2, 0, 1), (1000 + 67, 3, 0, 1))
    v = encode_voxel_binary(ev, 1100, T=3, height=1, width=4, window_us=100)
    np.testing.assert_array_equal(v[:, 1, 0], [[1, 0, 0, 0], [0, 1, 1, 0], [0, 0, 0, 1]])


def test_histogram_hand_computed_with_clipping():
    ev = events(*[(t, 0, 0, 1) for t in range(5)], (7, 0, 0, 0), (8, 1, 0, 0), (60, 1, 0, 1))
    h = encode_histogram(ev, 100, T=2, height=1, width=2, window_us=100, max_count=3, scale=False)
    assert h.shape == (2, 2, 1, 2)
    np.testing.assert_array_equal(h[0, 1], [[3, 0]])   # 5 positive events clipped at 3
    np.testing.assert_array_equal(h[0, 0], [[1, 1]])   # negatives
    np.testing.assert_array_equal(h[1, 1], [[0, 1]])
    np.testing.assert_array_equal(h[1, 0], [[0, 0]])
    scaled = encode_histogram(ev, 100, T=2, height=1, width=2, window_us=100, max_count=3)
    np.testing.assert_allclose(scaled, h / 3)


def test_voxel_binary_hand_computed():
    v = encode_voxel_binary(EV, 100, T=2, height=2, width=3, window_us=100)
    assert v.shape == (2, 2, 2, 3)
    expected = np.zeros((2, 2, 2, 3), np.float32)
    expected[0, 1, 0, 0] = expected[0, 0, 0, 0] = 1
    expected[0, 1, 1, 2] = 1
    expected[1, 1, 0, 1] = 1
    expected[1, 0, 1, 2] = 1
    np.testing.assert_array_equal(v, expected)


def test_resize_nearest_formula():
    frame = np.arange(6, dtype=np.float32).reshape(1, 2, 3)
    up = resize_nearest(frame, (4, 6))
    np.testing.assert_array_equal(up[0], [[0, 0, 1, 1, 2, 2], [0, 0, 1, 1, 2, 2],
                                          [3, 3, 4, 4, 5, 5], [3, 3, 4, 4, 5, 5]])
    down = resize_nearest(np.arange(16.0).reshape(4, 4), (2, 3))
    np.testing.assert_array_equal(down, [[0, 1, 2], [8, 9, 10]])  # rows 0, 2; cols 0, 1, 2


def test_encoders_resize_their_output():
    g = encode_gray(EV, 100, T=2, height=2, width=3, window_us=100, resize=(4, 6))
    assert g.shape == (2, 3, 4, 6)
    small = encode_gray(EV, 100, T=2, height=2, width=3, window_us=100)
    np.testing.assert_array_equal(g, resize_nearest(small, (4, 6)))
    assert encode_histogram(EV, 100, T=2, height=2, width=3, window_us=100, resize=(1, 1)).shape == (2, 2, 1, 1)


def test_events_outside_the_sensor_are_ignored():
    ev = events((10, 5, 0, 1), (10, 0, 9, 1))
    assert encode_voxel_binary(ev, 100, T=1, height=2, width=3, window_us=100).sum() == 0


def test_named_encoders():
    assert [encoder_channels(n) for n in ("gray", "histogram", "voxel")] == [3, 2, 2]
    np.testing.assert_array_equal(encode("voxel", EV, 100, T=2, height=2, width=3, window_us=100),
                                  encode_voxel_binary(EV, 100, T=2, height=2, width=3, window_us=100))
    with pytest.raises(DataError, match="Unknown event encoding"):
        encode("bilinear", EV, 100, T=2, height=2, width=3)


def test_empty_window():
    g = encode_gray(events(), 250_000, T=4, height=3, width=5)
    assert g.shape == (4, 3, 3, 5) and np.allclose(g, 127 / 255)
