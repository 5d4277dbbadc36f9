"""Lazy access to the optional ``nir`` package, and what the installed version offers.

``neurosim.nir`` imports ``nir`` only inside functions, so that neurosim works without it.
"""
from __future__ import annotations

from dataclasses import fields

from .errors import NIRError


def require_nir():
    """The ``nir`` module, or a NIRError saying how to install it."""
    try:
        import nir
    except ImportError:
        raise NIRError("the NIR interchange needs the 'nir' package: pip install nir") from None
    return nir


def has_field(cls, name: str) -> bool:
    """Whether the NIR dataclass ``cls`` takes a field ``name`` (v_reset came in nir 1.0.5)."""
    return any(f.name == name for f in fields(cls))
