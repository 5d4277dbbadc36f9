"""``neurosim import-nir`` and ``neurosim export-nir``: files, messages and exit codes."""
import numpy as np

from neurosim.cli import main
from neurosim.ir import GraphBuilder, load_graph, save_graph
from neurosim.sim import simulate
from tests.nir.nirgraphs import chain, full, nir


def small_model(tmp_path):
    rng = np.random.default_rng(0)
    b = GraphBuilder(metadata={"name": "small"})
    x = b.input((2, 5, 5), kind="binary", name="events")
    s = b.lif(b.conv2d(x, weight=rng.normal(0, 0.7, (3, 2, 3, 3)).astype(np.float32), padding=1), decay=0.75)
    graph = b.build([b.li(b.linear(b.flatten(b.sumpool2d(s, kernel=5)), weight=np.ones((2, 3), np.float32)))])
    save_graph(graph, tmp_path / "model")
    return graph, (rng.random((1, 6, 2, 5, 5)) < 0.5).astype(np.float32)


def test_export_then_import_gives_the_same_model(tmp_path, capsys):
    graph, x = small_model(tmp_path)
    assert main(["export-nir", str(tmp_path / "model"), str(tmp_path / "m.nir"), "--dt", "1e-4"]) == 0
    assert "dt = 0.0001" in capsys.readouterr().out
    assert main(["import-nir", str(tmp_path / "m.nir"), str(tmp_path / "back")]) == 0
    assert "outputs" in capsys.readouterr().out
    back = load_graph(tmp_path / "back")
    assert back.node("events").kind == "binary" and back.metadata["nir"]["dt"] == 1e-4
    np.testing.assert_array_equal(simulate(graph, x).outputs[graph.outputs[0]],
                                  simulate(back, x).outputs[back.outputs[0]])


def test_import_errors_are_one_sentence_and_exit_2(tmp_path, capsys):
    path = tmp_path / "delay.nir"
    nir.write(path, chain([3], nir.Delay(delay=np.ones(3)), names=["d1"]))
    assert main(["import-nir", str(path), str(tmp_path / "out")]) == 2
    err = capsys.readouterr().err
    assert err.startswith("neurosim: error:") and "'d1' has type Delay" in err and "Traceback" not in err
    assert not (tmp_path / "out").exists()
    lif = chain([2], nir.LIF(tau=full(2, 1e-2), r=full(2, 1.0), v_leak=full(2, 0.0), v_threshold=full(2, 1.0)))
    nir.write(tmp_path / "lif.nir", lif)
    assert main(["import-nir", str(tmp_path / "lif.nir"), str(tmp_path / "out")]) == 2
    assert "pass dt" in capsys.readouterr().err
    assert main(["import-nir", str(tmp_path / "lif.nir"), str(tmp_path / "out"), "--dt", "1e-3",
                 "--input-kind", "binary"]) == 0
    assert load_graph(tmp_path / "out").node("input").kind == "binary"


def test_export_errors_name_the_node_and_leave_no_file(tmp_path, capsys):
    assert main(["export-nir", "example:tiny-snn", str(tmp_path / "t.nir")]) == 2
    err = capsys.readouterr().err
    assert "node 'stage2.ilif' (ilif) cannot be exported to NIR" in err
    assert not (tmp_path / "t.nir").exists() and list(tmp_path.iterdir()) == []
    assert main(["export-nir", str(tmp_path / "missing"), str(tmp_path / "t.nir")]) == 2
    assert "does not exist" in capsys.readouterr().err
