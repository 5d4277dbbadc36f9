"""Placement: which cores each layer uses, which neurons each core holds, memory per core.

Cores are numbered in placement order (layers in topological order, each layer's boxes
channel-major) and laid on the mesh row-major: core ``i`` is in chip ``i // cores_per_chip``,
tile ``(i mod cores_per_chip) // cores_per_tile``, tile column ``tile mod tile_columns`` and tile
row ``tile // tile_columns``. By default (``chip_columns`` 0) chips sit side by side along x, so
the global mesh x of a core is ``chip * tile_columns + column``; with ``chip_columns`` > 0 they
form a grid of that many chip columns, chip ``c`` at chip column ``c mod chip_columns`` and chip
row ``c // chip_columns`` (x = chip column x tile_columns + column, y = chip row x tile_rows + row),
as multi-chip boards lay them out.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from ..ir.graph import Graph
from .layers import Decomposition, Layer


@dataclass(frozen=True)
class MeshLayout:
    cores_per_chip: int
    cores_per_tile: int = 1
    tile_columns: int = 1
    tile_rows: int = 1
    chip_columns: int = 0   # 0: every chip in one row along x; else chips in a grid this many wide

    def chip_grid(self, chips) -> tuple[np.ndarray, np.ndarray]:
        """``(chip column, chip row)`` of each chip index."""
        chips = np.asarray(chips, np.int64)
        if self.chip_columns <= 0:
            return chips, np.zeros_like(chips)
        return chips % self.chip_columns, chips // self.chip_columns

    def positions(self, indices) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """``(chip, x, y)`` of each core index (global mesh coordinates of its tile)."""
        idx = np.asarray(indices, np.int64)
        chip = idx // self.cores_per_chip
        tile = (idx % self.cores_per_chip) // self.cores_per_tile
        cx, cy = self.chip_grid(chip)
        return chip, cx * self.tile_columns + tile % self.tile_columns, cy * self.tile_rows + tile // self.tile_columns

    def mesh_size(self, chips: int) -> tuple[int, int]:
        """``(width, height)`` in tiles of the mesh that ``chips`` chips form."""
        chips = max(1, int(chips))
        if self.chip_columns <= 0:
            return chips * self.tile_columns, self.tile_rows
        cols = min(self.chip_columns, chips)
        return cols * self.tile_columns, -(-chips // self.chip_columns) * self.tile_rows

    def tiles_used(self, n_cores: int) -> int:
        if n_cores <= 0:
            return 0
        chips = (n_cores - 1) // self.cores_per_chip
        last = (n_cores - 1) % self.cores_per_chip
        tiles_per_chip = -(-self.cores_per_chip // self.cores_per_tile)
        return chips * tiles_per_chip + last // self.cores_per_tile + 1


@dataclass
class Core:
    """One core: the box of a layer's neurons it holds, what that needs, and the core's limits."""

    index: int
    layer: str
    box: tuple[int, int, int, int, int, int]
    chip: int = 0
    x: int = 0
    y: int = 0
    usage: dict[str, float] = field(default_factory=dict)     # neurons, fan_in, fan_out, memory...
    capacity: dict[str, float] = field(default_factory=dict)  # the same keys: what a core offers
    memory: dict[str, float] = field(default_factory=dict)    # bits by kind
    #: fan-in split (:mod:`neurosim.hw.tiling`): this core sums input group ``part`` of ``parts``
    #: of its box's neurons; part 0 holds the somas, the others send it partial currents
    part: int = 0
    parts: int = 1

    @property
    def neurons(self) -> int:
        c0, c1, y0, y1, x0, x1 = self.box
        return (c1 - c0) * (y1 - y0) * (x1 - x0)

    _utilization: dict | None = field(default=None, repr=False, compare=False)

    def utilization(self) -> dict[str, float]:
        """usage / capacity per key (computed once: a placed core's usage no longer changes)."""
        if self._utilization is None:
            self._utilization = {k: (float(self.usage.get(k, 0.0)) / cap if cap else 0.0)
                                 for k, cap in self.capacity.items()}
        return dict(self._utilization)


@dataclass
class Placement:
    """The result of ``HardwareModel.place(graph)``; costable with any trace of that graph."""

    profile: str
    family: str
    graph: Graph
    decomposition: Decomposition
    cores: list[Core] = field(default_factory=list)
    layer_cores: dict[str, list[int]] = field(default_factory=dict)
    chips: int | None = None
    fits: bool = True
    misfit: str | None = None
    layout: MeshLayout | None = None
    notes: list[str] = field(default_factory=list)
    cache: dict = field(default_factory=dict, repr=False, compare=False)  # per-placement geometry, trace-independent

    @property
    def layers(self) -> tuple[Layer, ...]:
        return self.decomposition.layers

    def cores_of(self, layer: str) -> list[Core]:
        return [self.cores[i] for i in self.layer_cores.get(layer, [])]

    def soma_cores(self, layer: str) -> list[Core]:
        """The cores holding the layer's somas (all its cores unless its fan-in is split)."""
        return [c for c in self.cores_of(layer) if c.part == 0]

    def split(self, layer: str) -> int:
        """Cores per box of ``layer``: ``P`` when its fan-in is split over ``P`` cores, else 1."""
        cores = self.cores_of(layer)
        return cores[0].parts if cores else 1

    def boxes(self, layer: str) -> np.ndarray:
        """The boxes of the layer's neurons, one per soma core."""
        return np.array([c.box for c in self.soma_cores(layer)], np.int64).reshape(-1, 6)

    def summary(self) -> str:
        """One line per placed layer: cores used and worst utilization."""
        lines = [f"placement on {self.profile} ({self.family}): {len(self.cores)} cores"
                 + (f" on {self.chips} chip(s)" if self.chips else "")
                 + ("" if self.fits else f" - DOES NOT FIT: {self.misfit}")]
        for layer in self.layers:
            if not layer.placed:
                continue
            cores = self.cores_of(layer.name)
            worst = {}
            for c in cores:
                for k, v in c.utilization().items():
                    worst[k] = max(worst.get(k, 0.0), v)
            util = ", ".join(f"{k} {v:.0%}" for k, v in worst.items())
            parts = self.split(layer.name)
            lines.append(f"  {layer.name}: {len(cores)} core(s)" + (f" (max {util})" if util else "")
                         + (f", fan-in split over {parts} cores per box" if parts > 1 else ""))
        return "\n".join(lines)
