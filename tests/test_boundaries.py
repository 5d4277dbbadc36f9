"""The simulation side never imports torch (a user who only simulates never pays for it)."""
import subprocess
import sys

SIM_SIDE = ["neurosim.ir", "neurosim.sim", "neurosim.hw", "neurosim.report", "neurosim.data", "neurosim.eval", "neurosim.claims",
            "neurosim.detect"]


def test_simulation_side_does_not_import_torch():
    code = ("import importlib, sys\n"
            f"for m in {SIM_SIDE!r}:\n"
            "    try:\n        importlib.import_module(m)\n"
            "    except ModuleNotFoundError as e:\n"
            "        if not e.name.startswith('neurosim'): raise\n"
            "assert 'torch' not in sys.modules, 'torch was imported'\n")
    subprocess.run([sys.executable, "-c", code], check=True)
