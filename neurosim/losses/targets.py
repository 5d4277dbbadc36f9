"""Ground truth as the losses take it: checked per image, then padded or flattened.

Each image's target is a dict with ``'boxes'`` ``[N, 4]`` xyxy input pixels and ``'labels'``
``[N]`` int (tensors or array-likes). Boxes without positive width and height cannot be
matched to any prediction and are dropped.
"""
from __future__ import annotations

from collections.abc import Mapping, Sequence

import torch


def clean_targets(targets: Sequence, batch_size: int, num_classes: int, device) -> list:
    """Per image ``(boxes float32 [N, 4], labels int64 [N])`` on ``device``, degenerate boxes dropped."""
    if len(targets) != batch_size:
        raise ValueError(f"got {len(targets)} targets for a batch of {batch_size} images")
    cleaned = []
    for i, target in enumerate(targets):
        if not isinstance(target, Mapping) or "boxes" not in target or "labels" not in target:
            raise ValueError(f"target {i} must be a dict with 'boxes' and 'labels'")
        boxes = torch.as_tensor(target["boxes"], dtype=torch.float32, device=device).reshape(-1, 4)
        labels = torch.as_tensor(target["labels"], dtype=torch.int64, device=device).reshape(-1)
        if len(boxes) != len(labels):
            raise ValueError(f"target {i} has {len(boxes)} boxes but {len(labels)} labels")
        if len(labels) and (labels.min() < 0 or labels.max() >= num_classes):
            raise ValueError(f"target {i} has labels outside 0..{num_classes - 1}: {labels.tolist()}")
        valid = (boxes[:, 2] > boxes[:, 0]) & (boxes[:, 3] > boxes[:, 1])
        cleaned.append((boxes[valid], labels[valid]))
    return cleaned


def pad_targets(cleaned: list):
    """Stack per-image targets into ``boxes [B, G, 4]``, ``labels [B, G]``, ``mask [B, G]``
    (``G`` = most boxes in one image, at least 1; padding has mask False)."""
    device = cleaned[0][0].device if cleaned else "cpu"
    most = max([1] + [len(labels) for _, labels in cleaned])
    boxes = torch.zeros(len(cleaned), most, 4, device=device)
    labels = torch.zeros(len(cleaned), most, dtype=torch.int64, device=device)
    mask = torch.zeros(len(cleaned), most, dtype=torch.bool, device=device)
    for i, (b, lab) in enumerate(cleaned):
        boxes[i, :len(lab)], labels[i, :len(lab)], mask[i, :len(lab)] = b, lab, True
    return boxes, labels, mask


def flatten_targets(cleaned: list):
    """Concatenate per-image targets: ``image index [T]``, ``labels [T]``, ``boxes [T, 4]``."""
    device = cleaned[0][0].device if cleaned else "cpu"
    image = torch.cat([torch.full((len(lab),), i, dtype=torch.int64, device=device)
                       for i, (_, lab) in enumerate(cleaned)] + [torch.zeros(0, dtype=torch.int64, device=device)])
    labels = torch.cat([lab for _, lab in cleaned] + [torch.zeros(0, dtype=torch.int64, device=device)])
    boxes = torch.cat([b for b, _ in cleaned] + [torch.zeros(0, 4, device=device)])
    return image, labels, boxes


def outputs_in_spec_order(spec, outputs) -> list:
    """The raw outputs as a list in ``spec.outputs`` order (a dict by name is accepted too),
    as float32 (mixed-precision outputs are promoted so the losses stay accurate)."""
    if isinstance(outputs, Mapping):
        missing = [n for n in spec.outputs if n not in outputs]
        if missing:
            raise ValueError(f"detection outputs {missing} are missing")
        outputs = [outputs[n] for n in spec.outputs]
    outputs = list(outputs)
    if len(outputs) != len(spec.outputs):
        raise ValueError(f"a {spec.type} head has {len(spec.outputs)} outputs ({list(spec.outputs)}), "
                         f"got {len(outputs)}")
    channels = spec.output_channels()
    for name, out in zip(spec.outputs, outputs):
        if out.dim() != 4 or out.shape[1] != channels[name]:
            raise ValueError(f"output {name!r} must be [B, {channels[name]}, H, W], got {list(out.shape)}")
    if spec.type == "retina":
        for cls, box in zip(outputs[0::2], outputs[1::2]):
            if cls.shape[2:] != box.shape[2:]:
                raise ValueError(f"retina class and box outputs of a level differ in H, W: "
                                 f"{list(cls.shape)} vs {list(box.shape)}")
    if len({out.shape[0] for out in outputs}) != 1:
        raise ValueError(f"detection outputs disagree on the batch size: {[out.shape[0] for out in outputs]}")
    return [out.float() for out in outputs]
