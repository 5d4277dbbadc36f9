"""COCO-layout detection sets read through pycocotools (real COCO 2017 or the synthetic shapes).

Layout: one image folder and one instances JSON, e.g. ``<root>/val2017/*.jpg`` with
``<root>/annotations/instances_val2017.json`` (COCO 2017) or ``<root>/images/<split>/*.png`` with
``<root>/annotations/instances_<split>.json`` (shapes). Images are returned as float32
[3, H, W] RGB in [0, 1]; targets have ``boxes`` float32 [N, 4] xyxy in pixels, ``labels`` int64
[N] = index of the category in ``category_ids`` (contiguous 0..K-1), ``image_id`` int.
Crowd annotations (``iscrowd = 1``) are left out of the targets.
"""
from __future__ import annotations

import contextlib
import io
import json
import os
from pathlib import Path

import numpy as np
from pycocotools.coco import COCO

from neurosim.errors import DataError


@contextlib.contextmanager
def quiet_pycocotools(verbose: bool = False):
    """Swallow pycocotools' progress prints unless ``verbose``."""
    if verbose:
        yield
    else:
        with contextlib.redirect_stdout(io.StringIO()):
            yield


def coco_from_dataset(dataset: dict, *, verbose: bool = False) -> COCO:
    """A pycocotools COCO object indexed from an in-memory instances dict."""
    coco = COCO()
    coco.dataset = dataset
    with quiet_pycocotools(verbose):
        coco.createIndex()
    return coco


def load_coco(annotation_file: str | os.PathLike, *, verbose: bool = False) -> COCO:
    """Load an instances JSON with pycocotools, with a clear error if it is missing or invalid."""
    path = Path(annotation_file)
    if not path.is_file():
        raise DataError(f"Annotation file {path} does not exist.")
    try:
        dataset = json.loads(path.read_text(encoding="utf-8"))
    except (ValueError, UnicodeDecodeError) as exc:
        raise DataError(f"Annotation file {path} is not valid JSON ({exc}).") from None
    if not isinstance(dataset, dict) or not {"images", "annotations", "categories"} <= set(dataset):
        raise DataError(f"Annotation file {path} lacks one of 'images', 'annotations', 'categories'.")
    return coco_from_dataset(dataset, verbose=verbose)


def load_image(path: str | os.PathLike) -> np.ndarray:
    """Read an image file as float32 [3, H, W] RGB in [0, 1] (grey images are repeated)."""
    from PIL import Image

    path = Path(path)
    try:
        with Image.open(path) as img:
            rgb = np.asarray(img.convert("RGB"), dtype=np.float32)
    except FileNotFoundError:
        raise DataError(f"Image {path} does not exist.") from None
    except OSError as exc:
        raise DataError(f"Image {path} cannot be read ({exc}).") from None
    return np.ascontiguousarray(rgb.transpose(2, 0, 1)) / np.float32(255.0)


class CocoDetection:
    """Images and targets of one COCO-layout split (numpy only)."""

    def __init__(self, image_dir: str | os.PathLike, annotation_file: str | os.PathLike):
        self.image_dir = Path(image_dir)
        self.annotation_file = Path(annotation_file)
        self.coco = load_coco(self.annotation_file)
        if not self.image_dir.is_dir():
            raise DataError(f"Image folder {self.image_dir} does not exist.")
        self.image_ids: list[int] = sorted(self.coco.getImgIds())
        present = set(os.listdir(self.image_dir))
        missing = [self.coco.imgs[i]["file_name"] for i in self.image_ids
                   if self.coco.imgs[i]["file_name"] not in present]
        if missing:
            raise DataError(
                f"Image folder {self.image_dir} lacks {len(missing)} image(s) listed in "
                f"{self.annotation_file}, e.g. {missing[0]}."
            )
        self.category_ids: list[int] = sorted(self.coco.getCatIds())
        unknown = {a["category_id"] for a in self.coco.anns.values()} - set(self.category_ids)
        if unknown:
            raise DataError(f"Annotation file {self.annotation_file} uses category id(s) "
                            f"{sorted(unknown)} that its 'categories' list does not define.")
        self.category_names: list[str] = [self.coco.cats[c]["name"] for c in self.category_ids]
        self._label_of = {c: i for i, c in enumerate(self.category_ids)}

    def __len__(self) -> int:
        return len(self.image_ids)

    def image_info(self, index: int) -> dict:
        """The COCO ``images`` entry of sample ``index``."""
        return self.coco.imgs[self.image_ids[index]]

    def load_image(self, index: int) -> np.ndarray:
        """Image ``index`` as float32 [3, H, W] in [0, 1]."""
        return load_image(self.image_dir / self.image_info(index)["file_name"])

    def target(self, index: int) -> dict:
        """Ground truth of image ``index``: boxes xyxy float32 [N, 4], labels int64 [N], image_id."""
        image_id = self.image_ids[index]
        anns = [a for a in self.coco.imgToAnns.get(image_id, []) if not a.get("iscrowd", 0)]
        xywh = np.array([a["bbox"] for a in anns], dtype=np.float32).reshape(-1, 4)
        boxes = np.concatenate([xywh[:, :2], xywh[:, :2] + xywh[:, 2:]], axis=1)
        labels = np.array([self._label_of[a["category_id"]] for a in anns], dtype=np.int64)
        return {"boxes": boxes, "labels": labels, "image_id": int(image_id)}

    def __getitem__(self, index: int) -> tuple[np.ndarray, dict]:
        return self.load_image(index), self.target(index)
