"""Profiles: built-ins load and cite their sources; the schema rejects bad files clearly."""
import ast
import copy
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

import neurosim.hw as hw
from neurosim.errors import ProfileError
from neurosim.hw.profile import LABELS, builtin_dir

from hw_testkit import builtin_doc, write_profile

BUILTINS = ["paper-45nm", "memory-45nm", "memory-45nm-int8", "ann-45nm", "ann-45nm-int8", "ann-45nm-noreuse", "loihi", "truenorth", "speck"]


@pytest.mark.parametrize("name", BUILTINS)
def test_builtin_profiles_load_with_labels_and_sources(name):
    profile = hw.load_profile(name)
    assert profile.name == name
    assert profile.description and "\n" not in profile.description
    assert profile.parameters
    for key, q in profile.parameters.items():
        assert q.label in LABELS, key
        assert q.source.strip(), key
    # every profile's model can be built
    assert hw.hardware_model(name).family == profile.family


def test_list_profiles_reports_name_family_description_sources():
    listed = {p["name"]: p for p in hw.list_profiles()}
    assert set(BUILTINS) <= set(listed)
    assert listed["loihi"]["family"] == "neuromorphic-mesh"
    assert listed["truenorth"]["family"] == "crossbar"
    assert listed["speck"]["family"] == "dynapcnn"
    assert listed["paper-45nm"]["family"] == "op-energy"
    assert any("Davies" in s for s in listed["loihi"]["sources"])


def test_paper_profile_is_the_papers_convention_and_nothing_else():
    p = hw.load_profile("paper-45nm")
    assert set(p.parameters) == {"e_mac", "e_ac"}
    assert p.value("e_mac") == pytest.approx(4.6e-12)
    assert p.value("e_ac") == pytest.approx(0.9e-12)


def test_units_are_converted_to_si():
    loihi = hw.load_profile("loihi")
    assert loihi.value("synapse_memory_per_core") == 128 * 1024 * 8
    assert loihi.value("e_syn_op") == pytest.approx(23.6e-12)
    assert loihi.value("t_hop_ns") == pytest.approx(6.5e-9)
    assert loihi.value("static_power_per_chip") == pytest.approx(0.104)
    speck = hw.load_profile("speck")
    assert speck.value("kernel_memory_per_core")[5] == 64 * 1024
    assert hw.load_profile("memory-45nm").value("sram_energy_slope") == pytest.approx(1.09e-17)


def test_load_by_path_and_env_dir(tmp_path, monkeypatch):
    doc = builtin_doc("paper-45nm")
    doc["name"] = "my-chip"
    path = write_profile(tmp_path, doc, "my-chip.yaml")
    assert hw.load_profile(path).name == "my-chip"
    assert hw.load_profile(str(path)).name == "my-chip"
    monkeypatch.setenv("NEUROSIM_HWMODELS", str(tmp_path))
    assert hw.load_profile("my-chip").name == "my-chip"
    assert "my-chip" in hw.available_profiles()
    assert "loihi" in hw.available_profiles()  # built-ins stay visible


def test_unknown_name_lists_available_profiles():
    with pytest.raises(ProfileError) as err:
        hw.load_profile("no-such-chip")
    msg = str(err.value)
    assert "no-such-chip" in msg and "paper-45nm" in msg and "loihi" in msg


def _broken(tmp_path, mutate, base="loihi"):
    doc = copy.deepcopy(builtin_doc(base))
    mutate(doc)
    path = write_profile(tmp_path, doc, "broken.yaml")
    with pytest.raises(ProfileError) as err:
        hw.load_profile(path)
    msg = str(err.value)
    assert "broken.yaml" in msg
    return msg


def test_unknown_top_level_key(tmp_path):
    msg = _broken(tmp_path, lambda d: d.update(colour="blue"))
    assert "colour" in msg


def test_unknown_parameter_key(tmp_path):
    def mutate(d):
        d["parameters"]["e_syn_opp"] = dict(d["parameters"]["e_syn_op"])
    msg = _broken(tmp_path, mutate)
    assert "parameters.e_syn_opp" in msg


def test_unknown_field_in_a_number(tmp_path):
    msg = _broken(tmp_path, lambda d: d["parameters"]["e_syn_op"].update(note="x"))
    assert "parameters.e_syn_op" in msg and "note" in msg


def test_missing_field(tmp_path):
    msg = _broken(tmp_path, lambda d: d["parameters"]["e_syn_op"].pop("unit"))
    assert "parameters.e_syn_op" in msg and "unit" in msg


def test_missing_source(tmp_path):
    msg = _broken(tmp_path, lambda d: d["parameters"]["t_hop_ew"].pop("source"))
    assert "parameters.t_hop_ew" in msg and "source" in msg


def test_empty_source(tmp_path):
    msg = _broken(tmp_path, lambda d: d["parameters"]["t_hop_ew"].update(source="  "))
    assert "parameters.t_hop_ew" in msg and "source" in msg


def test_negative_value(tmp_path):
    msg = _broken(tmp_path, lambda d: d["parameters"]["e_hop_ns"].update(value=-4.0))
    assert "parameters.e_hop_ns" in msg and "negative" in msg


def test_non_numeric_value(tmp_path):
    msg = _broken(tmp_path, lambda d: d["parameters"]["e_spike"].update(value="lots"))
    assert "parameters.e_spike" in msg and "number" in msg


def test_boolean_is_not_a_number(tmp_path):
    msg = _broken(tmp_path, lambda d: d["parameters"]["e_spike"].update(value=True))
    assert "parameters.e_spike" in msg


def test_missing_required_parameter(tmp_path):
    msg = _broken(tmp_path, lambda d: d["parameters"].pop("neurons_per_core"))
    assert "parameters.neurons_per_core" in msg and "missing" in msg


def test_wrong_unit(tmp_path):
    msg = _broken(tmp_path, lambda d: d["parameters"]["e_syn_op"].update(unit="ns"))
    assert "parameters.e_syn_op" in msg and "energy" in msg


def test_bad_label(tmp_path):
    msg = _broken(tmp_path, lambda d: d["parameters"]["e_syn_op"].update(label="guessed"))
    assert "parameters.e_syn_op" in msg and "measured" in msg


def test_whole_number_required(tmp_path):
    msg = _broken(tmp_path, lambda d: d["parameters"]["neurons_per_core"].update(value=10.5))
    assert "parameters.neurons_per_core" in msg


def test_list_expected(tmp_path):
    msg = _broken(tmp_path, lambda d: d["parameters"]["strides"].update(value=2), base="speck")
    assert "parameters.strides" in msg and "list" in msg


def test_bad_setting(tmp_path):
    msg = _broken(tmp_path, lambda d: d["settings"]["synapse_memory"].update(value="magic"))
    assert "settings.synapse_memory" in msg


def test_unknown_family(tmp_path):
    msg = _broken(tmp_path, lambda d: d.update(family="quantum-annealer"))
    assert "quantum-annealer" in msg and "neuromorphic-mesh" in msg


def test_missing_top_level_key(tmp_path):
    msg = _broken(tmp_path, lambda d: d.pop("description"))
    assert "description" in msg


def test_invalid_yaml(tmp_path):
    path = tmp_path / "broken.yaml"
    path.write_text("name: [unclosed\n")
    with pytest.raises(ProfileError, match="broken.yaml"):
        hw.load_profile(path)


def test_missing_file(tmp_path):
    with pytest.raises(ProfileError, match="not found"):
        hw.load_profile(tmp_path / "absent.yaml")


def test_mesh_cross_check(tmp_path):
    msg = _broken(tmp_path, lambda d: d["parameters"]["tile_rows"].update(value=1))
    assert "cores_per_chip" in msg


# --------------------------------------------------------------------------- code hygiene

DISTINCTIVE = {4.6, 0.9, 3.7, 3.1, 23.6, 3.5, 81, 8.4, 52, 5.3, 1.7, 2.1, 6.5, 4.1, 26, 104, 113, 465,
               1.09e-5, 13.2, 0.42, 0.373, 1024, 4096, 256, 128}


def test_no_hardware_constant_in_code():
    """Numbers about hardware live in hwmodels/*.yaml only (docstrings may quote them)."""
    root = Path(hw.__file__).parent
    offenders = []
    for path in root.rglob("*.py"):
        if path.name == "units.py":  # unit factors (1024 bytes per KiB...) are not hardware figures
            continue
        tree = ast.parse(path.read_text())
        docstrings = {id(n.body[0].value) for n in ast.walk(tree)
                      if isinstance(n, (ast.Module, ast.FunctionDef, ast.ClassDef, ast.AsyncFunctionDef))
                      and n.body and isinstance(n.body[0], ast.Expr)
                      and isinstance(n.body[0].value, ast.Constant)}
        for node in ast.walk(tree):
            if isinstance(node, ast.Constant) and id(node) not in docstrings \
                    and isinstance(node.value, (int, float)) and not isinstance(node.value, bool) \
                    and node.value in DISTINCTIVE:
                offenders.append(f"{path.name}:{node.lineno}: {node.value}")
    assert not offenders, offenders


def test_hw_and_report_do_not_import_torch():
    code = ("import sys, neurosim.hw, neurosim.report; import neurosim.hw.families; "
            "sys.exit(1 if 'torch' in sys.modules else 0)")
    root = Path(hw.__file__).resolve().parents[2]
    assert subprocess.run([sys.executable, "-c", code], cwd=root).returncode == 0


def test_every_builtin_file_is_a_valid_profile():
    for path in sorted(builtin_dir().glob("*.yaml")):
        assert hw.load_profile(path).name == path.stem
        assert yaml.safe_load(path.read_text())["name"] == path.stem


def test_list_profiles_survives_a_broken_user_profile(tmp_path, monkeypatch):
    (tmp_path / "bad-chip.yaml").write_text("name: bad-chip\nfamily: op-energy\n")
    monkeypatch.setenv("NEUROSIM_HWMODELS", str(tmp_path))
    listed = {p["name"]: p for p in hw.list_profiles()}
    assert "description" in listed["bad-chip"]["error"]
    assert listed["loihi"]["family"] == "neuromorphic-mesh"
