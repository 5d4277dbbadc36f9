"""Event encoders: a window of events before a time ``t_end`` -> float32 tensor [T, C, H, W].

Common time rule for every encoder. The window is ``[t0, t_end)`` with
``t0 = t_end - window_us``; it is split into ``T`` equal half-open slices and an event at time
``t`` goes to slice

    k = floor((t - t0) * T / window_us),   0 <= k < T,

computed in exact integer arithmetic, i.e. slice k is ``[t0 + k*window_us/T,
t0 + (k+1)*window_us/T)``. An event exactly on an inner edge belongs to the later slice; an
event at ``t_end`` is outside the window. Events outside the window are ignored, so a superset
may be passed. Polarity ``p = 1`` is positive (ON), ``p = 0`` negative (OFF).

Events are a structured array with fields ``t, x, y, p`` (see ``gen1_io.EVENT_DTYPE``).
Optional resizing is nearest-neighbour on the encoded frames (:func:`resize_nearest`).
"""
from __future__ import annotations

from collections.abc import Callable

import numpy as np

from neurosim.errors import DataError

GRAY_BACKGROUND = 127
GRAY_POSITIVE = 255
GRAY_NEGATIVE = 0


def _slice_events(events: np.ndarray, t_end: int, window_us: int, T: int, height: int, width: int):
    """Keep the window's events inside the sensor; return (slice index, x, y, p, t)."""
    if T < 1 or window_us < 1:
        raise ValueError("T and window_us must be positive.")
    t = np.asarray(events["t"], dtype=np.int64)
    x = np.asarray(events["x"], dtype=np.int64)
    y = np.asarray(events["y"], dtype=np.int64)
    p = np.asarray(events["p"], dtype=np.int64)
    t0 = int(t_end) - int(window_us)
    keep = (t >= t0) & (t < t_end) & (x >= 0) & (x < width) & (y >= 0) & (y < height)
    t, x, y, p = t[keep], x[keep], y[keep], p[keep]
    k = ((t - t0) * T) // int(window_us)
    return k, x, y, p, t


def resize_nearest(frames: np.ndarray, size: tuple[int, int] | None) -> np.ndarray:
    """Nearest-neighbour resize of the last two axes to ``size = (H', W')``.

    Output pixel (i, j) takes input pixel (floor(i * H / H'), floor(j * W / W')).
    """
    if size is None:
        return frames
    out_h, out_w = int(size[0]), int(size[1])
    in_h, in_w = frames.shape[-2:]
    if (out_h, out_w) == (in_h, in_w):
        return frames
    rows = (np.arange(out_h) * in_h) // out_h
    cols = (np.arange(out_w) * in_w) // out_w
    return np.ascontiguousarray(frames[..., rows[:, None], cols[None, :]])


def encode_gray(events: np.ndarray, t_end: int, *, T: int, height: int, width: int,
                window_us: int = 250_000, resize: tuple[int, int] | None = None,
                scale: bool = True) -> np.ndarray:
    """EMS-YOLO / SpikeYOLO gray frames, float32 [T, 3, H, W].

    For slice k and pixel (y, x), let e be the last event of the slice at that pixel (largest
    ``t``; equal times: the later one in the array). Then

        G[k, c, y, x] = 255 if e.p == 1, 0 if e.p == 0, 127 if the pixel has no event,

    identical for the 3 channels c, divided by 255 when ``scale`` (values 0, 127/255, 1).
    """
    k, x, y, p, t = _slice_events(events, t_end, window_us, T, height, width)
    flat = np.full(T * height * width, GRAY_BACKGROUND, dtype=np.float32)
    if len(t):
        order = np.argsort(t, kind="stable") if np.any(np.diff(t) < 0) else np.arange(len(t))
        cell = (k * height + y) * width + x
        last = np.full(T * height * width, -1, dtype=np.int64)
        # the largest rank wins per cell: rank = position in time order
        np.maximum.at(last, cell[order], np.arange(len(order)))
        hit = last >= 0
        flat[hit] = np.where(p[order][last[hit]] == 1, GRAY_POSITIVE, GRAY_NEGATIVE)
    frames = flat.reshape(T, 1, height, width)
    if scale:
        frames = frames / np.float32(255.0)
    frames = resize_nearest(frames, resize)
    return np.ascontiguousarray(np.broadcast_to(frames, (T, 3) + frames.shape[2:]), dtype=np.float32)


def encode_histogram(events: np.ndarray, t_end: int, *, T: int, height: int, width: int,
                     window_us: int = 250_000, resize: tuple[int, int] | None = None,
                     max_count: int = 8, scale: bool = True) -> np.ndarray:
    """Two-polarity event-count histograms, float32 [T, 2, H, W].

        H[k, c, y, x] = min(max_count, #{events in slice k at (y, x) with p == c}),

    channel 0 = negative (p = 0), channel 1 = positive (p = 1); divided by ``max_count``
    when ``scale`` (values in [0, 1]).
    """
    if max_count < 1:
        raise ValueError("max_count must be at least 1.")
    k, x, y, p, _ = _slice_events(events, t_end, window_us, T, height, width)
    cell = ((k * 2 + p) * height + y) * width + x
    counts = np.bincount(cell, minlength=T * 2 * height * width).astype(np.float32)
    counts = np.minimum(counts, np.float32(max_count)).reshape(T, 2, height, width)
    if scale:
        counts /= np.float32(max_count)
    return resize_nearest(counts, resize).astype(np.float32, copy=False)


def encode_voxel_binary(events: np.ndarray, t_end: int, *, T: int, height: int, width: int,
                        window_us: int = 250_000,
                        resize: tuple[int, int] | None = None) -> np.ndarray:
    """Binary voxel cube, float32 [T, 2, H, W].

        V[k, c, y, x] = 1 if any event in slice k at (y, x) has p == c, else 0,

    channel 0 = negative, channel 1 = positive.
    """
    k, x, y, p, _ = _slice_events(events, t_end, window_us, T, height, width)
    cube = np.zeros(T * 2 * height * width, dtype=np.float32)
    cube[((k * 2 + p) * height + y) * width + x] = 1.0
    return resize_nearest(cube.reshape(T, 2, height, width), resize)


#: Encoder name -> (function, number of channels).
ENCODERS: dict[str, tuple[Callable[..., np.ndarray], int]] = {
    "gray": (encode_gray, 3),
    "histogram": (encode_histogram, 2),
    "voxel": (encode_voxel_binary, 2),
}


def encoder_channels(name: str) -> int:
    """Number of channels C the named encoder produces."""
    return _lookup(name)[1]


def encode(name: str, events: np.ndarray, t_end: int, **kwargs) -> np.ndarray:
    """Run the encoder called ``name`` ('gray', 'histogram' or 'voxel') with ``kwargs``."""
    return _lookup(name)[0](events, t_end, **kwargs)


def _lookup(name: str):
    try:
        return ENCODERS[name]
    except KeyError:
        raise DataError(f"Unknown event encoding '{name}'; choose one of {sorted(ENCODERS)}.") from None
