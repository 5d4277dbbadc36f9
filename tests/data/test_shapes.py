import contextlib
import io
import json

import numpy as np
import pytest
from pycocotools.coco import COCO

from neurosim.data.datasets import ShapesDataset
from neurosim.data.shapes import (
    generate_shapes,
    load_shapes,
    render_shapes_image,
    shape_mask,
)
from neurosim.errors import DataError

COUNTS = {"train": 6, "val": 3}


@pytest.fixture(scope="module")
def shapes_root(tmp_path_factory):
    return generate_shapes(tmp_path_factory.mktemp("shapes"), seed=3, size=64, counts=COUNTS)


def _all_files(root):
    return {p.relative_to(root): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


def test_layout_and_determinism(shapes_root, tmp_path):
    other = generate_shapes(tmp_path / "again", seed=3, size=64, counts=COUNTS)
    assert _all_files(shapes_root) == _all_files(other)
    names = sorted(str(p) for p in _all_files(shapes_root))
    assert "annotations/instances_train.json" in names and "images/val/000003.png" in names
    different = generate_shapes(tmp_path / "seed4", seed=4, size=64, counts=COUNTS)
    assert _all_files(different) != _all_files(shapes_root)


def test_json_loads_in_pycocotools_and_boxes_are_valid(shapes_root):
    for split, count in COUNTS.items():
        with contextlib.redirect_stdout(io.StringIO()):
            coco = COCO(str(shapes_root / "annotations" / f"instances_{split}.json"))
        assert len(coco.getImgIds()) == count
        assert [c["name"] for c in coco.loadCats(coco.getCatIds())] == ["circle", "square", "triangle"]
        for image_id in coco.getImgIds():
            anns = coco.loadAnns(coco.getAnnIds(imgIds=image_id))
            assert 1 <= len(anns) <= 6
            for a in anns:
                x, y, w, h = a["bbox"]
                assert a["id"] >= 1 and a["iscrowd"] == 0 and a["category_id"] in (1, 2, 3)
                assert x >= 0 and y >= 0 and w > 0 and h > 0 and x + w <= 64 and y + h <= 64
                assert 0 < a["area"] <= w * h


def test_sizes_span_small_to_large():
    rng = np.random.default_rng(0)
    sides = []
    for _ in range(40):
        _, objs = render_shapes_image(rng, 128, 3, ["circle", "square", "triangle"])
        sides += [max(o.bbox[2], o.bbox[3]) for o in objs]
    assert min(sides) < 20 and max(sides) > 60


def test_no_object_is_hidden_by_later_ones():
    rng = np.random.default_rng(1)
    for _ in range(20):  # crowded images: 6 large objects wanted
        _, objs = render_shapes_image(rng, 96, 3, ["circle", "square", "triangle"],
                                      objects=(6, 6), scale_range=(0.4, 0.6))
        assert 1 <= len(objs) <= 6
        assert all(o.visible_fraction >= 0.6 for o in objs)
        assert objs[-1].visible_fraction == 1.0


def test_shape_masks_are_distinct():
    masks = {k: shape_mask(k, 64, 32, 32, 20, 0.0) for k in ("circle", "square", "triangle", "cross", "star")}
    areas = {k: int(m.sum()) for k, m in masks.items()}
    assert len(set(areas.values())) == 5
    assert abs(areas["circle"] - np.pi * 400) < 40
    with pytest.raises(DataError):
        shape_mask("hexagon", 64, 32, 32, 20, 0.0)


def test_generation_is_idempotent_and_guards_parameters(shapes_root):
    stamp = (shapes_root / "images" / "train" / "000001.png").stat().st_mtime_ns
    generate_shapes(shapes_root, seed=3, size=64, counts=COUNTS)
    assert (shapes_root / "images" / "train" / "000001.png").stat().st_mtime_ns == stamp
    manifest = json.loads((shapes_root / "manifest.json").read_text())
    assert manifest["params"]["seed"] == 3
    with pytest.raises(DataError, match="other parameters"):
        generate_shapes(shapes_root, seed=5, size=64, counts=COUNTS)


def test_interrupted_generation_is_redone(tmp_path):
    root = generate_shapes(tmp_path / "s", size=32, counts={"val": 2})
    (root / "manifest.json").unlink()
    (root / "images" / "val" / "000007.png").write_bytes(b"stale")
    generate_shapes(root, size=32, counts={"val": 2})
    assert sorted(p.name for p in (root / "images" / "val").iterdir()) == ["000001.png", "000002.png"]


def test_bad_classes_are_rejected(tmp_path):
    with pytest.raises(DataError):
        generate_shapes(tmp_path / "x", classes=("circle", "blob"), counts={"val": 1})
    assert not (tmp_path / "x").exists()


def test_loader_and_dataset(shapes_root):
    split = load_shapes(shapes_root, "val")
    image, target = split[0]
    assert image.shape == (3, 64, 64) and image.dtype == np.float32
    assert 0 <= image.min() and image.max() <= 1
    assert target["boxes"].dtype == np.float32 and target["labels"].dtype == np.int64
    ds = ShapesDataset(shapes_root, "val", T=3)
    x, t2 = ds[0]
    assert x.shape == (3, 3, 64, 64) and x.dtype == np.float32
    assert np.array_equal(x[0], image) and np.array_equal(x[2], image)
    np.testing.assert_array_equal(t2["boxes"], target["boxes"])
    assert len(ds) == 3
