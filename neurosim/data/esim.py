"""An ESIM-style event camera simulator driven by rendered intensity frames.

Model (per pixel):

* log intensity ``L = log(I + eps)``, linearly interpolated in time between two rendered
  frames ``(t0, L0)`` and ``(t1, L1)``;
* a contrast threshold ``C ~ N(threshold_mean, threshold_std)`` drawn once per pixel and clipped
  to at least ``threshold_min``;
* a reference level ``R`` (initially the first frame's L). While ``L`` moves from L0 to L1 it
  crosses the levels ``R + s*k*C`` (s = sign(L1 - R), k = 1..n, n = floor(|L1 - R| / C)); each
  crossing emits an event of polarity s (p = 1 for s > 0, else 0) at

      t = t0 + (R + s*k*C - L0) / (L1 - L0) * (t1 - t0),

  rounded to the nearest microsecond and clamped into (t0, t1],

  and afterwards ``R <- R + s*n*C``. Since |L0 - R| < C, every crossing lies in (t0, t1].
* refractory period: an event closer than ``refractory_us`` to the pixel's previous emitted
  event is dropped (the reference level still moves past the crossed level);
* optional shot noise: ``noise_rate_hz`` events per pixel per second at uniform random
  pixels, times and polarities; noise does not move reference levels.

Events of every step are returned sorted by time (stable).
"""
from __future__ import annotations

import numpy as np

from neurosim.data.gen1_io import EVENT_DTYPE

_NEVER = np.iinfo(np.int64).min // 2


class EventSimulator:
    """Turns a sequence of intensity frames [H, W] (values >= 0) into events."""

    def __init__(self, height: int, width: int, *, rng: np.random.Generator | int = 0,
                 threshold_mean: float = 0.2, threshold_std: float = 0.03,
                 threshold_min: float = 0.01, refractory_us: int = 500,
                 noise_rate_hz: float = 0.0, eps: float = 1e-3):
        self.height, self.width = int(height), int(width)
        self.rng = rng if isinstance(rng, np.random.Generator) else np.random.default_rng(rng)
        self.thresholds = np.maximum(
            self.rng.normal(threshold_mean, threshold_std, self.height * self.width), threshold_min)
        self.refractory_us = int(refractory_us)
        self.noise_rate_hz = float(noise_rate_hz)
        self.eps = float(eps)
        self._ref: np.ndarray | None = None

    def _log(self, frame: np.ndarray) -> np.ndarray:
        frame = np.asarray(frame, dtype=np.float64)
        if frame.shape != (self.height, self.width):
            raise ValueError(f"Frame shape {frame.shape} differs from the sensor's "
                             f"{(self.height, self.width)}.")
        return np.log(frame.ravel() + self.eps)

    def reset(self, frame: np.ndarray, t_us: int) -> None:
        """Start from ``frame`` at time ``t_us``: reference levels = its log intensity."""
        self._log_prev = self._log(frame)
        self._ref = self._log_prev.copy()
        self._t_prev = int(t_us)
        self._last_event = np.full(self.height * self.width, _NEVER, dtype=np.int64)

    def step(self, frame: np.ndarray, t_us: int) -> np.ndarray:
        """Events (``EVENT_DTYPE``, sorted by t) between the previous frame and ``frame`` at ``t_us``."""
        if self._ref is None:
            raise RuntimeError("Call reset() with the first frame before step().")
        t0, t1 = self._t_prev, int(t_us)
        if t1 <= t0:
            raise ValueError(f"Frame time {t1} us does not follow the previous frame's {t0} us.")
        l0, l1 = self._log_prev, self._log(frame)
        pix, t, pol = self._crossings(l0, l1, t0, t1)
        noise = self._noise(t0, t1)
        self._log_prev, self._t_prev = l1, t1
        out = np.empty(len(t) + len(noise[0]), dtype=EVENT_DTYPE)
        all_pix = np.concatenate([pix, noise[0]])
        out["t"] = np.concatenate([t, noise[1]])
        out["x"] = all_pix % self.width
        out["y"] = all_pix // self.width
        out["p"] = np.concatenate([pol, noise[2]])
        return out[np.argsort(out["t"], kind="stable")]

    def _crossings(self, l0, l1, t0, t1):
        """Threshold crossings of every pixel; updates the reference levels."""
        c = self.thresholds
        diff = l1 - self._ref
        n = np.floor(np.abs(diff) / c).astype(np.int64)
        active = np.flatnonzero(n)
        empty = np.empty(0, dtype=np.int64)
        if len(active) == 0:
            return empty, empty, np.empty(0, dtype=np.uint8)
        counts = n[active]
        sign = np.sign(diff[active])
        ref_old = self._ref[active].copy()
        self._ref[active] += sign * counts * c[active]
        # expand: one row per crossing, k = 1..n within each pixel
        owner = np.repeat(np.arange(len(active)), counts)
        starts = np.cumsum(counts) - counts
        k = np.arange(len(owner)) - starts[owner] + 1
        pix = active[owner]
        level = ref_old[owner] + sign[owner] * k * c[pix]
        span = l1[pix] - l0[pix]
        # span is never 0 in exact arithmetic (|L0 - R| < C <= |L1 - R|); guard rounding anyway
        frac = np.divide(level - l0[pix], span, out=np.ones_like(span), where=span != 0)
        t = t0 + np.rint(np.clip(frac, 0.0, 1.0) * (t1 - t0)).astype(np.int64)
        t = np.clip(t, t0 + 1, t1)
        pol = (sign[owner] > 0).astype(np.uint8)
        keep = self._refractory(pix, t, k, starts, counts)
        return pix[keep], t[keep], pol[keep]

    def _refractory(self, pix, t, k, starts, counts):
        """Mask of crossings that survive the refractory period (sequential per pixel, in k)."""
        if self.refractory_us <= 0:
            np.maximum.at(self._last_event, pix, t)
            return np.ones(len(t), dtype=bool)
        keep = np.zeros(len(t), dtype=bool)
        last = self._last_event
        for step in range(int(counts.max())):
            rows = starts[counts > step] + step  # crossing number step+1 of each pixel having one
            ok = t[rows] - last[pix[rows]] >= self.refractory_us
            rows = rows[ok]
            keep[rows] = True
            last[pix[rows]] = t[rows]
        return keep

    def _noise(self, t0, t1):
        n_pixels = self.height * self.width
        expected = self.noise_rate_hz * n_pixels * (t1 - t0) * 1e-6
        count = int(self.rng.poisson(expected)) if expected > 0 else 0
        pix = self.rng.integers(0, n_pixels, count)
        t = self.rng.integers(t0 + 1, t1 + 1, count)
        pol = self.rng.integers(0, 2, count).astype(np.uint8)
        return pix, t, pol


def simulate(frames, times_us, **simulator_options) -> np.ndarray:
    """Events of a whole frame sequence (``frames`` [N, H, W], ``times_us`` [N] increasing)."""
    frames = np.asarray(frames)
    sim = EventSimulator(frames.shape[1], frames.shape[2], **simulator_options)
    sim.reset(frames[0], times_us[0])
    chunks = [sim.step(f, t) for f, t in zip(frames[1:], times_us[1:])]
    return np.concatenate(chunks) if chunks else np.empty(0, dtype=EVENT_DTYPE)
