"""Aligned text tables for the terminal."""
from __future__ import annotations


def format_number(value) -> str:
    if isinstance(value, str):
        return value
    if isinstance(value, int) or (isinstance(value, float) and value.is_integer() and abs(value) < 1e15):
        return f"{int(value):,}"
    if abs(value) >= 1000 or (value != 0 and abs(value) < 0.001):
        return f"{value:.3g}"
    return f"{value:.4f}".rstrip("0").rstrip(".")


def format_table(rows: list[dict], columns: list[tuple[str, str]]) -> str:
    """``columns`` are (key, header); text columns align left, numbers right."""
    cells = [[format_number(r[key]) for key, _ in columns] for r in rows]
    headers = [h for _, h in columns]
    widths = [max([len(h)] + [len(c[i]) for c in cells]) for i, h in enumerate(headers)]
    numeric = [all(not isinstance(r[key], str) or r[key] == "-" for r in rows) for key, _ in columns]
    def line(values):
        return "  ".join(v.rjust(w) if num else v.ljust(w) for v, w, num in zip(values, widths, numeric)).rstrip()
    return "\n".join([line(headers), line(["-" * w for w in widths])] + [line(c) for c in cells])
