"""RetinaNet loss: IoU anchor matching, sigmoid focal loss, smooth-L1 (or GIoU) box loss.

With ``P`` = number of positive anchors in the batch (at least 1), ``p = σ(logit)``,
``t`` ∈ {0, 1} the one-hot class target, ``p_t = p t + (1 - p)(1 - t)``, ``α_t = α t + (1 - α)(1 - t)``:

    cls = Σ_{anchors not ignored, classes} α_t (1 - p_t)^γ BCE(logit, t) / P      (α = 0.25, γ = 2)
    box = Σ_{positives} Σ_k smoothL1_β(δ_k - δ*_k) / P                           (β = 1/9)
          or, with ``box_loss="giou"``, Σ_{positives} (1 - GIoU(decode(δ), gt)) / P
    total = cls + box

Targets ``δ*`` of a positive anchor (acx, acy, aw, ah) for GT (gcx, gcy, gw, gh):
``((gcx - acx) / aw, (gcy - acy) / ah, log(gw / aw), log(gh / ah))`` -- the inverse of the decoder.
"""
from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F

from neurosim.detect.anchors import level_retina_anchors
from neurosim.detect.decode import DELTA_CLAMP
from neurosim.detect.spec import HeadSpec
from neurosim.losses.assign import IGNORE, retina_match
from neurosim.losses.box_ops import generalized_box_iou, xyxy_to_cxcywh
from neurosim.losses.targets import clean_targets, outputs_in_spec_order

BOX_LOSSES = ("smooth_l1", "giou")


def encode_box_deltas(anchors: torch.Tensor, boxes: torch.Tensor) -> torch.Tensor:
    """Deltas (dx, dy, dw, dh) that turn xyxy ``anchors`` into xyxy ``boxes`` (see module docstring)."""
    a, g = xyxy_to_cxcywh(anchors), xyxy_to_cxcywh(boxes)
    return torch.cat([(g[..., :2] - a[..., :2]) / a[..., 2:], torch.log(g[..., 2:] / a[..., 2:])], dim=-1)


def apply_box_deltas(anchors: torch.Tensor, deltas: torch.Tensor) -> torch.Tensor:
    """Torch twin of :func:`neurosim.detect.decode.apply_box_deltas` (differentiable)."""
    a = xyxy_to_cxcywh(anchors)
    centre = a[..., :2] + deltas[..., :2] * a[..., 2:]
    size = a[..., 2:] * torch.exp(deltas[..., 2:].clamp(max=DELTA_CLAMP))
    return torch.cat([centre - size / 2, centre + size / 2], dim=-1)


def flatten_retina(outputs: list, anchors_per_position: int):
    """``[cls_l0, box_l0, ...]`` -> class logits ``[B, N, nc]`` and deltas ``[B, N, 4]``,
    index ``n = level offset + (y * W + x) * A + a`` (as the numpy decoder)."""
    def flat(x):
        b, c, h, w = x.shape
        k = c // anchors_per_position
        return x.reshape(b, anchors_per_position, k, h, w).permute(0, 3, 4, 1, 2).reshape(b, -1, k)
    return torch.cat([flat(x) for x in outputs[0::2]], 1), torch.cat([flat(x) for x in outputs[1::2]], 1)


def sigmoid_focal_loss(logits: torch.Tensor, targets: torch.Tensor, alpha: float = 0.25,
                       gamma: float = 2.0) -> torch.Tensor:
    """Element-wise ``α_t (1 - p_t)^γ BCE(logits, targets)`` (Lin et al., 2017); ``alpha < 0`` disables α_t."""
    p = logits.sigmoid()
    ce = F.binary_cross_entropy_with_logits(logits, targets, reduction="none")
    p_t = p * targets + (1 - p) * (1 - targets)
    loss = ce * (1 - p_t) ** gamma
    if alpha >= 0:
        loss = loss * (alpha * targets + (1 - alpha) * (1 - targets))
    return loss


class RetinaLoss(torch.nn.Module):
    """Loss of a ``retina`` :class:`HeadSpec` (see the module docstring)."""

    def __init__(self, spec: HeadSpec, alpha: float = 0.25, gamma: float = 2.0, positive_iou: float = 0.5,
                 negative_iou: float = 0.4, box_loss: str = "smooth_l1", smooth_l1_beta: float = 1 / 9,
                 cls_gain: float = 1.0, box_gain: float = 1.0):
        super().__init__()
        if spec.type != "retina":
            raise ValueError(f"RetinaLoss needs a retina head spec, got {spec.type!r}")
        if box_loss not in BOX_LOSSES:
            raise ValueError(f"box_loss must be one of {BOX_LOSSES}, got {box_loss!r}")
        self.spec = spec
        self.alpha, self.gamma = alpha, gamma
        self.positive_iou, self.negative_iou = positive_iou, negative_iou
        self.box_loss, self.smooth_l1_beta = box_loss, smooth_l1_beta
        self.cls_gain, self.box_gain = cls_gain, box_gain

    def anchors(self, outputs: list, device) -> torch.Tensor:
        """All anchors ``[N, 4]`` xyxy pixels for these output sizes, in prediction order."""
        levels = [level_retina_anchors(self.spec, level, *outputs[2 * level + 1].shape[2:])
                  for level in range(self.spec.num_levels)]
        return torch.as_tensor(np.concatenate(levels), dtype=torch.float32, device=device)

    def forward(self, outputs, targets):
        """``outputs``: ``[cls_l0, box_l0, cls_l1, ...]`` (``[B, A*nc, H, W]``, ``[B, A*4, H, W]``,
        averaged over T); ``targets``: per image ``{'boxes': [N, 4] xyxy pixels, 'labels': [N]}``.
        Returns ``(total, {'cls', 'box'})``, the parts already multiplied by their gains."""
        spec = self.spec
        outputs = outputs_in_spec_order(spec, outputs)
        device = outputs[0].device
        cls_logits, deltas = flatten_retina(outputs, spec.anchors_per_position())
        anchors = self.anchors(outputs, device)
        cleaned = clean_targets(targets, cls_logits.shape[0], spec.num_classes, device)
        matched = torch.stack([retina_match(anchors, boxes, self.positive_iou, self.negative_iou)
                               for boxes, _ in cleaned])                                     # [B, N]
        positive = matched >= 0
        gt_index = matched.clamp(min=0)
        gt_labels = torch.stack([labels[idx] if len(labels) else torch.zeros_like(idx)
                                 for (_, labels), idx in zip(cleaned, gt_index)])
        gt_boxes = torch.stack([boxes[idx] if len(boxes) else torch.zeros(len(idx), 4, device=device)
                                for (boxes, _), idx in zip(cleaned, gt_index)])
        num_positive = positive.sum().clamp(min=1)

        cls_target = F.one_hot(gt_labels, spec.num_classes).to(cls_logits.dtype) * positive[..., None]
        counted = matched != IGNORE
        cls = sigmoid_focal_loss(cls_logits[counted], cls_target[counted], self.alpha, self.gamma).sum() / num_positive

        fg_anchors = anchors.expand(len(cleaned), -1, -1)[positive]
        if self.box_loss == "giou":
            pred = apply_box_deltas(fg_anchors, deltas[positive])
            box = (1 - generalized_box_iou(pred, gt_boxes[positive])).sum() / num_positive
        else:
            target = encode_box_deltas(fg_anchors, gt_boxes[positive])
            box = F.smooth_l1_loss(deltas[positive], target, reduction="sum", beta=self.smooth_l1_beta) / num_positive
        parts = {"cls": self.cls_gain * cls, "box": self.box_gain * box}
        return sum(parts.values()), {k: v.detach() for k, v in parts.items()}
