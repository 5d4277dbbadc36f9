import contextlib
import io

import numpy as np
import pytest
from pycocotools.coco import COCO
from pycocotools.cocoeval import COCOeval

from neurosim.data.gen1_io import BBOX_DTYPE, LEGACY_BBOX_DTYPE
from neurosim.errors import DataError
from neurosim.eval.coco_map import STAT_NAMES
from neurosim.eval.prophesee import detections_to_boxes, evaluate_gen1, filter_boxes


def boxes(*rows, score=True):
    """rows: (t, x, y, w, h, class_id[, score])."""
    out = np.zeros(len(rows), dtype=BBOX_DTYPE)
    for i, r in enumerate(rows):
        out[i]["t"], out[i]["x"], out[i]["y"], out[i]["w"], out[i]["h"], out[i]["class_id"] = r[:6]
        out[i]["class_confidence"] = r[6] if len(r) > 6 else 1.0
    return out


def test_filter_rules_and_edges():
    b = boxes((500_000, 0, 0, 40, 40, 0),   # t == skip_ts: dropped (t > skip_ts is kept)
              (500_001, 0, 0, 18, 24, 0),   # diag exactly 30: kept
              (600_000, 0, 0, 17, 24, 0),   # diag < 30: dropped
              (600_000, 0, 0, 9.9, 50, 1),  # side < 10: dropped
              (600_000, 0, 0, 10, 50, 1))   # side == 10: kept
    kept = filter_boxes(b)
    assert list(kept["w"]) == pytest.approx([18, 10])
    half = filter_boxes(b, min_diag=15, min_side=5)
    assert len(half) == 4


def test_perfect_predictions_and_pooling_window():
    gt = [boxes((600_000, 10, 10, 50, 30, 0), (600_000, 100, 50, 15, 40, 1), (800_000, 20, 20, 60, 30, 0)),
          boxes((700_000, 5, 5, 40, 40, 1))]
    exact = [g.copy() for g in gt]
    stats = evaluate_gen1(gt, exact, 240, 304)
    assert list(stats) == list(STAT_NAMES) and stats["AP"] == pytest.approx(1.0)
    shifted = [g.copy() for g in gt]
    shifted[1]["t"] += 50_000  # still within +-50 ms: pooled into the 700 ms image
    assert evaluate_gen1(gt, shifted, 240, 304)["AP"] == pytest.approx(1.0)
    shifted[1]["t"] += 1  # outside: the pedestrian of file 1 is missed
    assert evaluate_gen1(gt, shifted, 240, 304)["AP"] < 1.0
    assert evaluate_gen1(gt, shifted, 240, 304, time_tol_us=60_000)["AP"] == pytest.approx(1.0)


def test_equals_a_manual_pycocotools_run():
    rng = np.random.default_rng(0)
    gt_rows, dt_rows = [], []
    for ts in (549_999, 749_999, 949_999):
        for _ in range(4):
            x, y, w, h = rng.uniform(0, 200), rng.uniform(0, 150), rng.uniform(20, 80), rng.uniform(20, 60)
            c = int(rng.integers(0, 2))
            gt_rows.append((ts, x, y, w, h, c))
            dt_rows.append((ts, x + rng.normal(0, 3), y + rng.normal(0, 3), w, h, c, rng.uniform()))
        dt_rows.append((ts, 10, 10, 40, 40, 0, rng.uniform()))
    gt_rows.append((300_000, 0, 0, 50, 50, 0))       # before skip_ts: ignored with its predictions
    dt_rows.append((300_000, 0, 0, 50, 50, 0, 0.99))
    got = evaluate_gen1([boxes(*gt_rows)], [boxes(*dt_rows)], 240, 304)

    kept_ts = [549_999, 749_999, 949_999]
    images = [{"id": i + 1, "width": 304, "height": 240} for i in range(3)]
    anns = [{"id": n + 1, "image_id": kept_ts.index(r[0]) + 1, "category_id": r[5] + 1,
             "bbox": list(map(float, np.float32(r[1:5]))), "area": float(np.prod(np.float32(r[3:5]))), "iscrowd": 0}
            for n, r in enumerate(gt_rows[:-1])]
    preds = [{"image_id": kept_ts.index(r[0]) + 1, "category_id": r[5] + 1,
              "bbox": list(map(float, np.float32(r[1:5]))), "score": float(np.float32(r[6]))} for r in dt_rows[:-1]]
    with contextlib.redirect_stdout(io.StringIO()):
        coco = COCO()
        coco.dataset = {"images": images, "annotations": anns,
                        "categories": [{"id": 1, "name": "car"}, {"id": 2, "name": "pedestrian"}]}
        coco.createIndex()
        ev = COCOeval(coco, coco.loadRes(preds), "bbox")
        ev.evaluate()
        ev.accumulate()
        ev.summarize()
    np.testing.assert_allclose([got[k] for k in STAT_NAMES], ev.stats, atol=1e-12)


def test_legacy_dtype_inputs_and_detection_helper():
    gt = np.zeros(1, dtype=LEGACY_BBOX_DTYPE)
    gt[0] = (600_000, 10, 20, 40, 30, 1, 1.0, 3)
    dt = detections_to_boxes(600_000, [[10, 20, 50, 50]], [0.8], [1])
    assert dt.dtype == BBOX_DTYPE and dt["w"][0] == 40 and dt["h"][0] == 30
    assert evaluate_gen1([gt], [dt], 240, 304)["AP"] == pytest.approx(1.0)


def test_empty_and_bad_inputs():
    gt = [boxes((600_000, 10, 10, 50, 30, 0))]
    assert evaluate_gen1(gt, [boxes()], 240, 304) == {k: 0.0 for k in STAT_NAMES}
    assert evaluate_gen1([boxes()], [boxes()], 240, 304)["AP"] == 0.0
    with pytest.raises(DataError, match="2 files"):
        evaluate_gen1(gt * 2, gt, 240, 304)
    with pytest.raises(DataError, match="class id 2"):
        evaluate_gen1(gt, [boxes((600_000, 10, 10, 50, 30, 2))], 240, 304)
