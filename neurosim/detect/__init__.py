"""Detection heads, framework-free: the head specification, anchors and the box decoder.

Numpy only (never imports torch), so the simulator and the torch model share one decoder.
The matching torch losses live in :mod:`neurosim.losses`; formats are in ``docs/heads.md``.
"""
from neurosim.detect.anchors import anchor_points, retina_anchors, retina_cell_anchors
from neurosim.detect.decode import (
    apply_box_deltas,
    decode,
    dense_predictions,
    select_detections,
)
from neurosim.detect.readout import read_out
from neurosim.detect.spec import HEAD_TYPES, READOUTS, HeadSpec, HeadSpecError

__all__ = [
    "read_out", "READOUTS",
    "HEAD_TYPES", "HeadSpec", "HeadSpecError", "anchor_points", "apply_box_deltas", "decode",
    "dense_predictions", "retina_anchors", "retina_cell_anchors", "select_detections",
]
