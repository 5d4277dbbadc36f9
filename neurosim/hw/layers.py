"""Split a Graph into the *layers* a chip places and the *edges* its events travel on.

Rules (every family uses the same split, so rows line up across chips):

* **neuron layer**: a neuron node plus the synaptic nodes feeding it directly or through a
  chain of ``Add`` nodes (several currents landing on the same neurons). A synaptic node or
  an Add already claimed by an earlier layer stays with that layer (a shared residual current).
* **synaptic layer**: a synaptic node that reaches no neuron that way (a detection head's
  output convolution) is placed as its own layer; its outputs are analog accumulators.
* **routing nodes**: structural nodes that carry events (Concat, MaxPool2d, SumPool2d,
  Upsample, Flatten, Add and Mul of spikes) cost nothing themselves: they change which
  destination neurons an event reaches, which the destination's synaptic counts already hold.
* **host nodes**: every other node (SiLU, Sigmoid, analog pooling, analog Concat, ...) runs on
  a host processor next to the chip; each is a row of kind ``host`` costed from its
  ``analog_ops`` (when the profile prices them).

An **edge** goes from a neuron layer (or an event Input) to the synaptic node of a layer that
reads its events, through a path of routing nodes. The **depth** of a layer is the length of
the longest chain of placed layers upstream of it (0 for the first layer): on a chip with
one-step synaptic delay, the layer at depth ``d`` handles data step ``t`` at chip step ``t + d``.
"""
from __future__ import annotations

import weakref
from dataclasses import dataclass

from ..errors import GraphError
from ..ir.graph import Graph
from ..ir.nodes import EVENT_KINDS, Input

ROUTING_OPS = frozenset({"concat", "maxpool2d", "sumpool2d", "upsample", "flatten", "add", "mul"})


def shape3(shape) -> tuple[int, int, int]:
    """``(C, H, W)`` as is; a flat ``(N,)`` as ``(N, 1, 1)``."""
    shape = tuple(int(s) for s in shape)
    if len(shape) == 3:
        return shape
    if len(shape) == 1:
        return (shape[0], 1, 1)
    raise GraphError(f"unsupported tensor shape {shape} for hardware placement")


@dataclass(frozen=True)
class Layer:
    """One row of a report; ``kind`` is ``neuron``, ``synaptic`` or ``host``."""

    name: str
    kind: str
    index: int
    anchor: str
    neuron: str | None
    synapses: tuple[str, ...]
    adds: tuple[str, ...]
    shape: tuple[int, int, int]
    depth: int = 0

    @property
    def placed(self) -> bool:
        return self.kind != "host"

    @property
    def neurons(self) -> int:
        c, h, w = self.shape
        return c * h * w

    @property
    def nodes(self) -> tuple[str, ...]:
        own = (self.neuron,) if self.neuron else ()
        host = (self.anchor,) if self.kind in ("host", "routing") else ()
        return self.synapses + self.adds + own + host


@dataclass(frozen=True)
class Edge:
    """Events of ``source`` (a neuron layer, or an event Input when ``from_input``) reach the
    synaptic node ``synapse`` of layer ``target`` through the routing nodes ``path``
    (listed from the source's output to the synapse's input)."""

    source: str
    target: str
    synapse: str
    path: tuple[str, ...]
    from_input: bool = False


@dataclass(frozen=True)
class Decomposition:
    layers: tuple[Layer, ...]
    edges: tuple[Edge, ...]
    routing_nodes: tuple[str, ...]
    layer_of_node: dict

    def layer(self, name: str) -> Layer:
        for layer in self.layers:
            if layer.name == name:
                return layer
        raise KeyError(name)

    @property
    def placed(self) -> tuple[Layer, ...]:
        return tuple(l for l in self.layers if l.placed)


_GRAPH_CACHE: "weakref.WeakKeyDictionary[Graph, dict]" = weakref.WeakKeyDictionary()


def graph_cache(graph: Graph) -> dict:
    """A dict for values derived from ``graph`` alone (graphs are frozen), kept while it lives."""
    cache = _GRAPH_CACHE.get(graph)
    if cache is None:
        cache = _GRAPH_CACHE.setdefault(graph, {})
    return cache


def decompose(graph: Graph) -> Decomposition:
    """Layers (in topological order of their output node), edges and routing nodes of ``graph``
    (computed once per graph: every placement and costing of it reads the same split)."""
    cache = graph_cache(graph)
    if "decomposition" not in cache:
        cache["decomposition"] = _decompose(graph)
    return cache["decomposition"]


def _decompose(graph: Graph) -> Decomposition:
    order = {n.name: i for i, n in enumerate(graph.nodes)}
    nodes = {n.name: n for n in graph.nodes}
    owner: dict[str, str] = {}          # node name -> layer name
    groups: list[dict] = []

    for node in graph.nodes:
        if not node.is_neuron:
            continue
        synapses, adds = [], []
        stack = list(node.inputs)
        while stack:
            name = stack.pop()
            src = nodes[name]
            if name in owner:
                continue
            if src.is_synaptic:
                owner[name] = node.name
                synapses.append(name)
            elif src.op == "add" and graph.kinds[name] == "analog":
                owner[name] = node.name
                adds.append(name)
                stack.extend(src.inputs)
        owner[node.name] = node.name
        groups.append(dict(name=node.name, kind="neuron", anchor=node.name, neuron=node.name,
                           synapses=tuple(sorted(synapses, key=order.get)),
                           adds=tuple(sorted(adds, key=order.get))))

    routing: list[str] = []
    for node in graph.nodes:
        if node.name in owner or isinstance(node, Input):
            continue
        if node.is_synaptic:
            owner[node.name] = node.name
            groups.append(dict(name=node.name, kind="synaptic", anchor=node.name, neuron=None,
                               synapses=(node.name,), adds=()))
        elif node.op in ROUTING_OPS and graph.kinds[node.name] in EVENT_KINDS:
            routing.append(node.name)
        else:
            owner[node.name] = node.name
            groups.append(dict(name=node.name, kind="host", anchor=node.name, neuron=None,
                               synapses=(), adds=()))

    groups.sort(key=lambda g: order[g["anchor"]])
    routing_set = set(routing)
    edges = _edges(graph, groups, nodes, owner, routing_set)
    depths = _depths(graph, groups, nodes, owner)
    layers = tuple(
        Layer(name=g["name"], kind=g["kind"], index=i, anchor=g["anchor"], neuron=g["neuron"],
              synapses=g["synapses"], adds=g["adds"], shape=shape3(graph.shapes[g["anchor"]]),
              depth=depths.get(g["name"], 0))
        for i, g in enumerate(groups))
    return Decomposition(layers=layers, edges=tuple(edges), routing_nodes=tuple(routing),
                         layer_of_node=dict(owner))


def _edges(graph, groups, nodes, owner, routing_set) -> list[Edge]:
    neuron_layers = {g["name"] for g in groups if g["kind"] == "neuron"}
    edges: list[Edge] = []
    for g in groups:
        if g["kind"] == "host":
            continue
        for syn in g["synapses"]:
            # depth-first walk back from the synapse's input through routing nodes
            stack = [(nodes[syn].inputs[0], ())]
            while stack:
                name, path = stack.pop()
                node = nodes[name]
                if name in neuron_layers:
                    edges.append(Edge(source=name, target=g["name"], synapse=syn, path=path))
                elif isinstance(node, Input) and graph.kinds[name] in EVENT_KINDS:
                    edges.append(Edge(source=name, target=g["name"], synapse=syn, path=path,
                                      from_input=True))
                elif name in routing_set:
                    for src in node.inputs:
                        stack.append((src, (name,) + path))
    return edges


def _depths(graph, groups, nodes, owner) -> dict[str, int]:
    """Longest chain of placed layers upstream of each placed layer (through any node)."""
    placed = {g["name"] for g in groups if g["kind"] != "host"}
    depth: dict[str, int] = {}
    # placed layers whose output reaches each node without crossing another placed layer
    up: dict[str, frozenset] = {}
    for node in graph.nodes:
        layer = owner.get(node.name)
        if layer in placed:
            up[node.name] = frozenset([layer])
        else:
            found: set[str] = set()
            for src in node.inputs:
                found |= up[src]
            up[node.name] = frozenset(found)

    def upstream(name: str) -> frozenset:
        return up[name]

    for g in groups:
        if g["kind"] == "host":
            continue
        entry_nodes = list(g["synapses"]) or ([g["neuron"]] if g["neuron"] else [])
        sources: set[str] = set()
        for n in entry_nodes:
            for src in nodes[n].inputs:
                sources |= upstream(src)
        for a in g["adds"]:
            for src in nodes[a].inputs:
                if owner.get(src) != g["name"]:
                    sources |= upstream(src) - {g["name"]}
        sources.discard(g["name"])
        depth[g["name"]] = 1 + max((depth.get(s, 0) for s in sources), default=-1)
    return depth
