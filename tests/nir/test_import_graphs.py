"""Graph-level import: several inputs and outputs, fan-in sums, dt, input kinds, and the errors."""
import subprocess
import sys

import numpy as np
import pytest

from neurosim.errors import FormatError
from neurosim.nir import NIRError, NotExpressibleError, import_nir
from neurosim.sim import simulate
from tests.nir.nirgraphs import chain, full, graph, nir

RNG = np.random.default_rng(3)


def two_input_graph():
    """a (3) -> Affine wa ┐
                           ├─> IF (sum of both) -> Output spikes
       b (2) -> Affine wb ┘                     └> Affine wo -> Output readout
    """
    wa, wb, wo = RNG.normal(size=(4, 3)), RNG.normal(size=(4, 2)), RNG.normal(size=(2, 4))
    nodes = {
        "a": nir.Input(input_type={"input": np.array([3])}),
        "b": nir.Input(input_type={"input": np.array([2])}),
        "wa": nir.Affine(weight=wa, bias=np.full(4, 0.1)),
        "wb": nir.Linear(weight=wb),
        "if": nir.IF(r=full(4, 1.0), v_threshold=full(4, 0.7), v_reset=full(4, 0.0)),
        "wo": nir.Linear(weight=wo),
        "spikes": nir.Output(output_type={"output": np.array([4])}),
        "readout": nir.Output(output_type={"output": np.array([2])}),
    }
    edges = [("a", "wa"), ("b", "wb"), ("wa", "if"), ("wb", "if"), ("if", "spikes"), ("if", "wo"), ("wo", "readout")]
    return graph(nodes, edges), (wa, wb, wo)


def test_several_inputs_outputs_and_a_fan_in_sum():
    g, (wa, wb, wo) = two_input_graph()
    graph = import_nir(g)
    assert graph.input_names == ("a", "b")
    assert graph.metadata["nir"]["outputs"] == {"spikes": "if", "readout": "wo"}
    assert graph.node("if").inputs == ("if.sum",) and graph.node("if.sum").inputs == ("wa", "wb")
    xa, xb = RNG.normal(size=(12, 3)), RNG.normal(size=(12, 2))
    out = simulate(graph, {"a": xa, "b": xb}, precision="float64").outputs
    f32 = lambda a: a.astype(np.float32).astype(np.float64)  # noqa: E731
    current = xa @ f32(wa).T + f32(np.full(4, 0.1)) + xb @ f32(wb).T
    v, spikes = np.zeros(4), []
    for c in current:
        v = v + c
        spikes.append(v > 0.7)
        v = np.where(spikes[-1], 0.0, v)
    spikes = np.array(spikes, float)
    np.testing.assert_array_equal(out["if"][0], spikes)
    np.testing.assert_allclose(out["wo"][0], spikes @ f32(wo).T, rtol=1e-6)


def test_input_kind_is_chosen_per_input():
    g, _ = two_input_graph()
    graph = import_nir(g, input_kind={"a": "binary"})
    assert graph.node("a").kind == "binary" and graph.node("b").kind == "analog"
    assert import_nir(g, input_kind="integer").node("b").kind == "integer"
    with pytest.raises(NIRError, match="input kind of 'a'"):
        import_nir(g, input_kind="spikes")


def test_delay_is_refused_naming_node_and_type():
    g = chain([3], nir.Delay(delay=np.ones(3)), names=["wait"])
    with pytest.raises(NotExpressibleError, match="NIR node 'wait' has type Delay"):
        import_nir(g)


def test_leaky_neurons_need_dt():
    g = chain([2], nir.LIF(tau=full(2, 1e-2), r=full(2, 1.0), v_leak=full(2, 0.0), v_threshold=full(2, 1.0)),
              names=["lif1"])
    with pytest.raises(NIRError, match=r"NIR node 'lif1' \(LIF\) has time constants: pass dt"):
        import_nir(g)
    with pytest.raises(NIRError, match="shorter than dt"):
        import_nir(g, dt=0.1)
    g.metadata = {"dt": 1e-3}  # recorded by the exporter: used when dt is not given
    assert import_nir(g).metadata["nir"]["dt"] == 1e-3


def test_cycle_and_nested_graph_are_refused():
    w = nir.Linear(weight=np.eye(2))
    nodes = {"in": nir.Input(input_type={"input": np.array([2])}), "w": w,
             "lif": nir.IF(r=full(2, 1.0), v_threshold=full(2, 1.0)), "rec": nir.Linear(weight=np.eye(2)),
             "out": nir.Output(output_type={"output": np.array([2])})}
    edges = [("in", "w"), ("w", "lif"), ("lif", "rec"), ("rec", "lif"), ("lif", "out")]
    g = graph(nodes, edges, type_check=False)
    with pytest.raises(NotExpressibleError, match="cycle through node"):
        import_nir(g)
    inner = chain([2], nir.Linear(weight=np.eye(2)))
    outer = chain([2], inner, names=["sub"])
    with pytest.raises(NotExpressibleError, match="'sub' has type NIRGraph"):
        import_nir(outer)


def test_partial_flatten_and_dilation_are_refused():
    g = chain([2, 3, 3], nir.Flatten(input_type={"input": np.array([2, 3, 3])}, start_dim=1, end_dim=-1), names=["f"])
    with pytest.raises(NotExpressibleError, match="NIR node 'f' \\(Flatten\\)"):
        import_nir(g)
    conv = nir.Conv2d(input_shape=(5, 5), weight=np.ones((1, 1, 3, 3)), stride=1, padding=2, dilation=2, groups=1,
                      bias=np.zeros(1))
    with pytest.raises(NotExpressibleError, match="'c' \\(Conv2d\\): dilation"):
        import_nir(chain([1, 5, 5], conv, names=["c"]))


def test_shape_errors_name_the_nir_node():
    g = chain([4], nir.Affine(weight=np.ones((2, 4)), bias=np.zeros(2)), nir.Scale(scale=np.ones(3)), names=["w", "s"],
              type_check=False)
    with pytest.raises(NIRError, match="NIR node 's' \\(Scale\\): parameter 'scale' has shape"):
        import_nir(g)


def test_unreadable_file_is_a_format_error(tmp_path):
    bad = tmp_path / "bad.nir"
    bad.write_bytes(b"not hdf5")
    with pytest.raises(FormatError, match="is not a readable NIR file"):
        import_nir(bad)
    with pytest.raises(FormatError, match="does not exist"):
        import_nir(tmp_path / "missing.nir")


def test_missing_nir_package_is_a_clear_error(monkeypatch):
    monkeypatch.setitem(sys.modules, "nir", None)  # makes `import nir` raise ImportError
    with pytest.raises(NIRError, match="needs the 'nir' package: pip install nir"):
        import_nir("model.nir")


def test_neurosim_nir_imports_neither_nir_nor_torch():
    code = "import sys, neurosim.nir, neurosim.cli; print('nir' in sys.modules, 'torch' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.split() == ["False", "False"]
