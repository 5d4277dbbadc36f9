"""Export a torch model to the IR: each exportable module writes its own nodes.

A model implements ``export(exporter, input_name) -> output names``; layers implement
``export(exporter, x, name) -> name``. The exporter holds the GraphBuilder and the metadata.
"""
from __future__ import annotations

from pathlib import Path

from ..ir import Graph, GraphBuilder, save_graph


class Exporter:
    def __init__(self, metadata: dict | None = None):
        self.builder = GraphBuilder(metadata=metadata)


def export_graph(model, input_shape, input_kind: str = "analog", metadata: dict | None = None,
                 input_name: str = "input") -> Graph:
    """The IR graph of ``model`` (in eval mode) for inputs of per-timestep ``input_shape``."""
    was_training = model.training
    model.eval()
    try:
        exporter = Exporter(metadata)
        x = exporter.builder.input(tuple(input_shape), kind=input_kind, name=input_name)
        outputs = model.export(exporter, x)
        return exporter.builder.build(list(outputs))
    finally:
        model.train(was_training)


def export_to_directory(model, input_shape, out_dir: str | Path, **kwargs) -> Graph:
    graph = export_graph(model, input_shape, **kwargs)
    save_graph(graph, out_dir)
    return graph
