import math

import numpy as np

from neurosim.detect.anchors import (
    anchor_points,
    cell_offsets,
    retina_anchors,
    retina_cell_anchors,
)


def test_anchor_points_are_cell_centres_row_major():
    points = anchor_points(2, 3, 8)
    assert points.tolist() == [[4, 4], [12, 4], [20, 4], [4, 12], [12, 12], [20, 12]]
    assert cell_offsets(2, 3).tolist() == [[0, 0], [1, 0], [2, 0], [0, 1], [1, 1], [2, 1]]


def test_retina_cell_anchors_area_aspect_and_order():
    ratios, scales = [0.5, 1.0, 2.0], [1.0, 2.0]
    anchors = retina_cell_anchors(32, ratios, scales)
    w, h = anchors[:, 2] - anchors[:, 0], anchors[:, 3] - anchors[:, 1]
    # a = i_ratio * len(scales) + i_scale
    for a, (ratio, scale) in enumerate((r, s) for r in ratios for s in scales):
        assert math.isclose(w[a] * h[a], (32 * scale) ** 2)
        assert math.isclose(h[a] / w[a], ratio)
    np.testing.assert_allclose(anchors[:, :2], -anchors[:, 2:])  # centred at 0
    np.testing.assert_allclose(anchors[2], [-16, -16, 16, 16])   # ratio 1, scale 1


def test_retina_anchors_position_major_anchor_minor():
    cell = retina_cell_anchors(16, [1.0, 2.0], [1.0])
    anchors = retina_anchors(2, 3, 8, 16, [1.0, 2.0], [1.0])
    assert anchors.shape == (2 * 3 * 2, 4)
    y, x, a = 1, 2, 1
    np.testing.assert_allclose(anchors[(y * 3 + x) * 2 + a], cell[a] + [20, 12, 20, 12])
