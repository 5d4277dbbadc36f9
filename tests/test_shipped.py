"""Shipped profiles and detectors: found from any working folder, named by bare name, overridable."""
from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from neurosim.cli import main
from neurosim.errors import NeurosimError
from neurosim.shipped import (card_summary, hwmodels_dir, model_card, resolve_model, shipped_models,
                              trained_dir)

REPO = Path(__file__).resolve().parent.parent


def test_a_checkout_reads_its_own_hwmodels_and_trained_folders():
    assert hwmodels_dir() == REPO / "hwmodels" and trained_dir() == REPO / "trained"
    assert set(shipped_models()) == {p.parent.name for p in (REPO / "trained").glob("*/graph.json")}


def test_bare_name_resolves_from_any_working_folder(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert resolve_model("spikeyolo-shapes") == REPO / "trained" / "spikeyolo-shapes"


def test_an_existing_path_wins_over_a_shipped_name(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "spikeyolo-shapes").mkdir()
    assert resolve_model("spikeyolo-shapes") == Path("spikeyolo-shapes")


def test_models_env_adds_folders_searched_first(tmp_path, monkeypatch):
    mine = tmp_path / "mine"
    shutil.copytree(REPO / "trained" / "hoyer-shapes", mine / "spikeyolo-shapes")  # shadows the shipped one
    shutil.copytree(REPO / "trained" / "hoyer-shapes", mine / "my-detector")
    monkeypatch.setenv("NEUROSIM_MODELS", str(mine))
    models = shipped_models()
    assert models["spikeyolo-shapes"] == mine / "spikeyolo-shapes" and models["my-detector"] == mine / "my-detector"
    assert resolve_model("my-detector") == mine / "my-detector"


def test_unknown_model_is_one_sentence_naming_the_choices():
    with pytest.raises(NeurosimError) as bare:
        resolve_model("no-such-model", others=("example:x",))
    assert "neither a folder nor a shipped model" in str(bare.value)
    assert "spikeyolo-shapes" in str(bare.value) and "example:x" in str(bare.value)
    with pytest.raises(NeurosimError) as path:
        resolve_model("some/where")
    assert str(path.value).startswith("model folder some/where does not exist")


def test_card_summary_is_the_first_line_of_the_card_readme():
    for name, path in shipped_models().items():
        first = (path / "README.md").read_text().splitlines()[2]
        assert card_summary(model_card(path)) == first, name


def test_models_command_lists_every_shipped_model_with_its_summary(capsys):
    assert main(["models"]) == 0
    out = capsys.readouterr().out.splitlines()
    assert len(out) == len(shipped_models())
    line = next(l for l in out if l.startswith("spikeyolo-shapes "))
    card = json.loads((REPO / "trained" / "spikeyolo-shapes" / "card.json").read_text())
    assert card_summary(card) in line and f"test mAP@50 {card['evaluation']['sim']['map50']:.3f}" in line
    assert main(["models", "--json"]) == 0
    rows = json.loads(capsys.readouterr().out)
    assert [r["name"] for r in rows] == list(shipped_models())


def test_simulate_takes_a_bare_name_from_another_folder(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    x = tmp_path / "x.npy"
    import numpy as np

    from neurosim.ir import load_graph
    from neurosim.examples import example_input

    graph = load_graph(REPO / "trained" / "hoyer-shapes")
    np.save(x, example_input(graph, 1, 1, 0))
    assert main(["simulate", "hoyer-shapes", "--input", str(x), "--quiet", "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["model"] == "hoyer-shapes" and report["batch"] == 1
    assert not (tmp_path / "data").exists()  # an --input needs no dataset
