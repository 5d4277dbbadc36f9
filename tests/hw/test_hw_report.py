"""The Report: versioned dict, JSON and CSV writers (atomic), round trip."""
import csv
import io
import json

import numpy as np
import pytest

import neurosim.hw as hw
from neurosim.errors import FormatError
from neurosim.report import (COMPONENTS, SCHEMA, VERSION, Report, cores_csv, layers_csv, read_json,
                             write_csv, write_json)

from hw_testkit import deep_net, empty_trace, small_mesh, two_layer_net, two_layer_trace, variant


@pytest.fixture(scope="module")
def report():
    graph = two_layer_net()
    return hw.evaluate(two_layer_trace(graph), graph, small_mesh())


def test_dict_is_versioned_and_complete(report):
    d = report.to_dict()
    assert d["schema"] == SCHEMA == "neurosim-report" and d["version"] == VERSION == 1
    assert d["units"] == {"energy": "J", "time": "s", "memory": "bit", "throughput": "1/s"}
    assert d["profile"]["name"] == "loihi" and d["profile"]["family"] == "neuromorphic-mesh"
    assert d["run"] == {"batch": 1, "timesteps": 2}
    totals = d["totals"]
    for key in ("energy_per_inference", "energy_total", "energy_by_component", "latency_per_inference",
                "throughput", "fits", "cores_used", "chips_used", "memory_bits"):
        assert key in totals
    assert set(totals["energy_by_component"]) == set(COMPONENTS)
    row = d["layers"][0]
    for key in ("name", "kind", "events_in", "events_out", "firing_rate", "syn_ops", "macs", "neuron_updates",
                "energy", "energy_total", "latency", "memory", "cores", "routing"):
        assert key in row
    assert d["cores"][0]["utilization"]["neurons"] == pytest.approx(64 / 1024)
    assert d["ann_twin"]["comparisons"][0]["ann_profile"] == "paper-45nm"
    json.dumps(d)  # plain JSON types only


def test_json_round_trip(report, tmp_path):
    path = write_json(report, tmp_path / "out" / "report.json")
    assert sorted(p.name for p in path.parent.iterdir()) == ["report.json"]  # no temp file left
    back = read_json(path)
    assert back.energy_per_inference == pytest.approx(report.energy_per_inference)
    assert back.latency_per_inference == pytest.approx(report.latency_per_inference)
    assert back.to_dict() == json.loads(path.read_text())


def test_csv_has_a_row_per_layer_and_a_total(report, tmp_path):
    path = write_csv(report, tmp_path / "layers.csv", cores_path=tmp_path / "cores.csv")
    rows = list(csv.DictReader(io.StringIO(path.read_text())))
    assert [r["layer"] for r in rows] == ["A", "B", "TOTAL"]
    assert float(rows[-1]["energy_total_j"]) == pytest.approx(report.energy_per_inference)
    assert sum(float(r["energy_total_j"]) for r in rows[:-1]) == pytest.approx(report.energy_per_inference)
    assert float(rows[-1]["latency_s"]) == pytest.approx(report.latency_per_inference)
    cores = list(csv.DictReader(io.StringIO((tmp_path / "cores.csv").read_text())))
    assert len(cores) == 6 and cores[0]["layer"] == "A"
    assert layers_csv(report) == path.read_text() and cores_csv(report) == (tmp_path / "cores.csv").read_text()


def test_bad_report_documents(tmp_path):
    with pytest.raises(FormatError, match="not a neurosim-report"):
        Report.from_dict({"schema": "other"})
    with pytest.raises(FormatError, match="version"):
        Report.from_dict({"schema": "neurosim-report", "version": 99})
    bad = tmp_path / "bad.json"
    bad.write_text("{nope")
    with pytest.raises(FormatError, match="bad.json"):
        read_json(bad)


def test_failed_write_leaves_the_old_file(report, tmp_path, monkeypatch):
    path = tmp_path / "r.json"
    path.write_text("old")
    import neurosim.fsutil as fsutil

    def boom(src, dst):
        raise OSError("disk full")

    monkeypatch.setattr(fsutil.os, "replace", boom)
    with pytest.raises(OSError):
        write_json(report, path)
    assert path.read_text() == "old"
    assert [p.name for p in tmp_path.iterdir()] == ["r.json"]


def test_table_mentions_every_layer(report):
    text = report.table()
    assert "loihi" in text and "TOTAL" in text and "\nA " in text and "\nB " in text


def test_misfit_is_reported_not_hidden():
    graph = deep_net()
    trace = empty_trace(graph, batch=1, timesteps=1)
    report = hw.evaluate(trace, graph, variant("loihi", max_chips=1), strict=False, ann_twin=False)
    assert report.fits is False and "l3" in report.misfit
    assert report.to_dict()["totals"]["fits"] is False
    assert np.isfinite(report.energy_per_inference)


def test_every_family_says_what_it_leaves_out(report, tmp_path):
    from neurosim.hw.registry import get_family

    for name in ("op-energy", "memory-aware", "dense-accelerator", "neuromorphic-mesh", "crossbar", "dynapcnn"):
        family = get_family(name)
        assert family.omissions and all(isinstance(o, str) and o for o in family.omissions), name
    assert report.omissions == list(hw.hardware_model("loihi").omissions)
    assert any("inputs" in o for o in report.omissions)
    back = read_json(write_json(report, tmp_path / "report.json"))
    assert back.omissions == report.omissions and report.to_dict()["omissions"] == report.omissions
    graph = two_layer_net()
    paper = hw.evaluate(two_layer_trace(graph), graph, "paper-45nm")
    assert "neuron state updates" in paper.omissions and "latency" in paper.omissions
