import numpy as np
import pytest

from neurosim.data.gen1_io import load_bboxes, load_events, read_dat_header
from neurosim.data.gen1_synth import (
    GEN1_RESOLUTIONS,
    generate_gen1_synth,
    resolve_resolution,
    simulate_recording,
)
from neurosim.errors import DataError

SMALL = {"resolution": (96, 72), "n_files": {"train": 2, "val": 1}, "duration_s": 0.7,
             "label_period_us": 100_000, "first_label_us": 250_000}


@pytest.fixture(scope="module")
def synth_root(tmp_path_factory):
    return generate_gen1_synth(tmp_path_factory.mktemp("g1"), seed=1, **SMALL)


def _all_files(root):
    return {p.relative_to(root): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


def test_layout_and_determinism(synth_root, tmp_path):
    files = _all_files(synth_root)
    assert sorted(str(p) for p in files) == [
        "manifest.json", "train/synth_train_000_bbox.npy", "train/synth_train_000_td.dat",
        "train/synth_train_001_bbox.npy", "train/synth_train_001_td.dat",
        "val/synth_val_000_bbox.npy", "val/synth_val_000_td.dat"]
    assert _all_files(generate_gen1_synth(tmp_path / "again", seed=1, **SMALL)) == files


def test_files_follow_the_gen1_formats(synth_root):
    for dat in sorted(synth_root.rglob("*_td.dat")):
        header = read_dat_header(dat)
        assert (header.width, header.height, header.version) == (96, 72, 2)
        ev = load_events(dat)
        assert len(ev) > 1000
        assert np.all(np.diff(ev["t"]) >= 0) and ev["t"].min() > 0 and ev["t"].max() <= 700_000
        assert ev["x"].max() < 96 and ev["y"].max() < 72
        assert set(np.unique(ev["p"])) == {0, 1}
        raw = np.load(str(dat).replace("_td.dat", "_bbox.npy"))
        assert raw.dtype.itemsize == 33 and raw.dtype.names[0] == "ts"
        boxes = load_bboxes(str(dat).replace("_td.dat", "_bbox.npy"))
        assert list(np.unique(boxes["t"])) == [250_000, 350_000, 450_000, 550_000, 650_000]
        assert np.all(boxes["x"] >= 0) and np.all(boxes["x"] + boxes["w"] <= 96)
        assert np.all(boxes["y"] >= 0) and np.all(boxes["y"] + boxes["h"] <= 72)
        assert set(boxes["class_id"]) <= {0, 1}


def test_generation_is_idempotent_and_guards_parameters(synth_root):
    dat = synth_root / "val" / "synth_val_000_td.dat"
    stamp = dat.stat().st_mtime_ns
    generate_gen1_synth(synth_root, seed=1, **SMALL)
    assert dat.stat().st_mtime_ns == stamp
    with pytest.raises(DataError, match="other parameters"):
        generate_gen1_synth(synth_root, seed=2, **SMALL)


def test_moving_objects_make_the_events():
    rng = np.random.default_rng(5)
    events, labels, scene = simulate_recording(rng, 120, 96, 600_000, pan_speed_px_s=0.0,
                                               noise_rate_hz=0.0, objects=(2, 2))
    assert scene.pan_v == (0.0, 0.0)
    t_label = 450_000
    window = events[(events["t"] >= t_label - 30_000) & (events["t"] < t_label)]
    near = np.zeros((96, 120), bool)
    for b in labels[labels["t"] == t_label]:
        x0, y0 = int(b["x"]) - 3, int(b["y"]) - 3
        near[max(y0, 0):int(b["y"] + b["h"]) + 3, max(x0, 0):int(b["x"] + b["w"]) + 3] = True
    inside = near[window["y"], window["x"]]
    density_near = inside.sum() / near.sum()
    density_far = (~inside).sum() / (~near).sum()
    assert inside.sum() > 200
    assert density_near > 20 * max(density_far, 1e-9)


def test_resolution_presets():
    assert resolve_resolution(None, "half") == GEN1_RESOLUTIONS["half"] == (152, 120)
    assert resolve_resolution("full", None) == (304, 240)
    assert resolve_resolution((64, 48), None) == (64, 48)
    with pytest.raises(DataError):
        resolve_resolution(None, "quarter")
    with pytest.raises(DataError):
        resolve_resolution((64, 48), "half")


def test_half_size_recording_is_scaled():
    rng = np.random.default_rng(0)
    _, labels, scene = simulate_recording(rng, 152, 120, 300_000, objects=(3, 3))
    assert len(scene.objects) == 3
    cars = labels[labels["class_id"] == 0]
    assert np.all(cars["w"] <= 46) and np.all(cars["w"] >= 19)
