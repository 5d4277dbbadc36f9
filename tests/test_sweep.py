"""Sweeps: inference D really changes, interrupted sweeps resume, a 2-worker Dask cluster runs."""
import json

import numpy as np
import pytest

from neurosim.cli import main
from neurosim.ir import GraphBuilder, save_graph
from neurosim.sim import simulate
from neurosim.sweep import pareto_front, plan_points, run_sweep, with_max_spike

pytest.importorskip("dask.distributed")


def ilif_model(tmp_path):
    rng = np.random.default_rng(0)
    b = GraphBuilder(metadata={"name": "ilif-net", "T": 1, "D": 4})
    x = b.input((3, 16, 16), name="image")
    c = b.conv2d(x, weight=rng.normal(0, 1.0, (8, 3, 3, 3)).astype(np.float32), padding=1)
    s = b.ilif(c, max_spike=4)
    h = b.conv2d(s, weight=rng.normal(0, 0.3, (4, 8, 1, 1)).astype(np.float32))
    save_graph(b.build([h]), tmp_path / "m")
    return tmp_path / "m"


def test_with_max_spike_changes_the_spikes(tmp_path):
    from neurosim.ir import load_graph

    graph = load_graph(ilif_model(tmp_path))
    x = np.random.default_rng(1).random((2, 1, 3, 16, 16)).astype(np.float32) * 3
    counts = {D: simulate(with_max_spike(graph, D), x).trace["ilif0"].total("out_spikes") for D in (1, 2, 4)}
    assert counts[1] < counts[2] < counts[4]
    assert with_max_spike(graph, 1).kinds["ilif0"] == "binary"


def test_interrupted_sweep_computes_only_the_missing_points(tmp_path, capsys):
    model = ilif_model(tmp_path)
    out = tmp_path / "sweep"
    points = plan_points([str(model)], [1, 2], [1, 4], "memory-45nm", 2)
    assert len(points) == 4
    rows, computed = run_sweep(points[:2], out, workers=2, quiet=True)  # "interrupted" after two points
    assert len(computed) == 2 and len(list((out / "points").glob("*.json"))) == 2
    assert main(["sweep", str(model), "--T", "1,2", "--D", "1,4", "--chip", "memory-45nm", "--images", "2",
                 "--out", str(out), "--workers", "2", "--quiet"]) == 0
    assert "2 computed now, 2 reused" in capsys.readouterr().out
    csv = (out / "sweep.csv").read_text().splitlines()
    assert len(csv) == 5 and csv[0].startswith("model,T,D,chip")
    energies = {(r["T"], r["D"]): r["energy_uJ"] for r in (json.loads(p.read_text()) for p in (out / "points").glob("*.json"))}
    assert energies[(2, 4)] > energies[(1, 4)] and energies[(1, 4)] > energies[(1, 1)]


def test_pareto_front():
    rows = [{"energy_uJ": 1, "map50": 0.5}, {"energy_uJ": 2, "map50": 0.4}, {"energy_uJ": 3, "map50": 0.9}]
    assert pareto_front(rows) == [rows[0], rows[2]]


def test_twin_marker_uses_the_twins_own_graph_and_card(tmp_path):
    import neurosim.hw as hw
    from neurosim.cli.sweep_cmd import twin_marker
    from neurosim.errors import NeurosimError
    from neurosim.ir import load_graph
    from neurosim.report.figures import pareto

    twin = ilif_model(tmp_path)
    with pytest.raises(NeurosimError, match="has no card.json"):
        twin_marker(str(twin))
    (twin / "card.json").write_text(json.dumps({"evaluation": {"sim": {"map50": 0.61, "map": 0.4}}}))
    ref = twin_marker(str(twin))
    assert ref["map50"] == 0.61 and ref["name"] == "m" and ref["profile"] == "ann-45nm"
    assert ref["energy_uJ"] == pytest.approx(hw.hardware_model("ann-45nm").cost_twin(load_graph(twin)).energy * 1e6)
    rows = [{"model": "a", "T": 1, "D": 4, "energy_uJ": 2.0, "map50": 0.5, "chip": "memory-45nm"}]
    png = pareto(rows, tmp_path / "p.png", [ref, dict(ref, name="other", map50=0.7)])
    assert png.read_bytes().startswith(b"\x89PNG")
