"""Export a neurosim Graph to NIR: a ``nir.NIRGraph`` (:func:`to_nir`) or a ``.nir`` file (:func:`export_nir`).

Every node keeps its name. ``add`` nodes disappear into NIR's fan-in: a NIR node sums all
its incoming edges, so each input of an ``add`` gets an edge to each consumer of the ``add``.
Each graph output gets a NIR Output node (``output`` for a single output, else
``output.<node>``). The graph's metadata records ``dt``, which :func:`~.importer.import_nir`
then uses by default.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np

from ..fsutil import atomic_path
from ..ir import nodes as ir
from ..ir.graph import Graph
from ..ir.io import FORMAT_VERSION
from .errors import NIRError, NotExpressibleError
from .export_nodes import TRANSLATORS, ExportContext
from .package import require_nir

DEFAULT_DT = 1e-3


def to_nir(graph: Graph, dt: float = DEFAULT_DT):
    """The ``nir.NIRGraph`` of ``graph``, with time constants for timestep ``dt``.

    Raises NotExpressibleError naming the first node (in topological order) NIR cannot express.
    """
    nir = require_nir()
    if not (np.isfinite(dt) and dt > 0):
        raise NIRError(f"dt must be a positive number, got {dt!r}")
    nir_nodes, sources, edges = {}, {}, []
    for node in graph.nodes:  # topological order: the first inexpressible node is reported
        if isinstance(node, ir.Add):
            sources[node.name] = _fan_in(node, sources)
            continue
        translator = TRANSLATORS.get(node.op)
        if translator is None:
            raise NotExpressibleError(f"node '{node.name}' ({node.op}) cannot be exported to NIR: no NIR equivalent")
        nir_nodes[node.name] = translator(ExportContext(node, graph, float(dt), nir))
        sources[node.name] = [node.name]
        edges += [(src, node.name) for inp in node.inputs for src in sources[inp]]
    for out_name, node_name in _output_names(graph).items():
        nir_nodes[out_name] = nir.Output(output_type={"output": np.array(graph.shapes[node_name])})
        edges += [(src, out_name) for src in sources[node_name]]
    metadata = {"dt": float(dt), "source": "neurosim", "neurosim_format_version": FORMAT_VERSION}
    if isinstance(graph.metadata.get("name"), str):
        metadata["name"] = graph.metadata["name"]
    try:
        return nir.NIRGraph(nodes=nir_nodes, edges=edges, metadata=metadata)
    except (ValueError, AssertionError) as exc:  # nir's own type check
        raise NIRError(f"nir refused the exported graph ({exc})") from None


def export_nir(graph: Graph, path, dt: float = DEFAULT_DT) -> Path:
    """Write ``graph`` to the NIR file ``path`` (HDF5), atomically; return the path."""
    nir = require_nir()
    nir_graph = to_nir(graph, dt)
    path = Path(path)
    with atomic_path(path) as tmp:
        try:
            nir.write(tmp, nir_graph)
        except (TypeError, ValueError, OSError) as exc:
            raise NIRError(f"nir could not write {path} ({type(exc).__name__}: {exc})") from None
    return path


def _fan_in(node: ir.Add, sources: dict[str, list[str]]) -> list[str]:
    """The non-add nodes whose sum an add node is (NIR sums a node's incoming edges)."""
    flat = [s for inp in node.inputs for s in sources[inp]]
    twice = next((s for s in flat if flat.count(s) > 1), None)
    if twice is not None:
        raise NotExpressibleError(
            f"node '{node.name}' (add) cannot be exported to NIR: it sums '{twice}' twice, and NIR edges cannot repeat")
    return flat


def _output_names(graph: Graph) -> dict[str, str]:
    """NIR Output node name -> the graph output it carries, avoiding the graph's node names."""
    taken = {n.name for n in graph.nodes}
    names = {}
    for out in graph.outputs:
        base = "output" if len(graph.outputs) == 1 else f"output.{out}"
        name, k = base, 1
        while name in taken:
            name, k = f"{base}{k}", k + 1
        taken.add(name)
        names[name] = out
    return names
