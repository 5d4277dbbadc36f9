"""Write reports as JSON and CSV, atomically (a file is complete or absent)."""
from __future__ import annotations

import csv
import io
import json
import math
from pathlib import Path

from ..errors import FormatError
from ..fsutil import write_text_atomic
from .report import COMPONENTS, Report

LAYER_COLUMNS = (["layer", "kind", "neurons", "cores", "depth", "events_in", "events_out", "firing_rate",
                  "syn_ops", "macs", "neuron_updates", "active_neurons", "analog_ops"]
                 + [f"energy_{c}_j" for c in COMPONENTS]
                 + ["energy_total_j", "latency_s", "memory_bits", "parameters"])
CORE_COLUMNS = (["core", "layer", "chip", "x", "y", "c0", "c1", "y0", "y1", "x0", "x1", "neurons",
                 "fan_in", "fan_out"]
                + [f"energy_{c}_j" for c in COMPONENTS] + ["energy_total_j", "busy_s"])


def _clean(value):
    """JSON has no NaN/Infinity: write them as null."""
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {k: _clean(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_clean(v) for v in value]
    if hasattr(value, "item") and callable(value.item):  # numpy scalars
        return _clean(value.item())
    return value


def report_json(report: Report) -> str:
    return json.dumps(_clean(report.to_dict()), indent=2, sort_keys=False) + "\n"


def write_json(report: Report, path) -> Path:
    """Write ``report.to_dict()`` as JSON to ``path`` (atomic)."""
    path = Path(path)
    write_text_atomic(path, report_json(report))
    return path


def read_json(path) -> Report:
    """Read a report written by :func:`write_json`."""
    path = Path(path)
    try:
        doc = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise FormatError(f"{path}: report file not found") from None
    except json.JSONDecodeError as exc:
        raise FormatError(f"{path}: not valid JSON (line {exc.lineno})") from None
    try:
        return Report.from_dict(doc)
    except FormatError as exc:
        raise FormatError(f"{path}: {exc}") from None


def _fmt(v):
    if v is None:
        return ""
    if isinstance(v, float):
        return repr(v)
    return str(v)


def layers_csv(report: Report) -> str:
    """The per-layer table with a final ``TOTAL`` row (per-inference values)."""
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(LAYER_COLUMNS)
    for r in report.layers:
        w.writerow([_fmt(v) for v in
                    [r.name, r.kind, r.neurons, len(r.cores), r.depth, r.events_in, r.events_out,
                     r.firing_rate, r.syn_ops, r.macs, r.neuron_updates, r.active_neurons, r.analog_ops]
                    + [r.energy.get(c, 0.0) for c in COMPONENTS]
                    + [r.energy_total, r.latency, r.memory_bits, r.parameters]])
    t = report.totals()
    comp = t["energy_by_component"]
    w.writerow([_fmt(v) for v in
                ["TOTAL", "", sum(r.neurons for r in report.layers), report.cores_used, "",
                 sum(r.events_in for r in report.layers), t["events_out"], None, t["syn_ops"], t["macs"],
                 t["neuron_updates"], sum(r.active_neurons for r in report.layers),
                 sum(r.analog_ops for r in report.layers)]
                + [comp[c] for c in COMPONENTS]
                + [t["energy_per_inference"], t["latency_per_inference"], t["memory_bits"],
                   sum(r.parameters for r in report.layers)]])
    return buf.getvalue()


def cores_csv(report: Report) -> str:
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(CORE_COLUMNS)
    for c in report.cores:
        w.writerow([_fmt(v) for v in
                    [c.index, c.layer, c.chip, c.x, c.y, *c.box, c.neurons, c.fan_in, c.fan_out]
                    + [c.energy.get(k, 0.0) for k in COMPONENTS] + [c.energy_total, c.busy]])
    return buf.getvalue()


def write_csv(report: Report, path, cores_path=None) -> Path:
    """Write the per-layer CSV to ``path`` (and the per-core CSV to ``cores_path`` if given)."""
    path = Path(path)
    write_text_atomic(path, layers_csv(report))
    if cores_path is not None:
        write_text_atomic(Path(cores_path), cores_csv(report))
    return path
