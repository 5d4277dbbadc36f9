"""``HeadSpec``: what a detection head outputs and how to decode it (JSON-able, no torch).

A model stores ``spec.to_dict()`` in its ``graph.json`` metadata under ``"detection"``; the
decoder (:mod:`neurosim.detect.decode`) and the losses (:mod:`neurosim.losses`) are both built
from it, so the trained model and the simulator read its outputs the same way.
See ``docs/heads.md`` for the three output layouts.
"""
from __future__ import annotations

import math
import numbers
from dataclasses import dataclass, fields

from neurosim.errors import NeurosimError

HEAD_TYPES = ("yolov8", "yolov3", "retina")
DEFAULT_REG_MAX = 16
DEFAULT_ANCHOR_RATIOS = (0.5, 1.0, 2.0)
DEFAULT_ANCHOR_SCALES = (1.0, 2.0 ** (1.0 / 3.0), 2.0 ** (2.0 / 3.0))


class HeadSpecError(NeurosimError, ValueError):
    """A detection head specification is malformed."""


def _positive_number(value, what: str) -> float:
    if isinstance(value, bool) or not isinstance(value, numbers.Real) or not math.isfinite(value) or value <= 0:
        raise HeadSpecError(f"{what} must be a positive number, got {value!r}")
    return float(value)


def _positive_int(value, what: str) -> int:
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value <= 0:
        raise HeadSpecError(f"{what} must be a positive integer, got {value!r}")
    return int(value)


def _sequence(value, what: str) -> tuple:
    if isinstance(value, (str, bytes)) or not hasattr(value, "__iter__"):
        raise HeadSpecError(f"{what} must be a list, got {value!r}")
    return tuple(value)


READOUTS = ("mean", "last")


@dataclass(frozen=True)
class HeadSpec:
    """Specification of a detection head.

    Fields (sequences are stored as tuples; ``to_dict`` writes lists):

    * ``type``: ``"yolov8"`` (anchor-free, DFL), ``"yolov3"`` (anchors, YOLOv5-style decoding)
      or ``"retina"`` (anchors, focal loss, box deltas).
    * ``num_classes``: number of object classes ``nc``.
    * ``strides``: one stride (input pixels per feature cell) per pyramid level.
    * ``input_size``: ``(H, W)`` of the network input in pixels; boxes are clipped to it.
    * ``outputs``: graph output names; one per level (yolov8, yolov3) or two per level for
      retina, ``[cls_l0, box_l0, cls_l1, box_l1, ...]``.
    * ``reg_max`` (yolov8): DFL bins per box side, distances ``0 .. reg_max-1`` strides.
    * ``anchors`` (yolov3): per level, a list of ``(w, h)`` anchor sizes in input pixels.
    * ``anchor_sizes`` (retina): one base size per level, in pixels.
    * ``anchor_ratios`` / ``anchor_scales`` (retina): ``A = len(ratios) * len(scales)`` anchors
      per position, ratio-major: anchor ``a = i_ratio * len(scales) + i_scale``.
    * ``readout``: how per-timestep head outputs become one prediction: ``"mean"`` over T (rate
      decoding: SpikeYOLO, EMS-YOLO) or ``"last"`` timestep (a decoder that integrates over time,
      as Spiking RetinaNet's attention spike decoder). See :func:`neurosim.detect.read_out`.
    """

    type: str
    num_classes: int
    strides: tuple
    input_size: tuple
    outputs: tuple
    reg_max: int = DEFAULT_REG_MAX
    anchors: tuple | None = None
    anchor_sizes: tuple | None = None
    anchor_ratios: tuple = DEFAULT_ANCHOR_RATIOS
    anchor_scales: tuple = DEFAULT_ANCHOR_SCALES
    readout: str = "mean"

    def __post_init__(self):
        if self.readout not in READOUTS:
            raise HeadSpecError(f"readout must be one of {READOUTS}, got {self.readout!r}")
        if self.type not in HEAD_TYPES:
            raise HeadSpecError(f"detection head type must be one of {HEAD_TYPES}, got {self.type!r}")
        self._set("num_classes", _positive_int(self.num_classes, "num_classes"))
        strides = tuple(_positive_int(s, "each stride") for s in _sequence(self.strides, "strides"))
        if not strides:
            raise HeadSpecError("strides must name at least one level")
        self._set("strides", strides)
        size = tuple(_sequence(self.input_size, "input_size"))
        if len(size) != 2:
            raise HeadSpecError(f"input_size must be (H, W), got {self.input_size!r}")
        self._set("input_size", tuple(_positive_int(v, "input_size") for v in size))
        names = _sequence(self.outputs, "outputs")
        want = 2 * len(strides) if self.type == "retina" else len(strides)
        if len(names) != want or not all(isinstance(n, str) and n for n in names):
            raise HeadSpecError(f"a {self.type} head with {len(strides)} levels needs {want} output names, "
                                f"got {list(names)!r}")
        if len(set(names)) != len(names):
            raise HeadSpecError(f"output names must be unique, got {list(names)!r}")
        self._set("outputs", tuple(names))
        self._set("reg_max", _positive_int(self.reg_max, "reg_max"))
        self._set("anchor_ratios", self._numbers(self.anchor_ratios, "anchor_ratios"))
        self._set("anchor_scales", self._numbers(self.anchor_scales, "anchor_scales"))
        self._check_anchors()

    def _set(self, name: str, value) -> None:
        object.__setattr__(self, name, value)  # frozen dataclass: normalise once, at construction

    @staticmethod
    def _numbers(values, what: str) -> tuple:
        out = tuple(_positive_number(v, f"each of {what}") for v in _sequence(values, what))
        if not out:
            raise HeadSpecError(f"{what} must not be empty")
        return out

    def _check_anchors(self) -> None:
        levels = len(self.strides)
        if self.type == "yolov3":
            if self.anchors is None:
                raise HeadSpecError("a yolov3 head needs 'anchors' (per level, a list of (w, h) pairs)")
            per_level = _sequence(self.anchors, "anchors")
            if len(per_level) != levels:
                raise HeadSpecError(f"anchors must have one list per level ({levels}), got {len(per_level)}")
            normalised = []
            for level in per_level:
                pairs = _sequence(level, "anchors of a level")
                if not pairs or any(len(_sequence(p, "an anchor")) != 2 for p in pairs):
                    raise HeadSpecError(f"each level's anchors must be a non-empty list of (w, h), got {level!r}")
                normalised.append(tuple((_positive_number(w, "anchor w"), _positive_number(h, "anchor h"))
                                        for w, h in pairs))
            self._set("anchors", tuple(normalised))
        elif self.anchors is not None:
            raise HeadSpecError(f"'anchors' belongs to yolov3 heads, not {self.type}")
        if self.type == "retina":
            if self.anchor_sizes is None:
                raise HeadSpecError("a retina head needs 'anchor_sizes' (one base size per level)")
            sizes = self._numbers(self.anchor_sizes, "anchor_sizes")
            if len(sizes) != levels:
                raise HeadSpecError(f"anchor_sizes must have one size per level ({levels}), got {len(sizes)}")
            self._set("anchor_sizes", sizes)
        elif self.anchor_sizes is not None:
            raise HeadSpecError(f"'anchor_sizes' belongs to retina heads, not {self.type}")

    # ------------------------------------------------------------------ derived quantities
    @property
    def num_levels(self) -> int:
        return len(self.strides)

    def anchors_per_position(self, level: int = 0) -> int:
        """Predictions per feature cell: 1 (yolov8), ``len(anchors[level])`` (yolov3), ``A`` (retina)."""
        if self.type == "yolov8":
            return 1
        if self.type == "yolov3":
            return len(self.anchors[level])
        return len(self.anchor_ratios) * len(self.anchor_scales)

    def level_outputs(self, level: int) -> tuple:
        """Output names of one level: ``(name,)``, or ``(cls_name, box_name)`` for retina."""
        if self.type == "retina":
            return self.outputs[2 * level], self.outputs[2 * level + 1]
        return (self.outputs[level],)

    def output_channels(self) -> dict:
        """Channel count of every output: yolov8 ``4*reg_max + nc``; yolov3 ``A*(5 + nc)``;
        retina cls ``A*nc`` and box ``A*4``."""
        nc, channels = self.num_classes, {}
        for level in range(self.num_levels):
            a = self.anchors_per_position(level)
            names = self.level_outputs(level)
            if self.type == "yolov8":
                channels[names[0]] = 4 * self.reg_max + nc
            elif self.type == "yolov3":
                channels[names[0]] = a * (5 + nc)
            else:
                channels[names[0]], channels[names[1]] = a * nc, a * 4
        return channels

    def grid_size(self, level: int) -> tuple:
        """``(ceil(H / s), ceil(W / s))``: the feature map of a backbone of stride-2 convs with
        padding ``k // 2``. The decoder and losses use the arrays' actual shapes instead."""
        s = self.strides[level]
        return -(-self.input_size[0] // s), -(-self.input_size[1] // s)

    # ------------------------------------------------------------------ JSON
    def to_dict(self) -> dict:
        """JSON-able dict with the common fields and this type's own fields only."""
        doc = {"type": self.type, "num_classes": self.num_classes, "strides": list(self.strides),
               "input_size": list(self.input_size), "outputs": list(self.outputs)}
        if self.type == "yolov8":
            doc["reg_max"] = self.reg_max
        elif self.type == "yolov3":
            doc["anchors"] = [[list(pair) for pair in level] for level in self.anchors]
        else:
            doc["anchor_sizes"] = list(self.anchor_sizes)
            doc["anchor_ratios"] = list(self.anchor_ratios)
            doc["anchor_scales"] = list(self.anchor_scales)
        if self.readout != "mean":
            doc["readout"] = self.readout
        return doc

    @classmethod
    def from_dict(cls, doc) -> HeadSpec:
        """Inverse of :meth:`to_dict`; unknown keys are refused (they are usually typos)."""
        if not isinstance(doc, dict):
            raise HeadSpecError(f"a detection head spec must be a JSON object, got {type(doc).__name__}")
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(doc) - known)
        if unknown:
            raise HeadSpecError(f"unknown detection head field(s) {unknown}; known: {sorted(known)}")
        missing = sorted({"type", "num_classes", "strides", "input_size", "outputs"} - set(doc))
        if missing:
            raise HeadSpecError(f"detection head spec lacks field(s) {missing}")
        return cls(**doc)
