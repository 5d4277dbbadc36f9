"""Training (torch): configs, the loop, checkpoints, and export of a checkpoint to the IR."""
from .config import DEFAULTS, load_config

__all__ = ["DEFAULTS", "load_config"]
