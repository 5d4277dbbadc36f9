"""Box geometry in torch (differentiable): format conversion, IoU, GIoU, CIoU.

``xyxy`` = (x1, y1, x2, y2); ``cxcywh`` = (centre x, centre y, width, height). (The numpy
:mod:`neurosim.eval.boxes` calls COCO's top-left ``(x, y, w, h)`` "xywh"; the centre format is
named ``cxcywh`` here so the two are never confused.) Element-wise functions broadcast over
leading dimensions of ``[..., 4]`` inputs; ``eps`` keeps divisions finite for empty boxes.

    IoU  = |A ∩ B| / |A ∪ B|
    GIoU = IoU - (|C| - |A ∪ B|) / |C|                    C: smallest box enclosing A and B
    CIoU = IoU - ρ²(centres) / c² - α v                    c: diagonal of C
           v = (4 / π²) (atan(w_B / h_B) - atan(w_A / h_A))²,   α = v / (1 - IoU + v)
(Zheng et al., 2020; α is treated as a constant in the gradient, as in their implementation.)
"""
from __future__ import annotations

import math

import torch

EPS = 1e-7


def cxcywh_to_xyxy(boxes: torch.Tensor) -> torch.Tensor:
    """(cx, cy, w, h) -> (cx - w/2, cy - h/2, cx + w/2, cy + h/2)."""
    centre, size = boxes[..., :2], boxes[..., 2:4]
    return torch.cat([centre - size / 2, centre + size / 2], dim=-1)


def xyxy_to_cxcywh(boxes: torch.Tensor) -> torch.Tensor:
    """(x1, y1, x2, y2) -> ((x1 + x2)/2, (y1 + y2)/2, x2 - x1, y2 - y1)."""
    return torch.cat([(boxes[..., :2] + boxes[..., 2:4]) / 2, boxes[..., 2:4] - boxes[..., :2]], dim=-1)


def box_area(boxes: torch.Tensor) -> torch.Tensor:
    """Area of xyxy boxes, ``[...]`` (negative sizes count as 0)."""
    return (boxes[..., 2] - boxes[..., 0]).clamp(min=0) * (boxes[..., 3] - boxes[..., 1]).clamp(min=0)


def _intersection_union(a: torch.Tensor, b: torch.Tensor, eps: float):
    inter_w = (torch.minimum(a[..., 2], b[..., 2]) - torch.maximum(a[..., 0], b[..., 0])).clamp(min=0)
    inter_h = (torch.minimum(a[..., 3], b[..., 3]) - torch.maximum(a[..., 1], b[..., 1])).clamp(min=0)
    inter = inter_w * inter_h
    return inter, box_area(a) + box_area(b) - inter + eps


def box_iou(a: torch.Tensor, b: torch.Tensor, eps: float = EPS) -> torch.Tensor:
    """Element-wise IoU of xyxy boxes (broadcasting ``[..., 4]``)."""
    inter, union = _intersection_union(a, b, eps)
    return inter / union


def box_iou_matrix(a: torch.Tensor, b: torch.Tensor, eps: float = EPS) -> torch.Tensor:
    """IoU of every box of ``a`` [N, 4] with every box of ``b`` [M, 4] -> [N, M]."""
    return box_iou(a[:, None, :], b[None, :, :], eps)


def _enclosing_wh(a: torch.Tensor, b: torch.Tensor):
    return (torch.maximum(a[..., 2], b[..., 2]) - torch.minimum(a[..., 0], b[..., 0]),
            torch.maximum(a[..., 3], b[..., 3]) - torch.minimum(a[..., 1], b[..., 1]))


def generalized_box_iou(a: torch.Tensor, b: torch.Tensor, eps: float = EPS) -> torch.Tensor:
    """Element-wise GIoU of xyxy boxes, in [-1, 1]."""
    inter, union = _intersection_union(a, b, eps)
    cw, ch = _enclosing_wh(a, b)
    enclosing = cw * ch + eps
    return inter / union - (enclosing - union) / enclosing


def complete_box_iou(a: torch.Tensor, b: torch.Tensor, eps: float = EPS) -> torch.Tensor:
    """Element-wise CIoU of xyxy boxes, at most 1 (``a`` predicted, ``b`` target; symmetric)."""
    inter, union = _intersection_union(a, b, eps)
    iou = inter / union
    cw, ch = _enclosing_wh(a, b)
    diagonal2 = cw ** 2 + ch ** 2 + eps
    centre2 = ((a[..., 0] + a[..., 2] - b[..., 0] - b[..., 2]) ** 2
               + (a[..., 1] + a[..., 3] - b[..., 1] - b[..., 3]) ** 2) / 4
    wa, ha = a[..., 2] - a[..., 0], a[..., 3] - a[..., 1] + eps
    wb, hb = b[..., 2] - b[..., 0], b[..., 3] - b[..., 1] + eps
    v = (4 / math.pi ** 2) * (torch.atan(wb / hb) - torch.atan(wa / ha)) ** 2
    with torch.no_grad():
        alpha = v / (v - iou + (1 + eps))
    return iou - (centre2 / diagonal2 + alpha * v)
