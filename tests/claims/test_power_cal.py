"""SpikeYOLO's power_cal.xlsx, transcribed: its totals, and its rows against our paper-scale graph."""
import pytest

from neurosim.hw.ann_twin import dense_macs

from neurosim.claims import build_graph, energies, synthetic_trace
from neurosim.claims.power_cal import SHEET_TOTALS, reconcile, sheet_energies, sheet_rates, sheet_rows


def test_sheet_totals_are_the_authors():
    rows = sheet_rows()
    assert len(rows) == 89 and rows[0]["row"] == 4 and rows[-1]["row"] == 92
    e = sheet_energies()
    assert e["flops"] == 101_211_340_800  # 101.2113408 G, the sheet's cell Q92
    assert e["ann_pJ"] == pytest.approx(SHEET_TOTALS["ann_pJ"], rel=1e-12)   # 465.57 mJ (S92)
    assert e["snn_pJ"] == pytest.approx(SHEET_TOTALS["snn_pJ"], rel=1e-12)   # 34.49 mJ (U92)
    # a row by hand: row 8, 3x3 conv 64 -> 256 at 160x160, rate 1.4604
    r8 = next(r for r in rows if r["row"] == 8)
    assert r8["flops"] == 64 * 256 * 9 * 160 * 160 and r8["rate"] == 1.4604


@pytest.fixture(scope="module")
def s640():
    return build_graph("spikeyolo-s-640")


def test_rows_reconcile_with_our_graph(s640):
    rec = reconcile(s640)
    same = [r for r in rec if not r["differs"] and r["flops"] == r["sheet_flops"]]
    assert len(same) == 86
    diff = {r["node"]: r for r in rec if r not in same}
    assert set(diff) == {"neck.l12.sep.pw3", "neck.l22.conv1", "neck.l22.conv2"}
    assert diff["neck.l12.sep.pw3"]["differs"] == {"Hout": (20, 40), "Wout": (20, 40)}
    assert diff["neck.l22.conv1"]["differs"] == {"Cout": (512, 768)}
    gap = sum(r["flops"] - r["sheet_flops"] for r in rec)
    assert gap == 3_303_014_400  # 104.51 G - 101.21 G
    assert (diff["neck.l22.conv1"]["flops"] - diff["neck.l22.conv1"]["sheet_flops"]) * 2 == 1_887_436_800


def test_sheet_rates_drive_the_convention_and_the_trace(s640):
    rates = sheet_rates(s640)
    assert len(rates) == 88 and rates["backbone.1.0.conv1.lif"] == 1.4604
    # the papers' convention per layer with the sheet's rates, on our graph: our layer names carry them
    by_layer = {r["node"]: rates[r["input"]] for r in reconcile(s640) if r["input"] in rates}
    e = energies("spikeyolo", s640, by_layer)
    sheet = sheet_energies()
    ours_ac = e["snn"] - 240_844_800 * 4.6e-12   # our encoding layer as MACs (the paper), not 0.9 x 4.6
    sheet_ac = (sheet["snn_pJ"] - 240_844_800 * 0.9 * 4.6) * 1e-12
    # the AC part differs only by the three reconciled rows
    extra = sum((r["flops"] - r["sheet_flops"]) * rates[r["input"]] for r in reconcile(s640) if r["differs"])
    assert ours_ac == pytest.approx(sheet_ac + extra * 0.9e-12, rel=1e-9)
    # a synthetic trace at those rates: each neuron fires its row's rate
    trace = synthetic_trace(s640, rates, 1)
    n = trace.nodes["backbone.1.0.conv1.lif"]
    assert n.out_spikes.sum() == pytest.approx(1.4604 * 64 * 160 * 160)
    assert n.out_nonzero.sum() == pytest.approx(64 * 160 * 160)  # a rate above 1: every neuron fires
    conv = trace.nodes["backbone.1.0.conv1.conv"]
    node = s640.node("backbone.1.0.conv1.conv")
    assert conv.syn_ops.sum() == pytest.approx(1.4604 * dense_macs(node, (64, 160, 160)))
    # a neuron the sheet does not name fires the default
    other = synthetic_trace(s640, {"*": 0.25}, 1).nodes["backbone.1.0.conv1.lif"]
    assert other.out_spikes.sum() == pytest.approx(0.25 * 64 * 160 * 160)
