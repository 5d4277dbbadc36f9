"""Checking published energy claims (SpikeYOLO 5.7x, EMS-YOLO 5.83x): the papers' own arithmetic
on paper-scale architectures (:mod:`.architectures`, :mod:`.conventions`) and the firing rate at
which an SNN stops beating its ANN twin on our hardware models (:mod:`.breakeven`).

No torch at import time: the architecture builders import torch only when called.
See docs/claims_method.md.
"""
from .architectures import ARCHITECTURES, build_graph, layer_table, table_totals
from .breakeven import BreakEven, break_even_rate, ratio_curve, synthetic_trace
from .conventions import (CONVENTIONS, Reading, default_reading, energies, implied_rate,
                          implied_rate_range, ratio, reading_range, readings)

__all__ = ["ARCHITECTURES", "build_graph", "layer_table", "table_totals", "CONVENTIONS", "Reading",
           "default_reading", "energies", "ratio", "implied_rate", "implied_rate_range", "readings",
           "reading_range", "synthetic_trace", "break_even_rate", "ratio_curve", "BreakEven"]
