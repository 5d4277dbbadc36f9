"""Chips in a grid (``chip_layout: grid``): mesh coordinates, hops and link times by hand."""
import numpy as np

from neurosim.hw.placement import MeshLayout
from neurosim.hw.routing import HopCosts, LinkLoads, hop_counts

# 4 cores per chip on 2 x 2 tiles of one core each
LINE = MeshLayout(cores_per_chip=4, cores_per_tile=1, tile_columns=2, tile_rows=2)
GRID = MeshLayout(cores_per_chip=4, cores_per_tile=1, tile_columns=2, tile_rows=2, chip_columns=3)


def test_positions_in_a_grid_of_chips():
    # core 19: chip 4 (chip column 1, chip row 1), tile 3 (column 1, row 1)
    chip, x, y = GRID.positions([19])
    assert (chip[0], x[0], y[0]) == (4, 1 * 2 + 1, 1 * 2 + 1)
    chip, x, y = LINE.positions([19])
    assert (chip[0], x[0], y[0]) == (4, 4 * 2 + 1, 1)
    assert GRID.mesh_size(5) == (3 * 2, 2 * 2) and LINE.mesh_size(5) == (10, 2)
    assert GRID.mesh_size(2) == (2 * 2, 2)  # fewer chips than columns: one row, as wide as they need


def test_hops_between_chips_of_a_grid():
    # core 0 (chip 0, x 0, y 0) to core 19 (chip 4 at x 3, y 3)
    ew, ns, chip = hop_counts(GRID, np.array([0]), np.array([19]), paired=True)
    assert (int(chip[0]), int(ew[0]), int(ns[0])) == (2, 3 - 1, 3 - 1)   # one chip hop each way
    ew, ns, chip = hop_counts(LINE, np.array([0]), np.array([19]), paired=True)
    assert (int(chip[0]), int(ew[0]), int(ns[0])) == (4, 9 - 4, 1)       # four chips along x


def test_links_between_chip_rows_take_the_chip_hop_time():
    loads = LinkLoads(GRID, chips=5)
    t = loads.link_times(HopCosts(t_ew=1.0, t_ns=2.0, t_chip=10.0))
    assert t.shape == (4, 4, 6)
    assert t[0, 0, 1] == 10.0 and t[0, 0, 0] == 1.0        # x 1 -> 2 crosses into the next chip column
    assert t[2, 1, 0] == 10.0 and t[2, 0, 0] == 2.0        # y 1 -> 2 crosses into the next chip row
    loads.add(np.array([0]), np.array([19]), np.array([[5.0]]))
    by_link = loads.loads()
    # XY routing: east along row 0 from x 0 to x 3, then south along column 3 from y 0 to y 3
    assert by_link[0, 0, :3].tolist() == [5.0, 5.0, 5.0] and by_link[2, :3, 3].tolist() == [5.0, 5.0, 5.0]
    assert by_link.sum() == 5.0 * 6
