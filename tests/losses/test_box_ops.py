import math

import numpy as np
import torch

from neurosim.eval.boxes import iou_matrix
from neurosim.losses.box_ops import (
    box_area,
    box_iou,
    box_iou_matrix,
    complete_box_iou,
    cxcywh_to_xyxy,
    generalized_box_iou,
    xyxy_to_cxcywh,
)

A = torch.tensor([0.0, 0.0, 4.0, 2.0])
B = torch.tensor([2.0, 0.0, 6.0, 2.0])


def test_format_conversion_round_trip():
    box = torch.tensor([[1.0, 2.0, 5.0, 8.0]])
    assert xyxy_to_cxcywh(box).tolist() == [[3.0, 5.0, 4.0, 6.0]]
    assert cxcywh_to_xyxy(xyxy_to_cxcywh(box)).tolist() == box.tolist()
    assert box_area(box).tolist() == [24.0]


def test_iou_giou_ciou_by_hand():
    # intersection 2x2 = 4, union 8 + 8 - 4 = 12, enclosing box 6x2 = 12
    assert math.isclose(box_iou(A, B).item(), 4 / 12, rel_tol=1e-6)
    assert math.isclose(generalized_box_iou(A, B).item(), 4 / 12 - (12 - 12) / 12, rel_tol=1e-6)
    # centres (2, 1) and (4, 1): ρ² = 4; enclosing diagonal² = 36 + 4; same aspect ratio: v = 0
    assert math.isclose(complete_box_iou(A, B).item(), 1 / 3 - 4 / 40, rel_tol=1e-6)
    far = torch.tensor([10.0, 0.0, 14.0, 2.0])
    # disjoint: IoU 0, enclosing 14x2 = 28, union 16
    assert math.isclose(generalized_box_iou(A, far).item(), -(28 - 16) / 28, rel_tol=1e-6)


def test_ciou_aspect_term():
    square, tall = torch.tensor([0.0, 0.0, 2.0, 2.0]), torch.tensor([0.0, 0.0, 2.0, 4.0])
    iou = 0.5
    v = 4 / math.pi ** 2 * (math.atan(2 / 4) - math.atan(2 / 2)) ** 2
    alpha = v / (1 - iou + v)
    rho2, c2 = 1.0, 4 + 16
    assert math.isclose(complete_box_iou(square, tall).item(), iou - rho2 / c2 - alpha * v, rel_tol=1e-5)
    assert math.isclose(complete_box_iou(square, square).item(), 1.0, rel_tol=1e-6)


def test_ciou_has_gradients_towards_the_target():
    pred = torch.tensor([1.0, 1.0, 3.0, 5.0], requires_grad=True)
    (1 - complete_box_iou(pred, A)).backward()
    assert torch.isfinite(pred.grad).all() and pred.grad.abs().sum() > 0


def test_iou_matrix_agrees_with_the_numpy_one():
    rng = np.random.default_rng(0)
    xy = rng.uniform(0, 50, size=(2, 7, 2))
    wh = rng.uniform(1, 30, size=(2, 7, 2))
    a, b = np.concatenate([xy[0], xy[0] + wh[0]], 1), np.concatenate([xy[1], xy[1] + wh[1]], 1)
    ours = box_iou_matrix(torch.tensor(a), torch.tensor(b), eps=0.0).numpy()
    np.testing.assert_allclose(ours, iou_matrix(a, b), atol=1e-12)
