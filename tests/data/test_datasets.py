import numpy as np
import pytest

from neurosim.data.datasets import CocoDataset, Gen1Dataset, resize_bilinear
from neurosim.data.encoders import encode_gray
from neurosim.data.gen1_io import load_events
from neurosim.errors import DataError

from .test_coco import make_set
from .writers import write_bbox_npy, write_dat_struct


@pytest.fixture
def gen1_root(tmp_path):
    """Two recordings written with the test's own writers."""
    rng = np.random.default_rng(0)
    (tmp_path / "val").mkdir()
    for name, n in (("rec_a", 400), ("rec_b", 300)):
        t = np.sort(rng.integers(0, 1_200_000, n))
        write_dat_struct(tmp_path / "val" / f"{name}_td.dat", t, rng.integers(0, 64, n),
                         rng.integers(0, 48, n), rng.integers(0, 2, n), width=64, height=48)
    write_bbox_npy(tmp_path / "val" / "rec_a_bbox.npy", [
        (599_999, 10, 5, 20, 12, 0, 1, 1.0), (599_999, 50, 40, 30, 20, 1, 2, 1.0),  # second one clipped
        (1_099_999, 12, 6, 20, 12, 0, 1, 1.0)])
    write_bbox_npy(tmp_path / "val" / "rec_b_bbox.npy", [(899_999, 1, 1, 16, 16, 1, 0, 1.0)], legacy=False)
    return tmp_path


def test_gen1_samples_and_targets(gen1_root):
    ds = Gen1Dataset(gen1_root, "val", T=4)
    assert (ds.width, ds.height) == (64, 48) and len(ds) == 3
    assert [ds.sample_time(i) for i in range(3)] == [("rec_a", 599_999), ("rec_a", 1_099_999), ("rec_b", 899_999)]
    x, target = ds[0]
    assert x.shape == (4, 3, 48, 64) and x.dtype == np.float32
    events = load_events(gen1_root / "val" / "rec_a_td.dat")
    np.testing.assert_array_equal(x, encode_gray(events, 599_999, T=4, height=48, width=64))
    np.testing.assert_array_equal(target["boxes"], [[10, 5, 30, 17], [50, 40, 64, 48]])
    np.testing.assert_array_equal(target["labels"], [0, 1])
    assert target["image_id"] == 1 and target["labels"].dtype == np.int64


@pytest.mark.parametrize("encoding,channels", [("histogram", 2), ("voxel", 2)])
def test_gen1_other_encodings_and_resize(gen1_root, encoding, channels):
    ds = Gen1Dataset(gen1_root, "val", T=2, encoding=encoding, window_us=100_000, resize=(96, 128))
    x, target = ds[2]
    assert x.shape == (2, channels, 96, 128)
    np.testing.assert_array_equal(target["boxes"], [[2, 2, 34, 34]])


def test_gen1_perfect_detections_score_one(gen1_root):
    ds = Gen1Dataset(gen1_root, "val", T=1, resize=(96, 128))
    perfect = [{"boxes": ds[i][1]["boxes"], "scores": np.ones(len(ds[i][1]["labels"])), "labels": ds[i][1]["labels"]}
               for i in range(len(ds))]
    assert ds.evaluate(perfect, protocol="coco")["AP"] == pytest.approx(1.0)
    # gen1 protocol: defaults scale min_diag/min_side by 64/304; the clipped box differs from the raw label
    stats = ds.evaluate(perfect, skip_ts=0)
    assert 0.3 < stats["AP"] < 1.0
    raw = [{"boxes": np.asarray([[20, 10, 60, 34], [100, 80, 160, 120]], np.float32), "scores": [1, 1], "labels": [0, 1]},
           {"boxes": np.asarray([[24, 12, 64, 36]], np.float32), "scores": [1], "labels": [0]},
           {"boxes": np.asarray([[2, 2, 34, 34]], np.float32), "scores": [1], "labels": [1]}]
    assert ds.evaluate(raw, skip_ts=0)["AP"] == pytest.approx(1.0)
    assert ds.evaluate([], skip_ts=0)["AP"] == 0.0
    with pytest.raises(DataError, match="label 5"):
        ds.evaluate([{"boxes": [[0, 0, 1, 1]], "scores": [1], "labels": [5]}])


def test_gen1_bad_layouts(tmp_path, gen1_root):
    with pytest.raises(DataError, match="does not exist"):
        Gen1Dataset(tmp_path, "test", T=1)
    (gen1_root / "val" / "rec_b_bbox.npy").unlink()
    with pytest.raises(DataError, match="rec_b_bbox.npy"):
        Gen1Dataset(gen1_root, "val", T=1)
    (tmp_path / "empty").mkdir()
    with pytest.raises(DataError, match="no \\*_td.dat"):
        Gen1Dataset(tmp_path, "empty", T=1)


def test_coco_dataset_resize_and_evaluation(tmp_path):
    img_dir, ann = make_set(tmp_path)
    ds = CocoDataset(img_dir, ann, T=2, resize=(12, 32))
    x, target = ds[0]
    assert x.shape == (2, 3, 12, 32)
    np.testing.assert_array_equal(target["boxes"], [[4, 4, 16, 12]])
    dets = [{"boxes": ds[i][1]["boxes"], "scores": np.ones(len(ds[i][1]["boxes"])), "labels": ds[i][1]["labels"]}
            for i in range(len(ds))]
    preds = ds.coco_predictions(dets)
    assert preds[0]["bbox"] == [1, 2, 3, 4] and preds[0]["category_id"] == 18
    assert ds.evaluate(dets)["AP"] == pytest.approx(1.0)
    with pytest.raises(IndexError):
        ds[2]


def test_resize_bilinear():
    img = np.arange(4, dtype=np.float32).reshape(1, 2, 2)
    np.testing.assert_array_equal(resize_bilinear(img, (2, 2)), img)
    up = resize_bilinear(img, (4, 4))
    np.testing.assert_allclose(up[0, 0], [0, 0.25, 0.75, 1])
    np.testing.assert_allclose(up[0, :, 0], [0, 0.5, 1.5, 2])
