"""The simulate command on the built-in example, and its errors."""
import json

import numpy as np

from neurosim.cli import main
from neurosim.examples import example_input, tiny_snn
from neurosim.ir import save_graph
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
