"""``shapes``: a procedural, seed-deterministic frame detection set in real COCO layout.

On disk::

    <root>/images/<split>/NNNNNN.png             RGB, size x size (NNNNNN = image id)
    <root>/annotations/instances_<split>.json    COCO instances (category ids 1..K)
    <root>/manifest.json                         generation parameters + file list

Each image: a textured background (gradient, stripes, blotchy noise or checker, plus pixel
noise) and 1-6 objects of K classes (distinct shapes), each drawn with a random colour that
contrasts with the background below it and a light texture. An object's circumscribed diameter
is log-uniform in 10%-60% of the image side, shapes may be rotated (not circles), and the whole
shape lies inside the image. Objects may overlap, but every earlier object keeps at least
``MIN_VISIBLE`` of its pixels visible. Annotations: ``bbox`` = tight box of the full shape
(pixel (i, j) covers [j, j+1) x [i, i+1)), ``area`` = pixel count of the full shape.
"""
from __future__ import annotations

import json
import os
import zlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from neurosim.data.coco import CocoDetection
from neurosim.data.datasets import generated_set, write_manifest
from neurosim.errors import DataError
from neurosim.fsutil import atomic_path, write_text_atomic

SHAPE_KINDS = ("circle", "square", "triangle", "cross", "star")
DEFAULT_CLASSES = ("circle", "square", "triangle")
DEFAULT_COUNTS = {"train": 2000, "val": 300, "test": 300}
MIN_VISIBLE = 0.6
# what a shapes set holds (paths relative to its root), so an interrupted older one may be replaced
OWNED_FILES = (r"images/[^/]+/\d{6}\.png", r"annotations/instances_[^/]+\.json")
_FORMAT_VERSION = 1
_PLACEMENT_TRIES = 20


def split_seed(seed: int, split: str, index: int) -> np.random.Generator:
    """The generator of item ``index`` of ``split``: independent of every other item."""
    return np.random.default_rng([seed, zlib.crc32(split.encode("utf-8")), index])


def upsample_bilinear(grid: np.ndarray, height: int, width: int) -> np.ndarray:
    """Bilinear upsampling of a [h, w, ...] grid whose corners map to the output's corners."""
    h, w = grid.shape[:2]
    ys = np.linspace(0, h - 1, height)
    xs = np.linspace(0, w - 1, width)
    y0 = np.minimum(ys.astype(int), h - 2) if h > 1 else np.zeros(height, int)
    x0 = np.minimum(xs.astype(int), w - 2) if w > 1 else np.zeros(width, int)
    fy = (ys - y0)[:, None] if h > 1 else np.zeros((height, 1))
    fx = (xs - x0)[None, :] if w > 1 else np.zeros((1, width))
    y1, x1 = np.minimum(y0 + 1, h - 1), np.minimum(x0 + 1, w - 1)
    extra = (None,) * (grid.ndim - 2)
    fy, fx = fy[(...,) + extra], fx[(...,) + extra]
    top = grid[y0][:, x0] * (1 - fx) + grid[y0][:, x1] * fx
    bottom = grid[y1][:, x0] * (1 - fx) + grid[y1][:, x1] * fx
    return top * (1 - fy) + bottom * fy


def _background(rng: np.random.Generator, size: int) -> np.ndarray:
    """Textured RGB background [size, size, 3] in [0, 1]."""
    yy, xx = np.mgrid[0:size, 0:size].astype(np.float64) / size
    c0, c1 = rng.uniform(0, 1, 3), rng.uniform(0, 1, 3)
    kind = rng.integers(4)
    angle = rng.uniform(0, np.pi)
    along = np.cos(angle) * xx + np.sin(angle) * yy
    if kind == 0:  # gradient
        mix = (along - along.min()) / max(np.ptp(along), 1e-9)
    elif kind == 1:  # stripes
        period = rng.uniform(0.05, 0.25)
        mix = 0.5 + 0.5 * np.sin(2 * np.pi * along / period + rng.uniform(0, 2 * np.pi))
    elif kind == 2:  # blotchy noise
        cells = int(rng.integers(3, 12))
        mix = upsample_bilinear(rng.uniform(0, 1, (cells, cells)), size, size)
    else:  # checker
        cell = rng.uniform(0.06, 0.25)
        mix = ((np.floor(xx / cell) + np.floor(yy / cell)) % 2).astype(np.float64)
    image = c0 + (c1 - c0) * mix[..., None]
    image += rng.normal(0, rng.uniform(0.01, 0.06), image.shape)
    return np.clip(image, 0, 1)


def _polygon_mask(xx: np.ndarray, yy: np.ndarray, vertices: np.ndarray) -> np.ndarray:
    """Even-odd point-in-polygon test of pixel centres against ``vertices`` [V, 2] (x, y)."""
    inside = np.zeros(xx.shape, dtype=bool)
    for (xa, ya), (xb, yb) in zip(vertices, np.roll(vertices, -1, axis=0)):
        if ya == yb:
            continue
        crosses = (ya > yy) != (yb > yy)
        x_at = xa + (yy - ya) * (xb - xa) / (yb - ya)
        inside ^= crosses & (xx < x_at)
    return inside


def shape_mask(kind: str, size: int, cx: float, cy: float, radius: float, angle: float) -> np.ndarray:
    """Boolean [size, size] mask of a shape of circumscribed ``radius`` centred at (cx, cy)."""
    yy, xx = np.mgrid[0:size, 0:size].astype(np.float64) + 0.5
    if kind == "circle":
        return (xx - cx) ** 2 + (yy - cy) ** 2 <= radius**2
    if kind == "square":
        corners = angle + np.pi / 4 + np.arange(4) * np.pi / 2
        radii = np.full(4, radius)
    elif kind == "triangle":
        corners = angle + np.arange(3) * 2 * np.pi / 3
        radii = np.full(3, radius)
    elif kind == "star":
        corners = angle + np.arange(10) * np.pi / 5
        radii = np.where(np.arange(10) % 2 == 0, radius, 0.45 * radius)
    elif kind == "cross":
        arm = radius / np.hypot(1.0, 1.0 / 3.0)
        t = arm / 3.0
        pts = np.array([(t, t), (arm, t), (arm, -t), (t, -t), (t, -arm), (-t, -arm), (-t, -t),
                        (-arm, -t), (-arm, t), (-t, t), (-t, arm), (t, arm)])
        rot = np.array([[np.cos(angle), -np.sin(angle)], [np.sin(angle), np.cos(angle)]])
        return _polygon_mask(xx, yy, pts @ rot.T + (cx, cy))
    else:
        raise DataError(f"Unknown shape '{kind}'; choose from {SHAPE_KINDS}.")
    vertices = np.stack([cx + radii * np.cos(corners), cy + radii * np.sin(corners)], axis=1)
    return _polygon_mask(xx, yy, vertices)


def _object_texture(rng: np.random.Generator, mask: np.ndarray, colour: np.ndarray) -> np.ndarray:
    """RGB values [mask.sum(), 3]: the base colour with a light gradient and noise."""
    rows, cols = np.nonzero(mask)
    size = mask.shape[0]
    angle = rng.uniform(0, 2 * np.pi)
    ramp = ((np.cos(angle) * cols + np.sin(angle) * rows) / size)[:, None] * rng.uniform(-0.2, 0.2)
    return np.clip(colour + ramp + rng.normal(0, 0.03, (len(rows), 3)), 0, 1)


@dataclass(frozen=True)
class ShapeObject:
    """One drawn object: class index, tight bbox [x, y, w, h] of the full shape, its pixel
    count, and the fraction of its pixels left visible by the objects drawn over it."""

    class_index: int
    bbox: list
    area: float
    visible_fraction: float


def render_shapes_image(rng: np.random.Generator, size: int, n_classes: int,
                        kinds: Sequence[str], *, objects: tuple[int, int] = (1, 6),
                        scale_range: tuple[float, float] = (0.1, 0.6)):
    """Render one image; returns (uint8 [size, size, 3], list of :class:`ShapeObject`)."""
    image = _background(rng, size)
    n_wanted = int(rng.integers(objects[0], objects[1] + 1))
    full_masks: list[np.ndarray] = []
    visible: list[np.ndarray] = []
    labels: list[int] = []
    for _ in range(n_wanted):
        for _ in range(_PLACEMENT_TRIES):
            cls = int(rng.integers(n_classes))
            diameter = size * np.exp(rng.uniform(np.log(scale_range[0]), np.log(scale_range[1])))
            radius = diameter / 2
            cx, cy = rng.uniform(radius, size - radius, 2)
            mask = shape_mask(kinds[cls], size, cx, cy, radius, rng.uniform(0, 2 * np.pi))
            if mask.sum() < 4:
                continue
            if all((v & ~mask).sum() >= MIN_VISIBLE * f.sum() for v, f in zip(visible, full_masks)):
                break
        else:
            continue
        below = image[mask].mean(axis=0)
        for _ in range(10):
            colour = rng.uniform(0, 1, 3)
            if np.linalg.norm(colour - below) > 0.35:
                break
        image[mask] = _object_texture(rng, mask, colour)
        visible = [v & ~mask for v in visible] + [mask.copy()]
        full_masks.append(mask)
        labels.append(cls)
    placed = []
    for cls, mask, seen in zip(labels, full_masks, visible):
        rows, cols = np.flatnonzero(mask.any(axis=1)), np.flatnonzero(mask.any(axis=0))
        bbox = [float(cols[0]), float(rows[0]), float(cols[-1] + 1 - cols[0]), float(rows[-1] + 1 - rows[0])]
        placed.append(ShapeObject(cls, bbox, float(mask.sum()), float(seen.sum() / mask.sum())))
    return np.round(image * 255).astype(np.uint8), placed


def _save_png(path: Path, pixels: np.ndarray) -> None:
    from PIL import Image

    with atomic_path(path) as tmp:
        Image.fromarray(pixels).save(tmp, format="PNG")


def generate_shapes(root: str | os.PathLike, *, seed: int = 0, size: int = 128,
                    counts: Mapping[str, int] | None = None,
                    classes: Sequence[str] = DEFAULT_CLASSES,
                    objects: tuple[int, int] = (1, 6),
                    scale_range: tuple[float, float] = (0.1, 0.6)) -> Path:
    """Generate the shapes set under ``root`` (skipped if its manifest has the same parameters).

    ``classes`` names the shape of each class (category id = position + 1), from
    :data:`SHAPE_KINDS`; ``counts`` maps split name -> number of images (default
    :data:`DEFAULT_COUNTS`). Raises :class:`DataError` if ``root`` holds a set generated with
    other parameters. Returns ``root``.
    """
    root = Path(root)
    counts = dict(DEFAULT_COUNTS if counts is None else counts)
    classes = list(classes)
    unknown = [c for c in classes if c not in SHAPE_KINDS]
    if unknown or not classes or len(set(classes)) != len(classes):
        raise DataError(f"Shape classes must be distinct names from {SHAPE_KINDS}; got {classes}.")
    if not (1 <= objects[0] <= objects[1]) or not (0 < scale_range[0] <= scale_range[1] <= 1):
        raise DataError("Shapes need 1 <= min objects <= max objects and 0 < min scale <= max scale <= 1.")
    params = {"generator": "shapes", "format_version": _FORMAT_VERSION, "seed": int(seed),
              "size": int(size), "counts": {k: int(v) for k, v in counts.items()},
              "classes": classes, "objects": list(objects), "scale_range": list(scale_range)}
    with generated_set(root, params, OWNED_FILES) as staging:
        if staging is not None:
            _write_shapes(staging, params)
    return root


def _write_shapes(root: Path, params: dict) -> None:
    """Render every split of the set described by ``params`` into ``root``, manifest last."""
    seed, size, classes = params["seed"], params["size"], params["classes"]
    categories = [{"id": i + 1, "name": name, "supercategory": "shape"} for i, name in enumerate(classes)]
    files = []
    for split, count in params["counts"].items():
        images, annotations = [], []
        names = []
        for index in range(count):
            rng = split_seed(seed, split, index)
            pixels, objs = render_shapes_image(rng, size, len(classes), classes,
                                               objects=tuple(params["objects"]),
                                               scale_range=tuple(params["scale_range"]))
            image_id = index + 1
            file_name = f"{image_id:06d}.png"
            _save_png(root / "images" / split / file_name, pixels)
            names.append(file_name)
            images.append({"id": image_id, "file_name": file_name, "width": size, "height": size})
            for obj in objs:
                annotations.append({"id": len(annotations) + 1, "image_id": image_id,
                                    "category_id": obj.class_index + 1, "bbox": obj.bbox,
                                    "area": obj.area, "iscrowd": 0})
        dataset = {"info": {"description": f"neurosim synthetic shapes, seed {seed}", "version": "1"},
                   "licenses": [], "images": images, "annotations": annotations, "categories": categories}
        ann_file = root / "annotations" / f"instances_{split}.json"
        write_text_atomic(ann_file, json.dumps(dataset))
        files += [f"images/{split}/{n}" for n in names] + [f"annotations/instances_{split}.json"]
    write_manifest(root, params, files)


def load_shapes(root: str | os.PathLike, split: str) -> CocoDetection:
    """The images and targets of one split of a generated shapes set."""
    root = Path(root)
    return CocoDetection(root / "images" / split, root / "annotations" / f"instances_{split}.json")
