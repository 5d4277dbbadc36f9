"""Reductions of a trace remembered for the length of one costing.

A cost call, and the costings it nests (the ANN-twin comparison costs the same trace on other
profiles), read the same per-node totals and layer counts many times. Inside
:func:`costing_session` each is computed once. Costing never writes to the trace, so nothing
goes stale during a session; the memo is dropped when the outermost session ends, so a trace
changed between two cost calls is read afresh. Outside a session nothing is remembered.
"""
from __future__ import annotations

import contextlib
from contextvars import ContextVar
from typing import Callable, TypeVar

import numpy as np

V = TypeVar("V")

_MEMO: ContextVar[dict | None] = ContextVar("neurosim_hw_costing_memo", default=None)


@contextlib.contextmanager
def costing_session():
    """Open a memo for this costing (a nested session shares the outer one)."""
    if _MEMO.get() is not None:
        yield
        return
    token = _MEMO.set({})
    try:
        yield
    finally:
        _MEMO.reset(token)


def session_open() -> bool:
    """Whether a costing session is open (in this thread or task)."""
    return _MEMO.get() is not None


def memoized(owner: object, key, compute: Callable[[], V]) -> V:
    """``compute()``, remembered under ``(owner, key)`` while a session is open. The owner (a
    NodeTrace, say) is kept with the value so that its id cannot be reused meanwhile."""
    memo = _MEMO.get()
    if memo is None:
        return compute()
    k = (id(owner), key)
    hit = memo.get(k)
    if hit is not None and hit[0] is owner:
        return hit[1]
    value = compute()
    memo[k] = (owner, value)
    return value


def node_total(nt, field_name: str) -> float:
    """``nt.total(field_name)``: one count of a NodeTrace summed over samples and steps."""
    memo = _MEMO.get()
    if memo is None:
        return nt.total(field_name)
    k = (id(nt), field_name)
    hit = memo.get(k)
    if hit is not None and hit[0] is nt:
        return hit[1]
    value = nt.total(field_name)
    memo[k] = (nt, value)
    return value


def node_totals(pairs: list[tuple[object, str]]) -> list[float]:
    """:func:`node_total` of many ``(NodeTrace, field)`` pairs at once. The [B, T] arrays are
    stacked and summed row by row, which adds each row in the same (pairwise) order as
    ``array.sum()`` does for a contiguous array, so the totals are the same; arrays that are
    not contiguous float64 of one shape are summed one by one."""
    memo = _MEMO.get()
    arrays = [getattr(nt, f) for nt, f in pairs]
    stackable = (bool(arrays) and all(isinstance(a, np.ndarray) and a.dtype == np.float64 and a.flags.c_contiguous
                                      and a.shape == arrays[0].shape for a in arrays))
    if not stackable:
        return [node_total(nt, f) for nt, f in pairs]
    totals = np.stack(arrays).reshape(len(arrays), -1).sum(1).tolist()
    if memo is not None:
        for (nt, f), value in zip(pairs, totals):
            memo[(id(nt), f)] = (nt, value)
    return totals
