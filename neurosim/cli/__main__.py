"""``python -m neurosim.cli`` (used by torchrun for distributed training)."""
from . import entry_point

entry_point()
