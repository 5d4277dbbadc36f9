import math

import pytest
import torch

from neurosim.losses.assign import (
    IGNORE,
    NEGATIVE,
    retina_match,
    task_aligned_assign,
    yolov5_match,
)
from neurosim.losses.box_ops import complete_box_iou

# ----------------------------------------------------------------------------- task-aligned assigner
POINTS = torch.tensor([[4.0, 4.0], [12.0, 4.0], [20.0, 4.0], [28.0, 4.0]])
GT = torch.tensor([0.0, 0.0, 16.0, 8.0])          # contains points 0 and 1 only


def tal(pred_boxes, gt_boxes, gt_labels, gt_mask=None, scores=None, topk=10):
    n = len(POINTS)
    if scores is None:
        scores = torch.full((1, n, 2), 0.1)
        scores[..., 1] = 0.5
    gt_mask = torch.ones(1, len(gt_boxes), dtype=torch.bool) if gt_mask is None else gt_mask
    return task_aligned_assign(scores, pred_boxes[None], POINTS, torch.tensor([gt_labels]), gt_boxes[None],
                               gt_mask, topk=topk)


def preds(second):
    return torch.stack([GT, second, torch.tensor([18.0, 0, 22, 8]), torch.tensor([26.0, 0, 30, 8])])


def test_tal_candidates_metric_and_soft_targets():
    shifted = torch.tensor([2.0, 0.0, 18.0, 8.0])
    out = tal(preds(shifted), GT[None], [1])
    assert out.fg_mask.tolist() == [[True, True, False, False]]
    assert out.labels[0, :2].tolist() == [1, 1]
    assert torch.equal(out.boxes[0, 0], GT) and torch.equal(out.boxes[0, 1], GT)
    # u1 = CIoU = 7/9 - ρ²/c² = 7/9 - 4 / (18² + 8²); metric t = s^0.5 u^6; the best positive has
    # u = 1 and t = t0, so targets are t * 1 / t0 = u^6 at class 1
    u1 = 7 / 9 - 4 / (18 ** 2 + 8 ** 2)
    assert math.isclose(complete_box_iou(shifted, GT).item(), u1, rel_tol=1e-5)
    assert out.scores[0, 0].tolist() == pytest.approx([0.0, 1.0], abs=1e-6)
    assert out.scores[0, 1].tolist() == pytest.approx([0.0, u1 ** 6], rel=1e-4)
    assert out.scores[0, 2:].abs().sum() == 0


def test_tal_topk_keeps_the_best_aligned():
    out = tal(preds(torch.tensor([2.0, 0.0, 18.0, 8.0])), GT[None], [1], topk=1)
    assert out.fg_mask.tolist() == [[True, False, False, False]]


def test_tal_class_score_enters_the_metric():
    scores = torch.full((1, 4, 2), 0.5)
    scores[0, 0, 1] = 1e-6          # anchor 0 has the perfect box but no confidence in the class
    out = tal(preds(torch.tensor([2.0, 0.0, 18.0, 8.0])), GT[None], [1], scores=scores, topk=1)
    assert out.fg_mask.tolist() == [[False, True, False, False]]


def test_tal_anchor_claimed_by_two_gts_goes_to_the_better_overlap():
    other = torch.tensor([8.0, 0.0, 24.0, 8.0])   # contains points 1 and 2
    pred = torch.stack([GT, torch.tensor([7.0, 0.0, 23.0, 8.0]), other, torch.tensor([26.0, 0, 30, 8])])
    out = tal(pred, torch.stack([GT, other]), [1, 0])
    assert out.fg_mask.tolist() == [[True, True, True, False]]
    assert out.gt_index.tolist() == [[0, 1, 1, 0]]             # anchor 1's box is nearer `other`
    assert out.labels.tolist() == [[1, 0, 0, 0]]
    assert out.scores[0, 1, 1] == 0 and out.scores[0, 1, 0] > 0


def test_tal_padding_and_no_gt():
    out = tal(preds(GT), GT[None], [1], gt_mask=torch.tensor([[False]]))
    assert not out.fg_mask.any() and out.scores.abs().sum() == 0


# ----------------------------------------------------------------------------- YOLOv5 matching
def match(centre, wh, anchors, grid=(4, 5)):
    box = torch.tensor([[*centre, *wh]])
    return yolov5_match(torch.tensor([0]), torch.tensor([2]), box, torch.tensor(anchors), grid)


def test_yolov5_match_anchor_ratio_and_two_neighbours():
    m = match((2.3, 1.7), (1.0, 2.0), [(1.0, 1.0), (5.0, 5.0), (0.2, 0.2)])
    # only anchor 0 fits (ratios 1, 2 < 4; anchor 1: 5x too big; anchor 2: 10x too small)
    assert m.anchor.tolist() == [0, 0, 0]
    # own cell (2, 1); frac x 0.3 -> left (1, 1); frac y 0.7 -> down (2, 2)
    assert list(zip(m.cell_x.tolist(), m.cell_y.tolist())) == [(2, 1), (1, 1), (2, 2)]
    expected = torch.tensor([[0.3, 0.7, 1, 2], [1.3, 0.7, 1, 2], [0.3, -0.3, 1, 2]])
    torch.testing.assert_close(m.boxes, expected, atol=1e-6, rtol=0)
    assert m.labels.tolist() == [2, 2, 2] and m.image.tolist() == [0, 0, 0]


def test_yolov5_match_borders_have_no_outer_neighbours():
    near_origin = match((0.3, 0.2), (1.0, 1.0), [(1.0, 1.0)])
    assert list(zip(near_origin.cell_x.tolist(), near_origin.cell_y.tolist())) == [(0, 0)]
    far_corner = match((4.8, 3.6), (1.0, 1.0), [(1.0, 1.0)])
    assert list(zip(far_corner.cell_x.tolist(), far_corner.cell_y.tolist())) == [(4, 3)]


def test_yolov5_match_several_anchors_and_no_targets():
    m = match((1.5, 1.5), (2.0, 2.0), [(1.0, 1.0), (2.0, 3.0)])
    assert m.anchor.tolist() == [0, 1]                  # frac 0.5: no neighbour on either axis
    empty = yolov5_match(torch.zeros(0, dtype=torch.int64), torch.zeros(0, dtype=torch.int64),
                         torch.zeros(0, 4), torch.tensor([[1.0, 1.0]]), (4, 4))
    assert len(empty.image) == 0 and empty.boxes.shape == (0, 4)


# ----------------------------------------------------------------------------- RetinaNet matching
def test_retina_match_thresholds_and_forced_best_anchor():
    anchors = torch.tensor([[0.0, 0, 10, 10],     # IoU 1 with gt 0 -> positive
                            [0.0, 0, 10, 4.5],     # IoU 0.45 -> ignored
                            [5.0, 0, 15, 10],      # IoU 1/3 -> negative
                            [0.0, 0, 10, 12],      # IoU 0.833 -> positive
                            [38.0, 38, 48, 48]])   # IoU 0.16 with gt 1, its best -> forced positive
    gts = torch.tensor([[0.0, 0, 10, 10], [40.0, 40, 44, 44]])
    assert retina_match(anchors, gts).tolist() == [0, IGNORE, NEGATIVE, 0, 1]


def test_retina_match_conflicting_forced_anchor_goes_to_the_larger_iou():
    anchors = torch.tensor([[50.0, 50, 60, 60], [0.0, 0, 4, 4]])
    gts = torch.tensor([[52.0, 50, 62, 60], [50.0, 50, 60, 60]])   # both prefer anchor 0
    assert retina_match(anchors, gts).tolist() == [1, NEGATIVE]


def test_retina_match_without_gt_is_all_negative():
    assert retina_match(torch.tensor([[0.0, 0, 1, 1]] * 3), torch.zeros(0, 4)).tolist() == [NEGATIVE] * 3
