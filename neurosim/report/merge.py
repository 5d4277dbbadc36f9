"""Merge the reports of one model on one profile costed on disjoint sets of samples.

Every count, energy, time and rate of a report is per inference: a mean over its samples. The
report of all the samples is therefore the batch-weighted mean of the parts, value by value::

    v = sum_i B_i v_i / B,        B = sum_i B_i

This is the one-run value for every per-inference quantity whenever each part was costed with
the same per-core split of its events (:mod:`neurosim.scaleout` costs every shard with the whole
run's event maps, so a sample's per-core counts do not depend on the shard it ran in).

Values that do not depend on the samples (memory, placement, parameters, the ANN twin's energy)
are equal in every part and kept as they are, bit for bit. Integers, strings and booleans are
kept from the first part: they are equal in every part, except a tie (two links equally busiest)
broken differently by rounding, where either answer is right. Warnings are the union, in order.

:class:`Merger` folds parts in one at a time (memory of one report, however many shards).
"""
from __future__ import annotations

from typing import Any, Iterable

from .report import Report


class _Leaf:
    """One scalar of the merged document: the first part's value, ``sum B_i v_i``, and whether
    any part differed from the first."""

    __slots__ = ("first", "weighted", "differs")

    def __init__(self, value, batch: int):
        self.first = value
        self.weighted = value * batch if _is_float(value) else None
        self.differs = False

    def add(self, value, batch: int) -> None:
        if value != self.first:
            self.differs = True
        if self.weighted is not None and _is_float(value):
            self.weighted += value * batch
        elif _is_float(value) or self.weighted is not None:
            self.weighted = None            # a float on one side only (None vs a number): keep the first

    def result(self, batch: int):
        if not self.differs or self.weighted is None:
            return self.first
        return self.weighted / batch


def _is_float(value) -> bool:
    return isinstance(value, float)


def _start(value, batch: int):
    if isinstance(value, dict):
        return {k: _start(v, batch) for k, v in value.items()}
    if isinstance(value, list):
        return [_start(v, batch) for v in value]
    return _Leaf(value, batch)


def _fold(acc, value, batch: int, where: str):
    if isinstance(acc, dict):
        if not isinstance(value, dict) or value.keys() != acc.keys():
            raise ValueError(f"reports to merge differ in structure at {where or 'the top'}")
        for k in acc:
            acc[k] = _fold(acc[k], value[k], batch, f"{where}.{k}")
        return acc
    if isinstance(acc, list):
        if not isinstance(value, list) or len(value) != len(acc):
            raise ValueError(f"reports to merge differ in structure at {where}")
        for i, v in enumerate(value):
            acc[i] = _fold(acc[i], v, batch, f"{where}[{i}]")
        return acc
    if isinstance(value, (dict, list)):
        raise ValueError(f"reports to merge differ in structure at {where}")
    acc.add(value, batch)
    return acc


def _finish(acc, batch: int):
    if isinstance(acc, dict):
        return {k: _finish(v, batch) for k, v in acc.items()}
    if isinstance(acc, list):
        return [_finish(v, batch) for v in acc]
    return acc.result(batch)


class Merger:
    """Batch-weighted mean of documents of the same structure (reports' :meth:`Report.to_dict`,
    per-layer rows...), one part at a time; see the module docstring."""

    def __init__(self):
        self._acc: Any = None
        self.batch = 0

    def add(self, doc, batch: int) -> None:
        if batch <= 0:
            raise ValueError("a part to merge must hold at least one sample")
        if self._acc is None:
            self._acc = _start(doc, batch)
        else:
            self._acc = _fold(self._acc, doc, batch, "")
        self.batch += batch

    def result(self):
        if self._acc is None:
            raise ValueError("nothing to merge")
        return _finish(self._acc, self.batch)


class ReportMerger:
    """:class:`Merger` for reports: runs of one model on one profile, at one T."""

    def __init__(self):
        self._docs = Merger()
        self._warnings: dict[str, None] = {}
        self.timesteps: int | None = None
        self.profile: dict | None = None

    def add(self, report: Report) -> None:
        if self.timesteps is None:
            self.timesteps, self.profile = report.timesteps, report.profile
        elif report.timesteps != self.timesteps or report.profile != self.profile:
            raise ValueError("reports to merge must come from one profile at one T")
        doc = report.to_dict()
        self._warnings.update(dict.fromkeys(doc.pop("warnings")))
        doc.pop("run")
        self._docs.add(doc, report.batch)

    def result(self) -> Report:
        doc = self._docs.result()
        doc["run"] = {"batch": self._docs.batch, "timesteps": self.timesteps}
        doc["warnings"] = list(self._warnings)
        return Report.from_dict(doc)


def merge_reports(reports: Iterable[Report]) -> Report:
    """The report of all the parts' samples (see the module docstring)."""
    merger = ReportMerger()
    for report in reports:
        merger.add(report)
    return merger.result()
