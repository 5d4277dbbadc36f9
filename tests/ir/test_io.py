"""Save/load round trips and clear errors for damaged files."""
import json
import zipfile

import numpy as np
import pytest

from neurosim.errors import FormatError
from neurosim.ir import load_graph, save_graph
from neurosim.sim import simulate
from tests.graphs import random_case


@pytest.mark.parametrize("seed", range(8))
def test_round_trip_gives_the_same_simulation(tmp_path, seed):
    graph, x = random_case(seed)
    save_graph(graph, tmp_path / "m")
    loaded = load_graph(tmp_path / "m")
    assert [n.name for n in loaded.nodes] == [n.name for n in graph.nodes]
    assert loaded.shapes == graph.shapes and loaded.kinds == graph.kinds
    a = simulate(graph, x, precision="float64")
    b = simulate(loaded, x, precision="float64")
    for name in graph.outputs:
        np.testing.assert_array_equal(a.outputs[name], b.outputs[name])


def test_graph_json_is_human_readable_and_versioned(tmp_path):
    graph, _ = random_case(3)
    save_graph(graph, tmp_path)
    doc = json.loads((tmp_path / "graph.json").read_text())
    assert doc["format"] == "neurosim-graph" and doc["version"] == 1
    assert all({"name", "op", "inputs", "params", "shape", "kind"} <= set(n) for n in doc["nodes"])


def test_reader_written_independently(tmp_path):
    """A graph written by hand from docs/format.md, not by save_graph, loads."""
    doc = {"format": "neurosim-graph", "version": 1, "metadata": {"note": "hand written"},
           "outputs": ["s"],
           "nodes": [
               {"name": "x", "op": "input", "inputs": [], "params": {"shape": [1, 3, 3], "kind": "binary"}},
               {"name": "c", "op": "conv2d", "inputs": ["x"],
                "params": {"stride": [1, 1], "padding": [1, 1], "groups": 1},
                "arrays": {"weight": {"key": "cw", "shape": [1, 1, 3, 3], "dtype": "float32"}}},
               {"name": "s", "op": "lif", "inputs": ["c"], "params": {"threshold": 1.5, "decay": 0.5}},
           ]}
    (tmp_path / "graph.json").write_text(json.dumps(doc))
    np.savez(tmp_path / "weights.npz", cw=np.ones((1, 1, 3, 3), np.float32))
    g = load_graph(tmp_path)
    out = simulate(g, np.array([[[[0, 0, 0], [0, 1, 1], [0, 0, 0]]]], np.float32)).outputs["s"]
    # 3x3 box sums of the events at (1, 1) and (1, 2) are [1, 2, 2] on every row; > 1.5 fires
    np.testing.assert_array_equal(out[0, 0, 0], [[0, 1, 1], [0, 1, 1], [0, 1, 1]])
    assert g.metadata["note"] == "hand written"


def _saved(tmp_path):
    graph, _ = random_case(5)
    save_graph(graph, tmp_path)
    return tmp_path


def test_truncated_weights(tmp_path):
    d = _saved(tmp_path)
    data = (d / "weights.npz").read_bytes()
    (d / "weights.npz").write_bytes(data[: len(data) // 2])
    with pytest.raises(FormatError, match="weights.npz"):
        load_graph(d)


def test_corrupt_weights_without_checksum(tmp_path):
    d = _saved(tmp_path)
    doc = json.loads((d / "graph.json").read_text())
    del doc["weights_sha256"]
    (d / "graph.json").write_text(json.dumps(doc))
    (d / "weights.npz").write_bytes(b"not a zip at all")
    with pytest.raises(FormatError, match="not a readable .npz"):
        load_graph(d)


def test_missing_array_in_npz(tmp_path):
    d = _saved(tmp_path)
    doc = json.loads((d / "graph.json").read_text())
    del doc["weights_sha256"]
    (d / "graph.json").write_text(json.dumps(doc))
    with zipfile.ZipFile(d / "weights.npz", "w") as z:
        z.writestr("other.npy", b"")
    with pytest.raises(FormatError):
        load_graph(d)


@pytest.mark.parametrize("mutate,match", [
    (lambda doc: doc["nodes"][1].pop("op"), "has no field 'op'"),
    (lambda doc: doc["nodes"][1].update(op="teleport"), "unknown type 'teleport'"),
    (lambda doc: doc.update(version=99), "version 99 is not supported"),
    (lambda doc: doc.pop("outputs"), "'outputs' is missing"),
    (lambda doc: doc["nodes"][1].update(inputs=["nowhere"]), "unknown input 'nowhere'"),
])
def test_bad_graph_json(tmp_path, mutate, match):
    d = _saved(tmp_path)
    doc = json.loads((d / "graph.json").read_text())
    mutate(doc)
    (d / "graph.json").write_text(json.dumps(doc))
    with pytest.raises(FormatError, match=match):
        load_graph(d)


def test_not_json_and_missing_files(tmp_path):
    with pytest.raises(FormatError, match="does not exist"):
        load_graph(tmp_path / "nope")
    (tmp_path / "graph.json").write_text("{ broken")
    with pytest.raises(FormatError, match="not valid JSON"):
        load_graph(tmp_path)
