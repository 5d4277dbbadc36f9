import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from neurosim.eval.boxes import (
    batched_nms,
    box_area,
    iou_matrix,
    multiclass_detections,
    nms,
    postprocess_detections,
    xywh_to_xyxy,
    xyxy_to_xywh,
)


def brute_iou(a, b):
    iw = max(0.0, min(a[2], b[2]) - max(a[0], b[0]))
    ih = max(0.0, min(a[3], b[3]) - max(a[1], b[1]))
    inter = iw * ih
    union = (a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter
    return inter / union if union > 0 else 0.0


def brute_nms(boxes, scores, thr, labels=None):
    order = sorted(range(len(boxes)), key=lambda i: (-scores[i], i))
    keep, dead = [], set()
    for i in order:
        if i in dead:
            continue
        keep.append(i)
        for j in order:
            same = labels is None or labels[i] == labels[j]
            if j not in dead and j != i and j not in keep and same and brute_iou(boxes[i], boxes[j]) > thr:
                dead.add(j)
    return keep


# coordinates on a 1/4 grid keep every IoU exactly representable-comparable in both versions
coord = st.integers(0, 200).map(lambda v: v / 4)
box = st.tuples(coord, coord, st.integers(0, 120).map(lambda v: v / 4),
                st.integers(0, 120).map(lambda v: v / 4)).map(lambda b: (b[0], b[1], b[0] + b[2], b[1] + b[3]))
detections = st.lists(st.tuples(box, st.integers(0, 20).map(lambda s: s / 20), st.integers(0, 2)),
                      min_size=0, max_size=40)


@settings(max_examples=150, deadline=None)
@given(detections, st.sampled_from([0.0, 0.3, 0.5, 0.7]))
def test_nms_matches_brute_force(dets, thr):
    boxes = [d[0] for d in dets]
    scores = [d[1] for d in dets]
    labels = [d[2] for d in dets]
    arr = np.array(boxes, dtype=np.float64).reshape(-1, 4)
    assert list(nms(arr, scores, thr)) == brute_nms(boxes, scores, thr)
    assert list(batched_nms(arr, scores, labels, thr)) == brute_nms(boxes, scores, thr, labels)


@settings(max_examples=60, deadline=None)
@given(st.lists(box, min_size=1, max_size=8), st.lists(box, min_size=1, max_size=8))
def test_iou_matrix_matches_brute_force(a, b):
    got = iou_matrix(a, b)
    want = np.array([[brute_iou(x, y) for y in b] for x in a])
    np.testing.assert_allclose(got, want, rtol=0, atol=1e-12)


def test_conversions_and_known_iou():
    xywh = np.array([[1, 2, 3, 4]], np.float32)
    np.testing.assert_array_equal(xywh_to_xyxy(xywh), [[1, 2, 4, 6]])
    np.testing.assert_array_equal(xyxy_to_xywh(xywh_to_xyxy(xywh)), xywh)
    assert xywh_to_xyxy(xywh).dtype == np.float32 and xywh_to_xyxy(xywh.astype(np.float64)).dtype == np.float64
    np.testing.assert_array_equal(box_area([[0, 0, 2, 3]]), [6])
    a = [[0, 0, 2, 2]]
    np.testing.assert_allclose(iou_matrix(a, [[1, 0, 3, 2], [0, 0, 2, 2], [5, 5, 6, 6], [1, 1, 1, 1]]),
                               [[1 / 3, 1, 0, 0]])
    assert iou_matrix(np.zeros((0, 4)), a).shape == (0, 1)


def test_postprocess_threshold_and_max_detections():
    boxes = np.array([[0, 0, 10, 10], [1, 1, 10, 10], [0, 0, 10, 10], [50, 50, 60, 60], [70, 70, 80, 80]])
    scores = np.array([0.9, 0.8, 0.7, 0.05, 0.6])
    labels = np.array([0, 0, 1, 0, 0])
    b, s, l = postprocess_detections(boxes, scores, labels, score_threshold=0.1, iou_threshold=0.5)
    np.testing.assert_array_equal(s, np.float32([0.9, 0.7, 0.6]))  # box 1 suppressed, box 3 below threshold
    np.testing.assert_array_equal(l, [0, 1, 0])
    assert b.dtype == np.float32 and l.dtype == np.int64
    b, s, l = postprocess_detections(boxes, scores, labels, score_threshold=0.0, max_detections=2)
    np.testing.assert_array_equal(s, np.float32([0.9, 0.7]))
    empty = postprocess_detections(np.zeros((0, 4)), [], [])
    assert [len(e) for e in empty] == [0, 0, 0]


def test_multiclass_detections():
    boxes = np.array([[0, 0, 10, 10], [0, 0, 10, 9]])
    class_scores = np.array([[0.9, 0.2], [0.8, 0.6]])
    b, s, l = multiclass_detections(boxes, class_scores, score_threshold=0.5, iou_threshold=0.5)
    np.testing.assert_array_equal(l, [0, 1])
    np.testing.assert_allclose(s, [0.9, 0.6])
    np.testing.assert_array_equal(b[1], [0, 0, 10, 9])


@pytest.mark.parametrize("n", [0, 1])
def test_tiny_inputs(n):
    assert len(nms(np.zeros((n, 4)), np.zeros(n))) == n
