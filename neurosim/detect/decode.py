"""Box decoding of the three detection heads (numpy only; the single decoder of neurosim).

The torch model and the event-driven simulator both hand their (time-averaged) raw head
outputs to :func:`decode`, so their detections agree exactly whenever their raw outputs do.
Equations (``s`` = stride, ``(x, y)`` = feature cell, ``σ`` = logistic sigmoid):

* **yolov8**: anchor point ``(ax, ay) = ((x + 0.5) s, (y + 0.5) s)``; for each side
  ``d ∈ (l, t, r, b)``: ``p = softmax(logits_d)`` over ``reg_max`` bins, ``d = Σ_i i p_i``;
  box ``(ax - l s, ay - t s, ax + r s, ay + b s)``; scores ``σ(cls)``.
* **yolov3**: ``cx = (2 σ(tx) - 0.5 + x) s``, ``cy = (2 σ(ty) - 0.5 + y) s``,
  ``w = (2 σ(tw))² anchor_w``, ``h = (2 σ(th))² anchor_h``; scores ``σ(obj) σ(cls)``.
* **retina**: anchor ``(acx, acy, aw, ah)``; ``cx = acx + dx aw``, ``cy = acy + dy ah``,
  ``w = aw exp(min(dw, log(1000/16)))``, ``h = ah exp(min(dh, log(1000/16)))``; scores ``σ(cls)``.

Selection (:func:`select_detections`), per image: every (prediction, class) pair with
``score >= score_threshold`` is a candidate; the ``pre_nms_topk`` best are kept; boxes are
clipped to the image; class-wise greedy NMS (IoU ``> nms_iou`` suppresses, via
:func:`neurosim.eval.boxes.batched_nms`); the ``max_det`` best survivors are returned.
All arithmetic is float64; results are float32 boxes/scores and int64 labels.
"""
from __future__ import annotations

from collections.abc import Mapping

import numpy as np

from neurosim.detect.anchors import anchor_points, cell_offsets, level_retina_anchors
from neurosim.detect.spec import HeadSpec, HeadSpecError
from neurosim.eval.boxes import batched_nms

DELTA_CLAMP = float(np.log(1000.0 / 16.0))
"""Upper clamp of retina ``dw``/``dh`` before ``exp`` (as Detectron), so no box explodes."""


def sigmoid(x) -> np.ndarray:
    """``1 / (1 + exp(-x))`` without overflow: ``exp(-log(1 + exp(-x)))``."""
    return np.exp(-np.logaddexp(0.0, -np.asarray(x, dtype=np.float64)))


def dfl_expectation(logits) -> np.ndarray:
    """``Σ_i i softmax(logits)_i`` over the last axis (bins ``0 .. reg_max-1``)."""
    z = np.asarray(logits, dtype=np.float64)
    z = np.exp(z - z.max(axis=-1, keepdims=True))
    return (z * np.arange(z.shape[-1])).sum(axis=-1) / z.sum(axis=-1)


def flatten_level(raw, group: int) -> np.ndarray:
    """``[B, A*K, H, W]`` with channel ``a*K + k`` -> ``[B, H*W*A, K]``, index ``(y*W + x)*A + a``."""
    b, c, h, w = raw.shape
    return raw.reshape(b, group, c // group, h, w).transpose(0, 3, 4, 1, 2).reshape(b, h * w * group, c // group)


def decode_yolov8_level(raw, stride: float, reg_max: int):
    """One yolov8 level ``[B, 4*reg_max + nc, H, W]`` -> boxes ``[B, H*W, 4]``, scores ``[B, H*W, nc]``."""
    raw = np.asarray(raw, dtype=np.float64)
    b, _, h, w = raw.shape
    ltrb = dfl_expectation(flatten_level(raw[:, :4 * reg_max], 4).reshape(b, h * w, 4, reg_max)) * stride
    points = anchor_points(h, w, stride)[None]
    boxes = np.concatenate([points - ltrb[..., :2], points + ltrb[..., 2:]], axis=-1)
    return boxes, sigmoid(flatten_level(raw[:, 4 * reg_max:], 1))


def decode_yolov3_level(raw, stride: float, anchors):
    """One yolov3 level ``[B, A*(5 + nc), H, W]`` -> boxes ``[B, H*W*A, 4]``, scores ``[B, H*W*A, nc]``."""
    raw = np.asarray(raw, dtype=np.float64)
    anchors = np.asarray(anchors, dtype=np.float64).reshape(-1, 2)
    h, w = raw.shape[2:]
    pred = flatten_level(raw, len(anchors))
    cells = np.repeat(cell_offsets(h, w), len(anchors), axis=0)[None]
    sizes = np.tile(anchors, (h * w, 1))[None]
    centre = (2.0 * sigmoid(pred[..., 0:2]) - 0.5 + cells) * stride
    wh = (2.0 * sigmoid(pred[..., 2:4])) ** 2 * sizes
    boxes = np.concatenate([centre - wh / 2, centre + wh / 2], axis=-1)
    return boxes, sigmoid(pred[..., 4:5]) * sigmoid(pred[..., 5:])


def apply_box_deltas(anchors, deltas) -> np.ndarray:
    """Retina delta decoding: anchors ``[..., 4]`` xyxy, deltas ``[..., 4]`` (dx, dy, dw, dh) -> xyxy."""
    anchors = np.asarray(anchors, dtype=np.float64)
    deltas = np.asarray(deltas, dtype=np.float64)
    aw, ah = anchors[..., 2] - anchors[..., 0], anchors[..., 3] - anchors[..., 1]
    acx, acy = anchors[..., 0] + aw / 2, anchors[..., 1] + ah / 2
    cx, cy = acx + deltas[..., 0] * aw, acy + deltas[..., 1] * ah
    w = aw * np.exp(np.minimum(deltas[..., 2], DELTA_CLAMP))
    h = ah * np.exp(np.minimum(deltas[..., 3], DELTA_CLAMP))
    return np.stack([cx - w / 2, cy - h / 2, cx + w / 2, cy + h / 2], axis=-1)


def decode_retina_level(cls_raw, box_raw, anchors):
    """One retina level: cls ``[B, A*nc, H, W]``, box ``[B, A*4, H, W]``, the level's anchors
    ``[H*W*A, 4]`` -> boxes ``[B, H*W*A, 4]``, scores ``[B, H*W*A, nc]``."""
    anchors = np.asarray(anchors, dtype=np.float64)
    group = len(anchors) // (box_raw.shape[2] * box_raw.shape[3])
    deltas = flatten_level(np.asarray(box_raw, dtype=np.float64), group)
    scores = sigmoid(flatten_level(np.asarray(cls_raw, dtype=np.float64), group))
    return apply_box_deltas(anchors[None], deltas), scores


def _level_array(outputs: Mapping, name: str, channels: int) -> np.ndarray:
    if name not in outputs:
        raise HeadSpecError(f"detection output {name!r} is missing (got {sorted(outputs)})")
    arr = np.asarray(outputs[name])
    if arr.ndim != 4 or arr.shape[1] != channels:
        raise HeadSpecError(f"detection output {name!r} must be [B, {channels}, H, W], got {list(arr.shape)}")
    return arr


def dense_predictions(spec: HeadSpec, outputs: Mapping):
    """All predictions before selection: boxes ``[B, N, 4]`` xyxy pixels (unclipped) and
    per-class scores ``[B, N, nc]``, levels concatenated in spec order (float64)."""
    channels = spec.output_channels()
    arrays = {name: _level_array(outputs, name, channels[name]) for name in spec.outputs}
    if len({a.shape[0] for a in arrays.values()}) != 1:
        raise HeadSpecError(f"detection outputs disagree on the batch size: "
                            f"{ {n: a.shape[0] for n, a in arrays.items()} }")
    all_boxes, all_scores = [], []
    for level, stride in enumerate(spec.strides):
        names = spec.level_outputs(level)
        if spec.type == "yolov8":
            boxes, scores = decode_yolov8_level(arrays[names[0]], stride, spec.reg_max)
        elif spec.type == "yolov3":
            boxes, scores = decode_yolov3_level(arrays[names[0]], stride, spec.anchors[level])
        else:
            cls_raw, box_raw = arrays[names[0]], arrays[names[1]]
            if cls_raw.shape[2:] != box_raw.shape[2:]:
                raise HeadSpecError(f"retina outputs {names[0]!r} and {names[1]!r} differ in H, W")
            anchors = level_retina_anchors(spec, level, *box_raw.shape[2:])
            boxes, scores = decode_retina_level(cls_raw, box_raw, anchors)
        all_boxes.append(boxes)
        all_scores.append(scores)
    return np.concatenate(all_boxes, axis=1), np.concatenate(all_scores, axis=1)


def select_detections(boxes, scores, image_size, *, score_threshold: float = 0.001, nms_iou: float = 0.6,
                      max_det: int = 100, pre_nms_topk: int = 1000) -> dict:
    """Detections of one image from boxes ``[N, 4]`` and per-class scores ``[N, nc]``.

    Returns ``dict(boxes float32 [K, 4] xyxy clipped to (H, W), scores float32 [K],
    labels int64 [K])`` by decreasing score (ties: lower prediction index, then lower class).
    """
    boxes = np.asarray(boxes, dtype=np.float64).reshape(-1, 4)
    scores = np.asarray(scores, dtype=np.float64).reshape(len(boxes), -1)
    flat = scores.ravel()
    candidates = np.flatnonzero(flat >= score_threshold)
    candidates = candidates[np.argsort(-flat[candidates], kind="stable")[:pre_nms_topk]]
    box_idx, labels = np.divmod(candidates, scores.shape[1])
    height, width = image_size
    kept_boxes = np.clip(boxes[box_idx], 0.0, [width, height, width, height])
    keep = np.zeros(0, dtype=np.int64)
    if len(candidates):
        keep = batched_nms(kept_boxes, flat[candidates], labels, nms_iou)[:max_det]
    return {"boxes": kept_boxes[keep].astype(np.float32).reshape(-1, 4),
            "scores": flat[candidates][keep].astype(np.float32),
            "labels": labels[keep].astype(np.int64)}


def decode(spec: HeadSpec, outputs: Mapping, score_threshold: float = 0.001, nms_iou: float = 0.6,
           max_det: int = 100, pre_nms_topk: int = 1000) -> list:
    """Decode raw head outputs (``name -> [B, C, H, W]``, averaged over timesteps) into
    per-image detections: a list of ``dict(boxes [N, 4] float32 xyxy input pixels,
    scores [N] float32, labels [N] int64)``. See the module docstring for the equations."""
    if not isinstance(spec, HeadSpec):
        spec = HeadSpec.from_dict(spec)
    if not isinstance(outputs, Mapping):
        raise HeadSpecError("decode() takes the outputs as a dict name -> [B, C, H, W] array")
    boxes, scores = dense_predictions(spec, outputs)
    return [select_detections(b, s, spec.input_size, score_threshold=score_threshold, nms_iou=nms_iou,
                              max_det=max_det, pre_nms_topk=pre_nms_topk)
            for b, s in zip(boxes, scores)]
