import math
import subprocess
import sys

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from neurosim.detect import (
    HeadSpec,
    HeadSpecError,
    apply_box_deltas,
    decode,
    dense_predictions,
)
from neurosim.detect.decode import DELTA_CLAMP, dfl_expectation, sigmoid

NEG = -20.0  # a logit whose sigmoid (2e-9) is below any score threshold used here


def logit(p):
    return math.log(p / (1 - p))


def only(detections):
    (det,) = detections
    return det


# ----------------------------------------------------------------------------- hand-computed cases
def test_yolov8_single_anchor_by_hand():
    spec = HeadSpec("yolov8", num_classes=2, strides=[8], input_size=(32, 32), outputs=["p"], reg_max=4)
    raw = np.zeros((1, 4 * 4 + 2, 4, 4), np.float32)
    raw[0, 16:] = NEG
    y, x = 1, 2                                                  # anchor point (20, 12)
    raw[0, 0:4, y, x] = 0.0                                      # left: uniform -> 1.5
    raw[0, 4:8, y, x] = [math.log(1), math.log(3), -np.inf, -np.inf]   # top: 0.75
    raw[0, 8:12, y, x] = [-np.inf, 0.0, -np.inf, -np.inf]        # right: 1
    raw[0, 12:16, y, x] = np.log([0.1, 0.2, 0.3, 0.4])           # bottom: 0*.1 + 1*.2 + 2*.3 + 3*.4 = 2
    raw[0, 16, y, x], raw[0, 17, y, x] = 0.0, math.log(4)        # scores 0.5 (class 0), 0.8 (class 1)
    det = only(decode(spec, {"p": raw}))
    box = [20 - 1.5 * 8, 12 - 0.75 * 8, 20 + 1 * 8, 12 + 2 * 8]
    np.testing.assert_allclose(det["boxes"], [box, box], rtol=1e-6)   # class-wise NMS keeps both
    np.testing.assert_allclose(det["scores"], [0.8, 0.5], rtol=1e-6)
    assert det["labels"].tolist() == [1, 0]
    assert det["boxes"].dtype == np.float32 and det["scores"].dtype == np.float32
    assert det["labels"].dtype == np.int64


def test_yolov3_single_anchor_by_hand_with_clipping():
    spec = HeadSpec("yolov3", num_classes=2, strides=[16], input_size=(32, 32), outputs=["p"],
                    anchors=[[(8, 12), (20, 10)]])
    raw = np.zeros((1, 2 * 7, 2, 2), np.float32)
    raw[0, 4] = raw[0, 7 + 4] = NEG                              # objectness of both anchors
    y, x, a = 0, 1, 1
    tx, ty, tw, th, obj, c0, c1 = 0.0, logit(0.75), 0.0, logit(0.75), logit(0.9), logit(0.2), logit(0.8)
    raw[0, a * 7:(a + 1) * 7, y, x] = [tx, ty, tw, th, obj, c0, c1]
    det = only(decode(spec, {"p": raw}))
    cx, cy = (2 * 0.5 - 0.5 + x) * 16, (2 * 0.75 - 0.5 + y) * 16        # 24, 16
    w, h = (2 * 0.5) ** 2 * 20, (2 * 0.75) ** 2 * 10                     # 20, 22.5
    box = [cx - w / 2, cy - h / 2, min(cx + w / 2, 32), cy + h / 2]      # x2 = 34 clipped to 32
    np.testing.assert_allclose(det["boxes"], [box, box], rtol=1e-6)
    np.testing.assert_allclose(det["scores"], [0.9 * 0.8, 0.9 * 0.2], rtol=1e-6)
    assert det["labels"].tolist() == [1, 0]


def test_retina_single_anchor_by_hand():
    spec = HeadSpec("retina", num_classes=1, strides=[16], input_size=(32, 32), outputs=["cls", "box"],
                    anchor_sizes=[16], anchor_ratios=[1.0, 2.0], anchor_scales=[1.0])
    cls = np.full((1, 2 * 1, 2, 2), NEG, np.float32)
    box = np.zeros((1, 2 * 4, 2, 2), np.float32)
    y, x, a = 1, 0, 1                                            # centre (8, 24); ratio 2: w 16/√2, h 16√2
    cls[0, a, y, x] = logit(0.7)
    box[0, a * 4:(a + 1) * 4, y, x] = [0.5, -0.25, math.log(2), 0.0]
    det = only(decode(spec, {"cls": cls, "box": box}))
    aw, ah = 16 / math.sqrt(2), 16 * math.sqrt(2)
    cx, cy, w, h = 8 + 0.5 * aw, 24 - 0.25 * ah, aw * 2, ah
    np.testing.assert_allclose(det["boxes"], [[cx - w / 2, cy - h / 2, cx + w / 2, cy + h / 2]], rtol=1e-6)
    np.testing.assert_allclose(det["boxes"], [[8 - 4 * math.sqrt(2), 24 - 12 * math.sqrt(2),
                                               8 + 12 * math.sqrt(2), 24 + 4 * math.sqrt(2)]], rtol=1e-6)
    np.testing.assert_allclose(det["scores"], [0.7], rtol=1e-6)
    assert det["labels"].tolist() == [0]


def test_retina_size_deltas_are_clamped():
    anchor = np.array([0.0, 0.0, 16.0, 16.0])
    huge = apply_box_deltas(anchor, [0.0, 0.0, 100.0, 100.0])
    np.testing.assert_allclose(huge, [8 - 500, 8 - 500, 8 + 500, 8 + 500])   # 16 * 1000/16 = 1000 wide
    assert DELTA_CLAMP == pytest.approx(math.log(1000 / 16))


def test_sigmoid_and_dfl_expectation_are_stable():
    assert sigmoid(np.array([-1000.0, 0.0, 1000.0])).tolist() == [0.0, 0.5, 1.0]
    assert dfl_expectation(np.array([1000.0, 0.0, 0.0])) == pytest.approx(0.0)
    assert dfl_expectation(np.array([0.0, 0.0, 0.0])) == pytest.approx(1.0)


# ----------------------------------------------------------------------------- encode -> decode
def yolov8_raw_for(box, spec, level_shape):
    """Ideal yolov8 output: the box's distances as two-bin DFL distributions at the anchor
    containing its centre."""
    s, reg_max, nc = spec.strides[0], spec.reg_max, spec.num_classes
    raw = np.zeros((1, 4 * reg_max + nc, *level_shape))
    raw[0, 4 * reg_max:] = NEG
    cx, cy = (box[0] + box[2]) / 2, (box[1] + box[3]) / 2
    x, y = int(cx // s), int(cy // s)
    ax, ay = (x + 0.5) * s, (y + 0.5) * s
    for side, d in enumerate([(ax - box[0]) / s, (ay - box[1]) / s, (box[2] - ax) / s, (box[3] - ay) / s]):
        probs = np.zeros(reg_max)
        low = int(d)
        probs[low] += 1 - (d - low)
        probs[min(low + 1, reg_max - 1)] += d - low
        with np.errstate(divide="ignore"):
            raw[0, side * reg_max:(side + 1) * reg_max, y, x] = np.log(probs)
    raw[0, 4 * reg_max + 1, y, x] = 3.0
    return raw


def yolov3_raw_for(box, spec, level_shape, a=0):
    s, nc = spec.strides[0], spec.num_classes
    aw, ah = spec.anchors[0][a]
    raw = np.zeros((1, len(spec.anchors[0]) * (5 + nc), *level_shape))
    raw[0, 4::5 + nc] = NEG
    cx, cy, w, h = (box[0] + box[2]) / 2, (box[1] + box[3]) / 2, box[2] - box[0], box[3] - box[1]
    x, y = int(cx // s), int(cy // s)
    inv = lambda p: math.log(p / (1 - p))
    raw[0, a * (5 + nc):(a + 1) * (5 + nc), y, x] = [
        inv((cx / s - x + 0.5) / 2), inv((cy / s - y + 0.5) / 2),
        inv(math.sqrt(w / aw) / 2), inv(math.sqrt(h / ah) / 2), 3.0, NEG, 3.0]
    return raw


def retina_raw_for(box, spec, level_shape, a=4):
    from neurosim.detect.anchors import level_retina_anchors
    nc, n_anchor = spec.num_classes, spec.anchors_per_position()
    anchors = level_retina_anchors(spec, 0, *level_shape)
    cx, cy, w, h = (box[0] + box[2]) / 2, (box[1] + box[3]) / 2, box[2] - box[0], box[3] - box[1]
    x, y = int(cx // spec.strides[0]), int(cy // spec.strides[0])
    anchor = anchors[(y * level_shape[1] + x) * n_anchor + a]
    acx, acy = (anchor[0] + anchor[2]) / 2, (anchor[1] + anchor[3]) / 2
    aw, ah = anchor[2] - anchor[0], anchor[3] - anchor[1]
    cls = np.full((1, n_anchor * nc, *level_shape), NEG)
    deltas = np.zeros((1, n_anchor * 4, *level_shape))
    cls[0, a * nc + 1, y, x] = 3.0
    deltas[0, a * 4:(a + 1) * 4, y, x] = [(cx - acx) / aw, (cy - acy) / ah, math.log(w / aw), math.log(h / ah)]
    return cls, deltas


SIZE = 64
corner = st.floats(2.0, 30.0)
extent = st.floats(12.0, 30.0)


@settings(max_examples=40, deadline=None)
@given(corner, corner, extent, extent)
def test_ideal_outputs_decode_to_the_encoded_box(x1, y1, w, h):
    box = [x1, y1, x1 + w, y1 + h]
    v8 = HeadSpec("yolov8", 2, [8], (SIZE, SIZE), ["p"], reg_max=8)
    v3 = HeadSpec("yolov3", 2, [8], (SIZE, SIZE), ["p"], anchors=[[(20, 20), (40, 12)]])
    rt = HeadSpec("retina", 2, [8], (SIZE, SIZE), ["c", "b"], anchor_sizes=[24])
    cls, deltas = retina_raw_for(box, rt, (8, 8))
    for spec, outputs in [(v8, {"p": yolov8_raw_for(box, v8, (8, 8))}),
                          (v3, {"p": yolov3_raw_for(box, v3, (8, 8))}),
                          (rt, {"c": cls, "b": deltas})]:
        det = decode(spec, outputs, score_threshold=0.5)[0]
        np.testing.assert_allclose(det["boxes"], [box], atol=1e-4, err_msg=spec.type)
        assert det["labels"].tolist() == [1]


# ----------------------------------------------------------------------------- selection
def random_outputs(spec, batch, seed=0):
    rng = np.random.default_rng(seed)
    channels = spec.output_channels()
    per_level = 2 if spec.type == "retina" else 1
    return {name: rng.normal(size=(batch, channels[name], *spec.grid_size(i // per_level))).astype(np.float32)
            for i, name in enumerate(spec.outputs)}


SPECS = [HeadSpec("yolov8", 3, [8, 16], (64, 48), ["p3", "p4"]),
         HeadSpec("yolov3", 3, [8, 16], (64, 48), ["p3", "p4"], anchors=[[(10, 13), (16, 30)], [(33, 23), (30, 61)]]),
         HeadSpec("retina", 3, [8, 16], (64, 48), ["c3", "b3", "c4", "b4"], anchor_sizes=[16, 32])]


@pytest.mark.parametrize("spec", SPECS, ids=lambda s: s.type)
def test_selection_rules_on_random_outputs(spec):
    from neurosim.eval.boxes import iou_matrix
    outputs = random_outputs(spec, batch=2)
    boxes, scores = dense_predictions(spec, outputs)
    per_position = 1 if spec.type == "yolov8" else spec.anchors_per_position()
    assert boxes.shape == (2, (8 * 6 + 4 * 3) * per_position, 4) and scores.shape == boxes.shape[:2] + (3,)
    detections = decode(spec, outputs, score_threshold=0.05, nms_iou=0.5, max_det=7)
    assert len(detections) == 2
    for det in detections:
        assert 0 < len(det["boxes"]) <= 7
        assert np.all(det["scores"] >= 0.05) and np.all(np.diff(det["scores"]) <= 0)
        assert np.all(det["boxes"] >= 0)
        assert np.all(det["boxes"][:, [0, 2]] <= 48) and np.all(det["boxes"][:, [1, 3]] <= 64)
        assert det["labels"].min() >= 0 and det["labels"].max() < 3
        for label in np.unique(det["labels"]):
            same = det["boxes"][det["labels"] == label]
            overlap = iou_matrix(same, same) - np.eye(len(same))
            assert np.all(overlap <= 0.5)


def test_pre_nms_topk_and_thresholds():
    spec = SPECS[0]
    outputs = random_outputs(spec, batch=1, seed=3)
    assert len(decode(spec, outputs, pre_nms_topk=1, nms_iou=1.0)[0]["scores"]) == 1
    everything = decode(spec, outputs, score_threshold=0.0, nms_iou=1.0, max_det=10 ** 6, pre_nms_topk=10 ** 6)[0]
    assert len(everything["scores"]) == (8 * 6 + 4 * 3) * 3        # every (prediction, class) pair
    _, scores = dense_predictions(spec, outputs)
    np.testing.assert_allclose(np.sort(everything["scores"]), np.sort(scores.ravel()).astype(np.float32))
    empty = decode(spec, outputs, score_threshold=1.01)[0]
    assert empty["boxes"].shape == (0, 4) and empty["boxes"].dtype == np.float32
    assert empty["scores"].shape == (0,) and empty["labels"].dtype == np.int64


def test_decode_is_deterministic_and_takes_a_spec_dict():
    spec = SPECS[2]
    outputs = random_outputs(spec, batch=1, seed=5)
    a = decode(spec, outputs)[0]
    b = decode(spec.to_dict(), {k: v.copy() for k, v in outputs.items()})[0]
    for key in a:
        np.testing.assert_array_equal(a[key], b[key])


def test_bad_outputs_are_refused():
    spec = SPECS[0]
    outputs = random_outputs(spec, batch=1)
    with pytest.raises(HeadSpecError, match="missing"):
        decode(spec, {"p3": outputs["p3"]})
    with pytest.raises(HeadSpecError, match=r"\[B, 67, H, W\]"):
        decode(spec, {**outputs, "p4": outputs["p4"][:, :-1]})
    with pytest.raises(HeadSpecError, match="batch size"):
        decode(spec, {**outputs, "p4": np.concatenate([outputs["p4"]] * 2)})
    with pytest.raises(HeadSpecError, match="dict"):
        decode(spec, list(outputs.values()))


def test_importing_the_decoder_does_not_import_torch():
    code = ("import sys, neurosim.detect, neurosim.detect.decode, neurosim.detect.anchors, neurosim.detect.spec\n"
            "assert 'torch' not in sys.modules, 'torch was imported'\n")
    subprocess.run([sys.executable, "-c", code], check=True)
