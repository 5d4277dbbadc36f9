"""Anchor points and anchor boxes of a feature level (numpy; shared by decoder and losses).

Ordering convention, used everywhere in :mod:`neurosim.detect` and :mod:`neurosim.losses`:
predictions of a level are flattened position-major, anchor-minor,

    index = (y * W + x) * A + a,

with ``(y, x)`` the feature cell and ``a`` the anchor at that cell. Levels are concatenated in
spec order.
"""
from __future__ import annotations

import numpy as np


def anchor_points(height: int, width: int, stride: float) -> np.ndarray:
    """Cell centres ``((x + 0.5) * s, (y + 0.5) * s)`` in input pixels, ``[H * W, 2]`` (x, y), row-major."""
    ys, xs = np.meshgrid(np.arange(height, dtype=np.float64), np.arange(width, dtype=np.float64), indexing="ij")
    return np.stack([(xs.ravel() + 0.5) * stride, (ys.ravel() + 0.5) * stride], axis=1)


def cell_offsets(height: int, width: int) -> np.ndarray:
    """Integer cell coordinates ``(x, y)``, ``[H * W, 2]`` float64, row-major."""
    ys, xs = np.meshgrid(np.arange(height, dtype=np.float64), np.arange(width, dtype=np.float64), indexing="ij")
    return np.stack([xs.ravel(), ys.ravel()], axis=1)


def retina_cell_anchors(size: float, ratios, scales) -> np.ndarray:
    """The ``A = len(ratios) * len(scales)`` anchors of one position, centred at 0, ``[A, 4]`` xyxy.

    Anchor ``a = i_ratio * len(scales) + i_scale`` has area ``(size * scale)^2`` and aspect
    ``h / w = ratio``:  ``w = size * scale / sqrt(ratio)``,  ``h = size * scale * sqrt(ratio)``.
    (Not rounded to integers, unlike some implementations.)
    """
    ratios = np.asarray(ratios, dtype=np.float64)
    scales = np.asarray(scales, dtype=np.float64)
    side = size * scales[None, :]
    w = (side / np.sqrt(ratios)[:, None]).ravel()
    h = (side * np.sqrt(ratios)[:, None]).ravel()
    return np.stack([-w / 2, -h / 2, w / 2, h / 2], axis=1)


def retina_anchors(height: int, width: int, stride: float, size: float, ratios, scales) -> np.ndarray:
    """All anchors of a level, ``[H * W * A, 4]`` xyxy pixels, index ``(y * W + x) * A + a``;
    cell anchors (:func:`retina_cell_anchors`) shifted to ``((x + 0.5) * s, (y + 0.5) * s)``."""
    centres = np.tile(anchor_points(height, width, stride), 2)  # (cx, cy, cx, cy)
    return (centres[:, None, :] + retina_cell_anchors(size, ratios, scales)[None, :, :]).reshape(-1, 4)


def level_retina_anchors(spec, level: int, height: int, width: int) -> np.ndarray:
    """:func:`retina_anchors` of one level of a retina :class:`~neurosim.detect.spec.HeadSpec`."""
    return retina_anchors(height, width, spec.strides[level], spec.anchor_sizes[level],
                          spec.anchor_ratios, spec.anchor_scales)
