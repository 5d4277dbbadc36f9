"""Training losses of the three detection heads (torch), built from a :class:`~neurosim.detect.HeadSpec`.

Each loss takes the raw per-level outputs (averaged over timesteps) and per-image targets
``{'boxes': [N, 4] xyxy pixels, 'labels': [N]}`` and returns ``(total, parts)``. The
predictions they train are read by the numpy decoder :func:`neurosim.detect.decode`;
``docs/heads.md`` gives every equation.
"""
from neurosim.detect.spec import HeadSpec
from neurosim.losses.retina import RetinaLoss
from neurosim.losses.yolov3 import YOLOv3Loss
from neurosim.losses.yolov8 import YOLOv8Loss

LOSSES = {"yolov8": YOLOv8Loss, "yolov3": YOLOv3Loss, "retina": RetinaLoss}


def make_loss(spec: HeadSpec, **hyperparameters):
    """The loss module of ``spec.type``, e.g. ``make_loss(spec, box_gain=5.0)``."""
    if not isinstance(spec, HeadSpec):
        spec = HeadSpec.from_dict(spec)
    return LOSSES[spec.type](spec, **hyperparameters)


__all__ = ["LOSSES", "RetinaLoss", "YOLOv3Loss", "YOLOv8Loss", "make_loss"]
