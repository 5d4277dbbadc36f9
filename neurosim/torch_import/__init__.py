"""Import trained PyTorch SNNs (SpikingJelly, snnTorch, the papers' own code, ours) into the IR.

``from_torch(module, input_shape, T, input_kind, head)`` records the model's forward pass and
returns an IR graph (see docs/import.md); ``record`` keeps torch's own outputs for checks.
"""
from .api import Recording, attach_head, check_recording, from_torch, record
from .recorder import ImportRefused

__all__ = ["from_torch", "record", "attach_head", "check_recording", "Recording", "ImportRefused"]
