"""COCO box mAP through pycocotools, with its traps handled.

``evaluate_coco`` returns pycocotools' 12 summary numbers by name (see :data:`STAT_NAMES`).
As in pycocotools, a number is -1 when it is undefined (e.g. ``APs`` without small ground-truth
objects); an empty prediction list gives 0 for every number instead of a crash.

Handled traps: ``loadRes`` crashes on an empty list; an annotation id of 0 silently turns a true
positive into a false positive (ids are renumbered 1..N with a warning); ground truth without
``area`` / ``iscrowd`` (filled with w*h / 0); predictions for unknown images or categories
(:class:`DataError`). Predictions are put in a canonical order first, so the result does not
depend on the order of the list, even with tied scores.
"""
from __future__ import annotations

import math
import os
import warnings
from collections.abc import Mapping, Sequence

import numpy as np
from pycocotools.coco import COCO
from pycocotools.cocoeval import COCOeval

from neurosim.data.coco import coco_from_dataset, load_coco, quiet_pycocotools
from neurosim.errors import DataError

STAT_NAMES = ("AP", "AP50", "AP75", "APs", "APm", "APl",
              "AR1", "AR10", "AR100", "ARs", "ARm", "ARl")


def zero_stats() -> dict[str, float]:
    """Every stat set to 0.0."""
    return {name: 0.0 for name in STAT_NAMES}


def make_coco_gt(images: Sequence[Mapping], annotations: Sequence[Mapping],
                 categories: Sequence[Mapping]) -> COCO:
    """Ground truth COCO object from plain lists.

    ``images``: {id, width, height[, file_name]}; ``annotations``: {image_id, category_id,
    bbox [x, y, w, h]} (``id`` 1..N, ``area`` = w*h and ``iscrowd`` = 0 are filled in when
    absent); ``categories``: {id, name}.
    """
    anns = []
    for n, ann in enumerate(annotations, start=1):
        bbox = [float(v) for v in ann["bbox"]]
        full = {"id": n, "area": bbox[2] * bbox[3], "iscrowd": 0, **ann, "bbox": bbox}
        full["image_id"], full["category_id"] = int(full["image_id"]), int(full["category_id"])
        anns.append(full)
    dataset = {
        "images": [{"file_name": f"{int(im['id'])}", **im, "id": int(im["id"])} for im in images],
        "annotations": anns,
        "categories": [{**c, "id": int(c["id"])} for c in categories],
    }
    return coco_from_dataset(_repaired(dataset))


def coco_gt_from_boxes(boxes_xywh: Sequence, category_ids: Sequence, *, width, height,
                       categories: Mapping[int, str] | Sequence[int],
                       image_ids: Sequence[int] | None = None) -> COCO:
    """Ground truth COCO object with one image per entry of ``boxes_xywh``.

    ``boxes_xywh[i]`` is [N_i, 4] (x, y, w, h), ``category_ids[i]`` [N_i]; ``width``/``height``
    are ints or per-image sequences; ``image_ids`` default to 1..len(boxes_xywh).
    """
    n_images = len(boxes_xywh)
    image_ids = list(range(1, n_images + 1)) if image_ids is None else [int(i) for i in image_ids]
    widths = [width] * n_images if np.isscalar(width) else list(width)
    heights = [height] * n_images if np.isscalar(height) else list(height)
    names = categories if isinstance(categories, Mapping) else {c: str(c) for c in categories}
    images = [{"id": i, "width": int(w), "height": int(h)} for i, w, h in zip(image_ids, widths, heights)]
    annotations = [
        {"image_id": image_id, "category_id": int(c), "bbox": [float(v) for v in box]}
        for image_id, boxes, cats in zip(image_ids, boxes_xywh, category_ids)
        for box, c in zip(np.asarray(boxes, dtype=np.float64).reshape(-1, 4), np.asarray(cats).reshape(-1))
    ]
    return make_coco_gt(images, annotations, [{"id": int(c), "name": n} for c, n in names.items()])


def predictions_from_boxes(image_id: int, boxes_xywh, scores, category_ids) -> list[dict]:
    """COCO result dicts for one image from arrays of boxes [N, 4] xywh, scores and category ids."""
    boxes = np.asarray(boxes_xywh, dtype=np.float64).reshape(-1, 4)
    return [
        {"image_id": int(image_id), "category_id": int(c), "bbox": [float(v) for v in b], "score": float(s)}
        for b, s, c in zip(boxes, np.asarray(scores).reshape(-1), np.asarray(category_ids).reshape(-1))
    ]


def _repaired(dataset: dict) -> dict:
    """Copy of ``dataset`` with annotation ids 1..N if any is 0 or repeated, area and iscrowd set."""
    anns = dataset.get("annotations", [])
    ids = [a.get("id") for a in anns]
    bad_ids = any(i is None or i == 0 for i in ids) or len(set(ids)) != len(ids)
    missing = any("area" not in a or "iscrowd" not in a for a in anns)
    if not (bad_ids or missing):
        return dataset
    dataset = {**dataset, "annotations": [dict(a) for a in anns]}
    if bad_ids:
        warnings.warn("Ground-truth annotation ids include 0, a repeat or a missing id; they were "
                      "renumbered 1..N because pycocotools mis-scores an annotation with id 0.",
                      stacklevel=3)
        for n, ann in enumerate(dataset["annotations"], start=1):
            ann["id"] = n
    for ann in dataset["annotations"]:
        ann.setdefault("area", float(ann["bbox"][2]) * float(ann["bbox"][3]))
        ann.setdefault("iscrowd", 0)
    return dataset


def _ground_truth(gt: COCO | str | os.PathLike, verbose: bool) -> COCO:
    coco = gt if isinstance(gt, COCO) else load_coco(gt, verbose=verbose)
    repaired = _repaired(coco.dataset)
    return coco if repaired is coco.dataset else coco_from_dataset(repaired, verbose=verbose)


def _clean_predictions(gt: COCO, predictions: Sequence[Mapping]) -> list[dict]:
    """Validated copies of the predictions in a canonical order."""
    image_ids, category_ids = set(gt.getImgIds()), set(gt.getCatIds())
    clean = []
    for n, pred in enumerate(predictions):
        try:
            image_id, category_id = int(pred["image_id"]), int(pred["category_id"])
            bbox = [float(v) for v in pred["bbox"]]
            score = float(pred["score"])
        except (KeyError, TypeError, ValueError):
            raise DataError(f"Prediction {n} is not a {{image_id, category_id, bbox[4], score}} "
                            f"record: {pred!r}.") from None
        if len(bbox) != 4 or not all(map(math.isfinite, bbox + [score])):
            raise DataError(f"Prediction {n} needs a finite bbox [x, y, w, h] and score: {pred!r}.")
        if category_id not in category_ids:
            raise DataError(f"Prediction {n} has category id {category_id}, which the ground truth "
                            f"does not define (known: {sorted(category_ids)}).")
        if image_id not in image_ids:
            raise DataError(f"Prediction {n} has image id {image_id}, which is not in the ground truth.")
        clean.append({"image_id": image_id, "category_id": category_id, "bbox": bbox, "score": score})
    clean.sort(key=lambda p: (-p["score"], p["image_id"], p["category_id"], p["bbox"]))
    return clean


def evaluate_coco(gt: COCO | str | os.PathLike, predictions: Sequence[Mapping], *,
                  verbose: bool = False, image_ids: Sequence[int] | None = None) -> dict[str, float]:
    """COCO box mAP of ``predictions`` ({image_id, category_id, bbox [x, y, w, h], score})
    against ``gt`` (a COCO object or an instances JSON path), over every ground-truth image,
    or over ``image_ids`` only (pycocotools' ``params.imgIds``).

    Returns {name: value} for the names in :data:`STAT_NAMES`. pycocotools' prints are shown
    only when ``verbose``.
    """
    coco_gt = _ground_truth(gt, verbose)
    clean = _clean_predictions(coco_gt, predictions)
    if not clean:
        return zero_stats()
    with quiet_pycocotools(verbose):
        coco_dt = coco_gt.loadRes(clean)
        evaluator = COCOeval(coco_gt, coco_dt, "bbox")
        if image_ids is not None:
            evaluator.params.imgIds = sorted(int(i) for i in image_ids)
        evaluator.evaluate()
        evaluator.accumulate()
        evaluator.summarize()
    return {name: float(v) for name, v in zip(STAT_NAMES, evaluator.stats)}
