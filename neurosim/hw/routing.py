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


def hop_counts(layout: MeshLayout, src: np.ndarray, dst: np.ndarray):
    """``(hops_ew, hops_ns, chip_hops)`` for every (source core, destination core) pair."""
    cs, xs, ys = layout.positions(src)
    cd, xd, yd = layout.positions(dst)
    chip = np.abs(cd[None, :] - cs[:, None])
    ew = np.abs(xd[None, :] - xs[:, None]) - chip
    ns = np.abs(yd[None, :] - ys[:, None])
    return ew, ns, chip


class LinkLoads:
    """Accumulates packets on the directed links of a mesh of ``width x height`` tiles."""

    def __init__(self, layout: MeshLayout, chips: int):
        self.layout = layout
        self.width = max(1, chips) * layout.tile_columns
        self.height = layout.tile_rows
        self.diff = np.zeros((4, self.height + 1, self.width + 1), np.float64)

    def add(self, src: np.ndarray, dst: np.ndarray, packets: np.ndarray) -> None:
        """Add ``packets[s, d]`` packets from core ``src[s]`` to core ``dst[d]``."""
        _, xs, ys = self.layout.positions(src)
        _, xd, yd = self.layout.positions(dst)
        XS, XD = np.broadcast_arrays(xs[:, None], xd[None, :])
        YS, YD = np.broadcast_arrays(ys[:, None], yd[None, :])
        p = np.asarray(packets, np.float64)
        d = self.diff
        east, west = (XD > XS) & (p > 0), (XD < XS) & (p > 0)
        south, north = (YD > YS) & (p > 0), (YD < YS) & (p > 0)
        # horizontal segment on row ys: links x in [min, max) along the direction of travel
        np.add.at(d[0], (YS[east], XS[east]), p[east])
        np.add.at(d[0], (YS[east], XD[east]), -p[east])
        np.add.at(d[1], (YS[west], XD[west]), p[west])
        np.add.at(d[1], (YS[west], XS[west]), -p[west])
        # vertical segment on column xd: links y in [min, max)
        np.add.at(d[2], (YS[south], XD[south]), p[south])
        np.add.at(d[2], (YD[south], XD[south]), -p[south])
        np.add.at(d[3], (YD[north], XD[north]), p[north])
        np.add.at(d[3], (YS[north], XD[north]), -p[north])

    def loads(self) -> np.ndarray:
        """``[4, height, width]`` packets per directed link (east/west: link x -> x+1 at [y, x];
        south/north: link y -> y+1 at [y, x])."""
        out = np.empty((4, self.height, self.width))
        out[0:2] = self.diff[0:2, :self.height, :].cumsum(axis=2)[:, :, :self.width]
        out[2:4] = self.diff[2:4, :, :self.width].cumsum(axis=1)[:, :self.height, :]
        return out

    def link_times(self, costs: HopCosts) -> np.ndarray:
        """Seconds one packet occupies each link, same layout as :meth:`loads`."""
        t = np.empty((4, self.height, self.width))
        t[0:2] = costs.t_ew
        t[2:4] = costs.t_ns
        boundary = (np.arange(self.width) + 1) % self.layout.tile_columns == 0
        t[0:2, :, boundary] = costs.t_chip
        return t
