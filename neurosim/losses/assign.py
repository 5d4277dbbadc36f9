"""Target assignment of the three heads: which prediction learns which ground-truth box.

* :func:`task_aligned_assign`: YOLOv8's Task-Aligned Assigner (TOOD, Feng et al. 2021).
* :func:`yolov5_match`: YOLOv5's anchor-ratio matching with two neighbour cells.
* :func:`retina_match`: RetinaNet's IoU-threshold anchor matching.

All run without gradients and are deterministic.
"""
from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F

from neurosim.losses.box_ops import box_iou_matrix, complete_box_iou

NEGATIVE = -1
""":func:`retina_match` label of an anchor that learns background."""
IGNORE = -2
""":func:`retina_match` label of an anchor that takes no part in the loss."""


@dataclass
class TaskAlignedAssignment:
    """Per anchor: ``fg_mask [B, N]`` bool, ``gt_index [B, N]`` (0 on background), ``labels [B, N]``,
    ``boxes [B, N, 4]`` xyxy of the assigned GT, ``scores [B, N, nc]`` soft class targets."""

    fg_mask: torch.Tensor
    gt_index: torch.Tensor
    labels: torch.Tensor
    boxes: torch.Tensor
    scores: torch.Tensor


@torch.no_grad()
def task_aligned_assign(pred_scores: torch.Tensor, pred_boxes: torch.Tensor, anchor_points: torch.Tensor,
                        gt_labels: torch.Tensor, gt_boxes: torch.Tensor, gt_mask: torch.Tensor, *,
                        topk: int = 10, alpha: float = 0.5, beta: float = 6.0,
                        eps: float = 1e-9) -> TaskAlignedAssignment:
    """Task-aligned assignment.

    Inputs: ``pred_scores [B, N, nc]`` class probabilities, ``pred_boxes [B, N, 4]`` and
    ``anchor_points [N, 2]`` in pixels, ``gt_labels [B, G]``, ``gt_boxes [B, G, 4]``,
    ``gt_mask [B, G]`` (False on padding).

    1. Candidates of GT ``g``: anchors whose point lies strictly inside ``g``.
    2. Alignment metric ``t = s^alpha * u^beta`` with ``s`` the predicted score of ``g``'s class
       and ``u = max(CIoU(pred box, g), 0)``; 0 for non-candidates.
    3. Each GT takes its ``topk`` candidates of largest ``t`` (those with ``t > 0``; a zero
       metric would give a zero target and zero box weight anyway).
    4. An anchor taken by several GTs keeps the one with the largest ``u``.
    5. Soft class target of a positive anchor assigned to ``g``:
       ``t * max_{positives of g}(u) / (max_{positives of g}(t) + eps)`` at ``g``'s class, 0 elsewhere.
    """
    batch, num_anchors, num_classes = pred_scores.shape
    num_gt = gt_boxes.shape[1]
    px, py = anchor_points[:, 0], anchor_points[:, 1]
    gt = gt_boxes[:, :, None, :]
    inside = (px - gt[..., 0] > eps) & (py - gt[..., 1] > eps) & (gt[..., 2] - px > eps) & (gt[..., 3] - py > eps)
    candidates = inside & gt_mask[:, :, None]                                              # [B, G, N]
    b, g, n = candidates.nonzero(as_tuple=True)     # CIoU of candidate pairs only: B*G*N can be large
    overlaps = torch.zeros(candidates.shape, dtype=pred_boxes.dtype, device=pred_boxes.device)
    overlaps[b, g, n] = complete_box_iou(pred_boxes[b, n], gt_boxes[b, g]).clamp(min=0)
    class_score = pred_scores.gather(2, gt_labels[:, None, :].expand(batch, num_anchors, num_gt)).transpose(1, 2)
    metric = class_score.pow(alpha) * overlaps.pow(beta) * candidates

    top = metric.topk(min(topk, num_anchors), dim=-1).indices
    positive = torch.zeros_like(candidates).scatter_(-1, top, True) & (metric > 0)
    fg_mask = positive.any(1)                                                              # [B, N]
    gt_index = (overlaps * positive).argmax(1)
    positive = F.one_hot(gt_index, num_gt).transpose(1, 2).bool() & fg_mask[:, None, :]

    labels = gt_labels.gather(1, gt_index)
    boxes = gt_boxes.gather(1, gt_index[..., None].expand(batch, num_anchors, 4))
    metric = metric * positive
    best_overlap = (overlaps * positive).amax(-1, keepdim=True)
    norm = (metric * best_overlap / (metric.amax(-1, keepdim=True) + eps)).amax(1)     # [B, N]
    scores = F.one_hot(labels, num_classes).to(pred_scores.dtype) * (norm * fg_mask)[..., None]
    return TaskAlignedAssignment(fg_mask, gt_index * fg_mask, labels * fg_mask, boxes, scores)


@dataclass
class GridMatch:
    """Matched (target, anchor, cell) triples of one level: indices ``image, anchor, cell_y,
    cell_x [M]``, ``labels [M]`` and ``boxes [M, 4]`` = (cx - cell_x, cy - cell_y, w, h) in cells."""

    image: torch.Tensor
    anchor: torch.Tensor
    cell_y: torch.Tensor
    cell_x: torch.Tensor
    labels: torch.Tensor
    boxes: torch.Tensor


# neighbour shifts (dx, dy): own cell, left, up, right, down
_SHIFTS = ((0, 0), (-1, 0), (0, -1), (1, 0), (0, 1))


@torch.no_grad()
def yolov5_match(image: torch.Tensor, labels: torch.Tensor, boxes: torch.Tensor, anchors: torch.Tensor,
                 grid_size: tuple, anchor_threshold: float = 4.0) -> GridMatch:
    """YOLOv5 matching on one level. ``boxes [T, 4]`` are (cx, cy, w, h) and ``anchors [A, 2]``
    (w, h), both in cells of this level; ``grid_size = (H, W)``.

    * target/anchor pair kept if ``max(w/aw, aw/w, h/ah, ah/h) < anchor_threshold``;
    * each kept pair goes to the cell containing the centre and to the nearer neighbour along
      each axis: left if ``frac(cx) < 0.5`` and ``cx > 1``, right if ``frac(cx) > 0.5`` and
      ``cx < W - 1`` (up/down likewise), i.e. usually 3 cells. (YOLOv5 also takes both
      neighbours when ``frac(cx) == 0``; here only the left one.) Cells are clamped to the grid.
    The offset targets lie in (-0.5, 1.5), the range of ``2 σ(t) - 0.5``.
    """
    height, width = grid_size
    ratio = boxes[:, None, 2:4] / anchors[None, :, :]
    fits = torch.maximum(ratio, 1 / ratio).amax(-1) < anchor_threshold                   # [T, A]
    target, anchor = fits.nonzero(as_tuple=True)
    centre = boxes[target, :2]
    frac = centre % 1
    limit = torch.tensor([width, height], dtype=centre.dtype, device=centre.device)
    lower, upper = (frac < 0.5) & (centre > 1), (frac > 0.5) & (centre < limit - 1)
    use = torch.stack([torch.ones_like(lower[:, 0]), lower[:, 0], lower[:, 1], upper[:, 0], upper[:, 1]], 1)
    pair, option = use.nonzero(as_tuple=True)
    shifts = torch.tensor(_SHIFTS, dtype=centre.dtype, device=centre.device)
    cell = centre[pair].floor() + shifts[option]
    cell = torch.minimum(cell.clamp(min=0), limit - 1)
    offsets = centre[pair] - cell
    target, anchor = target[pair], anchor[pair]
    return GridMatch(image[target], anchor, cell[:, 1].long(), cell[:, 0].long(), labels[target],
                     torch.cat([offsets, boxes[target, 2:4]], dim=1))


@torch.no_grad()
def retina_match(anchors: torch.Tensor, gt_boxes: torch.Tensor, positive_iou: float = 0.5,
                 negative_iou: float = 0.4) -> torch.Tensor:
    """RetinaNet matching of one image: per anchor, the index of its GT, :data:`NEGATIVE` or :data:`IGNORE`.

    With ``m`` = the anchor's best IoU over GTs: GT ``argmax`` if ``m >= positive_iou``,
    NEGATIVE if ``m < negative_iou``, IGNORE in between. Then each GT with a non-zero best IoU
    forces its best anchor (first on ties) positive and matched to it; an anchor forced by
    several GTs goes to the one it overlaps most.
    """
    num_anchors = anchors.shape[0]
    if gt_boxes.shape[0] == 0:
        return torch.full((num_anchors,), NEGATIVE, dtype=torch.int64, device=anchors.device)
    iou = box_iou_matrix(gt_boxes, anchors)                                                # [G, N]
    best_iou, matched = iou.max(0)
    matched = torch.where(best_iou >= positive_iou, matched,
                          torch.where(best_iou < negative_iou, NEGATIVE, IGNORE))
    gt_best_iou, gt_best_anchor = iou.max(1)
    forced = torch.zeros_like(iou, dtype=torch.bool)
    forced[torch.arange(len(gt_boxes), device=iou.device), gt_best_anchor] = gt_best_iou > 0
    winner = (iou * forced).argmax(0)
    return torch.where(forced.any(0), winner, matched)
