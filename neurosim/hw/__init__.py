"""Hardware models: turn a simulation Trace into energy, latency and memory on a chip profile.

::

    from neurosim.hw import hardware_model, evaluate
    model = hardware_model("loihi")              # hwmodels/loihi.yaml -> neuromorphic-mesh family
    placement = model.place(graph)               # cores per layer, or DoesNotFit
    report = model.cost(trace, placement)        # neurosim.report.Report

Families: ``op-energy``, ``memory-aware``, ``dense-accelerator``, ``neuromorphic-mesh``,
``crossbar``, ``dynapcnn``; more through the ``neurosim.hw_families`` entry-point group.
No hardware number lives in this package: every one comes from a profile YAML.
"""
from .ann_twin import TwinCost, TwinNode, twin_counts
from .base import HardwareModel, hardware_model
from .evaluate import DEFAULT_TWIN_PROFILES, attach_ann_twin, compare, evaluate
from .layers import Decomposition, Edge, Layer, decompose
from .placement import Core, MeshLayout, Placement
from .profile import (ENV_DIR, LABELS, ParamSpec, Profile, Quantity, Setting, SettingSpec,
                      available_profiles, list_profiles, load_profile, profile_from_dict)
from .registry import ENTRY_POINT_GROUP, available_families, get_family, register_family

__all__ = [
    "HardwareModel", "hardware_model", "evaluate", "compare", "attach_ann_twin", "DEFAULT_TWIN_PROFILES",
    "load_profile", "list_profiles", "available_profiles", "profile_from_dict", "Profile", "Quantity",
    "Setting", "ParamSpec", "SettingSpec", "LABELS", "ENV_DIR",
    "register_family", "get_family", "available_families", "ENTRY_POINT_GROUP",
    "Placement", "Core", "MeshLayout", "Layer", "Edge", "Decomposition", "decompose",
    "twin_counts", "TwinNode", "TwinCost",
]
