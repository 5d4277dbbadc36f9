"""The event-driven simulator: ``simulate(graph, inputs) -> SimResult(outputs, trace)``."""
from .engine import PRECISIONS, SimResult, Simulator, simulate
from .fixed_point import FixedPointConfig, FixedPointPlan
from .trace import COUNT_FIELDS, NodeTrace, Trace

__all__ = ["simulate", "Simulator", "SimResult", "PRECISIONS", "FixedPointConfig", "FixedPointPlan",
           "Trace", "NodeTrace", "COUNT_FIELDS"]
