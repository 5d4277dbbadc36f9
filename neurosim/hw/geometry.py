"""Geometry of layers on cores: boxes of neurons, receptive fields, tap counts, box sums.

A core holds a **box** of a layer's output neurons: channels ``[c0, c1)``, rows ``[y0, y1)``,
columns ``[x0, x1)`` (a flat layer ``(N,)`` is ``(N, 1, 1)``). Boxes are int arrays ``[..., 6]``.

For a convolution with stride ``s``, padding ``p`` and kernel ``k`` along one axis, the *tap
count* of input position ``y`` for output range ``[o0, o1)`` is::

    taps(y) = #{(o, u) : o0 <= o < o1, 0 <= u < k, o s - p + u = y}

An input event of value ``v`` at ``(c, y, x)`` performs ``v taps_y(y) taps_x(x)`` synaptic
operations on each output channel of the box that belongs to the group of ``c``. So, with the
event map ``E`` of the input (sum of spike values over samples and timesteps), the synaptic
operations landing in a box are exactly::

    ops(box) = sum_g m_g(box) * taps_y^T E_g taps_x,    E_g = sum_{c in group g} E[c]

where ``m_g`` counts the box's output channels in group ``g``. With ``E = 1`` this counts the
dense, border-aware MACs of the box.
"""
from __future__ import annotations

from functools import lru_cache

import numpy as np

from ..ir.nodes import Conv2d, Linear
from .layers import shape3

BOX_FIELDS = ("c0", "c1", "y0", "y1", "x0", "x1")


def full_box(shape) -> np.ndarray:
    c, h, w = shape3(shape)
    return np.array([0, c, 0, h, 0, w], dtype=np.int64)


def box_size(box) -> int:
    return int(box_sizes(box))


def box_sizes(boxes: np.ndarray) -> np.ndarray:
    """Positions in each box ``[..., 6]`` (0 for an empty box)."""
    b = np.asarray(boxes, np.int64)
    return (np.maximum(b[..., 1] - b[..., 0], 0) * np.maximum(b[..., 3] - b[..., 2], 0)
            * np.maximum(b[..., 5] - b[..., 4], 0))


def spatial_sizes(boxes: np.ndarray) -> np.ndarray:
    """Positions ``(y, x)`` in each box ``[..., 6]`` whose channel range is not empty."""
    b = np.asarray(boxes, np.int64)
    return (b[..., 1] > b[..., 0]) * np.maximum(b[..., 3] - b[..., 2], 0) * np.maximum(b[..., 5] - b[..., 4], 0)


def overlap_counts(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Positions shared by every pair of boxes: ``[len(a), len(b)]``."""
    a = np.asarray(a, np.int64).reshape(-1, 6)[:, None, :]
    b = np.asarray(b, np.int64).reshape(-1, 6)[None, :, :]
    out = np.ones((a.shape[0], b.shape[1]), np.int64)
    for lo, hi in ((0, 1), (2, 3), (4, 5)):
        length = np.minimum(a[..., hi], b[..., hi]) - np.maximum(a[..., lo], b[..., lo])
        out *= np.maximum(length, 0)
    return out


class BoxSums:
    """Sums of a ``(C, H, W)`` array over boxes, by 3-D prefix sums (inclusion-exclusion)."""

    def __init__(self, array: np.ndarray):
        a = np.asarray(array, np.float64)
        self.shape = a.shape
        p = np.zeros((a.shape[0] + 1, a.shape[1] + 1, a.shape[2] + 1), np.float64)
        p[1:, 1:, 1:] = a.cumsum(0).cumsum(1).cumsum(2)
        self.prefix = p
        self.total = float(p[-1, -1, -1])

    def sums(self, boxes: np.ndarray) -> np.ndarray:
        """Sum over each box; boxes ``[..., 6]`` (clipped to the array, empty boxes give 0)."""
        b = np.asarray(boxes, np.int64)
        C, H, W = self.shape
        c0, c1 = np.clip(b[..., 0], 0, C), np.clip(b[..., 1], 0, C)
        y0, y1 = np.clip(b[..., 2], 0, H), np.clip(b[..., 3], 0, H)
        x0, x1 = np.clip(b[..., 4], 0, W), np.clip(b[..., 5], 0, W)
        empty = (c1 <= c0) | (y1 <= y0) | (x1 <= x0)
        c1, y1, x1 = np.maximum(c1, c0), np.maximum(y1, y0), np.maximum(x1, x0)
        p = self.prefix
        s = (p[c1, y1, x1] - p[c0, y1, x1] - p[c1, y0, x1] - p[c1, y1, x0]
             + p[c0, y0, x1] + p[c0, y1, x0] + p[c1, y0, x0] - p[c0, y0, x0])
        return np.where(empty, 0.0, s)

    def pair_sums(self, a: np.ndarray, b: np.ndarray) -> np.ndarray:
        """Sum over the intersection of every pair of boxes: ``[len(a), len(b)]``."""
        return self.sums(intersections(a, b))


def overlap_pairs(a: np.ndarray, b: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The pairs ``(i, j)`` of boxes ``a[i]``, ``b[j]`` that share at least one position, in
    row-major order of ``[len(a), len(b)]``, and their intersections ``[pairs, 6]``.

    The dense ``[len(a), len(b)]`` arrays of :func:`overlap_counts` and :func:`intersections`
    are mostly empty between the core boxes of two layers; this finds the non-empty pairs per
    destination box from the few distinct ranges of ``a`` along each axis, so that time and
    memory grow with the number of overlapping pairs (boxes that ``a`` repeats are paired
    through the dense arrays instead)."""
    a = np.asarray(a, np.int64).reshape(-1, 6)
    b = np.asarray(b, np.int64).reshape(-1, 6)
    empty = np.zeros(0, np.int64)
    if not len(a) or not len(b):
        return empty, empty, np.zeros((0, 6), np.int64)
    axis_ids, axis_hits = [], []
    for lo, hi in ((0, 1), (2, 3), (4, 5)):
        ranges, inverse = np.unique(a[:, [lo, hi]], axis=0, return_inverse=True)
        hits = (np.minimum(ranges[:, 1:2], b[None, :, hi]) > np.maximum(ranges[:, 0:1], b[None, :, lo]))
        axis_ids.append(inverse.reshape(-1))
        axis_hits.append(hits)                                            # [distinct ranges, len(b)]
    lookup = np.full(tuple(len(h) for h in axis_hits), -1, np.int64)
    lookup[tuple(axis_ids)] = np.arange(len(a))
    if np.count_nonzero(lookup >= 0) != len(a):
        i, j = np.nonzero(overlap_counts(a, b))
        return i, j, intersections(a, b)[i, j]
    ii, jj = [], []
    for j in range(len(b)):
        ci, ri, xi = (np.flatnonzero(h[:, j]) for h in axis_hits)
        if not (len(ci) and len(ri) and len(xi)):
            continue
        found = lookup[np.ix_(ci, ri, xi)].reshape(-1)
        found = found[found >= 0]
        ii.append(found)
        jj.append(np.full(len(found), j, np.int64))
    if not ii:
        return empty, empty, np.zeros((0, 6), np.int64)
    i, j = np.concatenate(ii), np.concatenate(jj)
    order = np.lexsort((j, i))
    i, j = i[order], j[order]
    return i, j, _intersect(a[i], b[j])


def intersections(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """The intersection of every pair of boxes, ``[len(a), len(b), 6]`` (empty ones have hi <= lo)."""
    return _intersect(np.asarray(a, np.int64).reshape(-1, 6)[:, None, :],
                      np.asarray(b, np.int64).reshape(-1, 6)[None, :, :])


def _intersect(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """The intersection of broadcastable boxes ``[..., 6]``."""
    lo = np.maximum(a[..., 0::2], b[..., 0::2])
    hi = np.minimum(a[..., 1::2], b[..., 1::2])
    return np.stack([lo[..., 0], hi[..., 0], lo[..., 1], hi[..., 1], lo[..., 2], hi[..., 2]], -1)


class BoxGrid:
    """Sums of ``(C, H, W)`` maps over a fixed set of boxes ``[..., 6]`` (clipped to the map).

    The boxes of a placement share few distinct channel ranges ``k``, row ranges ``a`` and
    column ranges ``b`` (the full ranges are always among them), so a map ``E`` is reduced by
    products with 0/1 range matrices to::

        M[c, a, b] = sum_{y in a, x in b} E[c, y, x]        R[k, a, b] = sum_{c in k} M[c, a, b]

    and box ``(k, a, b)`` sums to ``R[k, a, b]``. ``M[:, full, full]`` are the channel totals.
    This costs ``C H W`` times the number of column ranges, far less than prefix sums over the
    whole map, and is exact for integer-valued maps (event counts).
    """

    def __init__(self, shape, boxes):
        self.shape = C, H, W = tuple(int(v) for v in shape)
        b = np.asarray(boxes, np.int64)
        lead, b = b.shape[:-1], b.reshape(-1, 6)
        c0, c1 = np.minimum(np.maximum(b[:, 0], 0), C), np.minimum(np.maximum(b[:, 1], 0), C)
        y0, y1 = np.minimum(np.maximum(b[:, 2], 0), H), np.minimum(np.maximum(b[:, 3], 0), H)
        x0, x1 = np.minimum(np.maximum(b[:, 4], 0), W), np.minimum(np.maximum(b[:, 5], 0), W)
        empty = (c1 <= c0) | (y1 <= y0) | (x1 <= x0)
        # an empty box gets the empty channel range, whose row of the range matrix is all zero
        chans, k, self.full_chan = _ranges(np.where(empty, 0, c0), np.where(empty, 0, c1), C)
        rows, a, self.full_row = _ranges(np.where(empty, 0, y0), np.where(empty, H, y1), H)
        cols, j, self.full_col = _ranges(np.where(empty, 0, x0), np.where(empty, W, x1), W)
        self.chans, self.rows, self.cols = chans, rows, cols.T.copy()   # [k, C], [a, H], [W, b]
        self.row, self.col = a.reshape(lead), j.reshape(lead)
        n_a, n_b = len(rows), len(cols)
        self.at = ((k * n_a + a) * n_b + j).reshape(lead)
        self.total_at = (self.full_chan * n_a + self.full_row) * n_b + self.full_col

    def reduce(self, emap: np.ndarray) -> np.ndarray:
        """``M [C, rows, cols]`` of a map (any shape with ``C H W`` elements)."""
        C, H, W = self.shape
        per_col = (np.asarray(emap, np.float64).reshape(C * H, W) @ self.cols).reshape(C, H, -1)
        return np.matmul(self.rows, per_col)

    def sums(self, M: np.ndarray) -> tuple[np.ndarray, float]:
        """The sum over each box (the boxes' leading shape) and over the whole map, from ``M``."""
        R = (self.chans @ M.reshape(len(M), -1)).reshape(-1)
        return R[self.at], float(R[self.total_at])


def _ranges(lo: np.ndarray, hi: np.ndarray, n: int):
    """Distinct ranges ``[lo, hi)`` plus ``[0, n)``: their 0/1 matrix ``[ranges, n]``, the range
    of each input, and the index of the full range."""
    # one int64 key per range (lo, hi both in [0, n]): a 1-D unique sorts in the same
    # lexicographic order as a row-wise unique of the pairs, and far faster
    lo, hi = np.append(lo, 0).astype(np.int64), np.append(hi, n).astype(np.int64)
    keys, inverse = np.unique(lo * (n + 1) + hi, return_inverse=True)
    inverse = inverse.reshape(-1)
    pairs = np.stack([keys // (n + 1), keys % (n + 1)], 1)
    pos = np.arange(n)
    matrix = ((pos[None, :] >= pairs[:, :1]) & (pos[None, :] < pairs[:, 1:])).astype(np.float64)
    return matrix, inverse[:-1], int(inverse[-1])


# --------------------------------------------------------------------------- 1-D helpers


def taps_1d(in_len: int, o0: int, o1: int, stride: int, pad: int, kernel: int) -> np.ndarray:
    """``taps(y)`` for ``y`` in ``[0, in_len)`` (see the module docstring); read-only, cached."""
    return _taps_1d(int(in_len), int(o0), int(o1), int(stride), int(pad), int(kernel))


@lru_cache(maxsize=65536)
def _taps_1d(in_len, o0, o1, stride, pad, kernel) -> np.ndarray:
    out = np.zeros(in_len, np.int64)
    if o1 <= o0:
        return out
    base = np.arange(o0, o1, dtype=np.int64) * stride - pad
    for u in range(kernel):
        ys = base + u
        ys = ys[(ys >= 0) & (ys < in_len)]
        out[ys] += 1  # for a fixed tap u the positions are distinct
    out.setflags(write=False)
    return out


def window_range(o0: int, o1: int, stride: int, pad: int, kernel: int, in_len: int) -> tuple[int, int]:
    """Input range ``[lo, hi)`` read by outputs ``[o0, o1)`` of a window op, clipped to the input."""
    if o1 <= o0:
        return 0, 0
    lo = max(0, o0 * stride - pad)
    hi = min(in_len, (o1 - 1) * stride - pad + kernel)
    return (lo, hi) if hi > lo else (0, 0)


def _pair(v):
    return (int(v[0]), int(v[1])) if isinstance(v, (tuple, list)) else (int(v), int(v))


# --------------------------------------------------------------------------- synapses


def conv_groups(node: Conv2d, c0: int, c1: int) -> list[tuple[int, int, int]]:
    """Groups touched by output channels ``[c0, c1)``: ``(group, first input channel, m_g)``."""
    cout_g = node.out_channels // node.groups
    cin_g = node.weight.shape[1]
    out = []
    if c1 <= c0:
        return out
    for g in range(c0 // cout_g, (c1 - 1) // cout_g + 1):
        m = min(c1, (g + 1) * cout_g) - max(c0, g * cout_g)
        out.append((g, g * cin_g, m))
    return out


def synapse_input_region(node, in_shape, out_box) -> np.ndarray | None:
    """Input box read by the output box of a synaptic node (clipped), or None if empty."""
    C, H, W = shape3(in_shape)
    c0, c1, y0, y1, x0, x1 = (int(v) for v in out_box)
    if c1 <= c0 or y1 <= y0 or x1 <= x0:
        return None
    if isinstance(node, Linear):
        return np.array([0, C, 0, 1, 0, 1], np.int64)
    groups = conv_groups(node, c0, c1)
    cin_g = node.weight.shape[1]
    kh, kw = node.kernel_size
    ylo, yhi = window_range(y0, y1, node.stride[0], node.padding[0], kh, H)
    xlo, xhi = window_range(x0, x1, node.stride[1], node.padding[1], kw, W)
    if yhi <= ylo or xhi <= xlo:
        return None
    return np.array([groups[0][1], groups[-1][1] + cin_g, ylo, yhi, xlo, xhi], np.int64)


def synapse_fan_in(node, in_shape, out_box, population: bool = False) -> int:
    """Distinct input neurons (axons) connected to the output box. With ``population`` axons a
    convolution's input channels at one position share one axon (the channel travels in the
    spike as its atom), so the count is that of the input positions read (per source core:
    the exact count, which depends on how the source is cut, is the placement's); a Linear
    input keeps one axon per neuron."""
    C, H, W = shape3(in_shape)
    c0, c1, y0, y1, x0, x1 = (int(v) for v in out_box)
    if c1 <= c0 or y1 <= y0 or x1 <= x0:
        return 0
    if isinstance(node, Linear):
        return C
    kh, kw = node.kernel_size
    ty = taps_1d(H, y0, y1, node.stride[0], node.padding[0], kh)
    tx = taps_1d(W, x0, x1, node.stride[1], node.padding[1], kw)
    channels = 1 if population else len(conv_groups(node, c0, c1)) * node.weight.shape[1]
    return int(channels * np.count_nonzero(ty) * np.count_nonzero(tx))


def synapse_count_patterns(node, in_shape, out_box):
    """Synapses per input axon of the output box, as ``(counts_2d, multiplicity)`` pieces.

    For a convolution, the input channels of group ``g`` share the pattern
    ``m_g * taps_y (outer) taps_x``; a Linear input connects to every output of the box.
    """
    C, H, W = shape3(in_shape)
    c0, c1, y0, y1, x0, x1 = (int(v) for v in out_box)
    if c1 <= c0 or y1 <= y0 or x1 <= x0:
        return []
    n_out = (c1 - c0) * (y1 - y0) * (x1 - x0)
    if isinstance(node, Linear):
        return [(np.array([[n_out]], np.int64), C)]
    kh, kw = node.kernel_size
    ty = taps_1d(H, y0, y1, node.stride[0], node.padding[0], kh)
    tx = taps_1d(W, x0, x1, node.stride[1], node.padding[1], kw)
    ty, tx = ty[ty > 0], tx[tx > 0]
    base = np.outer(ty, tx)
    cin_g = node.weight.shape[1]
    return [(m * base, cin_g) for _, _, m in conv_groups(node, c0, c1)]


def synapse_weights_in_box(node, out_box) -> int:
    """Weights (kernels) the box's output channels use: ``m * C_in/groups * k_h * k_w``."""
    c0, c1 = int(out_box[0]), int(out_box[1])
    if isinstance(node, Linear):
        rows = (c1 - c0) * (int(out_box[3]) - int(out_box[2])) * (int(out_box[5]) - int(out_box[4]))
        return rows * node.weight.shape[1]
    per_channel = int(np.prod(node.weight.shape[1:]))
    return max(0, c1 - c0) * per_channel


def synapse_box_ops(node, in_shape, in_map: np.ndarray | None, boxes: np.ndarray):
    """Synaptic operations of each box, relative to the event map of the node's input.

    Returns ``(ops [n_boxes], share [C_out, n_boxes])`` where ``ops`` follows the module
    docstring (``in_map=None`` means a dense input: every position counts 1, giving MACs) and
    ``share[c, j]`` is the fraction of output channel ``c``'s operations that land in box ``j``.
    """
    return SynapseBoxOps(node, in_shape, boxes)(in_map)


class SynapseBoxOps:
    """:func:`synapse_box_ops` for one synaptic node and one set of boxes, with everything that
    does not depend on the event map computed once.

    For a convolution, box ``j`` reads its rows with the tap vector ``ty_j = taps_y(y0, y1)``
    and its columns with ``tx_j``. Boxes of a tiling share few distinct row and column ranges,
    so all the parts come from one product over the distinct ones::

        P[g, a, b] = ty_a^T E_g tx_b        (a, b: distinct ranges, plus the full output range)
        ops[j]     = sum_g m_g(j) P[g, a_j, b_j]                 (m_g(j): box j's channels in group g)
        share[c, j] = P[g(c), a_j, b_j] / P[g(c), full, full]     for c in box j, else 0
    """

    def __init__(self, node, in_shape, boxes):
        self.boxes = boxes = np.asarray(boxes, np.int64).reshape(-1, 6)
        self.in_shape = C, H, W = shape3(in_shape)
        self.linear = isinstance(node, Linear)
        n = len(boxes)
        if self.linear:
            share = np.zeros((node.weight.shape[0], n))
            for j, b in enumerate(boxes):
                share[b[0]:b[1], j] = 1.0
            share.setflags(write=False)
            self.share, self.per_input = share, share.sum(0)
            return
        G = self.groups = node.groups
        self.cin_g = node.weight.shape[1]
        cout_g = node.out_channels // node.groups
        kh, kw = node.kernel_size
        (sh, sw), (ph, pw) = node.stride, node.padding
        Ho, Wo = _conv_out_hw(node, H, W)
        c0, c1, y0, y1, x0, x1 = boxes.T
        valid = (c1 > c0) & (y1 > y0) & (x1 > x0)
        rows, a = np.unique(np.stack([y0, y1], 1), axis=0, return_inverse=True)
        cols, b = np.unique(np.stack([x0, x1], 1), axis=0, return_inverse=True)
        self.ty = np.stack([taps_1d(H, lo, hi, sh, ph, kh) for lo, hi in rows] + [taps_1d(H, 0, Ho, sh, ph, kh)])
        self.tx = np.stack([taps_1d(W, lo, hi, sw, pw, kw) for lo, hi in cols] + [taps_1d(W, 0, Wo, sw, pw, kw)])
        self.ty, self.tx = self.ty.astype(np.float64), self.tx.T.astype(np.float64)
        nA, nB = len(rows) + 1, len(cols) + 1
        self.cell = a.reshape(-1) * nB + b.reshape(-1)        # box j's (a_j, b_j) in P[g].ravel()
        self.full = nA * nB - 1
        channel = np.arange(node.out_channels)
        self.group = channel // cout_g
        holds = (channel[:, None] >= c0[None, :]) & (channel[:, None] < c1[None, :]) & valid[None, :]
        self.holds = holds.astype(np.float64)                                    # [C_out, boxes]
        self.members = np.stack([holds[g * cout_g:(g + 1) * cout_g].sum(0) for g in range(G)]).astype(np.float64)
        self.dense_ops = None

    def __call__(self, in_map: np.ndarray | None):
        C, H, W = self.in_shape
        if self.linear:
            total_in = float(np.sum(in_map)) if in_map is not None else float(C)
            return self.per_input * total_in, self.share
        if in_map is None and self.dense_ops is not None:
            return self.dense_ops
        emap = np.ones((C, H, W)) if in_map is None else np.asarray(in_map, np.float64).reshape(C, H, W)
        G = self.groups
        group_maps = emap if self.cin_g == 1 else emap.reshape(G, self.cin_g, H, W).sum(1)   # [G, H, W]
        P = np.matmul(self.ty, (group_maps.reshape(G * H, W) @ self.tx).reshape(G, H, -1)).reshape(G, -1)
        parts, full = P[:, self.cell], P[:, self.full:]                         # [G, boxes], [G, 1]
        ops = (self.members * parts).sum(0)
        positive = full > 0
        ratio = parts / full if positive.all() else np.divide(parts, full, out=np.zeros(parts.shape), where=positive)
        share = self.holds * (ratio if G in (1, len(self.group)) else ratio[self.group])
        if in_map is None:  # dense MACs depend on the boxes only
            ops.setflags(write=False)
            share.setflags(write=False)
            self.dense_ops = (ops, share)
        return ops, share


def _conv_out_hw(node: Conv2d, H: int, W: int) -> tuple[int, int]:
    kh, kw = node.kernel_size
    return ((H + 2 * node.padding[0] - kh) // node.stride[0] + 1,
            (W + 2 * node.padding[1] - kw) // node.stride[1] + 1)


# --------------------------------------------------------------------------- routing paths


def region_through_path(graph, source: str, path: tuple[str, ...], region) -> np.ndarray | None:
    """Map a box in the input coordinates of the synapse (= output of ``path[-1]``, or of
    ``source`` when the path is empty) back to the source's output coordinates.

    Returns None when no source neuron feeds the region (e.g. the other branch of a Concat).
    """
    if region is None:
        return None
    box = np.asarray(region, np.int64).copy()
    chain = (source,) + tuple(path)
    for i in range(len(chain) - 1, 0, -1):
        node = graph.node(chain[i])
        pred = chain[i - 1]
        in_shape = shape3(graph.shapes[pred])
        box = _region_before(node, pred, graph, in_shape, box)
        if box is None:
            return None
    return box


def _region_before(node, pred, graph, in_shape, box):
    C, H, W = in_shape
    c0, c1, y0, y1, x0, x1 = (int(v) for v in box)
    op = node.op
    if op == "concat":
        offset = 0
        for src in node.inputs:
            size = shape3(graph.shapes[src])[0]
            if src == pred:
                lo, hi = max(c0, offset) - offset, min(c1, offset + size) - offset
                return None if hi <= lo else np.array([lo, hi, y0, y1, x0, x1], np.int64)
            offset += size
        return None
    if op == "flatten":
        return np.array([0, C, 0, H, 0, W], np.int64)
    if op in ("add", "mul"):
        out = np.array([c0, c1, y0, y1, x0, x1], np.int64)
        for axis, size in enumerate((C, H, W)):
            if size == 1:
                out[2 * axis], out[2 * axis + 1] = 0, 1
        return out
    if op in ("maxpool2d", "sumpool2d", "avgpool2d"):
        (kh, kw), (sh, sw), (ph, pw) = _pair(node.kernel), _pair(node.stride), _pair(node.padding)
        ylo, yhi = window_range(y0, y1, sh, ph, kh, H)
        xlo, xhi = window_range(x0, x1, sw, pw, kw, W)
        if yhi <= ylo or xhi <= xlo:
            return None
        return np.array([c0, c1, ylo, yhi, xlo, xhi], np.int64)
    if op == "upsample":
        s = node.scale
        return np.array([c0, c1, y0 // s, (y1 - 1) // s + 1, x0 // s, (x1 - 1) // s + 1], np.int64)
    raise ValueError(f"node '{node.name}' ({op}) is not a routing node")
