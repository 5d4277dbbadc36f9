"""The wheel is a whole neurosim: built here, installed into a fresh virtual environment and run
from an empty folder, it finds its chip profiles and shipped detectors without this checkout."""
from __future__ import annotations

import json
import os
import subprocess
import sys
import venv
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent


def _run(cmd, cwd, timeout=900) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "NEUROSIM_HWMODELS", "NEUROSIM_MODELS")}
    return subprocess.run([str(c) for c in cmd], cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout)


@pytest.fixture(scope="module")
def installed(tmp_path_factory):
    """(the installed ``neurosim`` script, an empty working folder, the venv's root)."""
    if sys.platform == "win32":
        pytest.skip("the venv layout below is POSIX")
    root = tmp_path_factory.mktemp("wheel")
    dist, env_dir, work = root / "dist", root / "venv", root / "work"
    work.mkdir()
    built = _run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q", "-w", dist, REPO],
                 cwd=root)
    assert built.returncode == 0, built.stderr
    wheel = next(dist.glob("neurosim-*.whl"))
    venv.EnvBuilder(with_pip=True).create(env_dir)
    python = env_dir / "bin" / "python"
    install = _run([python, "-m", "pip", "install", "-q", "-c", REPO / "constraints.txt", f"{wheel}[torch]"], cwd=root)
    assert install.returncode == 0, install.stderr
    return env_dir / "bin" / "neurosim", work, env_dir


def test_wheel_carries_every_profile_and_model_but_not_the_torch_weights(installed):
    _, _, env_dir = installed
    shipped = next(env_dir.glob("lib/python*/site-packages/neurosim/_shipped"))
    assert sorted(p.name for p in (shipped / "hwmodels").glob("*.yaml")) == \
        sorted(p.name for p in (REPO / "hwmodels").glob("*.yaml"))
    models = sorted(p.parent.name for p in (REPO / "trained").glob("*/graph.json"))
    assert sorted(p.parent.name for p in (shipped / "trained").glob("*/graph.json")) == models
    for name in models:
        assert {p.name for p in (shipped / "trained" / name).iterdir()} == \
            {"graph.json", "weights.npz", "card.json", "README.md"}
    assert not list(shipped.rglob("model.pt"))


def test_installed_neurosim_lists_chips_and_models_from_an_empty_folder(installed):
    neurosim, work, env_dir = installed
    chips = _run([neurosim, "chips"], cwd=work)
    assert chips.returncode == 0, chips.stderr
    listed = {line.split()[0] for line in chips.stdout.splitlines() if line.strip()}
    assert listed == {p.stem for p in (REPO / "hwmodels").glob("*.yaml")}
    models = _run([neurosim, "models", "--json"], cwd=work)
    assert models.returncode == 0, models.stderr
    rows = json.loads(models.stdout)
    assert {r["name"] for r in rows} == {p.parent.name for p in (REPO / "trained").glob("*/graph.json")}
    for r in rows:  # read from the installed package, not from this checkout
        assert Path(r["path"]).resolve().is_relative_to(env_dir.resolve())
        card = json.loads((REPO / "trained" / r["name"] / "card.json").read_text())
        assert r["map50"] == card["evaluation"]["sim"]["map50"]
        assert r["summary"].startswith(f"{card['family']} ({card['scale']} scale")


def test_installed_neurosim_simulates_a_shipped_model_by_bare_name(installed):
    neurosim, work, _ = installed
    run = _run([neurosim, "simulate", "spikeyolo-shapes", "--chip", "loihi", "--images", "2", "--quiet", "--json"],
               cwd=work)
    assert run.returncode == 0, run.stderr
    report = json.loads(run.stdout)
    assert report["profile"]["name"] == "loihi" and report["run"]["batch"] == 2
    assert report["graph"]["name"] == "spikeyolo-shapes"
    assert report["totals"]["energy_per_inference"] > 0 and report["totals"]["fits"] is True
    assert report["accuracy"]["images"] == 2 and 0 <= report["accuracy"]["map50"] <= 1
    assert (work / "data" / "shapes" / "manifest.json").is_file()  # its test split, generated on first use
