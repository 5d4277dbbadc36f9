"""Graph construction, shape inference and validation errors."""
import numpy as np
import pytest

from neurosim.errors import GraphError
from neurosim.ir import Add, Conv2d, Graph, GraphBuilder, Input, LIF


def w(*shape):
    return np.ones(shape, np.float32)


def test_shapes_and_kinds_are_inferred():
    b = GraphBuilder()
    x = b.input((3, 17, 17))
    c = b.conv2d(x, weight=w(8, 3, 7, 7), stride=4, padding=3)
    s = b.ilif(c, max_spike=4)
    d = b.conv2d(s, weight=w(8, 1, 3, 3), groups=8, padding=1)
    p = b.maxpool2d(b.lif(d), kernel=3, stride=2, padding=1)
    u = b.upsample(p, scale=2)
    cat = b.concat(p, b.lif(b.conv2d(p, weight=w(4, 8, 1, 1))))
    flat = b.flatten(cat)
    g = b.build([u, flat])
    assert g.shapes[c] == (8, 5, 5)
    assert g.kinds[s] == "integer" and g.kinds[c] == "analog" and g.kinds[p] == "binary"
    assert g.shapes[p] == (8, 3, 3) and g.shapes[u] == (8, 6, 6)
    assert g.shapes[cat] == (12, 3, 3) and g.shapes[flat] == (108,)


def test_concat_shape_mismatch_is_an_error():
    b = GraphBuilder()
    x = b.input((3, 8, 8))
    a = b.conv2d(x, weight=w(2, 3, 3, 3))
    with pytest.raises(GraphError, match="agree on every axis"):
        b.build([b.concat(x, a)])


def test_unknown_input_and_cycle_and_duplicates():
    x = Input("x", shape=(2, 4, 4))
    c = Conv2d("c", inputs=("ghost",), weight=w(2, 2, 1, 1))
    with pytest.raises(GraphError, match="unknown input 'ghost'"):
        Graph.from_nodes([x, c], ["c"])
    a = Add("a", inputs=("x", "s"))
    s = LIF("s", inputs=("a",))
    with pytest.raises(GraphError, match="cycle"):
        Graph.from_nodes([x, a, s], ["s"])
    with pytest.raises(GraphError, match="two nodes are named 'x'"):
        Graph.from_nodes([x, Input("x", shape=(1,))], ["x"])


def test_wrong_channel_count_names_the_node():
    b = GraphBuilder()
    x = b.input((3, 8, 8))
    with pytest.raises(GraphError, match="node 'bad'.*expects 4 input channels"):
        b.build([b.conv2d(x, weight=w(2, 4, 3, 3), name="bad")])


@pytest.mark.parametrize("params,match", [
    (dict(reset="sideways"), "reset must be"),
    (dict(compare="<"), "compare must be"),
    (dict(decay=1.5), "decay must lie"),
    (dict(threshold=float("nan")), "finite"),
])
def test_bad_neuron_parameters(params, match):
    with pytest.raises(GraphError, match=match):
        LIF("n", inputs=("x",), **params)


def test_nodes_are_topologically_sorted_and_add_may_read_twice():
    x = Input("x", shape=(2,))
    a = Add("a", inputs=("x", "x"))
    g = Graph.from_nodes([a, x], ["a"])
    assert [n.name for n in g.nodes] == ["x", "a"]
    assert g.kinds["a"] == "analog"


def test_summary_lists_every_node():
    b = GraphBuilder()
    x = b.input((2, 4, 4), kind="binary")
    y = b.sumpool2d(x, kernel=2)
    g = b.build([y])
    assert "sumpool2d" in g.summary() and g.kinds[y] == "integer"
