"""Independent writers of Gen1 files for the tests (struct / ndarray.tofile, not the project's writer)."""
from __future__ import annotations

import struct
from pathlib import Path

import numpy as np

# Spelled out here on purpose, independently of neurosim.data.gen1_io.
LEGACY_DTYPE = np.dtype({
    "names": ["ts", "x", "y", "w", "h", "class_id", "confidence", "track_id"],
    "formats": ["<u8", "<f4", "<f4", "<f4", "<f4", "u1", "<f4", "<u4"],
    "offsets": [0, 8, 12, 16, 20, 24, 25, 29],
    "itemsize": 33,
})
NEW_DTYPE = np.dtype([("t", "<i8"), ("x", "<f4"), ("y", "<f4"), ("w", "<f4"), ("h", "<f4"),
                      ("class_id", "<u4"), ("track_id", "<u4"), ("class_confidence", "<f4")])


def write_dat_struct(path, t, x, y, p, *, width=304, height=240, header=True,
                     type_byte=0, size_byte=8):
    """A Gen1 .dat file written record by record with struct."""
    with open(path, "wb") as f:
        if header:
            f.write(b"% Date 2024-01-01 00:00:00\n")
            f.write(f"% Height {height}\n% Width {width}\n% Version 2\n".encode())
            f.write(struct.pack("<BB", type_byte, size_byte))
        f.writelines(struct.pack("<II", int(ti), int(xi) | (int(yi) << 14) | (int(pi) << 28))
                     for ti, xi, yi, pi in zip(t, x, y, p))
    return Path(path)


def write_dat_tofile(path, t, x, y, p, *, width=304, height=240):
    """Same format through a plain record array and ndarray.tofile (fast, for bigger files)."""
    rec = np.empty(len(t), dtype=[("t", "<u4"), ("w", "<u4")])
    rec["t"] = t
    rec["w"] = np.asarray(x, np.uint32) | (np.asarray(y, np.uint32) << 14) | (np.asarray(p, np.uint32) << 28)
    with open(path, "wb") as f:
        f.write(f"% Height {height}\n% Width {width}\n% Version 2\n".encode() + bytes([0, 8]))
        rec.tofile(f)
    return Path(path)


def write_bbox_npy(path, rows, *, legacy=True):
    """rows: (t, x, y, w, h, class_id, track_id, confidence) tuples."""
    if legacy:
        arr = np.array([(t, x, y, w, h, c, conf, tr) for t, x, y, w, h, c, tr, conf in rows],
                       dtype=LEGACY_DTYPE)
    else:
        arr = np.array([tuple(r) for r in rows], dtype=NEW_DTYPE)
    np.save(path, arr)
    return Path(path)


def random_events(rng, n, width=304, height=240, t_max=1_000_000):
    t = np.sort(rng.integers(0, t_max, n))
    return t, rng.integers(0, width, n), rng.integers(0, height, n), rng.integers(0, 2, n)
