"""Import a NIR graph (a ``.nir`` file or a ``nir.NIRGraph``) as a neurosim Graph.

The walk: NIR nodes in topological order; a node with several incoming edges reads their
sum (an ``add`` node named ``<node>.sum``); each primitive becomes IR nodes by
:mod:`.import_nodes`; NIR Input nodes become ``input`` nodes of the same name, and the nodes
that feed NIR Output nodes become the graph's outputs (``metadata["nir"]["outputs"]`` maps
each NIR Output name to its IR node). Edges have zero delay, as in the NIR spec, so a cycle
(a recurrent connection) is refused.
"""
from __future__ import annotations

import inspect
from pathlib import Path

import numpy as np

from ..errors import FormatError, GraphError
from ..ir import nodes as ir
from ..ir.graph import Graph
from ..ir.nodes import EVENT_KINDS
from .errors import NIRError, NotExpressibleError
from .import_nodes import KIND_KEY, OUT_NDIM, TRANSLATORS, NodeContext
from .package import require_nir

SUPPORTED = ("Input", "Output") + tuple(TRANSLATORS)


def import_nir(source, dt: float | None = None, input_kind=None, name: str | None = None) -> Graph:
    """Translate a NIR graph into a neurosim :class:`~neurosim.ir.Graph`.

    ``source``: a path to a ``.nir`` file or a ``nir.NIRGraph``. ``dt``: the timestep in the
    units of the graph's time constants (seconds for snnTorch, Norse...); needed when the
    graph has leaky neurons, unless the graph's metadata records it (neurosim's exports do).
    ``input_kind``: ``"analog"``, ``"binary"`` or ``"integer"`` for every input, or a dict
    input name -> kind; by default what a neurosim export recorded, else ``"analog"``.
    Raises NotExpressibleError naming the first NIR node of a type neurosim cannot express
    (e.g. Delay), and NIRError for any other problem.
    """
    graph, path = _read(source)
    if dt is None and "dt" in (getattr(graph, "metadata", None) or {}):
        dt = float(np.asarray(graph.metadata["dt"]))
    if dt is not None and not (np.isfinite(dt) and dt > 0):
        raise NIRError(f"dt must be a positive number, got {dt!r}")
    nodes, outputs, output_map = _Walk(graph, dt, input_kind).run()
    recorded_name = (getattr(graph, "metadata", None) or {}).get("name")
    default_name = str(recorded_name) if recorded_name is not None else (path.stem if path else "nir-graph")
    metadata = {"name": name or default_name, "source": "nir",
                "nir": {"dt": dt, "outputs": output_map, "file": str(path) if path else None}}
    try:
        return Graph.from_nodes(nodes, outputs, metadata)
    except GraphError as exc:
        raise NIRError(f"the imported graph is invalid: {exc}") from None


def _read(source):
    """(NIRGraph, its file or None) from a path or a graph object."""
    if hasattr(source, "nodes") and hasattr(source, "edges"):
        return source, None
    nir = require_nir()
    path = Path(source)
    if not path.is_file():
        raise FormatError(f"NIR file {path} does not exist")
    try:
        return nir.read(path), path
    except Exception as exc:  # nir and h5py raise many types; any means nir cannot read it as is
        first = exc
    if _accepts_type_check(nir):
        try:  # files of older nir versions may fail newer nir's type check; we infer shapes ourselves
            return nir.read(path, type_check=False), path
        except Exception:
            pass
    raise FormatError(f"{path} is not a readable NIR file ({type(first).__name__}: {first})")


def _accepts_type_check(nir) -> bool:
    return "type_check" in inspect.signature(nir.read).parameters


class _Walk:
    """One pass over a NIR graph, building IR nodes with their shapes."""

    def __init__(self, graph, dt, input_kind):
        self.graph = graph
        self.dt = dt
        self.input_kind = input_kind
        self.nodes: list[ir.Node] = []
        self.shapes: dict[str, tuple[int, ...]] = {}
        self.ndims: dict[str, int] = {}
        self.result: dict[str, str] = {}  # NIR node name -> IR node holding its output
        self.sums: dict[tuple[str, ...], str] = {}  # summed IR nodes -> their add node
        self.names = {str(n) for n in graph.nodes}

    def run(self):
        nir_nodes = {str(k): v for k, v in self.graph.nodes.items()}
        edges = list(dict.fromkeys((str(a), str(b)) for a, b in self.graph.edges))
        for a, b in edges:
            for end in (a, b):
                if end not in nir_nodes:
                    raise NIRError(f"a NIR edge names unknown node '{end}'")
        preds: dict[str, list[str]] = {n: [] for n in nir_nodes}
        for a, b in edges:
            preds[b].append(a)
        outputs, output_map = [], {}
        for name in _topological(nir_nodes, edges):
            node = nir_nodes[name]
            kind = type(node).__name__
            if kind == "Input":
                if preds[name]:
                    raise NIRError(f"NIR Input node '{name}' has incoming edges")
                self._add_input(name, node)
                continue
            if not preds[name]:
                raise NIRError(f"NIR node '{name}' ({kind}) has no incoming edge; NIR graphs start at Input nodes")
            src = self._source(name, preds[name])
            if kind == "Output":
                output_map[name] = src
                outputs.append(src)
                continue
            self._translate(name, node, kind, src)
        if not outputs:
            raise NIRError("the NIR graph has no Output node")
        return self.nodes, list(dict.fromkeys(outputs)), output_map

    # ------------------------------------------------------------------ pieces
    def _add_input(self, name: str, node):
        shape = _input_shape(name, node)
        kind = self._kind(name, node)
        self._append(ir.Input(name, shape=_our_shape(shape), kind=kind), len(shape))
        self.result[name] = name

    def _kind(self, name: str, node) -> str:
        chosen = self.input_kind.get(name) if isinstance(self.input_kind, dict) else self.input_kind
        if chosen is None:
            chosen = str((getattr(node, "metadata", None) or {}).get(KIND_KEY, "analog"))
        if chosen not in ("analog",) + EVENT_KINDS:
            raise NIRError(f"input kind of '{name}' must be analog, binary or integer, got {chosen!r}")
        return chosen

    def _source(self, name: str, preds: list[str]) -> str:
        """The IR node that holds a NIR node's input: its single predecessor, or their sum."""
        sources = tuple(self.result[p] for p in preds)
        if len(sources) == 1:
            return sources[0]
        if sources not in self.sums:  # nodes that read the same sum share one add
            add = ir.Add(self._fresh(f"{name}.sum"), sources)
            self._append(add, self.ndims[sources[0]], f"the inputs of NIR node '{name}' (summed) ")
            self.sums[sources] = add.name
        return self.sums[sources]

    def _translate(self, name: str, node, kind: str, src: str):
        translator = TRANSLATORS.get(kind)
        if translator is None:
            why = "a nested graph (flatten it first)" if kind == "NIRGraph" else "a primitive neurosim cannot express"
            raise NotExpressibleError(
                f"NIR node '{name}' has type {kind}, {why}; supported types: {', '.join(SUPPORTED)}")
        ctx = NodeContext(name, node, kind, src, self.shapes[src], self.ndims[src], self.dt)
        try:
            created = translator(ctx)
        except GraphError as exc:  # a parameter our node refuses (e.g. an infinite threshold)
            raise NIRError(f"NIR node '{name}' ({kind}): {exc}") from None
        ndim = OUT_NDIM.get(kind, self.ndims[src])
        for ir_node in created:
            self._append(ir_node, ndim, f"NIR node '{name}' ({kind}): ")
        self.result[name] = created[-1].name

    def _append(self, node: ir.Node, ndim: int, context: str = ""):
        try:
            shape = tuple(int(v) for v in node.output_shape([self.shapes[s] for s in node.inputs]))
        except GraphError as exc:
            raise NIRError(f"{context}{exc}") from None
        self.nodes.append(node)
        self.shapes[node.name] = shape
        self.ndims[node.name] = ndim
        self.names.add(node.name)

    def _fresh(self, base: str) -> str:
        name, k = base, 1
        while name in self.names:
            name, k = f"{base}{k}", k + 1
        return name


def _input_shape(name: str, node) -> tuple[int, ...]:
    types = getattr(node, "input_type", None) or {}
    shape = types.get("input") if isinstance(types, dict) else None
    if shape is None:
        raise NIRError(f"NIR Input node '{name}' has no shape")
    shape = tuple(int(s) for s in np.asarray(shape).reshape(-1))
    if len(shape) not in (1, 2, 3) or any(s <= 0 for s in shape):
        raise NotExpressibleError(
            f"NIR Input node '{name}' has shape {shape}; neurosim takes (N,), (C, N) or (C, H, W) per sample")
    return shape


def _our_shape(shape: tuple[int, ...]) -> tuple[int, ...]:
    """NIR (C, N) sequences become height-1 maps (C, 1, N)."""
    return (shape[0], 1, shape[1]) if len(shape) == 2 else shape


def _topological(nodes: dict, edges: list[tuple[str, str]]) -> list[str]:
    """Kahn's algorithm in the graph's node order; NIRError naming a node on a cycle."""
    indegree = {n: 0 for n in nodes}
    succ: dict[str, list[str]] = {n: [] for n in nodes}
    for a, b in edges:
        indegree[b] += 1
        succ[a].append(b)
    ready = [n for n in nodes if indegree[n] == 0]
    order = []
    while ready:
        n = ready.pop(0)
        order.append(n)
        for m in succ[n]:
            indegree[m] -= 1
            if indegree[m] == 0:
                ready.append(m)
    if len(order) != len(nodes):
        stuck = next(n for n in nodes if indegree[n] > 0)
        raise NotExpressibleError(
            f"the NIR graph has a cycle through node '{stuck}' ({type(nodes[stuck]).__name__}), a recurrent "
            "connection; neurosim runs feed-forward graphs with zero-delay edges")
    return order
