import os
import struct

import numpy as np
import pytest

from neurosim.data import gen1_io
from neurosim.data.gen1_io import (
    BBOX_DTYPE,
    DatFile,
    load_bboxes,
    load_events,
    read_dat_header,
    write_bboxes,
    write_dat,
)
from neurosim.errors import FormatError

from .writers import (
    LEGACY_DTYPE,
    NEW_DTYPE,
    random_events,
    write_bbox_npy,
    write_dat_struct,
    write_dat_tofile,
)


def _assert_events(ev, t, x, y, p):
    np.testing.assert_array_equal(ev["t"], t)
    np.testing.assert_array_equal(ev["x"], x)
    np.testing.assert_array_equal(ev["y"], y)
    np.testing.assert_array_equal(ev["p"], p)


def test_dat_with_header_reads_back_exactly(tmp_path):
    t, x, y, p = random_events(np.random.default_rng(0), 500)
    x[0], y[0] = 303, 239  # extreme coordinates
    path = write_dat_struct(tmp_path / "a_td.dat", t, x, y, p)
    header = read_dat_header(path)
    assert (header.width, header.height, header.version, header.n_events) == (304, 240, 2, 500)
    _assert_events(load_events(path), t, x, y, p)
    ts, _, _, ps = load_events(path, separate=True)
    np.testing.assert_array_equal(ts, t)
    np.testing.assert_array_equal(ps, p)


def test_legacy_headerless_dat(tmp_path):
    t, x, y, p = random_events(np.random.default_rng(1), 300)
    path = write_dat_struct(tmp_path / "legacy_td.dat", t, x, y, p, header=False)
    header = read_dat_header(path)
    assert header.data_offset == 0 and header.width is None and header.n_events == 300
    _assert_events(load_events(path), t, x, y, p)


def test_records_are_memory_mapped(tmp_path):
    t, x, y, p = random_events(np.random.default_rng(2), 100)
    f = DatFile(write_dat_tofile(tmp_path / "m_td.dat", t, x, y, p))
    assert isinstance(f.records, np.memmap)
    _assert_events(f.read(), t, x, y, p)


def test_window_is_half_open_at_its_edges(tmp_path):
    t = [100, 199, 200, 250, 299, 300, 301]
    path = write_dat_struct(tmp_path / "w_td.dat", t, range(7), [0] * 7, [1] * 7)
    np.testing.assert_array_equal(load_events(path, 200, 300)["t"], [200, 250, 299])
    np.testing.assert_array_equal(load_events(path, None, 200)["t"], [100, 199])
    np.testing.assert_array_equal(load_events(path, 300)["t"], [300, 301])
    assert len(load_events(path, 400, 500)) == 0


@pytest.mark.parametrize("block", [65536, 4, 1])
def test_window_query_tolerates_timestamp_inversions(tmp_path, monkeypatch, block):
    monkeypatch.setattr(gen1_io, "INDEX_BLOCK", block)
    rng = np.random.default_rng(3)
    t = np.sort(rng.integers(0, 10_000, 200))
    t = t + rng.integers(-30, 30, 200)  # small jitter: not monotonic any more
    t[50] = t[49] - 500                 # one larger inversion
    t = np.clip(t, 0, None)
    assert np.any(np.diff(t) < 0)
    x, y, p = rng.integers(0, 304, 200), rng.integers(0, 240, 200), rng.integers(0, 2, 200)
    f = DatFile(write_dat_struct(tmp_path / "inv_td.dat", t, x, y, p))
    for lo, hi in [(0, 10_000), (1000, 2000), (int(t[50]), int(t[50]) + 1), (4321, 4400), (5000, 5000)]:
        want = np.flatnonzero((t >= lo) & (t < hi))
        got = f.read(lo, hi)
        _assert_events(got, t[want], x[want], y[want], p[want])  # every event, in file order


def test_empty_event_file(tmp_path):
    path = write_dat_struct(tmp_path / "e_td.dat", [], [], [], [])
    assert len(load_events(path)) == 0
    assert len(load_events(path, 0, 100)) == 0


def test_truncated_dat_is_rejected(tmp_path):
    t, x, y, p = random_events(np.random.default_rng(4), 10)
    path = write_dat_struct(tmp_path / "t_td.dat", t, x, y, p)
    with open(path, "ab") as f:
        f.write(b"\x01\x02\x03")
    before = sorted(os.listdir(tmp_path))
    with pytest.raises(FormatError, match="truncated"):
        load_events(path)
    assert sorted(os.listdir(tmp_path)) == before


def test_unsupported_event_type_is_rejected(tmp_path):
    path = write_dat_struct(tmp_path / "u_td.dat", [1], [1], [1], [1], type_byte=12, size_byte=8)
    with pytest.raises(FormatError, match="Event2D"):
        load_events(path)


def test_missing_files_are_reported(tmp_path):
    with pytest.raises(FormatError, match="does not exist"):
        load_events(tmp_path / "nope_td.dat")
    with pytest.raises(FormatError, match="does not exist"):
        load_bboxes(tmp_path / "nope_bbox.npy")


def test_project_writer_matches_the_format(tmp_path):
    t, x, y, p = random_events(np.random.default_rng(5), 50)
    ev = np.zeros(50, dtype=gen1_io.EVENT_DTYPE)
    ev["t"], ev["x"], ev["y"], ev["p"] = t, x, y, p
    path = write_dat(tmp_path / "w_td.dat", ev, width=304, height=240)
    data = path.read_bytes()
    header_end = data.index(b"\x00\x08")
    assert b"% Height 240\n" in data[:header_end] and b"% Width 304\n" in data[:header_end]
    body = data[header_end + 2:]
    assert len(body) == 8 * 50
    for i in (0, 17, 49):
        ti, w = struct.unpack_from("<II", body, 8 * i)
        assert (ti, w & 0x3FFF, (w >> 14) & 0x3FFF, (w >> 28) & 1) == (t[i], x[i], y[i], p[i])
    legacy = write_dat(tmp_path / "l_td.dat", ev, width=304, height=240, header=False)
    assert legacy.stat().st_size == 400
    _assert_events(load_events(legacy), t, x, y, p)


def test_project_writer_refuses_bad_events_and_writes_nothing(tmp_path):
    ev = np.zeros(2, dtype=gen1_io.EVENT_DTYPE)
    ev["x"] = [1, 400]
    with pytest.raises(FormatError, match="outside"):
        write_dat(tmp_path / "bad_td.dat", ev, width=304, height=240)
    assert os.listdir(tmp_path) == []


ROWS = [(49_999, 10.5, 20.25, 30.0, 40.0, 0, 7, 0.9), (49_999, 1, 2, 3, 4, 1, 8, 1.0),
        (99_999, 5, 6, 7, 8, 0, 7, 0.5)]


@pytest.mark.parametrize("legacy", [True, False])
def test_bbox_files_read_back_normalized(tmp_path, legacy):
    path = write_bbox_npy(tmp_path / "a_bbox.npy", ROWS, legacy=legacy)
    assert np.load(path).dtype.itemsize == (33 if legacy else NEW_DTYPE.itemsize)
    boxes = load_bboxes(path)
    assert boxes.dtype == BBOX_DTYPE
    for got, (t, x, y, w, h, c, tr, conf) in zip(boxes, ROWS):
        assert (got["t"], got["class_id"], got["track_id"]) == (t, c, tr)
        np.testing.assert_array_equal([got["x"], got["y"], got["w"], got["h"]], np.float32([x, y, w, h]))
        assert got["class_confidence"] == np.float32(conf)


@pytest.mark.parametrize("legacy", [True, False])
def test_project_bbox_writer_round_trip(tmp_path, legacy):
    boxes = load_bboxes(write_bbox_npy(tmp_path / "src_bbox.npy", ROWS))
    path = write_bboxes(tmp_path / "out_bbox.npy", boxes, legacy=legacy)
    raw = np.load(path)
    assert raw.dtype == (LEGACY_DTYPE if legacy else NEW_DTYPE)
    np.testing.assert_array_equal(load_bboxes(path), boxes)


@pytest.mark.parametrize("bad", [
    np.zeros((3, 4), dtype=np.float32),
    np.zeros(3, dtype=[("t", "<i8"), ("x", "<f4")]),
    np.zeros(3, dtype=[("ts", "<u8"), ("x", "<f4"), ("y", "<f4"), ("w", "<f4"), ("h", "<f4"),
                       ("class_id", "u1"), ("confidence", "<f4"), ("track_id", "U4")]),
])
def test_bbox_with_wrong_dtype_is_rejected(tmp_path, bad):
    path = tmp_path / "bad_bbox.npy"
    np.save(path, bad)
    before = sorted(os.listdir(tmp_path))
    with pytest.raises(FormatError, match="bad_bbox.npy"):
        load_bboxes(path)
    assert sorted(os.listdir(tmp_path)) == before


def test_garbage_npy_is_rejected(tmp_path):
    path = tmp_path / "junk_bbox.npy"
    path.write_bytes(b"not a numpy file")
    with pytest.raises(FormatError, match="junk_bbox.npy"):
        load_bboxes(path)


def test_dat_file_pickles_for_worker_processes(tmp_path):
    import pickle

    t, x, y, p = random_events(np.random.default_rng(6), 200)
    f = DatFile(write_dat_tofile(tmp_path / "p_td.dat", t, x, y, p))
    first = f.read(100_000, 600_000)
    clone = pickle.loads(pickle.dumps(f))
    np.testing.assert_array_equal(clone.read(100_000, 600_000), first)
