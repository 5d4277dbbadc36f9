"""NIR interchange (https://neuroir.org): import networks from other SNN frameworks, export ours.

* :func:`import_nir` reads a ``.nir`` file (or a ``nir.NIRGraph``) into a neurosim Graph,
  discretizing NIR's continuous-time neurons with a stated timestep ``dt`` (forward Euler).
* :func:`export_nir` writes the NIR-expressible part of a neurosim Graph to a ``.nir`` file;
  :func:`to_nir` returns the ``nir.NIRGraph``.

Needs the optional ``nir`` package, imported only when these functions run. docs/nir.md
gives the mapping of every primitive and the discretization.
"""
from .errors import NIRError, NotExpressibleError
from .exporter import export_nir, to_nir
from .importer import import_nir

__all__ = ["import_nir", "export_nir", "to_nir", "NIRError", "NotExpressibleError"]
