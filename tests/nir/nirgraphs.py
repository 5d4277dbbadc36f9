"""Helpers: hand-built NIR graphs, and running them through neurosim."""
import inspect

import numpy as np
import pytest

from neurosim.nir import import_nir
from neurosim.sim import simulate

nir = pytest.importorskip("nir")
if not any(f == "v_reset" for f in getattr(nir.IF, "__dataclass_fields__", {})):
    pytest.skip("the NIR tests need nir >= 1.0.5 (reset potentials, CubaLI)", allow_module_level=True)


def graph(nodes, edges, type_check=True):
    """A NIRGraph; ``type_check=False`` skips nir's own shape check (nir >= 1.0.5 runs it)."""
    if "type_check" in inspect.signature(nir.NIRGraph.__init__).parameters:
        return nir.NIRGraph(nodes=nodes, edges=edges, type_check=type_check)
    return nir.NIRGraph(nodes=nodes, edges=edges)


def chain(shape, *nodes, names=None, type_check=True):
    """Input(shape) -> nodes... -> Output, named input, n0, n1, ..., output."""
    names = names or [f"n{i}" for i in range(len(nodes))]
    graph_nodes = {"input": nir.Input(input_type={"input": np.array(shape)})}
    graph_nodes.update(zip(names, nodes))
    last = nodes[-1].output_type["output"] if nodes else np.array(shape)
    graph_nodes["output"] = nir.Output(output_type={"output": None if last is None else np.array(last)})
    order = ["input", *names, "output"]
    return graph(graph_nodes, list(zip(order[:-1], order[1:])), type_check)


def run(nir_graph, x, dt=None, precision="float64", **kwargs):
    """Import ``nir_graph`` and simulate ``x`` ([T, *shape]); return (graph, output [T, ...])."""
    graph = import_nir(nir_graph, dt=dt, **kwargs)
    out = simulate(graph, x, precision=precision).outputs[graph.outputs[0]][0]
    return graph, out


def full(shape, value):
    return np.full(shape, value, dtype=np.float64)
