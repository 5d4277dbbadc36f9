"""The simulate command on the built-in example, and its errors."""
import json

import numpy as np

from neurosim.cli import main
from neurosim.examples import example_input, tiny_snn
from neurosim.ir import Graph, save_graph
from neurosim.sim import simulate


def test_example_json_matches_the_api(capsys):
    assert main(["simulate", "example:tiny-snn", "--T", "2", "--images", "2", "--json"]) == 0
    doc = json.loads(capsys.readouterr().out)
    graph = tiny_snn()
    trace = simulate(graph, example_input(graph, 2, 2, 0)).trace
    rows = {r["name"]: r for r in doc["layers"]}
    for node in trace:
        assert rows[node.name]["syn_ops"] == node.total("syn_ops") / 2


def test_model_directory_and_input_file(tmp_path, capsys):
    graph = tiny_snn()
    save_graph(graph, tmp_path / "m")
    np.save(tmp_path / "x.npy", example_input(graph, 3, 1, 5))
    assert main(["simulate", str(tmp_path / "m"), "--input", str(tmp_path / "x.npy")]) == 0
    assert "stage2.ilif" in capsys.readouterr().out


def test_errors_are_one_sentence_and_exit_2(tmp_path, capsys):
    assert main(["simulate", str(tmp_path / "missing")]) == 2
    err = capsys.readouterr().err
    assert err.startswith("neurosim: error:") and "does not exist" in err and "Traceback" not in err
    assert "example:tiny-snn" in err  # the valid choices are named
    assert main(["simulate", "example:nothing"]) == 2
    assert "unknown example" in capsys.readouterr().err
    graph = tiny_snn()
    save_graph(graph, tmp_path / "m")
    np.save(tmp_path / "bad.npy", np.zeros((1, 2, 3)))
    assert main(["simulate", str(tmp_path / "m"), "--input", str(tmp_path / "bad.npy")]) == 2
    assert "must have shape" in capsys.readouterr().err


def test_data_command_generates_a_small_shapes_set(tmp_path, capsys):
    assert main(["data", "shapes", str(tmp_path / "s"), "--counts", "3,2,2"]) == 0
    assert (tmp_path / "s" / "annotations" / "instances_test.json").is_file()
    assert main(["data", "shapes", str(tmp_path / "s"), "--counts", "3,2"]) == 2
    assert "--counts must be three integers" in capsys.readouterr().err


def test_simulate_on_a_chip_writes_the_report(tmp_path, capsys):
    out = tmp_path / "out"
    assert main(["simulate", "example:tiny-snn", "--T", "2", "--chip", "loihi", "--out", str(out)]) == 0
    text = capsys.readouterr().out
    assert "energy per inference" in text and "SNN/ANN energy" in text
    report = json.loads((out / "report.json").read_text())
    assert report["schema"] == "neurosim-report" and report["profile"]["name"] == "loihi"
    assert (out / "layers.csv").read_text().count("\n") >= 4
    png = (out / "energy.png").read_bytes()
    assert png.startswith(b"\x89PNG") and len(png) > 10_000


def test_simulate_at_another_D_equals_the_api(capsys):
    from neurosim.sweep import with_max_spike

    assert main(["simulate", "example:tiny-snn", "--T", "2", "--D", "2", "--json", "--quiet"]) == 0
    doc = json.loads(capsys.readouterr().out)
    graph = with_max_spike(tiny_snn(), 2)
    trace = simulate(graph, example_input(graph, 2, 1, 0)).trace
    row = next(r for r in doc["layers"] if r["name"] == "stage2.ilif")
    assert row["events_out"] == trace["stage2.ilif"].total("out_spikes")


def test_simulate_input_errors_name_the_problem(tmp_path, capsys):
    graph = tiny_snn()
    save_graph(graph, tmp_path / "m")
    for argv, expected in ((["--D", "0"], "argument --D: must be an integer of at least 1"),
                           (["--data", str(tmp_path)], "--data needs a trained detector")):
        assert main(["simulate", "example:tiny-snn", *argv]) == 2
        assert expected in capsys.readouterr().err
    no_ilif = Graph.from_nodes([n for n in tiny_snn().nodes if not n.name.startswith(("stage2", "head"))],
                               ["block.lif"], {})
    save_graph(no_ilif, tmp_path / "plain")
    assert main(["simulate", str(tmp_path / "plain"), "--D", "2"]) == 2
    assert "has none" in capsys.readouterr().err


def test_simulate_on_a_chip_it_does_not_fit_is_one_sentence(tmp_path, capsys):
    assert main(["simulate", "example:tiny-snn", "--chip", "speck", "--out", str(tmp_path / "o")]) == 2
    err = capsys.readouterr().err
    assert "speck" in err and "Traceback" not in err and not (tmp_path / "o").exists()
    assert main(["simulate", "example:tiny-snn", "--chip", "nonesuch"]) == 2
    assert "available profiles" in capsys.readouterr().err


def test_chips_lists_every_profile(capsys):
    assert main(["chips"]) == 0
    out = capsys.readouterr().out
    for name in ("paper-45nm", "memory-45nm", "loihi", "truenorth", "speck", "ann-45nm"):
        assert name in out
