"""Errors of the NIR interchange: each names the NIR (or neurosim) node and its type."""
from ..errors import NeurosimError


class NIRError(NeurosimError):
    """A NIR file or graph cannot be read, or an option is missing (such as the timestep dt)."""


class NotExpressibleError(NIRError):
    """A node has no equivalent on the other side: a NIR primitive neurosim's IR cannot express
    (import), or a neurosim node NIR cannot express (export)."""
