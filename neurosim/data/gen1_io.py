"""Prophesee Gen1 file formats: ``*_td.dat`` events and ``*_bbox.npy`` box labels.

``.dat`` layout (all integers little-endian)::

    optional header: text lines that start with the two bytes b"% "
                     (e.g. "% Height 240", "% Width 304", "% Version 2");
                     it ends at the first line that does not start with b"% ".
    after a header : 1 byte event type (0 = Event2D), 1 byte event size (8)
                     (omitted when the header says "% Version 1")
    records        : uint32 t [us], uint32 w
                     x = w & 0x3FFF, y = (w >> 14) & 0x3FFF, p = (w >> 28) & 1

Legacy files have no header and no type/size bytes; their records start at byte 0.

Timestamps in real recordings are not perfectly monotonic. Window queries are therefore
answered from a block index: for blocks of ``INDEX_BLOCK`` events we keep the running
maximum of ``t`` up to the end of each block and the minimum of ``t`` from each block to the
end of the file. Every event with ``t >= t_start`` lies at or after the first block whose
running maximum reaches ``t_start``; every event with ``t < t_end`` lies before the first block
whose suffix minimum reaches ``t_end``. The candidate blocks are then filtered exactly, so a
query returns every event of the window whatever the size of the inversions, in file order.

Box labels are normalized to :data:`BBOX_DTYPE` whichever of the two Gen1 dtypes the file uses.
"""
from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from neurosim.errors import FormatError
from neurosim.fsutil import atomic_path

#: Decoded events: time [us], column, row, polarity (1 = brighter / ON, 0 = darker / OFF).
EVENT_DTYPE = np.dtype([("t", "<i8"), ("x", "<u2"), ("y", "<u2"), ("p", "u1")])

#: Raw on-disk record of a Gen1 ``.dat`` file.
DAT_RECORD_DTYPE = np.dtype([("t", "<u4"), ("w", "<u4")])

#: Legacy packed Gen1 box dtype (itemsize 33).
LEGACY_BBOX_DTYPE = np.dtype(
    {
        "names": ["ts", "x", "y", "w", "h", "class_id", "confidence", "track_id"],
        "formats": ["<u8", "<f4", "<f4", "<f4", "<f4", "u1", "<f4", "<u4"],
        "offsets": [0, 8, 12, 16, 20, 24, 25, 29],
        "itemsize": 33,
    }
)

#: Newer Prophesee box dtype; also the normalized dtype every reader returns.
BBOX_DTYPE = np.dtype(
    [
        ("t", "<i8"),
        ("x", "<f4"),
        ("y", "<f4"),
        ("w", "<f4"),
        ("h", "<f4"),
        ("class_id", "<u4"),
        ("track_id", "<u4"),
        ("class_confidence", "<f4"),
    ]
)

# Field names of each accepted box layout, mapped onto BBOX_DTYPE names.
_LEGACY_FIELDS = {"ts": "t", "x": "x", "y": "y", "w": "w", "h": "h", "class_id": "class_id",
                  "confidence": "class_confidence", "track_id": "track_id"}
_NEW_FIELDS = {name: name for name in BBOX_DTYPE.names}

EVENT_SIZE = 8
EVENT_TYPE_2D = 0
INDEX_BLOCK = 1 << 16
_COORD_MASK = 0x3FFF


@dataclass(frozen=True)
class DatHeader:
    """What the header of a ``.dat`` file says, and where its records start."""

    width: int | None
    height: int | None
    version: int | None
    data_offset: int
    n_events: int
    fields: dict = field(default_factory=dict)


def _require_file(path: Path, what: str) -> None:
    if not path.is_file():
        raise FormatError(f"{what} {path} does not exist.")


def read_dat_header(path: str | os.PathLike) -> DatHeader:
    """Parse the optional text header of a ``.dat`` file and check the record area's size."""
    path = Path(path)
    _require_file(path, "Event file")
    lines: list[bytes] = []
    with open(path, "rb") as f:
        while True:
            start = f.tell()
            head = f.read(2)
            if head not in (b"% ", b"%\n"):
                f.seek(start)
                break
            lines.append((head + (f.readline() if head == b"% " else b"")).rstrip(b"\r\n"))
        fields = _parse_header_fields(lines)
        version = _int_field(fields, "version", path)
        offset = f.tell()
        if lines and (version is None or version >= 2):
            type_size = f.read(2)
            if len(type_size) < 2:
                raise FormatError(f"Event file {path} ends inside its header (no event type/size bytes).")
            ev_type, ev_size = type_size[0], type_size[1]
            if ev_type != EVENT_TYPE_2D or ev_size != EVENT_SIZE:
                raise FormatError(
                    f"Event file {path} holds event type {ev_type} of size {ev_size}; "
                    f"only Event2D (type 0, size 8) is supported."
                )
            offset += 2
    data_bytes = path.stat().st_size - offset
    if data_bytes % EVENT_SIZE:
        raise FormatError(
            f"Event file {path} is truncated: {data_bytes} bytes of records after the header "
            f"is not a multiple of the {EVENT_SIZE}-byte event size."
        )
    width, height = _int_field(fields, "width", path), _int_field(fields, "height", path)
    if (width is None or height is None) and "geometry" in fields:
        try:
            width, height = (int(v) for v in fields["geometry"].lower().split("x"))
        except ValueError:
            raise FormatError(f"Event file {path} has an unreadable geometry header line.") from None
    return DatHeader(width, height, version, offset, data_bytes // EVENT_SIZE, fields)


def _parse_header_fields(lines: list[bytes]) -> dict:
    fields = {}
    for raw in lines:
        text = raw[1:].decode("latin-1").strip()
        key, _, value = text.partition(" ")
        if key:
            fields[key.lower()] = value.strip()
    return fields


def _int_field(fields: dict, key: str, path: Path) -> int | None:
    if key not in fields:
        return None
    try:
        return int(fields[key].split()[0])
    except (ValueError, IndexError):
        raise FormatError(f"Event file {path} has an unreadable '{key}' header line.") from None


def decode_records(records: np.ndarray) -> np.ndarray:
    """Turn raw ``(t, w)`` records into an :data:`EVENT_DTYPE` array."""
    w = records["w"]
    events = np.empty(len(records), dtype=EVENT_DTYPE)
    events["t"] = records["t"]
    events["x"] = w & _COORD_MASK
    events["y"] = (w >> 14) & _COORD_MASK
    events["p"] = (w >> 28) & 1
    return events


class DatFile:
    """A memory-mapped Gen1 ``.dat`` file with a block index for time-window queries.

    Each query maps the file afresh and lets the mapping go when done, so a dataset of
    thousands of recordings holds no open file handles and can be pickled to data-loader
    workers; the block index is built on the first query and kept.
    """

    def __init__(self, path: str | os.PathLike):
        self.path = Path(path)
        self.header = read_dat_header(self.path)
        self._index: tuple[np.ndarray, np.ndarray] | None = None

    @property
    def width(self) -> int | None:
        return self.header.width

    @property
    def height(self) -> int | None:
        return self.header.height

    def __len__(self) -> int:
        return self.header.n_events

    @property
    def records(self) -> np.ndarray:
        """Raw records, memory-mapped read-only (an empty array for a file without events)."""
        if self.header.n_events == 0:
            return np.empty(0, dtype=DAT_RECORD_DTYPE)
        return np.memmap(self.path, dtype=DAT_RECORD_DTYPE, mode="r",
                         offset=self.header.data_offset, shape=(self.header.n_events,))

    def _block_index(self, records: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(running max of t at each block's end, min of t from each block to the file's end)."""
        if self._index is None:
            t = records["t"]
            n_blocks = -(-len(t) // INDEX_BLOCK)
            block_max = np.empty(n_blocks, dtype=np.int64)
            block_min = np.empty(n_blocks, dtype=np.int64)
            for b in range(n_blocks):
                chunk = np.asarray(t[b * INDEX_BLOCK:(b + 1) * INDEX_BLOCK])
                block_max[b], block_min[b] = chunk.max(), chunk.min()
            self._index = (np.maximum.accumulate(block_max),
                           np.minimum.accumulate(block_min[::-1])[::-1])
        return self._index

    def read(self, t_start: int | None = None, t_end: int | None = None) -> np.ndarray:
        """Events with ``t_start <= t < t_end`` (either bound may be None), in file order."""
        records = self.records
        if t_start is None and t_end is None:
            return decode_records(records)
        running_max, suffix_min = self._block_index(records)
        first = 0 if t_start is None else int(np.searchsorted(running_max, t_start, side="left"))
        stop = len(suffix_min) if t_end is None else int(np.searchsorted(suffix_min, t_end, side="left"))
        if stop <= first:
            return np.empty(0, dtype=EVENT_DTYPE)
        candidates = np.asarray(records[first * INDEX_BLOCK:stop * INDEX_BLOCK])
        t = candidates["t"].astype(np.int64)
        keep = np.ones(len(t), dtype=bool)
        if t_start is not None:
            keep &= t >= t_start
        if t_end is not None:
            keep &= t < t_end
        return decode_records(candidates[keep])


def load_events(path: str | os.PathLike, t_start: int | None = None, t_end: int | None = None,
                *, separate: bool = False):
    """Read the events of a ``.dat`` file whose time is in ``[t_start, t_end)``.

    Returns an :data:`EVENT_DTYPE` structured array, or the tuple ``(t, x, y, p)`` of plain
    arrays when ``separate`` is true. For many queries on one file use :class:`DatFile`, which
    keeps its block index between queries.
    """
    events = DatFile(path).read(t_start, t_end)
    if separate:
        return events["t"].copy(), events["x"].copy(), events["y"].copy(), events["p"].copy()
    return events


def write_dat(path: str | os.PathLike, events: np.ndarray, *, width: int, height: int,
              header: bool = True) -> Path:
    """Write events (fields t, x, y, p) as a Gen1 ``.dat`` file, atomically.

    With ``header`` the file starts with ``% Version 2``/``% Width``/``% Height`` lines and the
    type/size bytes; without, it is a legacy header-less file.
    """
    path = Path(path)
    t = np.asarray(events["t"], dtype=np.int64)
    x = np.asarray(events["x"], dtype=np.int64)
    y = np.asarray(events["y"], dtype=np.int64)
    p = np.asarray(events["p"], dtype=np.int64)
    if len(t) and (t.min() < 0 or t.max() >= 2**32):
        raise FormatError(f"Cannot write {path}: timestamps must fit in uint32 microseconds.")
    if len(t) and (x.min() < 0 or y.min() < 0 or x.max() >= width or y.max() >= height):
        raise FormatError(f"Cannot write {path}: event coordinates fall outside {width}x{height}.")
    records = np.empty(len(t), dtype=DAT_RECORD_DTYPE)
    records["t"] = t
    records["w"] = x | (y << 14) | ((p & 1) << 28)
    with atomic_path(path) as tmp, open(tmp, "wb") as f:
        if header:
            f.write(b"% Data file containing Event2D events.\n% Version 2\n"
                    + f"% Width {width}\n% Height {height}\n".encode("ascii"))
            f.write(bytes([EVENT_TYPE_2D, EVENT_SIZE]))
        records.tofile(f)
    return path


def normalize_bboxes(boxes: np.ndarray, *, source: str = "box array") -> np.ndarray:
    """Convert a legacy or newer Gen1 box array to :data:`BBOX_DTYPE` (fields matched by name)."""
    names = set(boxes.dtype.names or ())
    if names == set(_LEGACY_FIELDS):
        mapping = _LEGACY_FIELDS
    elif names == set(_NEW_FIELDS):
        mapping = _NEW_FIELDS
    else:
        raise FormatError(
            f"{source} has dtype {boxes.dtype}; expected the Gen1 box fields "
            f"{list(LEGACY_BBOX_DTYPE.names)} or {list(BBOX_DTYPE.names)}."
        )
    boxes = boxes.reshape(-1)
    out = np.empty(len(boxes), dtype=BBOX_DTYPE)
    for src, dst in mapping.items():
        if boxes.dtype[src].kind not in "iuf":
            raise FormatError(f"{source} has a non-numeric field '{src}' ({boxes.dtype[src]}).")
        out[dst] = boxes[src]
    return out


def load_bboxes(path: str | os.PathLike) -> np.ndarray:
    """Read a ``*_bbox.npy`` file (either Gen1 dtype) as a :data:`BBOX_DTYPE` array."""
    path = Path(path)
    _require_file(path, "Box file")
    try:
        boxes = np.load(path, allow_pickle=False)
    except (ValueError, OSError, EOFError) as exc:
        raise FormatError(f"Box file {path} is not a readable .npy file ({exc}).") from None
    return normalize_bboxes(boxes, source=f"Box file {path}")


def write_bboxes(path: str | os.PathLike, boxes: np.ndarray, *, legacy: bool = True) -> Path:
    """Write boxes (any Gen1 dtype) as ``*_bbox.npy`` in the legacy packed or the newer dtype."""
    boxes = normalize_bboxes(np.asarray(boxes))
    if legacy:
        out = np.empty(len(boxes), dtype=LEGACY_BBOX_DTYPE)
        for src, dst in _LEGACY_FIELDS.items():
            out[src] = boxes[dst]
    else:
        out = boxes
    path = Path(path)
    with atomic_path(path) as tmp, open(tmp, "wb") as f:
        np.save(f, out, allow_pickle=False)
    return path
