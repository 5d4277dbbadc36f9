"""The Graph: nodes in topological order, named inputs and outputs, inferred shapes and kinds."""
from __future__ import annotations

import heapq
from dataclasses import dataclass, field
from typing import Iterator

from ..errors import GraphError
from .nodes import NODE_TYPES, Input, Node, Shape


@dataclass(frozen=True, eq=False)
class Graph:
    """A validated network.

    ``nodes`` are in topological order; ``shapes[name]`` is each node's per-sample,
    per-timestep output shape and ``kinds[name]`` is ``"binary"``, ``"integer"`` or
    ``"analog"``. ``metadata`` is free-form JSON (model family, T, D, class names...).
    Build one with :class:`GraphBuilder` or :meth:`Graph.from_nodes`.
    """

    nodes: tuple[Node, ...]
    outputs: tuple[str, ...]
    shapes: dict[str, Shape]
    kinds: dict[str, str]
    metadata: dict = field(default_factory=dict)

    @classmethod
    def from_nodes(cls, nodes, outputs, metadata=None) -> "Graph":
        """Validate ``nodes`` (any order), sort them topologically, infer shapes and kinds.

        Raises GraphError for a duplicate name, an unknown input, a cycle, an unknown
        output, or a shape mismatch (naming the node).
        """
        nodes = list(nodes)
        by_name: dict[str, Node] = {}
        for node in nodes:
            if not isinstance(node, Node):
                raise GraphError(f"graph nodes must be IR nodes, got {type(node).__name__}")
            if node.name in by_name:
                raise GraphError(f"two nodes are named '{node.name}'")
            by_name[node.name] = node
        for node in nodes:
            for src in node.inputs:
                if src not in by_name:
                    raise GraphError(f"node '{node.name}' reads unknown input '{src}'")
        order = _topological_order(nodes, by_name)
        outputs = tuple(outputs)
        if not outputs:
            raise GraphError("a graph needs at least one output")
        for out in outputs:
            if out not in by_name:
                raise GraphError(f"output '{out}' is not a node of the graph")
        if not any(isinstance(n, Input) for n in nodes):
            raise GraphError("a graph needs at least one Input node")
        shapes: dict[str, Shape] = {}
        kinds: dict[str, str] = {}
        for node in order:
            in_shapes = [shapes[s] for s in node.inputs]
            shapes[node.name] = tuple(int(v) for v in node.output_shape(in_shapes))
            kinds[node.name] = node.emits([kinds[s] for s in node.inputs])
        return cls(tuple(order), outputs, shapes, kinds, dict(metadata or {}))

    # ------------------------------------------------------------------ access
    def __iter__(self) -> Iterator[Node]:
        return iter(self.nodes)

    def __len__(self) -> int:
        return len(self.nodes)

    def __contains__(self, name: str) -> bool:
        return name in self.shapes

    def node(self, name: str) -> Node:
        index = self.__dict__.get("_by_name")
        if index is None:  # built on first use (nodes never change after construction)
            index = {n.name: n for n in self.nodes}
            object.__setattr__(self, "_by_name", index)
        try:
            return index[name]
        except KeyError:
            raise GraphError(f"the graph has no node named '{name}'") from None

    @property
    def input_nodes(self) -> tuple[Input, ...]:
        return tuple(n for n in self.nodes if isinstance(n, Input))

    @property
    def input_names(self) -> tuple[str, ...]:
        return tuple(n.name for n in self.input_nodes)

    def consumers(self) -> dict[str, list[str]]:
        """Map each node name to the names of the nodes that read it."""
        out: dict[str, list[str]] = {n.name: [] for n in self.nodes}
        for node in self.nodes:
            for src in node.inputs:
                out[src].append(node.name)
        return out

    def nodes_feeding_neurons(self) -> set[str]:
        """Neuron nodes and every node with a path to one (what must run at every timestep when
        only the last timestep's outputs are read)."""
        consumers = self.consumers()
        needed: set[str] = set()
        for node in reversed(self.nodes):
            if node.is_neuron or any(c in needed for c in consumers[node.name]):
                needed.add(node.name)
        return needed

    def replace_nodes(self, nodes, metadata=None) -> "Graph":
        """A new graph with the same outputs over ``nodes`` (re-validated)."""
        return Graph.from_nodes(nodes, self.outputs, self.metadata if metadata is None else metadata)

    def parameter_count(self) -> int:
        return int(sum(a.size for n in self.nodes for a in n.arrays().values()))

    def summary(self) -> str:
        """A human-readable table: name, op, inputs, output shape, kind."""
        rows = [("name", "op", "inputs", "shape", "kind")]
        for n in self.nodes:
            rows.append((n.name, n.op, ",".join(n.inputs), "x".join(map(str, self.shapes[n.name])),
                         self.kinds[n.name]))
        widths = [max(len(r[i]) for r in rows) for i in range(5)]
        return "\n".join("  ".join(c.ljust(w) for c, w in zip(r, widths)).rstrip() for r in rows)


def _topological_order(nodes: list[Node], by_name: dict[str, Node]) -> list[Node]:
    """Kahn's algorithm, stable with respect to the given order; GraphError on a cycle.

    A node that reads the same input twice (``Add(x, x)``) counts that edge twice.
    """
    position = {n.name: i for i, n in enumerate(nodes)}
    missing = {n.name: len(n.inputs) for n in nodes}
    consumers: dict[str, list[str]] = {n.name: [] for n in nodes}
    for n in nodes:
        for src in n.inputs:
            consumers[src].append(n.name)
    heap = [(position[name], name) for name, count in missing.items() if count == 0]
    heapq.heapify(heap)
    order: list[Node] = []
    while heap:
        _, name = heapq.heappop(heap)
        order.append(by_name[name])
        for dst in consumers[name]:
            missing[dst] -= 1
            if missing[dst] == 0:
                heapq.heappush(heap, (position[dst], dst))
    if len(order) != len(nodes):
        stuck = sorted((name for name, count in missing.items() if count > 0), key=position.get)
        raise GraphError(f"the graph has a cycle through node(s) {', '.join(stuck[:5])}")
    return order


class GraphBuilder:
    """Build a graph in code; each method adds one node and returns its name.

    >>> import numpy as np
    >>> b = GraphBuilder()
    >>> x = b.input((2, 8, 8), kind="binary")
    >>> y = b.conv2d(x, weight=np.ones((4, 2, 3, 3), np.float32), padding=1)
    >>> s = b.lif(y, threshold=1.0, decay=0.5)
    >>> graph = b.build(outputs=[s])
    >>> graph.shapes[s]
    (4, 8, 8)

    Every node type of :mod:`neurosim.ir.nodes` has a method named after its ``op``
    (``conv2d``, ``lif``, ``ilif``, ``maxpool2d``, ``add``...), taking the input names
    first and the node's parameters as keywords; ``name=`` overrides the automatic name.
    """

    def __init__(self, metadata: dict | None = None):
        self._nodes: list[Node] = []
        self._names: set[str] = set()
        self._count: dict[str, int] = {}
        self.metadata = dict(metadata or {})

    def add_node(self, cls: type[Node], *inputs: str, name: str | None = None, **params) -> str:
        if name is None:
            k = self._count.get(cls.op, 0)
            name = f"{cls.op}{k}"
            while name in self._names:
                k += 1
                name = f"{cls.op}{k}"
            self._count[cls.op] = k + 1
        node = cls(name=name, inputs=tuple(inputs), **params)
        if name in self._names:
            raise GraphError(f"two nodes are named '{name}'")
        self._names.add(name)
        self._nodes.append(node)
        return name

    def input(self, shape, kind: str = "analog", name: str | None = None) -> str:
        return self.add_node(Input, name=name, shape=tuple(shape), kind=kind)

    def build(self, outputs) -> Graph:
        if isinstance(outputs, str):
            outputs = [outputs]
        return Graph.from_nodes(self._nodes, outputs, self.metadata)

    def __getattr__(self, op: str):
        cls = NODE_TYPES.get(op)
        if cls is None or op == "input":
            raise AttributeError(op)

        def add_node(*inputs: str, name: str | None = None, **params) -> str:
            return self.add_node(cls, *inputs, name=name, **params)

        add_node.__doc__ = cls.__doc__
        return add_node
