"""Units of profile parameters and their conversion to SI base units.

A profile writes every number with a unit (``{value: 23.6, unit: pJ, ...}``). Each family
declares the *dimension* a parameter must have; :func:`to_si` checks the unit against it and
returns the factor that turns the written value into the base unit of that dimension:

=========  ==========  =============================================
dimension  base unit   accepted units
=========  ==========  =============================================
energy     J           fJ, pJ, nJ, uJ, mJ, J
time       s           ps, ns, us, ms, s
power      W           nW, uW, mW, W
bits       bit         bit, bits, B, byte, bytes, Kibit, KiB, MiB
count      1           count, cores, chips, tiles, neurons, axons, edges, entries,
                       destinations, Ki entries (x 1024)
=========  ==========  =============================================

A compound unit ``a/b`` (``pJ/bit``) has dimension ``energy/bits`` and factor
``factor(a) / factor(b)``.
"""
from __future__ import annotations

UNITS: dict[str, dict[str, float]] = {
    "energy": {"fJ": 1e-15, "pJ": 1e-12, "nJ": 1e-9, "uJ": 1e-6, "mJ": 1e-3, "J": 1.0},
    "time": {"ps": 1e-12, "ns": 1e-9, "us": 1e-6, "ms": 1e-3, "s": 1.0},
    "power": {"nW": 1e-9, "uW": 1e-6, "mW": 1e-3, "W": 1.0},
    "bits": {"bit": 1.0, "bits": 1.0, "B": 8.0, "byte": 8.0, "bytes": 8.0, "Kibit": 1024.0,
             "KiB": 8192.0, "MiB": 8388608.0},
    "count": {"count": 1.0, "cores": 1.0, "chips": 1.0, "tiles": 1.0, "neurons": 1.0,
              "axons": 1.0, "edges": 1.0, "entries": 1.0, "destinations": 1.0,
              "Ki entries": 1024.0},
}


def accepted_units(dimension: str) -> list[str]:
    """Units accepted for ``dimension`` (simple or ``a/b``)."""
    if "/" in dimension:
        num, den = dimension.split("/", 1)
        return [f"{a}/{b}" for a in UNITS[num] for b in UNITS[den]]
    return list(UNITS[dimension])


def to_si(unit: str, dimension: str) -> float | None:
    """Factor converting ``unit`` to the base unit of ``dimension``; None if it does not match."""
    if not isinstance(unit, str):
        return None
    unit = unit.strip()
    if "/" in dimension:
        num_dim, den_dim = dimension.split("/", 1)
        if "/" not in unit:
            return None
        num, den = (u.strip() for u in unit.split("/", 1))
        a, b = UNITS[num_dim].get(num), UNITS[den_dim].get(den)
        return None if a is None or b is None else a / b
    return UNITS[dimension].get(unit)
