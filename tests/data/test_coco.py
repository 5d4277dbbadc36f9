import json
import os

import numpy as np
import pytest
from PIL import Image

from neurosim.data.coco import CocoDetection, load_coco
from neurosim.errors import DataError


def make_set(tmp_path, *, n_images=2, annotations=None, write_images=True):
    img_dir = tmp_path / "val2017"
    img_dir.mkdir()
    images = []
    for i in range(1, n_images + 1):
        name = f"{i:012d}.jpg"
        images.append({"id": i, "file_name": name, "width": 8, "height": 6})
        if write_images:
            Image.fromarray(np.full((6, 8, 3), 40 * i, np.uint8)).save(img_dir / name)
    if annotations is None:
        annotations = [
            {"id": 1, "image_id": 1, "category_id": 18, "bbox": [1, 2, 3, 4], "area": 12, "iscrowd": 0},
            {"id": 2, "image_id": 1, "category_id": 1, "bbox": [0, 0, 8, 6], "area": 48, "iscrowd": 1},
            {"id": 3, "image_id": 2, "category_id": 1, "bbox": [2, 1, 2, 2], "area": 4, "iscrowd": 0},
        ]
    ann = tmp_path / "annotations" / "instances_val2017.json"
    ann.parent.mkdir()
    ann.write_text(json.dumps({"images": images, "annotations": annotations,
                               "categories": [{"id": 1, "name": "person"}, {"id": 18, "name": "dog"}]}))
    return img_dir, ann


def test_reads_images_and_targets(tmp_path):
    img_dir, ann = make_set(tmp_path)
    ds = CocoDetection(img_dir, ann)
    assert len(ds) == 2 and ds.category_ids == [1, 18] and ds.category_names == ["person", "dog"]
    image, target = ds[0]
    assert image.shape == (3, 6, 8) and image.dtype == np.float32
    np.testing.assert_allclose(image, 40 / 255, rtol=1e-2)
    np.testing.assert_array_equal(target["boxes"], [[1, 2, 4, 6]])  # crowd box left out
    np.testing.assert_array_equal(target["labels"], [1])
    assert target["image_id"] == 1


def test_missing_annotation_file(tmp_path):
    with pytest.raises(DataError, match="instances_val2017.json does not exist"):
        load_coco(tmp_path / "instances_val2017.json")
    assert os.listdir(tmp_path) == []


def test_invalid_annotation_file(tmp_path):
    bad = tmp_path / "bad.json"
    bad.write_text("{not json")
    with pytest.raises(DataError, match="not valid JSON"):
        load_coco(bad)
    bad.write_text("[]")
    with pytest.raises(DataError, match="lacks"):
        load_coco(bad)


def test_missing_images(tmp_path):
    img_dir, ann = make_set(tmp_path, write_images=False)
    with pytest.raises(DataError, match="lacks 2 image"):
        CocoDetection(img_dir, ann)
    with pytest.raises(DataError, match="does not exist"):
        CocoDetection(tmp_path / "train2017", ann)


def test_annotation_with_undefined_category(tmp_path):
    img_dir, ann = make_set(tmp_path, annotations=[
        {"id": 1, "image_id": 1, "category_id": 99, "bbox": [1, 2, 3, 4], "area": 12, "iscrowd": 0}])
    with pytest.raises(DataError, match="99"):
        CocoDetection(img_dir, ann)
