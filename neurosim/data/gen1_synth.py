"""``gen1-synth``: synthetic Gen1-style event recordings written in the real Gen1 formats.

On disk::

    <root>/<split>/synth_<split>_NNN_td.dat     events (Gen1 .dat with header, Version 2)
    <root>/<split>/synth_<split>_NNN_bbox.npy   labels (legacy packed Gen1 box dtype)
    <root>/manifest.json                        generation parameters + file list

Each recording: a static textured street-like background (multi-scale noise, a road band with
lane dashes, block "buildings"), in half of the recordings panning slowly; 1-5 textured
objects moving at constant velocity and bouncing off the sensor borders:

* class 0, car: wide body with a cabin, dark windows, two wheels with light hubs, lights;
  width 40-90 px at 304x240, speed 25-90 px/s, mostly horizontal;
* class 1, pedestrian: head, torso, arms, two legs; width 12-22 px and height 2.3-3x the
  width, speed 10-35 px/s.

Sizes and speeds scale with ``width / 304``. Frames are rendered (bilinear, so motion is
sub-pixel smooth) at a step of at most ``max_step_px`` pixels of motion and at most
``max_frame_dt_us``, and turned into events by :class:`neurosim.data.esim.EventSimulator`.
Labels (x, y = top-left, w, h of the whole object) are written at
``first_label_us + k * label_period_us``; objects are always fully inside the sensor.
"""
from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from neurosim.data.datasets import generated_set, write_manifest
from neurosim.data.esim import EventSimulator
from neurosim.data.gen1_io import BBOX_DTYPE, EVENT_DTYPE, write_bboxes, write_dat
from neurosim.data.shapes import split_seed, upsample_bilinear
from neurosim.errors import DataError

GEN1_RESOLUTIONS = {"full": (304, 240), "half": (152, 120)}
DEFAULT_N_FILES = {"train": 24, "val": 6, "test": 6}
CLASS_CAR, CLASS_PEDESTRIAN = 0, 1
_FORMAT_VERSION = 1
# what a gen1-synth set holds (paths relative to its root), so an interrupted older one may be replaced
OWNED_FILES = (r"[^/]+/synth_[^/]+_\d+_(td\.dat|bbox\.npy)",)


# ---------------------------------------------------------------- drawing primitives

def _grid(h: int, w: int):
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float64) + 0.5
    return yy, xx


def _rounded_rect(yy, xx, x0, y0, x1, y1, radius):
    """Mask of the rectangle [x0, x1) x [y0, y1) with corners rounded by ``radius``."""
    cx = np.clip(xx, x0 + radius, x1 - radius)
    cy = np.clip(yy, y0 + radius, y1 - radius)
    inside = (xx >= x0) & (xx < x1) & (yy >= y0) & (yy < y1)
    return inside & ((xx - cx) ** 2 + (yy - cy) ** 2 <= radius**2)


def _disc(yy, xx, cx, cy, r):
    return (xx - cx) ** 2 + (yy - cy) ** 2 <= r * r


def _tight(intensity: np.ndarray, alpha: np.ndarray):
    rows, cols = np.flatnonzero(alpha.any(axis=1)), np.flatnonzero(alpha.any(axis=0))
    sl = (slice(rows[0], rows[-1] + 1), slice(cols[0], cols[-1] + 1))
    return intensity[sl], alpha[sl]


def car_sprite(rng: np.random.Generator, width: int, height: int):
    """(intensity, alpha) of a car seen from the side, tight to its silhouette."""
    h, w = height, width
    yy, xx = _grid(h, w)
    body_level, glass, tyre = rng.uniform(0.2, 0.95), rng.uniform(0.05, 0.3), rng.uniform(0.03, 0.1)
    r_wheel = 0.2 * h
    body = _rounded_rect(yy, xx, 0, 0.35 * h, w, h - 0.6 * r_wheel, 0.12 * h)
    cabin_x0, cabin_x1 = rng.uniform(0.12, 0.25) * w, rng.uniform(0.7, 0.85) * w
    cabin = _rounded_rect(yy, xx, cabin_x0, 0, cabin_x1, 0.5 * h, 0.15 * h)
    img = np.where(body | cabin, body_level, 0.0)
    mid = 0.5 * (cabin_x0 + cabin_x1)
    pad = 0.08 * h
    for x0, x1 in ((cabin_x0 + pad, mid - pad / 2), (mid + pad / 2, cabin_x1 - pad)):
        img[_rounded_rect(yy, xx, x0, pad, x1, 0.42 * h, 0.05 * h)] = glass
    trim = (yy >= 0.62 * h) & (yy < 0.66 * h) & body
    img[trim] = np.clip(body_level + rng.choice([-0.3, 0.3]), 0.02, 1)
    lights = (yy >= 0.42 * h) & (yy < 0.52 * h) & ((xx < 0.05 * w) | (xx >= 0.95 * w)) & body
    img[lights] = 1.0
    wheels = np.zeros_like(body)
    for cx in (0.22 * w, 0.78 * w):
        tyre_mask = _disc(yy, xx, cx, h - r_wheel, r_wheel)
        img[tyre_mask] = tyre
        img[_disc(yy, xx, cx, h - r_wheel, 0.45 * r_wheel)] = rng.uniform(0.5, 0.9)
        wheels |= tyre_mask
    alpha = (body | cabin | wheels).astype(np.float64)
    img = np.clip(img + rng.normal(0, 0.04, img.shape), 0.02, 1.0) * alpha
    return _tight(img, alpha)


def pedestrian_sprite(rng: np.random.Generator, width: int, height: int):
    """(intensity, alpha) of a standing pedestrian, tight to its silhouette."""
    h, w = height, width
    yy, xx = _grid(h, w)
    skin, shirt, trousers = rng.uniform(0.4, 0.9), rng.uniform(0.05, 0.95), rng.uniform(0.05, 0.95)
    r_head = min(0.3 * w, 0.09 * h)
    head = _disc(yy, xx, 0.5 * w, r_head + 0.5, r_head)
    torso = _rounded_rect(yy, xx, 0.15 * w, 2 * r_head, 0.85 * w, 0.58 * h, 0.15 * w)
    arms = ((xx < 0.15 * w) | (xx >= 0.85 * w)) & (yy >= 2.2 * r_head) & (yy < 0.52 * h)
    legs = (((xx >= 0.2 * w) & (xx < 0.46 * w)) | ((xx >= 0.54 * w) & (xx < 0.8 * w))) \
        & (yy >= 0.56 * h) & (yy < h)
    img = np.zeros((h, w))
    img[torso | arms] = shirt
    img[legs] = trousers
    img[head] = skin
    stripes = torso & (np.floor(yy / max(2.0, 0.05 * h)) % 2 == 0)
    img[stripes] = np.clip(shirt + rng.uniform(-0.25, 0.25), 0.02, 1)
    alpha = (head | torso | arms | legs).astype(np.float64)
    img = np.clip(img + rng.normal(0, 0.04, img.shape), 0.02, 1.0) * alpha
    return _tight(img, alpha)


def street_background(rng: np.random.Generator, height: int, width: int, scale: float) -> np.ndarray:
    """Static textured intensity image [height, width] in [0.05, 0.95]."""
    img = np.zeros((height, width))
    for cell, weight in ((48 * scale, 0.5), (12 * scale, 0.3), (4 * scale, 0.2)):
        gh, gw = int(height / max(cell, 1)) + 2, int(width / max(cell, 1)) + 2
        img += weight * upsample_bilinear(rng.uniform(0, 1, (gh, gw)), height, width)
    img = 0.2 + 0.6 * img
    yy, xx = _grid(height, width)
    road_top = rng.uniform(0.55, 0.7) * height
    img[yy >= road_top] = 0.75 * img[yy >= road_top] + 0.25 * rng.uniform(0.1, 0.5)
    dash_y = road_top + 0.5 * (height - road_top)
    dash_period = rng.uniform(30, 50) * scale
    dashes = (np.abs(yy - dash_y) < 1.5 * scale) & ((xx % dash_period) < 0.5 * dash_period)
    img[dashes] = 0.9
    for _ in range(int(rng.integers(3, 8))):
        x0 = rng.uniform(0, width)
        bw, bh = rng.uniform(15, 60) * scale, rng.uniform(0.2, 0.5) * road_top
        block = (xx >= x0) & (xx < x0 + bw) & (yy >= road_top - bh) & (yy < road_top)
        img[block] = 0.6 * img[block] + 0.4 * rng.uniform(0.1, 0.9)
    return np.clip(img + rng.normal(0, 0.02, img.shape), 0.05, 0.95)


def _bounce(p0: float, v: float, lo: float, hi: float, t_us: float) -> float:
    """Position at ``t_us`` of a point moving at ``v`` px/us, reflected at lo and hi."""
    span = hi - lo
    if span <= 0:
        return lo
    u = (p0 - lo + v * t_us) % (2 * span)
    return lo + (u if u <= span else 2 * span - u)


# ---------------------------------------------------------------- scene

@dataclass
class MovingObject:
    """A sprite moving at constant velocity, bouncing inside the sensor."""

    class_id: int
    intensity: np.ndarray  # premultiplied by alpha
    alpha: np.ndarray
    x0: float
    y0: float
    vx: float  # px/us
    vy: float
    sensor: tuple[int, int]  # (width, height)

    @property
    def size(self) -> tuple[int, int]:
        return self.alpha.shape[1], self.alpha.shape[0]

    def position(self, t_us: float) -> tuple[float, float]:
        w, h = self.size
        return (_bounce(self.x0, self.vx, 0, self.sensor[0] - w, t_us),
                _bounce(self.y0, self.vy, 0, self.sensor[1] - h, t_us))


def _shifted(sprite: np.ndarray, fx: float, fy: float) -> np.ndarray:
    """Sprite moved right/down by a fraction of a pixel (bilinear), one pixel larger."""
    h, w = sprite.shape
    out = np.zeros((h + 1, w + 1))
    out[:h, :w] += (1 - fx) * (1 - fy) * sprite
    out[:h, 1:] += fx * (1 - fy) * sprite
    out[1:, :w] += (1 - fx) * fy * sprite
    out[1:, 1:] += fx * fy * sprite
    return out


class StreetScene:
    """Background (optionally panning) + moving objects; renders intensity frames and labels."""

    def __init__(self, rng: np.random.Generator, width: int, height: int, duration_us: int, *,
                 pan_speed_px_s: float = 6.0, objects: tuple[int, int] = (1, 5)):
        self.width, self.height = width, height
        scale = width / GEN1_RESOLUTIONS["full"][0]
        pan = rng.uniform(0.3, 1.0) * pan_speed_px_s * scale * 1e-6 if rng.random() < 0.5 else 0.0
        angle = rng.uniform(0, 2 * np.pi)
        self.pan_v = (pan * np.cos(angle), pan * np.sin(angle))
        self.pad = int(np.ceil(pan * duration_us)) + 2
        self.texture = street_background(rng, height + 2 * self.pad, width + 2 * self.pad, scale)
        self.objects: list[MovingObject] = []
        n_total = int(rng.integers(objects[0], objects[1] + 1))
        for _ in range(n_total):
            if rng.random() < 0.6:
                w = round(rng.uniform(40, 90) * scale)
                sprite = car_sprite(rng, w, round(w * rng.uniform(0.4, 0.55)))
                speed, vy_max, cls = rng.uniform(25, 90), 8.0, CLASS_CAR
            else:
                w = max(4, round(rng.uniform(12, 22) * scale))
                sprite = pedestrian_sprite(rng, w, round(w * rng.uniform(2.3, 3.0)))
                speed, vy_max, cls = rng.uniform(10, 35), 10.0, CLASS_PEDESTRIAN
            intensity, alpha = sprite
            h_s, w_s = alpha.shape
            self.objects.append(MovingObject(
                cls, intensity, alpha,
                x0=rng.uniform(0, max(width - w_s, 0)), y0=rng.uniform(0, max(height - h_s, 0)),
                vx=rng.choice([-1, 1]) * speed * scale * 1e-6,
                vy=rng.uniform(-vy_max, vy_max) * scale * 1e-6, sensor=(width, height)))

    def max_speed_px_us(self) -> float:
        speeds = [np.hypot(o.vx, o.vy) for o in self.objects] + [np.hypot(*self.pan_v)]
        return max(speeds)

    def _background(self, t_us: float) -> np.ndarray:
        ox, oy = self.pad + self.pan_v[0] * t_us, self.pad + self.pan_v[1] * t_us
        ix, iy = int(np.floor(ox)), int(np.floor(oy))
        fx, fy = ox - ix, oy - iy
        h, w = self.height, self.width
        tex = self.texture
        return ((1 - fx) * (1 - fy) * tex[iy:iy + h, ix:ix + w] + fx * (1 - fy) * tex[iy:iy + h, ix + 1:ix + 1 + w]
                + (1 - fx) * fy * tex[iy + 1:iy + 1 + h, ix:ix + w] + fx * fy * tex[iy + 1:iy + 1 + h, ix + 1:ix + 1 + w])

    def render(self, t_us: float) -> np.ndarray:
        """Intensity frame [H, W] at ``t_us``; objects lower in the image are drawn in front."""
        frame = self._background(t_us).copy()
        placed = [(obj, *obj.position(t_us)) for obj in self.objects]
        placed.sort(key=lambda item: item[2] + item[0].size[1])
        for obj, x, y in placed:
            ix, iy = int(np.floor(x)), int(np.floor(y))
            fx, fy = x - ix, y - iy
            color, alpha = _shifted(obj.intensity, fx, fy), _shifted(obj.alpha, fx, fy)
            h = min(alpha.shape[0], self.height - iy)
            w = min(alpha.shape[1], self.width - ix)
            region = frame[iy:iy + h, ix:ix + w]
            region *= 1 - alpha[:h, :w]
            region += color[:h, :w]
        return frame

    def labels(self, t_us: int) -> np.ndarray:
        """``BBOX_DTYPE`` boxes of every object at ``t_us`` (track id = object index)."""
        out = np.zeros(len(self.objects), dtype=BBOX_DTYPE)
        for i, obj in enumerate(self.objects):
            x, y = obj.position(t_us)
            out[i] = (t_us, x, y, obj.size[0], obj.size[1], obj.class_id, i, 1.0)
        return out


def simulate_recording(rng: np.random.Generator, width: int, height: int, duration_us: int, *,
                       label_period_us: int = 200_000, first_label_us: int = 250_000,
                       pan_speed_px_s: float = 6.0, objects: tuple[int, int] = (1, 5),
                       max_step_px: float = 1.0, max_frame_dt_us: int = 10_000,
                       threshold_mean: float = 0.2, threshold_std: float = 0.03,
                       refractory_us: int = 500, noise_rate_hz: float = 0.1):
    """One recording: (events ``EVENT_DTYPE`` sorted by t, labels ``BBOX_DTYPE``, scene)."""
    scene = StreetScene(rng, width, height, duration_us, pan_speed_px_s=pan_speed_px_s, objects=objects)
    sim = EventSimulator(height, width, rng=np.random.default_rng(rng.integers(2**63)),
                         threshold_mean=threshold_mean, threshold_std=threshold_std,
                         refractory_us=refractory_us, noise_rate_hz=noise_rate_hz)
    dt = int(max(1, min(max_frame_dt_us, max_step_px / max(scene.max_speed_px_us(), 1e-12))))
    times = np.append(np.arange(0, duration_us, dt), duration_us)
    sim.reset(scene.render(0), 0)
    chunks = [sim.step(scene.render(t), t) for t in times[1:]]
    events = np.concatenate(chunks) if chunks else np.empty(0, dtype=EVENT_DTYPE)
    label_times = np.arange(first_label_us, duration_us + 1, label_period_us)
    labels = np.concatenate([scene.labels(int(t)) for t in label_times]) if len(label_times) \
        else np.empty(0, dtype=BBOX_DTYPE)
    return events, labels, scene


def resolve_resolution(resolution: tuple[int, int] | str | None, size: str | None) -> tuple[int, int]:
    """(width, height) from an explicit ``resolution`` or a ``size`` preset ('full', 'half')."""
    if isinstance(resolution, str):
        resolution, size = None, resolution
    if resolution is not None:
        if size not in (None, "full"):
            raise DataError("Give either resolution=(W, H) or size='full'/'half', not both.")
        w, h = (int(v) for v in resolution)
        if w < 16 or h < 16 or w >= 2**14 or h >= 2**14:
            raise DataError(f"Resolution {w}x{h} is outside 16..16383 pixels per side.")
        return w, h
    try:
        return GEN1_RESOLUTIONS[size or "full"]
    except KeyError:
        raise DataError(f"Unknown size '{size}'; use one of {sorted(GEN1_RESOLUTIONS)}.") from None


def generate_gen1_synth(root: str | os.PathLike, *, seed: int = 0,
                        resolution: tuple[int, int] | str | None = None, size: str | None = None,
                        n_files: Mapping[str, int] | None = None, duration_s: float = 4.0,
                        label_period_us: int = 200_000, first_label_us: int = 250_000,
                        pan_speed_px_s: float = 6.0, objects: tuple[int, int] = (1, 5),
                        threshold_mean: float = 0.2, threshold_std: float = 0.03,
                        refractory_us: int = 500, noise_rate_hz: float = 0.1,
                        max_step_px: float = 1.0, max_frame_dt_us: int = 10_000) -> Path:
    """Generate the gen1-synth set under ``root`` (skipped if its manifest has the same parameters).

    ``resolution`` = (W, H), or ``size`` = 'full' (304x240, default) / 'half' (152x120).
    ``n_files`` maps split -> number of recordings (default :data:`DEFAULT_N_FILES`).
    Raises :class:`DataError` if ``root`` holds a set generated with other parameters.
    """
    root = Path(root)
    width, height = resolve_resolution(resolution, size)
    n_files = dict(DEFAULT_N_FILES if n_files is None else n_files)
    duration_us = round(duration_s * 1e6)
    if duration_us <= 0 or label_period_us <= 0 or not (1 <= objects[0] <= objects[1]):
        raise DataError("gen1-synth needs a positive duration and label period, and 1 <= min <= max objects.")
    options = {"label_period_us": int(label_period_us), "first_label_us": int(first_label_us),
                   "pan_speed_px_s": float(pan_speed_px_s), "objects": [int(v) for v in objects],
                   "threshold_mean": float(threshold_mean), "threshold_std": float(threshold_std),
                   "refractory_us": int(refractory_us), "noise_rate_hz": float(noise_rate_hz),
                   "max_step_px": float(max_step_px), "max_frame_dt_us": int(max_frame_dt_us)}
    params = {"generator": "gen1-synth", "format_version": _FORMAT_VERSION, "seed": int(seed),
              "resolution": [width, height], "n_files": {k: int(v) for k, v in n_files.items()},
              "duration_us": duration_us, **options}
    options["objects"] = tuple(options["objects"])
    with generated_set(root, params, OWNED_FILES) as staging:
        if staging is not None:
            files = []
            for split, count in n_files.items():
                for index in range(count):
                    rng = split_seed(seed, split, index)
                    events, labels, _ = simulate_recording(rng, width, height, duration_us, **options)
                    stem = f"synth_{split}_{index:03d}"
                    write_dat(staging / split / f"{stem}_td.dat", events, width=width, height=height)
                    write_bboxes(staging / split / f"{stem}_bbox.npy", labels, legacy=True)
                    files += [f"{split}/{stem}_td.dat", f"{split}/{stem}_bbox.npy"]
            write_manifest(staging, params, files)
    return root
