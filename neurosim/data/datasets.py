"""Plain-numpy detection datasets, and the manifest that makes generated sets idempotent.

Every dataset yields ``(x, target)``: ``x`` float32 [T, C, H, W]; ``target`` a dict with
``boxes`` float32 [N, 4] (x1, y1, x2, y2) in pixels of ``x``, ``labels`` int64 [N] (contiguous
class index; ``dataset.category_ids[label]`` is the COCO category id) and ``image_id`` int.
``dataset.evaluate(detections)`` scores per-sample detections in the same coordinates
(``detections[i]`` = {boxes xyxy [K, 4], scores [K], labels [K]}, a list aligned with the
dataset or a dict index -> detections) and returns the 12 COCO numbers by name.
"""
from __future__ import annotations

import contextlib
import json
import os
import re
import shutil
import tempfile
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path

import numpy as np

from neurosim.data.coco import CocoDetection, coco_from_dataset
from neurosim.data.encoders import encode, encoder_channels
from neurosim.data.gen1_io import DatFile, load_bboxes
from neurosim.errors import DataError
from neurosim.fsutil import file_lock, write_text_atomic

MANIFEST_FILE = "manifest.json"
GEN1_CLASSES = ("car", "pedestrian")
GEN1_SENSOR_SIZE = (304, 240)  # (width, height)


# ---------------------------------------------------------------- generated-set manifests

def _canonical(params: Mapping) -> dict:
    return json.loads(json.dumps(params, sort_keys=True))


def manifest_is_current(root: str | os.PathLike, params: Mapping) -> bool:
    """True when ``root`` holds a complete set generated with ``params``.

    Raises :class:`DataError` when ``root`` holds a set generated with other parameters.
    A missing manifest (nothing generated yet, or an interrupted run) returns False.
    """
    path = Path(root) / MANIFEST_FILE
    if not path.is_file():
        return False
    try:
        manifest = json.loads(path.read_text(encoding="utf-8"))
        old = manifest["params"]
        files = manifest["files"]
    except (ValueError, KeyError, TypeError):
        raise DataError(f"Manifest {path} is unreadable; delete {root} and generate again.") from None
    if old != _canonical(params):
        changed = sorted(k for k in set(old) | set(params) if old.get(k) != _canonical(params).get(k))
        raise DataError(f"{root} already holds a set generated with other parameters "
                        f"({', '.join(changed)} differ); delete it or choose another folder.")
    return all((Path(root) / f).is_file() for f in files)


def write_manifest(root: str | os.PathLike, params: Mapping, files: Sequence[str]) -> None:
    """Record ``params`` and the generated ``files`` (relative paths); written last."""
    write_text_atomic(Path(root) / MANIFEST_FILE,
                      json.dumps({"params": _canonical(params), "files": list(files)}, indent=1))


@contextlib.contextmanager
def generated_set(root: str | os.PathLike, params: Mapping, owned: Sequence[str]) -> Iterator[Path | None]:
    """Generate a set into ``root`` so that no process ever sees it half made.

    Yields None when ``root`` already holds a complete set made with ``params``. Otherwise yields
    an empty staging folder beside ``root``: the caller writes the set and its manifest there,
    and on success the folder is renamed onto ``root`` (one atomic step), so a reader finds
    either no set or a whole one. An exclusive lock on ``.<root name>.lock`` beside ``root``
    makes a second process wait for the first instead of generating the same set again; it then
    finds the set complete. A ``root`` that exists without a complete set (an older, interrupted
    generation) is replaced only if every file in it is one the generator makes (``owned``:
    regular expressions of paths relative to ``root``); otherwise :class:`DataError`, since the
    folder holds someone else's files. On failure the staging folder is removed.
    """
    root = Path(root)
    if manifest_is_current(root, params):
        yield None
        return
    root.parent.mkdir(parents=True, exist_ok=True)
    with file_lock(root.parent / f".{root.name}.lock"):
        if manifest_is_current(root, params):  # made by another process while this one waited
            yield None
            return
        if root.exists():
            _check_owned(root, owned)
        staging = Path(tempfile.mkdtemp(prefix=f".{root.name}.", suffix=".partial", dir=root.parent))
        try:
            yield staging
            if root.exists():
                old = Path(tempfile.mkdtemp(prefix=f".{root.name}.", suffix=".old", dir=root.parent))
                os.replace(root, old / root.name)
                os.replace(staging, root)
                shutil.rmtree(old, ignore_errors=True)
            else:
                os.replace(staging, root)
        except BaseException:
            shutil.rmtree(staging, ignore_errors=True)
            raise


def _check_owned(root: Path, owned: Sequence[str]) -> None:
    """Raise DataError unless ``root`` is a folder holding only files a generator makes."""
    if not root.is_dir():
        raise DataError(f"{root} is a file; choose a folder for the generated set.")
    patterns = [re.compile(p) for p in [re.escape(MANIFEST_FILE), r"(.*/)?\.[^/]*\.tmp"] + list(owned)]
    for path in sorted(root.rglob("*")):
        relative = path.relative_to(root).as_posix()
        if path.is_file() and not any(p.fullmatch(relative) for p in patterns):
            raise DataError(f"{root} exists and holds {relative}, which this generator does not make; "
                            f"choose an empty or new folder for the generated set.")


# ---------------------------------------------------------------- helpers

def resize_bilinear(image: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """Bilinear resize of [C, H, W] to [C, H', W'] (pixel centres aligned, edges clamped)."""
    out_h, out_w = size
    in_h, in_w = image.shape[-2:]
    if (out_h, out_w) == (in_h, in_w):
        return image

    def taps(n_out, n_in):
        src = np.clip((np.arange(n_out) + 0.5) * n_in / n_out - 0.5, 0, n_in - 1)
        lo = np.floor(src).astype(int)
        return lo, np.minimum(lo + 1, n_in - 1), (src - lo).astype(np.float32)

    y0, y1, wy = taps(out_h, in_h)
    x0, x1, wx = taps(out_w, in_w)
    rows = image[:, y0] * (1 - wy)[:, None] + image[:, y1] * wy[:, None]
    return (rows[:, :, x0] * (1 - wx) + rows[:, :, x1] * wx).astype(np.float32)


def _detection_items(detections):
    items = detections.items() if isinstance(detections, Mapping) else enumerate(detections)
    for index, det in items:
        boxes = np.asarray(det["boxes"], dtype=np.float64).reshape(-1, 4)
        scores = np.asarray(det["scores"], dtype=np.float64).reshape(-1)
        labels = np.asarray(det["labels"], dtype=np.int64).reshape(-1)
        if not (len(boxes) == len(scores) == len(labels)):
            raise DataError(f"Detections of sample {index} have {len(boxes)} boxes, {len(scores)} "
                            f"scores and {len(labels)} labels; they must match.")
        yield int(index), boxes, scores, labels


def _check_labels(labels: np.ndarray, n_classes: int, index: int) -> None:
    if len(labels) and (labels.min() < 0 or labels.max() >= n_classes):
        raise DataError(f"Detections of sample {index} use label {int(labels.max())}, outside "
                        f"0..{n_classes - 1}.")


# ---------------------------------------------------------------- frame datasets

class CocoDataset:
    """A COCO-layout split as a frame dataset: the image repeated T times -> [T, 3, H, W].

    ``resize = (H', W')`` stretches every image (bilinear) and its boxes to that size, which
    real COCO needs for batching; evaluation maps detections back to original pixels.
    """

    def __init__(self, image_dir: str | os.PathLike, annotation_file: str | os.PathLike,
                 T: int = 1, *, resize: tuple[int, int] | None = None):
        if T < 1:
            raise DataError(f"T must be at least 1, got {T}.")
        self.source = CocoDetection(image_dir, annotation_file)
        self.T = int(T)
        self.resize = None if resize is None else (int(resize[0]), int(resize[1]))
        self.category_ids = self.source.category_ids
        self.category_names = self.source.category_names
        self.channels = 3

    @property
    def coco(self):
        """The pycocotools ground truth (original image coordinates)."""
        return self.source.coco

    def __len__(self) -> int:
        return len(self.source)

    def _scale(self, index: int) -> tuple[float, float]:
        info = self.source.image_info(index)
        if self.resize is None:
            return 1.0, 1.0
        return self.resize[1] / info["width"], self.resize[0] / info["height"]

    def __getitem__(self, index: int) -> tuple[np.ndarray, dict]:
        if not 0 <= index < len(self):
            raise IndexError(index)
        image, target = self.source[index]
        if self.resize is not None:
            sx, sy = self._scale(index)
            image = resize_bilinear(image, self.resize)
            target["boxes"] = target["boxes"] * np.array([sx, sy, sx, sy], dtype=np.float32)
        x = np.ascontiguousarray(np.broadcast_to(image, (self.T,) + image.shape), dtype=np.float32)
        return x, target

    def coco_predictions(self, detections) -> list[dict]:
        """COCO result dicts (original pixels, category ids) from per-sample detections."""
        out = []
        for index, boxes, scores, labels in _detection_items(detections):
            _check_labels(labels, len(self.category_ids), index)
            sx, sy = self._scale(index)
            xywh = np.concatenate([boxes[:, :2], boxes[:, 2:] - boxes[:, :2]], axis=1) / [sx, sy, sx, sy]
            image_id = self.source.image_ids[index]
            out += [{"image_id": image_id, "category_id": self.category_ids[int(c)],
                     "bbox": [float(v) for v in b], "score": float(s)}
                    for b, s, c in zip(xywh, scores, labels)]
        return out

    def evaluate(self, detections, *, verbose: bool = False, subset: bool = False) -> dict[str, float]:
        """COCO mAP of per-sample detections (see the module docstring); ``subset=True`` scores
        only the samples that ``detections`` covers instead of the whole split."""
        from neurosim.eval.coco_map import evaluate_coco

        image_ids = None
        if subset:
            indices = detections.keys() if isinstance(detections, Mapping) else range(len(detections))
            image_ids = [self.source.image_ids[int(i)] for i in indices]
        return evaluate_coco(self.coco, self.coco_predictions(detections), verbose=verbose, image_ids=image_ids)


class ShapesDataset(CocoDataset):
    """A split of a generated shapes set (see :mod:`neurosim.data.shapes`)."""

    def __init__(self, root: str | os.PathLike, split: str, T: int = 1, *,
                 resize: tuple[int, int] | None = None):
        root = Path(root)
        super().__init__(root / "images" / split, root / "annotations" / f"instances_{split}.json",
                         T, resize=resize)


# ---------------------------------------------------------------- event datasets

class Gen1Dataset:
    """Gen1-layout event recordings: one sample per (file, distinct label timestamp).

    ``<root>/<split>/NAME_td.dat`` + ``NAME_bbox.npy``. Sample ``i`` encodes the events of
    ``[t - window_us, t)`` before its label time ``t`` with ``encoding`` ('gray', 'histogram',
    'voxel'; extra options in ``encoder_options``) into [T, C, H, W]; its boxes are the labels
    at exactly ``t``, clipped to the sensor, scaled to ``resize = (H', W')`` when given; boxes
    left without area are dropped. ``image_id`` = i + 1. Sensor size comes from the ``.dat``
    headers, else ``sensor_size = (W, H)`` (default 304x240).
    """

    def __init__(self, root: str | os.PathLike, split: str, T: int = 5, *, encoding: str = "gray",
                 window_us: int = 250_000, resize: tuple[int, int] | None = None,
                 sensor_size: tuple[int, int] | None = None, encoder_options: Mapping | None = None,
                 classes: Sequence[str] = GEN1_CLASSES):
        self.split_dir = Path(root) / split
        if not self.split_dir.is_dir():
            raise DataError(f"Event split folder {self.split_dir} does not exist.")
        if T < 1 or window_us < 1:
            raise DataError(f"T and window_us must be positive, got T={T}, window_us={window_us}.")
        self.T, self.window_us, self.encoding = int(T), int(window_us), encoding
        self.channels = encoder_channels(encoding)
        self.encoder_options = dict(encoder_options or {})
        self.classes = tuple(classes)
        self.category_ids = [i + 1 for i in range(len(self.classes))]
        self.category_names = list(self.classes)
        dat_paths = sorted(self.split_dir.glob("*_td.dat"))
        if not dat_paths:
            raise DataError(f"Event split folder {self.split_dir} holds no *_td.dat files.")
        self.names, self.event_files, self.file_boxes = [], [], []
        sizes = set()
        for dat in dat_paths:
            name = dat.name[: -len("_td.dat")]
            bbox_path = dat.with_name(f"{name}_bbox.npy")
            if not bbox_path.is_file():
                raise DataError(f"Event file {dat} has no label file {bbox_path.name} beside it.")
            events = DatFile(dat)
            boxes = load_bboxes(bbox_path)
            if len(boxes) and int(boxes["class_id"].max()) >= len(self.classes):
                raise DataError(f"Label file {bbox_path} has class id {int(boxes['class_id'].max())}; "
                                f"only {len(self.classes)} classes are known.")
            header_size = (events.width, events.height) if events.width and events.height else None
            sizes.add(header_size or tuple(sensor_size or GEN1_SENSOR_SIZE))
            self.names.append(name)
            self.event_files.append(events)
            self.file_boxes.append(boxes)
        if len(sizes) != 1:
            raise DataError(f"Event files in {self.split_dir} have different sensor sizes {sorted(sizes)}.")
        self.width, self.height = sizes.pop()
        self.resize = None if resize is None else (int(resize[0]), int(resize[1]))
        self.samples: list[tuple[int, int]] = [
            (f, int(t)) for f, boxes in enumerate(self.file_boxes) for t in np.unique(boxes["t"])
        ]

    @property
    def input_size(self) -> tuple[int, int]:
        """(H, W) of the encoded tensors."""
        return self.resize or (self.height, self.width)

    def __len__(self) -> int:
        return len(self.samples)

    def sample_time(self, index: int) -> tuple[str, int]:
        """(recording name, label timestamp in us) of sample ``index``."""
        f, t = self.samples[index]
        return self.names[f], t

    def _scale(self) -> np.ndarray:
        h, w = self.input_size
        return np.array([w / self.width, h / self.height] * 2, dtype=np.float64)

    def target(self, index: int) -> dict:
        f, t = self.samples[index]
        boxes = self.file_boxes[f]
        boxes = boxes[boxes["t"] == t]
        xyxy = np.stack([boxes["x"], boxes["y"], boxes["x"] + boxes["w"], boxes["y"] + boxes["h"]],
                        axis=1).astype(np.float64).reshape(-1, 4)
        xyxy = np.clip(xyxy, 0, [self.width, self.height, self.width, self.height]) * self._scale()
        keep = (xyxy[:, 2] > xyxy[:, 0]) & (xyxy[:, 3] > xyxy[:, 1])
        return {"boxes": xyxy[keep].astype(np.float32),
                "labels": boxes["class_id"][keep].astype(np.int64),
                "image_id": index + 1}

    def events(self, index: int) -> np.ndarray:
        """The raw events of the window of sample ``index``."""
        f, t = self.samples[index]
        return self.event_files[f].read(t - self.window_us, t)

    def __getitem__(self, index: int) -> tuple[np.ndarray, dict]:
        if not 0 <= index < len(self):
            raise IndexError(index)
        t = self.samples[index][1]
        x = encode(self.encoding, self.events(index), t, T=self.T, height=self.height,
                   width=self.width, window_us=self.window_us, resize=self.resize,
                   **self.encoder_options)
        return x, self.target(index)

    def gt_boxes_per_file(self) -> list[np.ndarray]:
        """The label arrays of every recording (sensor pixels, ``BBOX_DTYPE``)."""
        return [b.copy() for b in self.file_boxes]

    def coco_gt(self):
        """pycocotools ground truth of the targets (one image per sample, input pixels)."""
        h, w = self.input_size
        images, annotations = [], []
        for index in range(len(self)):
            target = self.target(index)
            images.append({"id": index + 1, "width": w, "height": h, "file_name": str(index + 1)})
            for box, label in zip(target["boxes"].astype(np.float64), target["labels"]):
                bbox = [box[0], box[1], box[2] - box[0], box[3] - box[1]]
                annotations.append({"id": len(annotations) + 1, "image_id": index + 1,
                                    "category_id": int(label) + 1, "bbox": [float(v) for v in bbox],
                                    "area": float(bbox[2] * bbox[3]), "iscrowd": 0})
        categories = [{"id": i + 1, "name": n} for i, n in enumerate(self.classes)]
        return coco_from_dataset({"images": images, "annotations": annotations, "categories": categories})

    def prediction_boxes_per_file(self, detections) -> list[np.ndarray]:
        """Per-sample detections (input pixels) -> one ``BBOX_DTYPE`` array per recording
        (sensor pixels, time = the sample's label time)."""
        from neurosim.eval.prophesee import detections_to_boxes

        per_file: list[list[np.ndarray]] = [[] for _ in self.names]
        scale = self._scale()
        for index, boxes, scores, labels in _detection_items(detections):
            _check_labels(labels, len(self.classes), index)
            f, t = self.samples[index]
            per_file[f].append(detections_to_boxes(t, boxes / scale, scores, labels))
        return [np.concatenate(parts) if parts else detections_to_boxes(0, np.zeros((0, 4)), [], [])
                for parts in per_file]

    def evaluate(self, detections, *, protocol: str = "gen1", verbose: bool = False,
                 **options) -> dict[str, float]:
        """mAP of per-sample detections.

        ``protocol='gen1'``: the Prophesee protocol (:func:`neurosim.eval.prophesee.evaluate_gen1`)
        on sensor pixels; ``min_diag`` and ``min_side`` default to 30 and 10 scaled by
        sensor width / 304 (so 15 and 5 at 152x120); other ``options`` are passed on.
        ``protocol='coco'``: plain COCO mAP against :meth:`coco_gt`, every sample counted.
        """
        if protocol == "coco":
            from neurosim.eval.coco_map import evaluate_coco

            preds = []
            for index, boxes, scores, labels in _detection_items(detections):
                _check_labels(labels, len(self.classes), index)
                xywh = np.concatenate([boxes[:, :2], boxes[:, 2:] - boxes[:, :2]], axis=1)
                preds += [{"image_id": index + 1, "category_id": int(c) + 1,
                           "bbox": [float(v) for v in b], "score": float(s)}
                          for b, s, c in zip(xywh, scores, labels)]
            return evaluate_coco(self.coco_gt(), preds, verbose=verbose)
        if protocol != "gen1":
            raise DataError(f"Unknown evaluation protocol '{protocol}'; use 'gen1' or 'coco'.")
        from neurosim.eval.prophesee import GEN1_MIN_DIAG, GEN1_MIN_SIDE, evaluate_gen1

        ratio = self.width / GEN1_SENSOR_SIZE[0]
        options.setdefault("min_diag", GEN1_MIN_DIAG * ratio)
        options.setdefault("min_side", GEN1_MIN_SIDE * ratio)
        return evaluate_gen1(self.gt_boxes_per_file(), self.prediction_boxes_per_file(detections),
                             self.height, self.width, classes=self.classes, verbose=verbose, **options)
