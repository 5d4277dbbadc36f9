"""The Prophesee Gen1 detection protocol, implemented on our own code and pycocotools.

1. Ground truth and predictions are filtered alike: a box is kept when

       t > skip_ts  and  w^2 + h^2 >= min_diag^2  and  w >= min_side  and  h >= min_side.

   Gen1 at 304x240: skip_ts = 500000 us, min_diag = 30, min_side = 10. For data at another
   resolution scale min_diag and min_side by the resolution ratio (0.5 for 152x120); skip_ts
   stays in microseconds.
2. Every distinct ground-truth timestamp (after filtering) of a file is one "image". The
   predictions of that file with ``|t_pred - t_gt| <= time_tol_us`` are pooled into it (a
   prediction near two timestamps counts for both, so emit predictions exactly at label times).
3. COCO box mAP over those images (pycocotools); category id = class_id + 1.
"""
from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from neurosim.data.gen1_io import BBOX_DTYPE, normalize_bboxes
from neurosim.errors import DataError
from neurosim.eval.coco_map import evaluate_coco, make_coco_gt, zero_stats

GEN1_CLASSES = ("car", "pedestrian")
GEN1_SKIP_TS = 500_000
GEN1_MIN_DIAG = 30.0
GEN1_MIN_SIDE = 10.0
GEN1_TIME_TOL_US = 50_000


def filter_boxes(boxes: np.ndarray, *, skip_ts: int = GEN1_SKIP_TS, min_diag: float = GEN1_MIN_DIAG,
                 min_side: float = GEN1_MIN_SIDE) -> np.ndarray:
    """The boxes (:data:`BBOX_DTYPE`) that the protocol keeps (rule 1 of the module docstring)."""
    w, h = boxes["w"].astype(np.float64), boxes["h"].astype(np.float64)
    keep = (boxes["t"] > skip_ts) & (w * w + h * h >= min_diag * min_diag) & (w >= min_side) & (h >= min_side)
    return boxes[keep]


def detections_to_boxes(t_us: int, boxes_xyxy, scores, class_ids, *, track_ids=None) -> np.ndarray:
    """Detections at time ``t_us`` as a :data:`BBOX_DTYPE` array (xyxy pixels -> x, y, w, h)."""
    b = np.asarray(boxes_xyxy, dtype=np.float64).reshape(-1, 4)
    out = np.zeros(len(b), dtype=BBOX_DTYPE)
    out["t"] = int(t_us)
    out["x"], out["y"] = b[:, 0], b[:, 1]
    out["w"], out["h"] = b[:, 2] - b[:, 0], b[:, 3] - b[:, 1]
    out["class_id"] = np.asarray(class_ids).reshape(-1)
    out["class_confidence"] = np.asarray(scores).reshape(-1)
    if track_ids is not None:
        out["track_id"] = np.asarray(track_ids).reshape(-1)
    return out


def _checked(boxes: np.ndarray, n_classes: int, what: str) -> np.ndarray:
    boxes = normalize_bboxes(np.asarray(boxes), source=what)
    if len(boxes) and int(boxes["class_id"].max()) >= n_classes:
        raise DataError(f"{what} has class id {int(boxes['class_id'].max())}, but only "
                        f"{n_classes} classes are evaluated.")
    return boxes


def evaluate_gen1(gt_boxes_per_file: Sequence[np.ndarray], pred_boxes_per_file: Sequence[np.ndarray],
                  height: int, width: int, *, classes: Sequence[str] = GEN1_CLASSES,
                  skip_ts: int = GEN1_SKIP_TS, min_diag: float = GEN1_MIN_DIAG,
                  min_side: float = GEN1_MIN_SIDE, time_tol_us: int = GEN1_TIME_TOL_US,
                  verbose: bool = False) -> dict[str, float]:
    """Gen1-protocol mAP of per-file predictions against per-file ground truth.

    Both lists hold one Gen1 box array per file, in the same order (either Gen1 dtype or
    :data:`BBOX_DTYPE`; the prediction score is ``class_confidence`` / ``confidence``).
    Returns the 12 COCO numbers by name (all 0 when no ground truth survives the filter).
    """
    if len(gt_boxes_per_file) != len(pred_boxes_per_file):
        raise DataError(f"Got ground truth for {len(gt_boxes_per_file)} files but predictions for "
                        f"{len(pred_boxes_per_file)}; pass one array per file for both.")
    limits = {"skip_ts": skip_ts, "min_diag": min_diag, "min_side": min_side}
    images, annotations, predictions = [], [], []
    for n, (gt, dt) in enumerate(zip(gt_boxes_per_file, pred_boxes_per_file)):
        gt = filter_boxes(_checked(gt, len(classes), f"Ground truth of file {n}"), **limits)
        dt = filter_boxes(_checked(dt, len(classes), f"Predictions of file {n}"), **limits)
        dt = dt[np.argsort(dt["t"], kind="stable")]
        for ts in np.unique(gt["t"]):
            image_id = len(images) + 1
            images.append({"id": image_id, "width": int(width), "height": int(height)})
            for box in gt[gt["t"] == ts]:
                annotations.append({"image_id": image_id, "category_id": int(box["class_id"]) + 1,
                                    "bbox": [float(box["x"]), float(box["y"]), float(box["w"]), float(box["h"])]})
            lo = np.searchsorted(dt["t"], ts - time_tol_us, side="left")
            hi = np.searchsorted(dt["t"], ts + time_tol_us, side="right")
            for box in dt[lo:hi]:
                predictions.append({"image_id": image_id, "category_id": int(box["class_id"]) + 1,
                                    "bbox": [float(box["x"]), float(box["y"]), float(box["w"]), float(box["h"])],
                                    "score": float(box["class_confidence"])})
    if not images:
        return zero_stats()
    categories = [{"id": i + 1, "name": name} for i, name in enumerate(classes)]
    return evaluate_coco(make_coco_gt(images, annotations, categories), predictions, verbose=verbose)
