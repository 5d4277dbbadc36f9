"""The fast costing paths (vectorized geometry, per-placement caches, per-cost memo) against
straightforward references: exact on integer event maps, and stable across repeated costs."""
import numpy as np
import pytest

import neurosim.hw as hw
from neurosim.hw.accounting import LayerCounts, _layer_counts, layer_counts
from neurosim.hw.activity import COUNTS, chip_activity, layer_shares, spread
from neurosim.hw.families.mesh import NeuromorphicMeshModel
from neurosim.hw.geometry import BoxGrid, synapse_box_ops, taps_1d, window_range
from neurosim.hw.memo import costing_session
from neurosim.hw.placement import MeshLayout
from neurosim.hw.routing import LinkLoads
from neurosim.ir.graph import GraphBuilder

from hw_testkit import random_trace, scale_events, small_mesh
from test_hw_invariants import mixed_graph


def random_boxes(rng, shape, n):
    """Boxes inside and around a (C, H, W) map, some empty."""
    C, H, W = shape
    lo = rng.integers(-1, [C, H, W], (n, 3))
    hi = lo + rng.integers(0, [C + 1, H + 1, W + 1], (n, 3))
    return np.stack([lo[:, 0], hi[:, 0], lo[:, 1], hi[:, 1], lo[:, 2], hi[:, 2]], -1)


def brute_sum(emap, box):
    C, H, W = emap.shape
    c0, c1, y0, y1, x0, x1 = (min(max(int(v), 0), n) for v, n in zip(box, (C, C, H, H, W, W)))
    return float(emap[c0:c1, y0:y1, x0:x1].sum())


@pytest.mark.parametrize("seed", range(5))
def test_box_grid_sums_are_exact_on_counts(seed):
    rng = np.random.default_rng(seed)
    shape = tuple(int(v) for v in rng.integers(1, 9, 3))
    emap = rng.integers(0, 6, shape).astype(np.float64)
    boxes = random_boxes(rng, shape, 12).reshape(3, 4, 6)
    grid = BoxGrid(shape, boxes)
    sums, total = grid.sums(grid.reduce(emap))
    assert sums.shape == (3, 4) and total == emap.sum()
    assert sums.tolist() == [[brute_sum(emap, b) for b in row] for row in boxes]


def reference_box_ops(node, in_shape, in_map, boxes):
    """synapse_box_ops as a loop over boxes (the implementation before vectorization)."""
    C, H, W = in_shape
    emap = np.ones((C, H, W)) if in_map is None else np.asarray(in_map, np.float64).reshape(C, H, W)
    cout_g, cin_g = node.out_channels // node.groups, node.weight.shape[1]
    kh, kw = node.kernel_size
    (sh, sw), (ph, pw) = node.stride, node.padding
    Ho, Wo = (H + 2 * ph - kh) // sh + 1, (W + 2 * pw - kw) // sw + 1
    group_maps = emap.reshape(node.groups, cin_g, H, W).sum(1)
    ty, tx = taps_1d(H, 0, Ho, sh, ph, kh), taps_1d(W, 0, Wo, sw, pw, kw)
    group_full = np.einsum("h,ghw,w->g", ty, group_maps, tx)
    ops, share = np.zeros(len(boxes)), np.zeros((node.out_channels, len(boxes)))
    for j, (c0, c1, y0, y1, x0, x1) in enumerate(boxes):
        if c1 <= c0 or y1 <= y0 or x1 <= x0:
            continue
        ylo, yhi = window_range(y0, y1, sh, ph, kh, H)
        xlo, xhi = window_range(x0, x1, sw, pw, kw, W)
        t_y = taps_1d(H, y0, y1, sh, ph, kh)[ylo:yhi]
        t_x = taps_1d(W, x0, x1, sw, pw, kw)[xlo:xhi]
        g0 = c0 // cout_g
        parts = np.einsum("h,ghw,w->g", t_y, group_maps[g0:(c1 - 1) // cout_g + 1, ylo:yhi, xlo:xhi], t_x)
        groups = np.arange(c0, c1) // cout_g
        ops[j] = parts[groups - g0].sum()
        full = group_full[groups]
        share[c0:c1, j] = np.divide(parts[groups - g0], full, out=np.zeros(c1 - c0), where=full > 0)
    return ops, share


@pytest.mark.parametrize("groups,stride,padding", [(1, 1, 1), (2, 2, 0), (4, 1, 2), (8, 3, 1)])
def test_synapse_box_ops_match_the_loop(groups, stride, padding):
    rng = np.random.default_rng(groups)
    b = GraphBuilder()
    x = b.input((8, 11, 9), kind="binary", name="x")
    b.conv2d(x, weight=np.ones((8, 8 // groups, 3, 3), np.float32), stride=stride, padding=padding,
             groups=groups, name="c")
    graph = b.build(outputs=["c"])
    node = graph.node("c")
    C, Ho, Wo = graph.shapes["c"]
    boxes = []
    for c0 in range(0, C, 3):                      # a tiling, plus one empty box
        for y0 in range(0, Ho, 2):
            boxes.append((c0, min(C, c0 + 3), y0, min(Ho, y0 + 2), 0, Wo))
    boxes = np.array(boxes + [(0, 0, 0, 1, 0, 1)], np.int64)
    counts = rng.integers(0, 5, (8, 11, 9)).astype(np.float64)
    for in_map in (None, counts):
        ops, share = synapse_box_ops(node, (8, 11, 9), in_map, boxes)
        ref_ops, ref_share = reference_box_ops(node, (8, 11, 9), in_map, boxes)
        assert np.array_equal(ops, ref_ops) and np.array_equal(share, ref_share)
    values = rng.random((8, 11, 9))                # not counts: equal up to the order of additions
    ops, share = synapse_box_ops(node, (8, 11, 9), values, boxes)
    ref_ops, ref_share = reference_box_ops(node, (8, 11, 9), values, boxes)
    np.testing.assert_allclose(ops, ref_ops, rtol=1e-12)
    np.testing.assert_allclose(share, ref_share, rtol=1e-12, atol=1e-15)


def reference_link_loads(layout, chips, adds):
    """LinkLoads before planning: difference arrays updated with np.add.at."""
    width, height = max(1, chips) * layout.tile_columns, layout.tile_rows
    d = np.zeros((4, height + 1, width + 1))
    for src, dst, p in adds:
        _, xs, ys = layout.positions(src)
        _, xd, yd = layout.positions(dst)
        XS, XD = np.broadcast_arrays(xs[:, None], xd[None, :])
        YS, YD = np.broadcast_arrays(ys[:, None], yd[None, :])
        east, west = (XD > XS) & (p > 0), (XD < XS) & (p > 0)
        south, north = (YD > YS) & (p > 0), (YD < YS) & (p > 0)
        np.add.at(d[0], (YS[east], XS[east]), p[east])
        np.add.at(d[0], (YS[east], XD[east]), -p[east])
        np.add.at(d[1], (YS[west], XD[west]), p[west])
        np.add.at(d[1], (YS[west], XS[west]), -p[west])
        np.add.at(d[2], (YS[south], XD[south]), p[south])
        np.add.at(d[2], (YD[south], XD[south]), -p[south])
        np.add.at(d[3], (YD[north], XD[north]), p[north])
        np.add.at(d[3], (YS[north], XD[north]), -p[north])
    out = np.empty((4, height, width))
    out[0:2] = d[0:2, :height, :].cumsum(axis=2)[:, :, :width]
    out[2:4] = d[2:4, :, :width].cumsum(axis=1)[:, :height, :]
    return out


def test_link_loads_match_the_difference_arrays():
    rng = np.random.default_rng(3)
    layout = MeshLayout(cores_per_chip=16, cores_per_tile=2, tile_columns=3, tile_rows=3)
    adds = [(rng.choice(40, 5, replace=False), rng.choice(40, 7, replace=False), rng.random((5, 7)) * 10)
            for _ in range(4)]
    loads = LinkLoads(layout, chips=3)
    for i, (src, dst, p) in enumerate(adds):
        loads.add(src, dst, p, source=i % 2)
    assert np.array_equal(loads.loads_by_source()[0], reference_link_loads(layout, 3, adds[0::2]))
    assert np.array_equal(loads.loads_by_source()[1], reference_link_loads(layout, 3, adds[1::2]))
    single = LinkLoads(layout, chips=3)
    single.add(*adds[0])
    assert np.array_equal(single.loads(), reference_link_loads(layout, 3, adds[:1]))


def test_chip_activity_is_the_layers_side_by_side():
    graph = mixed_graph()                   # a layer fed by two synaptic nodes, a host-fed head...
    model = hw.hardware_model(small_mesh())
    placement = model.place(graph, strict=False)
    trace = random_trace(graph, 2, 3, seed=4)
    shares = [layer_shares(l, placement.boxes(l.name), graph, trace) for l in placement.decomposition.placed]
    chip = chip_activity(shares, 2, 3)
    start = 0
    for s in shares:
        for c in COUNTS:
            ref = np.zeros((2, 3, s.n_cores))
            for i, (total, share) in enumerate(s.terms[c]):
                ref = spread(total, share) if i == 0 else ref + spread(total, share)
            assert np.array_equal(getattr(chip, c)[:, :, start:start + s.n_cores], ref)
        start += s.n_cores
    assert chip.syn_ops.shape == (2, 3, start) and chip.syn_ops.flags.c_contiguous


def test_layer_counts_are_the_same_in_a_session():
    graph = mixed_graph()
    trace = random_trace(graph, 3, 2, seed=5)
    layers = hw.decompose(graph).layers
    plain = [vars(_layer_counts(l, graph, trace)) for l in layers]
    with costing_session():
        memo = [vars(layer_counts(l, graph, trace)) for l in layers]
        again = layer_counts(layers[0], graph, trace)
        again.syn_ops += 1.0                       # a fresh object: the memo is not changed
        assert vars(layer_counts(layers[0], graph, trace)) == plain[0]
    assert memo == plain and isinstance(again, LayerCounts)


class PerLayerHooks(NeuromorphicMeshModel):
    """The Loihi model with its energy hook called layer by layer."""

    core_by_core = False


class UnevenHooks(PerLayerHooks):
    """A hook whose layers report different components (MACs only where there are some)."""

    def core_energy(self, layer, act, packets_energy):
        energy = super().core_energy(layer, act, packets_energy)
        if not act.core_totals("macs").any():
            del energy["mac"]
        return energy


def report_dict(model, trace, placement):
    return model.cost(trace, placement, ann_twin=False).to_dict()


def test_per_layer_and_uneven_hooks_give_the_same_report():
    graph = mixed_graph()
    trace = random_trace(graph, 2, 2, seed=6)
    profile = small_mesh()
    reference = report_dict(hw.hardware_model(profile), trace, hw.hardware_model(profile).place(graph))
    for cls in (PerLayerHooks, UnevenHooks):
        model = cls(profile)
        assert report_dict(model, trace, model.place(graph)) == reference


@pytest.mark.parametrize("profile", ["loihi", "truenorth", "speck", "memory-45nm", "paper-45nm"])
def test_costing_again_reads_the_trace_afresh(profile):
    graph = mixed_graph()
    model = hw.hardware_model(profile)
    placement = model.place(graph, strict=False)
    trace = random_trace(graph, 2, 2, seed=7)
    first = model.cost(trace, placement).to_dict()
    assert model.cost(trace, placement).to_dict() == first          # caches give the same report
    scale_events(trace, 3.0)                                         # the same trace object, changed
    fresh = hw.hardware_model(profile)
    assert model.cost(trace, placement).to_dict() == fresh.cost(trace, fresh.place(graph, strict=False)).to_dict()
    assert model.cost(trace, placement).to_dict() != first


@pytest.mark.parametrize("profile", ["memory-45nm", "memory-45nm-int8", "paper-45nm", "loihi"])
def test_snn_energy_is_the_reports_energy(profile):
    graph = mixed_graph()
    trace = random_trace(graph, 2, 3, seed=8)
    model = hw.hardware_model(profile)
    placement = model.place(graph, strict=False)
    assert model.snn_energy(trace, placement) == model.cost(trace, placement, ann_twin=False).energy_per_inference


def test_a_profile_added_later_is_found(tmp_path, monkeypatch):
    monkeypatch.setenv(hw.ENV_DIR, str(tmp_path))
    assert "later-chip" not in hw.available_profiles()
    text = (hw.profile.builtin_dir() / "paper-45nm.yaml").read_text().replace("name: paper-45nm", "name: later-chip")
    (tmp_path / "later-chip.yaml").write_text(text)
    assert "later-chip" in hw.available_profiles()
    assert hw.load_profile("later-chip").name == "later-chip"


@pytest.mark.parametrize("seed", range(6))
def test_overlap_pairs_are_the_nonzero_dense_pairs(seed):
    """The sparse pairs equal the non-empty entries of the dense pair arrays, in row-major
    order, for tiled (distinct) source boxes and for boxes that repeat (dense fallback)."""
    from neurosim.hw.geometry import box_sizes, intersections, overlap_counts, overlap_pairs
    from neurosim.hw.tiling import tile_boxes

    rng = np.random.default_rng(seed)
    shape = tuple(int(v) for v in rng.integers(1, 12, 3))
    tiles = tile_boxes(shape, *(int(rng.integers(1, n + 1)) for n in shape))
    for a in (tiles, np.concatenate([tiles, tiles[:2]])):
        b = random_boxes(rng, shape, 15)
        i, j, shared = overlap_pairs(a, b)
        dense = overlap_counts(a, b)
        ei, ej = np.nonzero(dense)
        np.testing.assert_array_equal(i, ei)
        np.testing.assert_array_equal(j, ej)
        np.testing.assert_array_equal(box_sizes(shared), dense[ei, ej])
        np.testing.assert_array_equal(shared, intersections(a, b)[ei, ej])
