"""readout="last": nodes feeding no neuron run only at the last timestep, with the same result."""
import numpy as np

from neurosim.detect import read_out
from neurosim.ir import GraphBuilder
from neurosim.sim import simulate


def hybrid_graph():
    rng = np.random.default_rng(0)
    b = GraphBuilder()
    x = b.input((2, 6, 6), kind="binary")
    c = b.conv2d(x, weight=rng.normal(size=(4, 2, 3, 3)).astype(np.float32), padding=1)
    s = b.lif(c, threshold=0.5, decay=0.5)
    f = b.li(s, decay=np.full((4, 6, 6), 0.5, np.float32))          # temporal decoder (stateful)
    h = b.relu(b.conv2d(f, weight=rng.normal(size=(3, 4, 3, 3)).astype(np.float32), padding=1, name="head"))
    return b.build([h]), h


def test_last_step_outputs_equal_a_full_run_and_skip_the_head_before():
    graph, head = hybrid_graph()
    x = (np.random.default_rng(1).random((2, 5, 2, 6, 6)) < 0.3).astype(np.float32)
    full = simulate(graph, x, precision="float64")
    last = simulate(graph, x, precision="float64", readout="last")
    assert last.outputs[head].shape == (2, 1, 3, 6, 6)
    np.testing.assert_array_equal(last.outputs[head][:, 0], full.outputs[head][:, -1])
    macs = last.trace["head"].macs
    assert np.all(macs[:, :-1] == 0) and np.all(macs[:, -1] == full.trace["head"].macs[:, -1])
    spec = {"outputs": [head], "readout": "last"}
    np.testing.assert_array_equal(read_out(spec, last.outputs)[head], read_out(spec, full.outputs)[head])
