"""Box utilities: format conversion, IoU, greedy non-maximum suppression (numpy only).

Boxes are in continuous pixel coordinates. ``xyxy`` = (x1, y1, x2, y2) with x2 >= x1,
``xywh`` = (x, y, w, h) with (x, y) the top-left corner (COCO). Area = (x2 - x1) * (y2 - y1).

    IoU(a, b) = |a ∩ b| / (|a| + |b| - |a ∩ b|),   defined as 0 when the union is 0.
"""
from __future__ import annotations

import numpy as np


def _float_boxes(boxes) -> np.ndarray:
    """float64 input stays float64; anything else becomes float32."""
    b = np.asarray(boxes)
    return b.astype(np.float64 if b.dtype == np.float64 else np.float32, copy=False)


def xywh_to_xyxy(boxes) -> np.ndarray:
    """(x, y, w, h) -> (x, y, x + w, y + h); shape [..., 4]."""
    b = _float_boxes(boxes)
    return np.concatenate([b[..., :2], b[..., :2] + b[..., 2:4]], axis=-1)


def xyxy_to_xywh(boxes) -> np.ndarray:
    """(x1, y1, x2, y2) -> (x1, y1, x2 - x1, y2 - y1); shape [..., 4]."""
    b = _float_boxes(boxes)
    return np.concatenate([b[..., :2], b[..., 2:4] - b[..., :2]], axis=-1)


def box_area(boxes) -> np.ndarray:
    """Area of xyxy boxes, [N]."""
    b = np.asarray(boxes, dtype=np.float64)
    return (b[..., 2] - b[..., 0]) * (b[..., 3] - b[..., 1])


def iou_matrix(a, b) -> np.ndarray:
    """IoU of every xyxy box in ``a`` [N, 4] with every box in ``b`` [M, 4] -> [N, M] float64."""
    a = np.asarray(a, dtype=np.float64).reshape(-1, 4)
    b = np.asarray(b, dtype=np.float64).reshape(-1, 4)
    inter_w = np.minimum(a[:, None, 2], b[None, :, 2]) - np.maximum(a[:, None, 0], b[None, :, 0])
    inter_h = np.minimum(a[:, None, 3], b[None, :, 3]) - np.maximum(a[:, None, 1], b[None, :, 1])
    inter = np.clip(inter_w, 0, None) * np.clip(inter_h, 0, None)
    union = box_area(a)[:, None] + box_area(b)[None, :] - inter
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(union > 0, inter / np.where(union > 0, union, 1.0), 0.0)


def nms(boxes, scores, iou_threshold: float = 0.5, labels=None) -> np.ndarray:
    """Greedy NMS; returns the kept indices, highest score first.

    Boxes are visited by decreasing score (equal scores: lower index first). A visited box that
    is still alive is kept and suppresses every later alive box with IoU > ``iou_threshold``
    (strictly greater); with ``labels`` only boxes of the same label suppress each other, i.e.
    NMS runs per class in a single pass.
    """
    boxes = np.asarray(boxes, dtype=np.float64).reshape(-1, 4)
    scores = np.asarray(scores, dtype=np.float64).reshape(-1)
    order = np.argsort(-scores, kind="stable")
    if labels is not None:
        labels = np.asarray(labels).reshape(-1)
    keep = []
    while len(order):
        best, rest = order[0], order[1:]
        keep.append(best)
        suppress = iou_matrix(boxes[best], boxes[rest])[0] > iou_threshold
        if labels is not None:
            suppress &= labels[rest] == labels[best]
        order = rest[~suppress]
    return np.asarray(keep, dtype=np.int64)


def batched_nms(boxes, scores, labels, iou_threshold: float = 0.5) -> np.ndarray:
    """Per-class greedy NMS in one pass (see :func:`nms`); kept indices, highest score first."""
    return nms(boxes, scores, iou_threshold, labels=labels)


def postprocess_detections(boxes, scores, labels, *, score_threshold: float = 0.001,
                           iou_threshold: float = 0.5, max_detections: int = 100):
    """Score threshold (keep ``score >= score_threshold``), per-class NMS, top ``max_detections``.

    Returns ``(boxes [K, 4] float32, scores [K] float32, labels [K] int64)``, by decreasing score.
    """
    boxes = np.asarray(boxes, dtype=np.float64).reshape(-1, 4)
    scores = np.asarray(scores, dtype=np.float64).reshape(-1)
    labels = np.asarray(labels, dtype=np.int64).reshape(-1)
    passing = np.flatnonzero(scores >= score_threshold)
    keep = passing[batched_nms(boxes[passing], scores[passing], labels[passing], iou_threshold)]
    keep = keep[:max_detections]
    return boxes[keep].astype(np.float32), scores[keep].astype(np.float32), labels[keep]


def multiclass_detections(boxes, class_scores, *, score_threshold: float = 0.001,
                          iou_threshold: float = 0.5, max_detections: int = 100):
    """Detections from per-class scores [N, K]: every (box, class) pair is a candidate.

    Same output as :func:`postprocess_detections`.
    """
    boxes = np.asarray(boxes, dtype=np.float64).reshape(-1, 4)
    class_scores = np.asarray(class_scores, dtype=np.float64).reshape(len(boxes), -1)
    box_idx, cls = np.nonzero(class_scores >= score_threshold)
    return postprocess_detections(boxes[box_idx], class_scores[box_idx, cls], cls,
                                  score_threshold=score_threshold, iou_threshold=iou_threshold,
                                  max_detections=max_detections)
