"""Built-in example networks, deterministic from a seed (for the demo, docs and tests)."""
from __future__ import annotations

import numpy as np

from .ir import Graph, GraphBuilder

EXAMPLES = ("tiny-snn",)


def tiny_snn(seed: int = 0, size: int = 32) -> Graph:
    """A small spiking conv net in the style of the seed detectors.

    Encoding conv on the analog image (dense MACs), LIF, an EMS-style residual block whose
    shortcut is a 1x1 conv (currents added on the membrane), an I-LIF stage (integer spikes,
    D = 4), max pooling, and a two-output 1x1 "head" conv on spikes.
    """
    rng = np.random.default_rng(seed)

    def weight(cout, cin, k, gain=1.0):
        return (rng.normal(0, gain / np.sqrt(cin * k * k), (cout, cin, k, k))).astype(np.float32)

    b = GraphBuilder(metadata={"name": "tiny-snn", "seed": seed, "description": tiny_snn.__doc__.splitlines()[0]})
    x = b.input((3, size, size), name="image")
    c1 = b.conv2d(x, weight=weight(16, 3, 3, 2.5), bias=np.full(16, 0.1, np.float32), stride=2, padding=1, name="enc.conv")
    s1 = b.lif(c1, threshold=0.5, decay=0.25, name="enc.lif")
    c2 = b.conv2d(s1, weight=weight(16, 16, 3, 2.0), padding=1, name="block.conv")
    sc = b.conv2d(s1, weight=weight(16, 16, 1, 1.0), name="block.shortcut")
    add = b.add(c2, sc, name="block.add")
    s2 = b.lif(add, threshold=0.5, decay=0.25, name="block.lif")
    c3 = b.conv2d(s2, weight=weight(32, 16, 3, 2.0), stride=2, padding=1, name="stage2.conv")
    s3 = b.ilif(c3, decay=0.25, max_spike=4, name="stage2.ilif")
    p = b.maxpool2d(s3, kernel=2, name="stage2.pool")
    head = b.conv2d(p, weight=weight(6, 32, 1, 1.0), bias=np.zeros(6, np.float32), name="head.conv")
    return b.build([head])


def example_graph(name: str, seed: int = 0) -> Graph:
    from .errors import NeurosimError

    if name == "tiny-snn":
        return tiny_snn(seed)
    raise NeurosimError(f"unknown example '{name}' (available: {', '.join(EXAMPLES)})")


def example_input(graph: Graph, timesteps: int, batch: int = 1, seed: int = 0) -> np.ndarray:
    """A deterministic input for ``graph``: a smooth random image (analog) repeated T times,
    or Bernoulli spikes at 10% for a spiking input."""
    rng = np.random.default_rng(seed)
    node = graph.input_nodes[0]
    shape = (batch, timesteps) + node.shape
    if node.kind != "analog":
        return (rng.random(shape) < 0.1).astype(np.float32)
    image = rng.random((batch, 1) + node.shape).astype(np.float32)
    if len(node.shape) == 3:  # smooth a little so the image has structure
        image = (image + np.roll(image, 1, -1) + np.roll(image, 1, -2)) / 3
    return np.repeat(image, timesteps, axis=1)
