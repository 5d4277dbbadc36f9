"""A family added by a third-party distribution through the entry-point group."""
from pathlib import Path

import numpy as np
import pytest

import neurosim.hw as hw
from neurosim.errors import ProfileError
from neurosim.hw import registry
from neurosim.ir.graph import GraphBuilder

from hw_testkit import empty_trace, fill, write_profile

HERE = Path(__file__).resolve().parent


@pytest.fixture
def plugin_on_path(tmp_path, monkeypatch):
    dist = tmp_path / "toy_chip_plugin-1.0.dist-info"
    dist.mkdir()
    (dist / "METADATA").write_text("Metadata-Version: 2.1\nName: toy-chip-plugin\nVersion: 1.0\n")
    (dist / "entry_points.txt").write_text(
        "[neurosim.hw_families]\ntoy-chip = hw_plugin_family:ToyChipModel\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.syspath_prepend(str(HERE))
    yield tmp_path
    registry._FAMILIES.pop("toy-chip", None)


def test_plugin_family_is_discovered_and_costs_a_trace(plugin_on_path):
    assert "toy-chip" in hw.available_families()
    path = write_profile(plugin_on_path, {
        "name": "toy", "family": "toy-chip", "description": "a plug-in chip",
        "parameters": {"e_event": {"value": 2.0, "unit": "pJ", "label": "estimated", "source": "test"}},
    }, "toy.yaml")
    model = hw.hardware_model(path)
    assert type(model).__name__ == "ToyChipModel"

    b = GraphBuilder()
    x = b.input((4,), kind="binary", name="x")
    fc = b.linear(x, weight=np.ones((3, 4), np.float32), name="fc")
    b.lif(fc, name="n")
    graph = b.build(outputs=["n"])
    trace = empty_trace(graph, batch=2, timesteps=1)
    fill(trace, "fc", syn_ops=[[6.0], [9.0]])
    report = model.cost(trace, graph=graph, ann_twin=False)
    assert report.energy_per_inference == pytest.approx((6 + 9) * 2.0e-12 / 2)
    assert report.profile_name == "toy"


def test_unknown_family_without_plugin():
    with pytest.raises(ProfileError, match="toy-chip-absent"):
        hw.get_family("toy-chip-absent")


def test_plugin_must_subclass_hardware_model():
    class NotAModel:
        family = "x"

    with pytest.raises(ProfileError):
        hw.register_family(NotAModel)
