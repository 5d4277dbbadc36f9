"""YOLOv3-head loss, YOLOv5 style: anchor-ratio matching, CIoU box, IoU-target objectness, BCE class.

Per level ``l`` with matches ``M_l`` (:func:`~neurosim.losses.assign.yolov5_match`), the
prediction of a match decoded in cells as ``(2 σ(tx) - 0.5, 2 σ(ty) - 0.5, (2 σ(tw))² aw, (2 σ(th))² ah)``:

    box = Σ_l mean_{M_l} (1 - CIoU(pred, target))
    obj = Σ_l balance_l mean_{all B·A·H·W} BCE(obj logit, max(CIoU, 0) of its match, else 0)
    cls = Σ_l mean_{M_l, classes} BCE(cls logit, one-hot label)
    total = 0.05 box + 1.0 obj + 0.5 cls

``balance`` = (4.0, 1.0, 0.4) for 3 levels, else the first levels of (4.0, 1.0, 0.25, 0.06,
0.02) (as YOLOv5). A cell matched by several targets takes the largest IoU as objectness
target. Deviations from YOLOv5: the class loss is kept for ``nc == 1`` (the decoder multiplies
by ``σ(cls)``), gains are not rescaled by ``nc``, image size or level count, and the total is
not multiplied by the batch size.
"""
from __future__ import annotations

import torch
import torch.nn.functional as F

from neurosim.detect.spec import HeadSpec
from neurosim.losses.assign import yolov5_match
from neurosim.losses.box_ops import complete_box_iou, cxcywh_to_xyxy, xyxy_to_cxcywh
from neurosim.losses.targets import (
    clean_targets,
    flatten_targets,
    outputs_in_spec_order,
)


def default_balance(num_levels: int) -> tuple:
    """YOLOv5's per-level objectness weights."""
    return (4.0, 1.0, 0.4) if num_levels == 3 else (4.0, 1.0, 0.25, 0.06, 0.02)[:num_levels]


def decode_cell_boxes(raw: torch.Tensor, anchors: torch.Tensor) -> torch.Tensor:
    """``raw [..., 4]`` (tx, ty, tw, th), ``anchors [..., 2]`` in cells -> (cx, cy, w, h) in cells
    relative to the cell's corner: ``(2 σ(tx) - 0.5, 2 σ(ty) - 0.5, (2 σ(tw))² aw, (2 σ(th))² ah)``."""
    t = raw.sigmoid()
    return torch.cat([2 * t[..., :2] - 0.5, (2 * t[..., 2:4]) ** 2 * anchors], dim=-1)


class YOLOv3Loss(torch.nn.Module):
    """Loss of a ``yolov3`` :class:`HeadSpec` (see the module docstring)."""

    def __init__(self, spec: HeadSpec, box_gain: float = 0.05, obj_gain: float = 1.0, cls_gain: float = 0.5,
                 anchor_threshold: float = 4.0, balance=None):
        super().__init__()
        if spec.type != "yolov3":
            raise ValueError(f"YOLOv3Loss needs a yolov3 head spec, got {spec.type!r}")
        self.spec = spec
        self.box_gain, self.obj_gain, self.cls_gain = box_gain, obj_gain, cls_gain
        self.anchor_threshold = anchor_threshold
        self.balance = tuple(balance) if balance is not None else default_balance(spec.num_levels)
        if len(self.balance) != spec.num_levels:
            raise ValueError(f"balance needs one weight per level ({spec.num_levels}), got {self.balance}")

    def forward(self, outputs, targets):
        """``outputs``: per level ``[B, A*(5 + nc), H, W]`` (averaged over T); ``targets``: per image
        ``{'boxes': [N, 4] xyxy pixels, 'labels': [N]}``.
        Returns ``(total, {'box', 'obj', 'cls'})``, the parts already multiplied by their gains."""
        spec, nc = self.spec, self.spec.num_classes
        outputs = outputs_in_spec_order(spec, outputs)
        device = outputs[0].device
        image, labels, boxes = flatten_targets(clean_targets(targets, outputs[0].shape[0], nc, device))
        boxes = xyxy_to_cxcywh(boxes)
        zero = outputs[0].sum() * 0
        box, obj, cls = zero, zero, zero
        for level, (out, stride) in enumerate(zip(outputs, spec.strides)):
            b, _, h, w = out.shape
            anchors = torch.tensor(spec.anchors[level], dtype=out.dtype, device=device) / stride
            pred = out.reshape(b, len(anchors), 5 + nc, h, w).permute(0, 1, 3, 4, 2)      # [B, A, H, W, 5+nc]
            match = yolov5_match(image, labels, boxes / stride, anchors, (h, w), self.anchor_threshold)
            obj_target = torch.zeros(pred.shape[:4], dtype=out.dtype, device=device)
            if len(match.image):
                matched = pred[match.image, match.anchor, match.cell_y, match.cell_x]         # [M, 5+nc]
                pred_box = decode_cell_boxes(matched[:, :4], anchors[match.anchor])
                iou = complete_box_iou(cxcywh_to_xyxy(pred_box), cxcywh_to_xyxy(match.boxes))
                box = box + (1 - iou).mean()
                one_hot = F.one_hot(match.labels, nc).to(out.dtype)
                cls = cls + F.binary_cross_entropy_with_logits(matched[:, 5:], one_hot)
                flat = ((match.image * len(anchors) + match.anchor) * h + match.cell_y) * w + match.cell_x
                obj_target = obj_target.view(-1).scatter_reduce(
                    0, flat, iou.detach().clamp(min=0), reduce="amax").view_as(obj_target)
            obj = obj + self.balance[level] * F.binary_cross_entropy_with_logits(pred[..., 4], obj_target)
        parts = {"box": self.box_gain * box, "obj": self.obj_gain * obj, "cls": self.cls_gain * cls}
        return sum(parts.values()), {k: v.detach() for k, v in parts.items()}
