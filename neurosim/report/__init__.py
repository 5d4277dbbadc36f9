"""Reports: per-layer and per-core energy, latency and memory; JSON and CSV writers.

The JSON schema (``neurosim-report``, version 1) is documented in docs/report.md.
"""
from .report import COMPONENTS, SCHEMA, UNITS, VERSION, CoreRow, LayerRow, Report
from .writers import cores_csv, layers_csv, read_json, report_json, write_csv, write_json

__all__ = ["Report", "LayerRow", "CoreRow", "COMPONENTS", "SCHEMA", "VERSION", "UNITS",
           "write_json", "write_csv", "read_json", "report_json", "layers_csv", "cores_csv"]
