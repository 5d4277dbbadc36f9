import math

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from neurosim.detect import HeadSpec, decode, dense_predictions
from neurosim.detect.anchors import cell_offsets
from neurosim.eval.boxes import iou_matrix
from neurosim.losses import RetinaLoss, YOLOv3Loss, YOLOv8Loss, make_loss
from neurosim.losses.retina import (
    apply_box_deltas,
    encode_box_deltas,
    flatten_retina,
    sigmoid_focal_loss,
)
from neurosim.losses.yolov3 import decode_cell_boxes, default_balance
from neurosim.losses.yolov8 import (
    distances_to_boxes,
    distribution_focal_loss,
    expected_distances,
    flatten_yolov8,
    level_points,
)

SPECS = {
    "yolov8": HeadSpec("yolov8", 3, [8, 16], (64, 64), ["p3", "p4"]),
    "yolov3": HeadSpec("yolov3", 3, [8, 16], (64, 64), ["p3", "p4"],
                       anchors=[[(10, 14), (23, 27)], [(37, 58), (81, 82)]]),
    "retina": HeadSpec("retina", 3, [8, 16], (64, 64), ["c3", "b3", "c4", "b4"], anchor_sizes=[16, 32]),
}
TARGETS = [{"boxes": torch.tensor([[10.0, 12.0, 40.0, 44.0], [44.0, 6.0, 60.0, 30.0]]), "labels": torch.tensor([1, 2])},
           {"boxes": torch.tensor([[5.0, 30.0, 58.0, 60.0]]), "labels": torch.tensor([0])}]
NO_BOXES = {"boxes": torch.zeros(0, 4), "labels": torch.zeros(0, dtype=torch.int64)}


def raw_outputs(spec, batch=2, seed=0, std=0.01, requires_grad=False):
    gen = torch.Generator().manual_seed(seed)
    channels = spec.output_channels()
    per_level = 2 if spec.type == "retina" else 1
    return [(torch.randn(batch, channels[name], *spec.grid_size(i // per_level), generator=gen) * std)
            .requires_grad_(requires_grad) for i, name in enumerate(spec.outputs)]


def as_numpy(spec, outputs):
    return {name: out.detach().numpy() for name, out in zip(spec.outputs, outputs)}


# ----------------------------------------------------------------------------- zero boxes
@pytest.mark.parametrize("kind", SPECS)
def test_images_without_boxes(kind):
    spec = SPECS[kind]
    loss_fn = make_loss(spec)
    outputs = raw_outputs(spec, requires_grad=True)
    total, parts = loss_fn(outputs, [NO_BOXES, NO_BOXES])
    assert torch.isfinite(total) and total > 0
    assert parts["box"] == 0
    total.backward()
    assert all(o.grad is not None and torch.isfinite(o.grad).all() for o in outputs)
    assert sum(o.grad.abs().sum() for o in outputs) > 0      # background is learned
    mixed, _ = loss_fn(outputs, [TARGETS[0], NO_BOXES])
    assert torch.isfinite(mixed)


@pytest.mark.parametrize("kind", SPECS)
def test_parts_sum_to_the_total_and_bad_targets_are_refused(kind):
    spec = SPECS[kind]
    loss_fn = make_loss(spec.to_dict())
    total, parts = loss_fn(raw_outputs(spec), TARGETS)
    assert math.isclose(total.item(), sum(p.item() for p in parts.values()), rel_tol=1e-6)
    by_name, _ = loss_fn(dict(zip(spec.outputs, raw_outputs(spec))), TARGETS)
    assert by_name.item() == total.item()
    with pytest.raises(ValueError, match="labels outside"):
        loss_fn(raw_outputs(spec), [{"boxes": [[0, 0, 9, 9]], "labels": [3]}, NO_BOXES])
    with pytest.raises(ValueError, match="2 images"):
        loss_fn(raw_outputs(spec), TARGETS[:1])
    with pytest.raises(ValueError, match="H, W"):
        loss_fn([o[:, :-1] for o in raw_outputs(spec)], TARGETS)


def test_losses_refuse_a_spec_of_another_type():
    for loss_cls in (YOLOv8Loss, YOLOv3Loss, RetinaLoss):
        with pytest.raises(ValueError, match="head spec"):
            loss_cls(SPECS["yolov8" if loss_cls is not YOLOv8Loss else "retina"])


# ----------------------------------------------------------------------------- torch twins of the decoder
def test_yolov8_torch_decoding_equals_the_numpy_decoder():
    spec = SPECS["yolov8"]
    outputs = raw_outputs(spec, std=2.0)
    dist, cls = flatten_yolov8(outputs, spec.reg_max)
    points, strides = level_points(spec, outputs, "cpu")
    boxes = distances_to_boxes(points, expected_distances(dist) * strides[:, None])
    np_boxes, np_scores = dense_predictions(spec, as_numpy(spec, outputs))
    np.testing.assert_allclose(boxes.numpy(), np_boxes, rtol=1e-5, atol=1e-4)
    np.testing.assert_allclose(cls.sigmoid().numpy(), np_scores, rtol=1e-5, atol=1e-7)


def test_yolov3_torch_decoding_equals_the_numpy_decoder():
    spec = SPECS["yolov3"]
    outputs = raw_outputs(spec, std=2.0)
    np_boxes, np_scores = dense_predictions(spec, as_numpy(spec, outputs))
    start = 0
    for level, (out, stride) in enumerate(zip(outputs, spec.strides)):
        b, _, h, w = out.shape
        a = len(spec.anchors[level])
        pred = out.reshape(b, a, 8, h, w).permute(0, 3, 4, 1, 2).reshape(b, h * w * a, 8)
        cells = torch.tensor(np.repeat(cell_offsets(h, w), a, axis=0), dtype=torch.float32)
        anchors = torch.tensor(spec.anchors[level] * (h * w), dtype=torch.float32) / stride
        cxcywh = decode_cell_boxes(pred[..., :4], anchors)
        cxcywh = torch.cat([cxcywh[..., :2] + cells, cxcywh[..., 2:]], -1) * stride
        xyxy = torch.cat([cxcywh[..., :2] - cxcywh[..., 2:] / 2, cxcywh[..., :2] + cxcywh[..., 2:] / 2], -1)
        np.testing.assert_allclose(xyxy.numpy(), np_boxes[:, start:start + h * w * a], rtol=1e-5, atol=1e-4)
        scores = pred[..., 4:5].sigmoid() * pred[..., 5:].sigmoid()
        np.testing.assert_allclose(scores.numpy(), np_scores[:, start:start + h * w * a], rtol=1e-5, atol=1e-7)
        start += h * w * a


def test_retina_torch_decoding_equals_the_numpy_decoder_and_encoding_inverts_it():
    spec = SPECS["retina"]
    outputs = raw_outputs(spec, std=1.0)
    loss_fn = RetinaLoss(spec)
    cls, deltas = flatten_retina(outputs, spec.anchors_per_position())
    anchors = loss_fn.anchors(outputs, "cpu")
    np_boxes, np_scores = dense_predictions(spec, as_numpy(spec, outputs))
    np.testing.assert_allclose(apply_box_deltas(anchors, deltas).numpy(), np_boxes, rtol=1e-5, atol=1e-4)
    np.testing.assert_allclose(cls.sigmoid().numpy(), np_scores, rtol=1e-5, atol=1e-7)
    target = torch.tensor([[10.0, 12.0, 40.0, 44.0]]).expand(len(anchors), 4)
    recovered = apply_box_deltas(anchors, encode_box_deltas(anchors, target))
    torch.testing.assert_close(recovered, target, atol=1e-4, rtol=0)


# ----------------------------------------------------------------------------- loss pieces by hand
def test_distribution_focal_loss_by_hand():
    logits = torch.randn(1, 4, 5, generator=torch.Generator().manual_seed(1))
    target = torch.tensor([[1.25, 0.0, 3.5, 2.0]])
    ce = -logits.log_softmax(-1)[0]
    expected = (0.75 * ce[0, 1] + 0.25 * ce[0, 2] + ce[1, 0] + 0.5 * ce[2, 3] + 0.5 * ce[2, 4] + ce[3, 2]) / 4
    torch.testing.assert_close(distribution_focal_loss(logits, target), expected[None])


def test_sigmoid_focal_loss_by_hand():
    logits, targets = torch.tensor([2.0, -1.0]), torch.tensor([1.0, 0.0])
    p = torch.sigmoid(logits)
    expected = torch.stack([0.25 * (1 - p[0]) ** 2 * -torch.log(p[0]), 0.75 * p[1] ** 2 * -torch.log(1 - p[1])])
    torch.testing.assert_close(sigmoid_focal_loss(logits, targets), expected)
    torch.testing.assert_close(sigmoid_focal_loss(logits, targets, gamma=0.0, alpha=-1),
                               F.binary_cross_entropy_with_logits(logits, targets, reduction="none"))


def test_default_objectness_balance():
    assert default_balance(3) == (4.0, 1.0, 0.4)
    assert default_balance(2) == (4.0, 1.0)


# ----------------------------------------------------------------------------- optimisation end to end
LOSS_OPTIONS = {"yolov8": {}, "yolov3": {}, "retina": {}, "retina-giou": {"box_loss": "giou"}}


@pytest.mark.parametrize("case", LOSS_OPTIONS)
def test_optimising_raw_outputs_recovers_the_targets(case):
    """Raw head outputs as free parameters: Adam on the loss must make ``decode`` return the
    ground truth (right labels, IoU > 0.7) as the top detections of each image."""
    torch.manual_seed(0)
    spec = SPECS[case.split("-")[0]]
    loss_fn = make_loss(spec, **LOSS_OPTIONS[case])
    outputs = [torch.nn.Parameter(o) for o in raw_outputs(spec, seed=1)]
    optimiser = torch.optim.Adam(outputs, lr=0.05)
    losses = []
    for _ in range(200):
        total, _ = loss_fn(outputs, TARGETS)
        optimiser.zero_grad()
        total.backward()
        optimiser.step()
        losses.append(total.item())
    assert losses[-1] < 0.2 * losses[0]
    for target, det in zip(TARGETS, decode(spec, as_numpy(spec, outputs))):
        k = len(target["labels"])
        iou = iou_matrix(det["boxes"][:k], target["boxes"].numpy())
        best = iou.argmax(1)
        assert sorted(best.tolist()) == list(range(k))
        assert np.all(iou.max(1) > 0.7), iou
        assert det["labels"][:k].tolist() == target["labels"][best].tolist()
