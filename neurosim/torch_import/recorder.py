"""Record a torch model's forward pass as IR nodes.

The model runs for real, in eval mode, on a recording input (batch 2, all ``T`` timesteps).
A ``TorchFunctionMode`` sees every torch function the forward calls on the network's tensors
and hands it to the converter registered for it (:mod:`neurosim.torch_import.ops`); neuron
modules are leaves (:mod:`neurosim.torch_import.neurons`): their own forward runs unobserved
and one converter maps the module to its IR neuron. Global module hooks keep the stack of
module paths, for node names and for error messages.

Why recording and not torch.fx: fx cannot trace a forward whose Python loop runs over
timesteps with data-dependent state (snnTorch's ``for step in range(T)``), nor SpikingJelly's
stateful neurons without custom tracers; recording the ops that really run handles both, and
the same op met again at a later timestep (a time loop, or a single-step model called T
times) folds into the one per-timestep IR node it already made.
"""
from __future__ import annotations

import numpy as np
import torch
from torch.overrides import TorchFunctionMode

from ..errors import NeurosimError
from ..ir import Graph
from ..ir.nodes import NODE_TYPES
from .values import BatchFirst, Folded, Membrane, RowsRepeated, TimeReduced, Value


class ImportRefused(NeurosimError):
    """The model uses something the importer does not convert (one sentence: where, what,
    what is supported)."""


class PendingNode:
    """A node under construction (BatchNorm folding may still change its parameters)."""

    def __init__(self, op: str, name: str, inputs: tuple[str, ...], params: dict):
        self.op, self.name, self.inputs, self.params = op, name, tuple(inputs), dict(params)

    def build(self):
        cls = NODE_TYPES[self.op]
        params = {k: (np.asarray(v, np.float64).astype(np.float32) if isinstance(v, np.ndarray) else v)
                  for k, v in self.params.items()}
        return cls(name=self.name, inputs=self.inputs, **params)


class Recorder(TorchFunctionMode):
    """Turns one forward pass into pending IR nodes; see the module docstring."""

    def __init__(self, model: torch.nn.Module, T: int, B: int, ops: dict, neurons):
        super().__init__()
        self.model, self.T, self.B = model, T, B
        self.ops = ops
        self.neurons = neurons  # neurons.converter_for(module) -> converter or None
        self.paths = {id(m): p for p, m in model.named_modules()}
        self.tags: dict[int, tuple[torch.Tensor, object]] = {}
        self.stacks: dict[int, tuple[torch.Tensor, dict]] = {}  # out[t] = ... fills
        self.nodes: dict[str, PendingNode] = {}
        self.memo: dict[tuple, str] = {}
        self.readers: dict[str, int] = {}
        self.stack: list[torch.nn.Module] = []
        self.leaf_depth = 0
        self.decisions: list[str] = []
        self.neuron_calls: dict[int, dict] = {}
        self.spikes: dict[str, float] = {}  # torch's own spike totals per neuron node
        self.folded_at: dict[str, set] = {}  # conv node -> keys of the BatchNorms folded into it

    # ------------------------------------------------------------------ tensors and tags
    def tag(self, tensor: torch.Tensor, tag) -> None:
        self.tags[id(tensor)] = (tensor, tag)

    def tag_of(self, obj):
        """The tag of a tensor, or None for a constant (parameters, literals, fresh zeros)."""
        if not isinstance(obj, torch.Tensor):
            return None
        entry = self.tags.get(id(obj))
        if entry is not None and entry[0] is obj:
            tag = entry[1]
            if isinstance(tag, Folded):
                raise self.refuse(f"reads the output of '{tag.node}' before its BatchNorm, which was folded into "
                                  "it; a convolution's raw output may only feed its BatchNorm")
            return tag
        filling = self.stacks.get(id(obj))
        if filling is not None and filling[0] is obj:
            return self._finish_stack(obj, filling[1])
        return None

    def _finish_stack(self, tensor, entries: dict):
        nodes = {entries.get(t) for t in range(self.T)}
        if None in nodes or len(nodes) != 1:
            raise self.refuse("reads a tensor filled one timestep at a time (out[t] = ...) before every timestep "
                              "was written with the same layer's output")
        value = Value(nodes.pop(), "seq")
        del self.stacks[id(tensor)]
        self.tag(tensor, value)
        return value

    # ------------------------------------------------------------------ naming and errors
    def where(self) -> str:
        for module in reversed(self.stack):
            path = self.paths.get(id(module))
            if path:
                return f"module '{path}' ({type(module).__name__})"
        return f"the forward of {type(self.model).__name__}"

    def path(self) -> str:
        for module in reversed(self.stack):
            path = self.paths.get(id(module))
            if path:
                return path
        return ""

    def refuse(self, what: str) -> ImportRefused:
        return ImportRefused(f"{self.where()} {what}")

    def unique_name(self, base: str) -> str:
        base = base or "node"
        name, k = base, 1
        while name in self.nodes or name == "input":
            name = f"{base}_{k}"
            k += 1
        return name

    # ------------------------------------------------------------------ nodes
    def add_node(self, op: str, inputs, params: dict, name: str | None = None, key=None) -> str:
        """A node for ``op`` on ``inputs`` (node names); the same op on the same inputs with the
        same constants (``key``) met again, at another timestep, is the same node."""
        inputs = tuple(inputs)
        if key is not None:
            key = (op, inputs, key)
            if key in self.memo:
                return self.memo[key]
        if name is None:
            path = self.path()
            leaf = self.stack[-1] if self.stack else None
            own = leaf is not None and self.paths.get(id(leaf)) == path and not any(True for _ in leaf.children())
            name = path if own else (f"{path}.{op}" if path else op)
        name = self.unique_name(name)
        self.nodes[name] = PendingNode(op, name, inputs, params)
        for src in inputs:
            self.readers[src] = self.readers.get(src, 0) + 1
        if key is not None:
            self.memo[key] = name
        return name

    def input_node(self, shape, kind: str) -> str:
        self.nodes["input"] = PendingNode("input", "input", (), {"shape": tuple(shape), "kind": kind})
        return "input"

    def build(self, outputs: list[str], metadata: dict) -> Graph:
        """The IR graph of the nodes that lead to ``outputs`` (dead branches dropped)."""
        needed, todo = set(), list(outputs)
        while todo:
            name = todo.pop()
            if name in needed:
                continue
            needed.add(name)
            todo.extend(self.nodes[name].inputs)
        dropped = [n for n in self.nodes if n not in needed]
        if dropped:
            self.decisions.append(f"dropped {len(dropped)} node(s) whose values reach no output: "
                                  f"{', '.join(dropped[:5])}{' ...' if len(dropped) > 5 else ''}")
        nodes = [p.build() for n, p in self.nodes.items() if n in needed]
        return Graph.from_nodes(nodes, outputs, metadata)

    # ------------------------------------------------------------------ module hooks
    def pre_hook(self, module, args):
        self.stack.append(module)
        if self.leaf_depth:
            self.leaf_depth += 1
            return
        if self.neurons(module) is not None:
            self.leaf_depth = 1

    def post_hook(self, module, args, output):
        try:
            if self.leaf_depth:
                self.leaf_depth -= 1
                if self.leaf_depth == 0:
                    converter = self.neurons(module)
                    converter(self, module, args, output)
        finally:
            self.stack.pop()

    # ------------------------------------------------------------------ torch functions
    def __torch_function__(self, func, types, args=(), kwargs=None):
        kwargs = kwargs or {}
        try:
            out = func(*args, **kwargs)
        except Exception as exc:
            exc._raised_by_model = True  # torch refused the model's own call, not an importer bug
            raise
        if self.leaf_depth:
            return out
        name = getattr(func, "__name__", str(func))
        if name == "__setitem__":
            self._setitem(args)
            return out
        tracked = [a for a in _tensors(args, kwargs) if self.tag_of(a) is not None]
        if not tracked:
            return out
        handler = self.ops.get(name)
        if handler is None:
            raise self.refuse(f"calls torch '{name}' on the network's activations, which the importer does not "
                              f"convert (supported: {', '.join(sorted(k for k in self.ops if not k.startswith('_')))})")
        tag = handler(self, args, kwargs, out)
        if tag is not None and isinstance(out, torch.Tensor):
            self.tag(out, tag)
        return out

    def _setitem(self, args):
        target, index, value = args[0], args[1], args[2]
        vtag = self.tag_of(value)
        if vtag is None:
            return
        if self.tag_of(target) is not None or not isinstance(index, int) or not isinstance(vtag, Value) \
                or vtag.layout != "step" or vtag.t != index:
            raise self.refuse("writes the network's activations into a tensor other than out[t] = (timestep t's "
                              "value), which the importer does not convert")
        entry = self.stacks.setdefault(id(target), (target, {}))
        entry[1][index] = vtag.node

    # ------------------------------------------------------------------ helpers for converters
    def value(self, obj, what: str = "input") -> Value:
        tag = self.tag_of(obj)
        if isinstance(tag, Value):
            return tag
        if isinstance(tag, Membrane):
            raise self.refuse(f"uses the membrane potential of neuron '{tag.path}' as an activation; only spikes "
                              "(and analog layer outputs) can be converted")
        if isinstance(tag, (BatchFirst, RowsRepeated)):
            raise self.refuse("uses a [B, T, ...] input or a half-done repeat_interleave upsampling where the "
                              "network's activations were expected")
        if isinstance(tag, TimeReduced):
            raise self.refuse(f"computes on a {tag.how} over timesteps of '{tag.node}'; a reduction over time is "
                              "supported only as a model output (the readout)")
        raise self.refuse(f"uses a constant tensor as its {what}, where the network's activations were expected")

    def logical_shape(self, tensor: torch.Tensor, value: Value) -> tuple[int, ...]:
        return tuple(tensor.shape[len(value.lead(self.T, self.B)):])


def _tensors(args, kwargs):
    for a in list(args) + list(kwargs.values()):
        if isinstance(a, torch.Tensor):
            yield a
        elif isinstance(a, (list, tuple)):
            yield from (x for x in a if isinstance(x, torch.Tensor))
