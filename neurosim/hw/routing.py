"""XY routing on a 2-D mesh of tiles: hop counts, packet energy and per-link load.

A packet from tile ``(xs, ys)`` to tile ``(xd, yd)`` first travels along x on row ``ys``, then
along y on column ``xd``. Chips sit side by side along x; a hop across a chip boundary is a
*chip hop* instead of an east-west hop. Per packet::

    hops_ew   = |xd - xs| - chip_hops,   chip_hops = |chip_d - chip_s|,   hops_ns = |yd - ys|
    E_packet  = e_spike + hops_ew e_ew + hops_ns e_ns + chip_hops e_chip

Link loads count the packets crossing each directed link (east, west, south, north); a link's
busy time is ``load x t_hop`` of its direction (``t_chip`` for the links between chips).
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .placement import MeshLayout

DIRECTIONS = ("east", "west", "south", "north")


@dataclass(frozen=True)
class HopCosts:
    e_spike: float = 0.0
    e_ew: float = 0.0
    e_ns: float = 0.0
    e_chip: float = 0.0
    t_ew: float = 0.0
    t_ns: float = 0.0
    t_chip: float = 0.0


def hop_counts(layout: MeshLayout, src: np.ndarray, dst: np.ndarray, paired: bool = False):
    """``(hops_ew, hops_ns, chip_hops)`` for every (source core, destination core) pair
    (``paired``: for the pairs ``(src[i], dst[i])`` only)."""
    cs, xs, ys = layout.positions(src)
    cd, xd, yd = layout.positions(dst)
    if not paired:
        cs, xs, ys = cs[:, None], xs[:, None], ys[:, None]
        cd, xd, yd = cd[None, :], xd[None, :], yd[None, :]
    (cxs, cys), (cxd, cyd) = layout.chip_grid(cs), layout.chip_grid(cd)
    chip_x, chip_y = np.abs(cxd - cxs), np.abs(cyd - cys)
    ew = np.abs(xd - xs) - chip_x
    ns = np.abs(yd - ys) - chip_y
    return ew, ns, chip_x + chip_y


class LinkPlan:
    """The link-load updates of packets between every (source core, destination core) pair,
    made once per pair of core lists: a packet adds to the difference array of its direction
    where its segment starts and subtracts where it ends (loads are its prefix sums).

    ``cell``: flat index into the ``[4, height + 1, width + 1]`` difference array; ``pair``:
    flat index of the (source, destination) pair; ``sign``: +1 or -1.
    """

    def __init__(self, layout: MeshLayout, width: int, height: int, src: np.ndarray, dst: np.ndarray,
                 paired: bool = False):
        _, xs, ys = layout.positions(src)
        _, xd, yd = layout.positions(dst)
        if paired:  # only the pairs (src[i], dst[i]): packets is then a vector over i
            XS, XD, YS, YD = xs, xd, ys, yd
        else:
            XS, XD = np.broadcast_arrays(xs[:, None], xd[None, :])
            YS, YD = np.broadcast_arrays(ys[:, None], yd[None, :])
        pair = np.arange(XS.size).reshape(XS.shape)
        east, west, south, north = XD > XS, XD < XS, YD > YS, YD < YS
        # horizontal segment on row ys: links x in [min, max) along the direction of travel;
        # vertical segment on column xd: links y in [min, max)
        updates = ((0, YS, XS, east, 1.0), (0, YS, XD, east, -1.0), (1, YS, XD, west, 1.0), (1, YS, XS, west, -1.0),
                   (2, YS, XD, south, 1.0), (2, YD, XD, south, -1.0), (3, YD, XD, north, 1.0), (3, YS, XD, north, -1.0))
        self.cell = np.concatenate([(plane * (height + 1) + y[m]) * (width + 1) + x[m]
                                    for plane, y, x, m, _ in updates]).astype(np.intp)
        self.pair = np.concatenate([pair[m] for _, _, _, m, _ in updates]).astype(np.intp)
        self.sign = np.concatenate([np.full(int(m.sum()), sign) for _, _, _, m, sign in updates])


class LinkLoads:
    """Accumulates packets on the directed links of a mesh of ``width x height`` tiles, kept
    apart by source (any key: a mesh costing keeps one per source layer)."""

    def __init__(self, layout: MeshLayout, chips: int):
        self.layout = layout
        self.width, self.height = layout.mesh_size(chips)
        self.sources: list = []
        self._slot: dict = {}
        self._slots: list[int] = []
        self._cells: list[np.ndarray] = []
        self._values: list[np.ndarray] = []

    def plan(self, src: np.ndarray, dst: np.ndarray, paired: bool = False) -> LinkPlan:
        return LinkPlan(self.layout, self.width, self.height, src, dst, paired)

    def add(self, src: np.ndarray, dst: np.ndarray, packets: np.ndarray, plan: LinkPlan | None = None,
            source=None) -> None:
        """Add ``packets[s, d]`` packets from core ``src[s]`` to core ``dst[d]`` (``plan``:
        :meth:`plan` of the same cores, made once when the cores are reused)."""
        plan = plan or self.plan(src, dst)
        slot = self._slot.get(source)
        if slot is None:
            slot = self._slot[source] = len(self.sources)
            self.sources.append(source)
        p = np.asarray(packets, np.float64).reshape(-1)
        self._slots.append(slot)
        self._cells.append(plan.cell)
        self._values.append(p[plan.pair] * plan.sign)

    def loads_by_source(self) -> np.ndarray:
        """``[sources, 4, height, width]`` packets per directed link (east/west: link x -> x+1
        at [y, x]; south/north: link y -> y+1 at [y, x]), from the difference arrays of every
        update, summed in the order they were added."""
        h, w = self.height, self.width
        shape = (len(self.sources), 4, h + 1, w + 1)
        if self._cells:
            cells_per_source = int(np.prod(shape[1:]))
            offsets = np.repeat(np.array(self._slots) * cells_per_source, [len(c) for c in self._cells])
            diff = np.bincount(np.concatenate(self._cells) + offsets, np.concatenate(self._values),
                               minlength=int(np.prod(shape))).reshape(shape)
        else:
            diff = np.zeros(shape)
        out = np.empty((len(self.sources), 4, h, w))
        out[:, 0:2] = diff[:, 0:2, :h, :].cumsum(axis=3)[..., :w]
        # cumsum along the few rows, one row at a time (numpy's cumsum over a middle axis is slow)
        out[:, 2:4, 0] = diff[:, 2:4, 0, :w]
        for y in range(1, h):
            out[:, 2:4, y] = out[:, 2:4, y - 1] + diff[:, 2:4, y, :w]
        return out

    def loads(self) -> np.ndarray:
        """``[4, height, width]`` packets per directed link, all sources together."""
        by_source = self.loads_by_source()
        return by_source[0] if len(by_source) == 1 else by_source.sum(0)

    def link_times(self, costs: HopCosts) -> np.ndarray:
        """Seconds one packet occupies each link, same layout as :meth:`loads`."""
        t = np.empty((4, self.height, self.width))
        t[0:2] = costs.t_ew
        t[2:4] = costs.t_ns
        boundary = (np.arange(self.width) + 1) % self.layout.tile_columns == 0
        t[0:2, :, boundary] = costs.t_chip
        rows = (np.arange(self.height) + 1) % self.layout.tile_rows == 0   # chip rows of a grid
        t[2:4, rows, :] = costs.t_chip
        return t
