"""A dataset spread over Dask workers: the merged trace is the one-process trace, the shards'
reports merged are the one-process report, a killed run resumes without recomputing finished
shards, and mAP covers the whole split."""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

import neurosim.hw as hw
from neurosim.cli import main
from neurosim.errors import NeurosimError
from neurosim.scaleout import SHARD_DIR, dataset_accuracy, dataset_root, open_dataset, plan_shards, run_dataset
from neurosim.sim import simulate
from neurosim.sim.trace import COUNT_FIELDS

REPO = Path(__file__).resolve().parent.parent
FIELDS = COUNT_FIELDS + ("syn_ops_per_channel", "out_spikes_per_channel", "event_map")


@pytest.fixture(scope="module")
def shapes_model(tmp_path_factory):
    """(model folder, graph, dataset, T, absolute data root) of the shipped SpikeYOLO on its shapes set."""
    model = REPO / "trained" / "spikeyolo-shapes"
    graph, dataset, T = open_dataset(str(model), None, None, None)
    return str(model), graph, dataset, T, dataset_root(graph, None)


def assert_close(a, b, where="", rtol=1e-10):
    """Documents equal in structure, strings and integers; floats to ``rtol`` (weighted means)."""
    if isinstance(a, dict):
        assert isinstance(b, dict) and a.keys() == b.keys(), where
        for k in a:
            assert_close(a[k], b[k], f"{where}.{k}", rtol)
    elif isinstance(a, list):
        assert isinstance(b, list) and len(a) == len(b), where
        for i, (x, y) in enumerate(zip(a, b)):
            assert_close(x, y, f"{where}[{i}]", rtol)
    elif isinstance(a, float) and isinstance(b, float):
        assert b == pytest.approx(a, rel=rtol, abs=1e-300), where
    else:
        assert a == b, where


def _one_process(graph, dataset, images):
    x = np.stack([dataset[i][0] for i in range(images)])
    return simulate(graph, x)


def test_merged_shards_are_the_one_process_trace_and_cost_the_same(shapes_model, tmp_path):
    model, graph, dataset, T, root = shapes_model
    shards = plan_shards(model, root, T, None, 20, shard_size=7)  # 7 + 7 + 6: uneven on purpose
    run, report = run_dataset(shards, tmp_path, workers=2, quiet=True, chip="loihi")
    assert sorted(run.computed) == sorted(s.name for s in shards)
    trace = run.merged_trace()
    alone = _one_process(graph, dataset, 20).trace
    assert trace.batch == 20 and trace.timesteps == alone.timesteps
    for node in graph.nodes:
        for f in FIELDS:
            a, b = getattr(trace[node.name], f), getattr(alone[node.name], f)
            assert (a is None) == (b is None), f"{node.name}.{f}"
            if a is not None:
                np.testing.assert_array_equal(a, b, err_msg=f"{node.name}.{f}")
    for chip in ("memory-45nm", "loihi"):
        model_hw = hw.hardware_model(chip)
        placement = model_hw.place(graph)
        merged, single = model_hw.cost(trace, placement, graph), model_hw.cost(alone, placement, graph)
        assert merged.to_dict()["totals"] == single.to_dict()["totals"], chip
        assert merged.to_dict()["cores"] == single.to_dict()["cores"], chip  # per core, exactly
    # costed shard by shard on the workers, merged: the one-process report, latency and links included
    single = hw.hardware_model("loihi").cost(alone, hw.hardware_model("loihi").place(graph), graph)
    assert report.batch == 20 and report.details["links"]["busiest_link"] is not None
    assert_close(single.to_dict(), report.to_dict())
    assert len(run.detections()) == 20


def test_shard_reports_merge_to_the_one_process_report_on_every_family(shapes_model, tmp_path):
    """Costed in this process shard by shard (no cluster) on a profile of each costing family."""
    model, graph, dataset, T, root = shapes_model
    run, _ = run_dataset(plan_shards(model, root, T, None, 9, shard_size=4), tmp_path, workers=2, quiet=True)
    alone = _one_process(graph, dataset, 9).trace
    for chip in ("paper-45nm", "memory-45nm", "truenorth", "speck", "loihi"):
        model_hw = hw.hardware_model(chip)
        try:
            placement = model_hw.place(graph)
        except NeurosimError:
            continue  # does not fit: the run refuses it the same way
        single = model_hw.cost(alone, placement, graph)
        assert_close(single.to_dict(), run.cost(chip).to_dict(), chip)
    rows = run.node_rows(graph)
    from neurosim.report.counts import node_rows

    assert_close(node_rows(graph, alone), rows)


def test_shard_files_keep_event_maps_as_small_exact_integers(shapes_model, tmp_path):
    from neurosim.scaleout import compact_counts, expand_counts, load_shard

    counts = np.array([[0.0, 3.0], [255.0, 1.0]], np.float32)
    assert compact_counts(counts).dtype == np.uint8 and compact_counts(counts * 300).dtype == np.uint32
    assert compact_counts(counts + 0.5).dtype == np.float32          # not counts: kept as given
    assert compact_counts(-counts).dtype == np.float32
    np.testing.assert_array_equal(expand_counts(compact_counts(counts * 300)), counts * 300)
    assert expand_counts(np.array([2 ** 24], np.uint32)).dtype == np.float64
    model, graph, dataset, T, root = shapes_model
    run, _ = run_dataset(plan_shards(model, root, T, None, 3, shard_size=3), tmp_path, workers=1, quiet=True)
    with np.load(run.paths()[0]) as data:
        stored = [data[k].dtype for k in data.files if k.endswith("|event_map")]
    assert stored and all(d.kind == "u" for d in stored)
    trace, _ = load_shard(run.paths()[0])
    alone = _one_process(graph, dataset, 3).trace
    for nt in alone:
        if nt.event_map is not None:
            np.testing.assert_array_equal(trace[nt.name].event_map, nt.event_map)


def test_a_killed_run_resumes_without_recomputing_finished_shards(shapes_model, tmp_path):
    model, graph, dataset, T, root = shapes_model
    shards = plan_shards(model, root, T, None, 12, shard_size=4)
    first = run_dataset(shards[:2], tmp_path, workers=1, quiet=True)[0].computed  # "killed" after two shards
    assert first == [shards[0].name, shards[1].name]
    (tmp_path / SHARD_DIR / "plan.json").unlink()  # the plan of the interrupted run covered only those two
    stamp = (tmp_path / SHARD_DIR / f"{shards[0].name}.npz").stat().st_mtime_ns
    run, _ = run_dataset(shards, tmp_path, workers=1, quiet=True)
    assert run.computed == [shards[2].name]
    assert (tmp_path / SHARD_DIR / f"{shards[0].name}.npz").stat().st_mtime_ns == stamp
    np.testing.assert_array_equal(run.merged_trace()[graph.outputs[0]].out_nonzero,
                                  _one_process(graph, dataset, 12).trace[graph.outputs[0]].out_nonzero)
    assert run_dataset(shards, tmp_path, workers=1, quiet=True)[0].computed == []


def test_shards_of_another_run_are_refused(shapes_model, tmp_path):
    model, graph, dataset, T, root = shapes_model
    run_dataset(plan_shards(model, root, T, None, 4, shard_size=4), tmp_path, workers=1, quiet=True)
    with pytest.raises(NeurosimError, match="holds the shards of another run"):
        run_dataset(plan_shards(model, root, T, None, 4, shard_size=2), tmp_path, workers=1, quiet=True)


def test_gen1_maps_the_whole_split_and_says_why_not_for_part_of_it(tmp_path):
    model = str(REPO / "trained" / "emsyolo-gen1")
    graph, dataset, T = open_dataset(model, None, None, None)
    shards = plan_shards(model, dataset_root(graph, None), T, None, len(dataset), shard_size=64)
    detections = run_dataset(shards, tmp_path, workers=2, quiet=True)[0].detections()
    accuracy, why_not = dataset_accuracy(dataset, detections, complete=True)
    assert why_not is None and accuracy["protocol"] == "gen1" and accuracy["images"] == len(dataset)
    from neurosim.detect import decode, read_out

    alone = _one_process(graph, dataset, len(dataset))
    spec = graph.metadata["detection"]
    expected = dataset.evaluate(dict(enumerate(decode(spec, read_out(spec, alone.outputs)))))
    assert accuracy["map50"] == expected["AP50"] and accuracy["map"] == expected["AP"]
    partial, why = dataset_accuracy(dataset, detections[:5], complete=False)
    assert partial is None and "whole recordings" in why


def test_simulate_command_on_workers_reports_what_one_process_reports(tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(REPO)  # the shipped model's dataset root (data/shapes) is relative to the checkout
    assert main(["simulate", "spikeyolo-shapes", "--images", "12", "--chip", "memory-45nm", "--json", "--quiet"]) == 0
    alone = json.loads(capsys.readouterr().out)
    out = tmp_path / "dist"
    assert main(["simulate", "spikeyolo-shapes", "--images", "12", "--chip", "memory-45nm", "--json", "--quiet",
                 "--workers", "2", "--shard-size", "5", "--out", str(out)]) == 0
    captured = capsys.readouterr()
    spread = json.loads(captured.out)
    assert "12 images in 3 shards (3 computed now, 0 reused" in captured.err
    assert_close(alone["totals"], spread["totals"])
    assert_close(alone["layers"], spread["layers"])
    assert spread["accuracy"] == dict(alone["accuracy"], protocol="coco")
    assert (out / "report.json").is_file() and len(list((out / SHARD_DIR).glob("*.npz"))) == 3
