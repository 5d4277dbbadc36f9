"""YOLOv8 loss: task-aligned assignment, BCE class loss, CIoU and DFL box losses.

With ``S = max(Σ target_scores, 1)`` (sum of the assigner's soft targets over the batch) and
``w_n = Σ_c target_scores[n, c]`` the weight of positive anchor ``n``:

    cls = Σ_{n,c} BCE(logit[n, c], target_scores[n, c]) / S                   (all anchors)
    box = Σ_{n positive} w_n (1 - CIoU(pred_n, gt_n)) / S
    dfl = Σ_{n positive} w_n mean_sides DFL(logits_side, d_side) / S
    DFL(z, d) = (⌊d⌋ + 1 - d) CE(z, ⌊d⌋) + (d - ⌊d⌋) CE(z, ⌊d⌋ + 1)
    total = 7.5 box + 0.5 cls + 1.5 dfl

``d`` is the GT's distance from the anchor point to each side in strides, clipped to
``[0, reg_max - 1 - 0.01]``. Unlike Ultralytics the total is not multiplied by the batch size.
"""
from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F

from neurosim.detect.anchors import anchor_points
from neurosim.detect.spec import HeadSpec
from neurosim.losses.assign import task_aligned_assign
from neurosim.losses.box_ops import complete_box_iou
from neurosim.losses.targets import clean_targets, outputs_in_spec_order, pad_targets


def flatten_yolov8(outputs: list, reg_max: int):
    """Per-level ``[B, 4*reg_max + nc, H, W]`` -> box logits ``[B, N, 4, reg_max]`` and class
    logits ``[B, N, nc]``, index ``n = level offset + y * W + x`` (as the numpy decoder)."""
    dist, cls = [], []
    for out in outputs:
        b, c, h, w = out.shape
        dist.append(out[:, :4 * reg_max].reshape(b, 4, reg_max, h * w).permute(0, 3, 1, 2))
        cls.append(out[:, 4 * reg_max:].reshape(b, c - 4 * reg_max, h * w).transpose(1, 2))
    return torch.cat(dist, 1), torch.cat(cls, 1)


def level_points(spec: HeadSpec, outputs: list, device):
    """Anchor points ``[N, 2]`` in pixels and the stride of each ``[N]``."""
    points, strides = [], []
    for out, stride in zip(outputs, spec.strides):
        h, w = out.shape[2:]
        points.append(anchor_points(h, w, stride))
        strides.append(np.full(h * w, stride, dtype=np.float64))
    return (torch.as_tensor(np.concatenate(points), dtype=torch.float32, device=device),
            torch.as_tensor(np.concatenate(strides), dtype=torch.float32, device=device))


def expected_distances(dist_logits: torch.Tensor) -> torch.Tensor:
    """``Σ_i i softmax(z)_i`` over the last axis: distances in strides, ``[..., 4]`` (l, t, r, b)."""
    bins = torch.arange(dist_logits.shape[-1], dtype=dist_logits.dtype, device=dist_logits.device)
    return dist_logits.softmax(-1) @ bins


def distances_to_boxes(points: torch.Tensor, ltrb: torch.Tensor) -> torch.Tensor:
    """``(ax - l, ay - t, ax + r, ay + b)``; ``ltrb`` in the units of ``points``."""
    return torch.cat([points - ltrb[..., :2], points + ltrb[..., 2:]], dim=-1)


def distribution_focal_loss(dist_logits: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """DFL per sample: ``dist_logits [M, 4, R]``, ``target [M, 4]`` in ``[0, R - 1)`` -> ``[M]``
    (mean over the four sides)."""
    left = target.floor().long()
    weight_right = target - left
    logits = dist_logits.reshape(-1, dist_logits.shape[-1])
    ce_left = F.cross_entropy(logits, left.reshape(-1), reduction="none").view_as(target)
    ce_right = F.cross_entropy(logits, (left + 1).reshape(-1), reduction="none").view_as(target)
    return (ce_left * (1 - weight_right) + ce_right * weight_right).mean(-1)


class YOLOv8Loss(torch.nn.Module):
    """YOLOv8 detection loss of a ``yolov8`` :class:`HeadSpec` (see the module docstring)."""

    def __init__(self, spec: HeadSpec, box_gain: float = 7.5, cls_gain: float = 0.5, dfl_gain: float = 1.5,
                 topk: int = 10, alpha: float = 0.5, beta: float = 6.0):
        super().__init__()
        if spec.type != "yolov8":
            raise ValueError(f"YOLOv8Loss needs a yolov8 head spec, got {spec.type!r}")
        self.spec = spec
        self.box_gain, self.cls_gain, self.dfl_gain = box_gain, cls_gain, dfl_gain
        self.topk, self.alpha, self.beta = topk, alpha, beta

    def forward(self, outputs, targets):
        """``outputs``: per level ``[B, 4*reg_max + nc, H, W]`` (averaged over T); ``targets``: per
        image ``{'boxes': [N, 4] xyxy pixels, 'labels': [N]}``.
        Returns ``(total, {'box', 'cls', 'dfl'})``, the parts already multiplied by their gains."""
        spec = self.spec
        outputs = outputs_in_spec_order(spec, outputs)
        device, reg_max = outputs[0].device, spec.reg_max
        dist_logits, cls_logits = flatten_yolov8(outputs, reg_max)
        points, strides = level_points(spec, outputs, device)
        pred_boxes = distances_to_boxes(points, expected_distances(dist_logits) * strides[:, None])
        gt_boxes, gt_labels, gt_mask = pad_targets(
            clean_targets(targets, cls_logits.shape[0], spec.num_classes, device))

        assigned = task_aligned_assign(cls_logits.detach().sigmoid(), pred_boxes.detach(), points, gt_labels,
                                       gt_boxes, gt_mask, topk=self.topk, alpha=self.alpha, beta=self.beta)
        score_sum = assigned.scores.sum().clamp(min=1)
        cls = F.binary_cross_entropy_with_logits(cls_logits, assigned.scores, reduction="sum") / score_sum

        fg = assigned.fg_mask
        weight = assigned.scores.sum(-1)[fg]
        box = ((1 - complete_box_iou(pred_boxes[fg], assigned.boxes[fg])) * weight).sum() / score_sum
        fg_points, fg_strides = points.expand(fg.shape[0], -1, -1)[fg], strides.expand(fg.shape[0], -1)[fg]
        gt = assigned.boxes[fg]
        target_ltrb = torch.cat([fg_points - gt[:, :2], gt[:, 2:] - fg_points], 1) / fg_strides[:, None]
        target_ltrb = target_ltrb.clamp(0, reg_max - 1 - 0.01)
        dfl = (distribution_focal_loss(dist_logits[fg], target_ltrb) * weight).sum() / score_sum

        parts = {"box": self.box_gain * box, "cls": self.cls_gain * cls, "dfl": self.dfl_gain * dfl}
        return sum(parts.values()), {k: v.detach() for k, v in parts.items()}
