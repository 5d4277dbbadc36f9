"""Shared pieces of the framework comparisons (snnTorch, Norse): run a torch network step by
step recording chosen modules, run the imported graph with the same nodes as outputs."""
import numpy as np

from neurosim.ir import Graph
from neurosim.sim import simulate


def round_weights(module, step=2.0 ** -7):
    """Round every parameter of ``module``'s Linear / Conv layers to multiples of ``step``, so that
    synaptic sums are exact whatever their order: the neurons are then compared bit for bit."""
    import torch

    with torch.no_grad():
        for layer in module.modules():
            if isinstance(layer, (torch.nn.Linear, torch.nn.Conv2d)):
                for p in layer.parameters():
                    p.copy_(torch.round(p / step) * step)
    return module


def record(net, x, modules: dict, step):
    """Run ``step(net, x_t, state) -> state`` over x [T, B, ...]; return name -> [B, T, ...] outputs
    of the named modules (their first output when they return a tuple)."""
    import torch

    seen = {name: [] for name in modules}
    hooks = [m.register_forward_hook(lambda mod, inp, out, name=name: seen[name].append(
        (out[0] if isinstance(out, tuple) else out).detach().clone())) for name, m in modules.items()]
    state = None
    try:
        with torch.no_grad():
            for t in range(x.shape[0]):
                state = step(net, x[t], state)
    finally:
        for h in hooks:
            h.remove()
    return {name: torch.stack(v).numpy().swapaxes(0, 1) for name, v in seen.items()}


def simulate_nodes(graph: Graph, x_tb, names, precision="float32"):
    """Simulate ``graph`` on x [T, B, ...] with ``names`` as outputs; return name -> [B, T, ...]."""
    graph = Graph.from_nodes(graph.nodes, names, graph.metadata)
    return simulate(graph, np.asarray(x_tb).swapaxes(0, 1), precision=precision).outputs


def agreement(a, b) -> float:
    return float(np.mean(np.asarray(a) == np.asarray(b)))
