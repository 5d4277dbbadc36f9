"""Built-in hardware families; importing this package registers them."""
from .crossbar import CrossbarModel
from .dense import DenseAcceleratorModel
from .dynapcnn import DynapcnnModel
from .memory_aware import MemoryAwareModel
from .mesh import NeuromorphicMeshModel
from .op_energy import OpEnergyModel

__all__ = ["OpEnergyModel", "MemoryAwareModel", "DenseAcceleratorModel", "NeuromorphicMeshModel",
           "CrossbarModel", "DynapcnnModel"]
