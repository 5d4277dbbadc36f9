import contextlib
import copy
import io
import json
import os
import random

import numpy as np
import pytest
from pycocotools.coco import COCO
from pycocotools.cocoeval import COCOeval

from neurosim.errors import DataError
from neurosim.eval.coco_map import (
    STAT_NAMES,
    coco_gt_from_boxes,
    evaluate_coco,
    make_coco_gt,
    predictions_from_boxes,
)


def random_case(seed, n_images=6, n_cats=3):
    rng = np.random.default_rng(seed)
    images = [{"id": i, "width": 200, "height": 150, "file_name": f"{i}.png"} for i in range(1, n_images + 1)]
    anns, preds = [], []
    for im in images:
        for _ in range(rng.integers(0, 5)):
            x, y = rng.uniform(0, 120, 2)
            w, h = rng.uniform(5, 80, 2)
            cat = int(rng.integers(1, n_cats + 1))
            anns.append({"id": len(anns) + 1, "image_id": im["id"], "category_id": cat,
                         "bbox": [x, y, w, h], "area": w * h, "iscrowd": 0})
            if rng.random() < 0.8:  # a jittered detection
                j = rng.normal(0, 4, 4)
                preds.append({"image_id": im["id"], "category_id": cat,
                              "bbox": [x + j[0], y + j[1], max(1, w + j[2]), max(1, h + j[3])]})
        for _ in range(rng.integers(0, 3)):  # false positives
            preds.append({"image_id": im["id"], "category_id": int(rng.integers(1, n_cats + 1)),
                          "bbox": list(rng.uniform(0, 100, 2)) + list(rng.uniform(5, 60, 2))})
    for p, s in zip(preds, rng.permutation(len(preds))):
        p["score"] = float(0.05 + s / (len(preds) + 1))  # distinct scores
    cats = [{"id": c, "name": f"c{c}"} for c in range(1, n_cats + 1)]
    return {"images": images, "annotations": anns, "categories": cats}, preds


def direct_pycocotools(dataset, preds):
    with contextlib.redirect_stdout(io.StringIO()):
        gt = COCO()
        gt.dataset = copy.deepcopy(dataset)
        gt.createIndex()
        dt = gt.loadRes(copy.deepcopy(preds))
        ev = COCOeval(gt, dt, "bbox")
        ev.evaluate()
        ev.accumulate()
        ev.summarize()
    return ev.stats


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_matches_a_direct_pycocotools_run(tmp_path, seed):
    dataset, preds = random_case(seed)
    want = direct_pycocotools(dataset, preds)
    path = tmp_path / "gt.json"
    path.write_text(json.dumps(dataset))
    for gt in (path, make_coco_gt(dataset["images"], dataset["annotations"], dataset["categories"])):
        got = evaluate_coco(gt, preds)
        assert list(got) == list(STAT_NAMES)
        np.testing.assert_allclose([got[k] for k in STAT_NAMES], want, rtol=0, atol=1e-12)


def test_order_of_predictions_does_not_matter():
    dataset, preds = random_case(4)
    gt = make_coco_gt(dataset["images"], dataset["annotations"], dataset["categories"])
    shuffled = list(preds)
    random.Random(0).shuffle(shuffled)
    assert evaluate_coco(gt, preds) == evaluate_coco(gt, shuffled)
    tied = [{**p, "score": 0.5} for p in preds]
    assert evaluate_coco(gt, tied) == evaluate_coco(gt, list(reversed(tied)))


def test_perfect_predictions_score_one():
    dataset, _ = random_case(5)
    perfect = [{"image_id": a["image_id"], "category_id": a["category_id"], "bbox": a["bbox"], "score": 1.0}
               for a in dataset["annotations"]]
    stats = evaluate_coco(make_coco_gt(dataset["images"], dataset["annotations"], dataset["categories"]), perfect)
    assert stats["AP"] == pytest.approx(1.0) and stats["AP50"] == pytest.approx(1.0)
    assert stats["AR100"] == pytest.approx(1.0)


def test_empty_predictions_give_zeros():
    dataset, _ = random_case(6)
    gt = make_coco_gt(dataset["images"], dataset["annotations"], dataset["categories"])
    assert evaluate_coco(gt, []) == {k: 0.0 for k in STAT_NAMES}


def test_annotation_id_zero_is_repaired():
    images = [{"id": 1, "width": 100, "height": 100}]
    anns = [{"id": 0, "image_id": 1, "category_id": 1, "bbox": [10, 10, 40, 40], "area": 1600, "iscrowd": 0}]
    cats = [{"id": 1, "name": "a"}]
    preds = [{"image_id": 1, "category_id": 1, "bbox": [10, 10, 40, 40], "score": 0.9}]
    assert direct_pycocotools({"images": images, "annotations": anns, "categories": cats}, preds)[0] < 1
    gt = COCO()
    gt.dataset = {"images": images, "annotations": anns, "categories": cats}
    with contextlib.redirect_stdout(io.StringIO()):
        gt.createIndex()
    with pytest.warns(UserWarning, match="renumbered"):
        stats = evaluate_coco(gt, preds)
    assert stats["AP"] == pytest.approx(1.0)
    assert gt.dataset["annotations"][0]["id"] == 0  # the caller's object is untouched


def test_ground_truth_without_area_or_iscrowd():
    gt = make_coco_gt([{"id": 3, "width": 50, "height": 50}],
                      [{"image_id": 3, "category_id": 2, "bbox": [1, 1, 20, 20]}], [{"id": 2, "name": "b"}])
    ann = gt.dataset["annotations"][0]
    assert (ann["id"], ann["area"], ann["iscrowd"]) == (1, 400.0, 0)
    preds = [{"image_id": 3, "category_id": 2, "bbox": [1, 1, 20, 20], "score": 0.3}]
    assert evaluate_coco(gt, preds)["AP"] == pytest.approx(1.0)


def test_unknown_category_or_image_is_a_clear_error(tmp_path):
    dataset, preds = random_case(7)
    gt = make_coco_gt(dataset["images"], dataset["annotations"], dataset["categories"])
    with pytest.raises(DataError, match="category id 42"):
        evaluate_coco(gt, preds + [{"image_id": 1, "category_id": 42, "bbox": [0, 0, 1, 1], "score": 1}])
    with pytest.raises(DataError, match="image id 999"):
        evaluate_coco(gt, [{"image_id": 999, "category_id": 1, "bbox": [0, 0, 1, 1], "score": 1}])
    with pytest.raises(DataError, match="Prediction 0"):
        evaluate_coco(gt, [{"image_id": 1, "bbox": [0, 0, 1, 1], "score": 1}])
    with pytest.raises(DataError, match="finite"):
        evaluate_coco(gt, [{"image_id": 1, "category_id": 1, "bbox": [0, 0, 1], "score": 1}])
    assert os.listdir(tmp_path) == []


def test_missing_annotation_file(tmp_path):
    with pytest.raises(DataError, match="does not exist"):
        evaluate_coco(tmp_path / "instances_val.json", [])


def test_quiet_unless_verbose(capsys):
    dataset, preds = random_case(8)
    gt = make_coco_gt(dataset["images"], dataset["annotations"], dataset["categories"])
    capsys.readouterr()
    evaluate_coco(gt, preds)
    assert capsys.readouterr().out == ""
    evaluate_coco(gt, preds, verbose=True)
    assert "Average Precision" in capsys.readouterr().out


def test_builders_from_arrays():
    gt = coco_gt_from_boxes([np.array([[0, 0, 10, 10]]), np.zeros((0, 4))], [np.array([1]), np.array([])],
                            width=32, height=[24, 24], categories={1: "car", 2: "person"})
    assert gt.getImgIds() == [1, 2] and gt.imgs[2]["height"] == 24
    preds = predictions_from_boxes(1, [[0, 0, 10, 10]], [0.5], [1])
    assert preds == [{"image_id": 1, "category_id": 1, "bbox": [0.0, 0.0, 10.0, 10.0], "score": 0.5}]
    assert evaluate_coco(gt, preds)["AP"] == pytest.approx(1.0)


def test_image_ids_restrict_the_evaluation():
    from neurosim.eval.coco_map import coco_gt_from_boxes, evaluate_coco

    boxes = [np.array([[10, 10, 30, 30]], np.float32), np.array([[5, 5, 25, 45]], np.float32)]  # x, y, w, h
    gt = coco_gt_from_boxes(boxes, [np.array([1]), np.array([1])], width=64, height=64, categories={1: "a"})
    first = gt.getImgIds()[0]
    preds = [{"image_id": first, "category_id": 1, "bbox": [10, 10, 30, 30], "score": 0.9}]
    assert evaluate_coco(gt, preds, image_ids=[first])["AP"] == pytest.approx(1.0)
    assert evaluate_coco(gt, preds)["AP"] < 0.6
