"""Build a detector from its config dict (what checkpoints and training configs store)."""
from __future__ import annotations

from ..errors import NeurosimError

FAMILIES = ("spikeyolo", "emsyolo", "hoyer", "retina")
NEURONS = {"spikeyolo": ("ilif", "relu"), "emsyolo": ("lif", "relu"), "hoyer": ("hoyer", "relu"),
           "retina": ("lif", "relu")}


def build_model(config: dict, num_classes: int, input_size, in_channels: int = 3):
    """``config``: family (spikeyolo | emsyolo | hoyer | retina), scale, neuron, T, D, backbone, ...

    ``hoyer`` is the one-time-step detector of Datta et al.: the EMS-ResNet detector with Hoyer
    spikes at T = 1. ``neuron: relu`` builds any family's ANN twin.
    """
    family = config.get("family")
    if family not in FAMILIES:
        raise NeurosimError(f"model.family must be one of {', '.join(FAMILIES)}, got {family!r}")
    neuron = config.get("neuron") or NEURONS[family][0]
    if neuron not in NEURONS[family]:
        raise NeurosimError(f"model.neuron for {family} must be one of {', '.join(NEURONS[family])}, got {neuron!r}")
    T = int(config.get("T", 1))
    if family == "spikeyolo":
        from .spikeyolo import SpikeYOLO

        return SpikeYOLO(scale=config.get("scale", "tiny"), num_classes=num_classes, T=T, D=int(config.get("D", 4)),
                         neuron=neuron, in_channels=in_channels, decay=float(config.get("decay", 0.25)),
                         decay_input=bool(config.get("decay_input", False)))
    if family == "retina":
        from .retina import SpikingRetinaNet

        return SpikingRetinaNet(scale=config.get("scale", "tiny"), num_classes=num_classes, T=T, neuron=neuron,
                                in_channels=in_channels, input_size=tuple(input_size))
    from .emsyolo import EMSYOLO

    if family == "hoyer" and T != 1:
        raise NeurosimError("the Hoyer detector is a one-time-step SNN: model.T must be 1")
    return EMSYOLO(backbone=config.get("backbone", "resnet10"), scale=config.get("scale", "tiny"),
                   num_classes=num_classes, T=T, neuron=neuron, in_channels=in_channels,
                   input_size=tuple(input_size))
