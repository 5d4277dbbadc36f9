"""The network IR: node dataclasses, the Graph, and the on-disk format (docs/format.md)."""
from .graph import Graph, GraphBuilder
from .io import FORMAT_VERSION, graph_from_dict, graph_to_dict, load_graph, save_graph
from .nodes import (EVENT_KINDS, IF, ILIF, LI, LIF, NODE_TYPES, Add, AvgPool2d, Concat, Conv2d, CubaLI,
                    CubaLIF, Flatten, GlobalAvgPool, HoyerSpike, Input, Linear, MaxPool2d, Mul, Node, ReLU,
                    Scale, Sigmoid, SiLU, SumPool2d, Threshold, Upsample)

__all__ = ["Graph", "GraphBuilder", "load_graph", "save_graph", "graph_to_dict", "graph_from_dict",
           "FORMAT_VERSION", "NODE_TYPES", "EVENT_KINDS", "Node", "Input", "Conv2d", "Linear", "Add",
           "Concat", "MaxPool2d", "AvgPool2d", "SumPool2d", "Upsample", "Flatten", "LIF", "IF", "ILIF",
           "HoyerSpike", "ReLU", "SiLU", "Sigmoid", "Mul", "GlobalAvgPool", "Scale", "Threshold", "LI",
           "CubaLI", "CubaLIF"]
