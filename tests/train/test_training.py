"""Training: loss decreases, checkpoints resume, runs are deterministic, torch.distributed works."""
import json
import os
import socket

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from neurosim.cli import main  # noqa: E402
from neurosim.detect import decode, read_out  # noqa: E402
from neurosim.errors import NeurosimError  # noqa: E402
from neurosim.ir import load_graph  # noqa: E402
from neurosim.sim import simulate  # noqa: E402
from neurosim.train.config import load_config  # noqa: E402
from neurosim.train.data import build_dataset  # noqa: E402
from neurosim.train.loop import load_checkpoint, model_from_checkpoint, train  # noqa: E402


def config(tmp_path, family="spikeyolo", epochs=2, **train):
    return load_config({
        "seed": 3,
        "data": {"dataset": "shapes", "root": str(tmp_path.parent / "shapes64"), "T": 2 if family in ("emsyolo", "retina") else 1,
                 "counts": {"train": 8, "val": 4, "test": 4}, "image_size": 64},
        "model": {"family": family, "scale": "tiny"},
        "train": dict({"epochs": epochs, "batch_size": 4, "val_every": 1, "workers": 0, "hflip": False}, **train),
    })


@pytest.mark.parametrize("family", ["spikeyolo", "emsyolo", "hoyer", "retina"])
def test_loss_decreases(tmp_path, family):
    cfg = config(tmp_path, family, epochs=4, lr=0.003, warmup_epochs=0)
    if family == "hoyer":
        cfg["data"]["T"] = 1
    summary = train(cfg, tmp_path / "run", quiet=True)
    losses = [h["loss"] for h in summary["history"]]
    assert losses[-1] < losses[0]
    assert (tmp_path / "run" / "last.pt").is_file() and (tmp_path / "run" / "best.pt").is_file()


def test_resume_equals_uninterrupted_and_runs_are_deterministic(tmp_path):
    full = train(config(tmp_path, epochs=2), tmp_path / "full", quiet=True)
    again = train(config(tmp_path, epochs=2), tmp_path / "again", quiet=True)
    assert full["weights_sha256"] == again["weights_sha256"]
    train(config(tmp_path, epochs=2), tmp_path / "split", quiet=True, stop_after=1)  # interrupted
    resumed = train(config(tmp_path, epochs=2), tmp_path / "split", resume=True, quiet=True)
    assert resumed["weights_sha256"] == full["weights_sha256"]
    assert len(resumed["history"]) == 2


@pytest.mark.parametrize("family", ["spikeyolo", "emsyolo", "hoyer", "retina"])
def test_export_of_a_trained_checkpoint_matches_torch(tmp_path, family):
    cfg = config(tmp_path, family, epochs=1)
    if family == "hoyer":
        cfg["data"]["T"] = 1
    train(cfg, tmp_path / "run", quiet=True)
    assert main(["export", str(tmp_path / "run" / "last.pt"), str(tmp_path / "model")]) == 0
    graph = load_graph(tmp_path / "model")
    model = model_from_checkpoint(load_checkpoint(tmp_path / "run" / "last.pt")).double()
    dataset = build_dataset(cfg, "test")
    x = np.stack([dataset[i][0] for i in range(2)])
    with torch.no_grad():
        ours = model(torch.from_numpy(x).double())
    result = simulate(graph, x, precision="float64")
    spec = graph.metadata["detection"]
    sim_outputs = read_out(spec, result.outputs)
    for name, expected in zip(spec["outputs"], ours):
        np.testing.assert_allclose(sim_outputs[name], expected.numpy(), rtol=1e-6, atol=1e-6)
    sim_dets = decode(spec, sim_outputs)
    torch_dets = decode(spec, {n: o.numpy() for n, o in zip(spec["outputs"], ours)})
    for a, b in zip(sim_dets, torch_dets):
        np.testing.assert_allclose(a["boxes"], b["boxes"], rtol=1e-5, atol=1e-4)
        np.testing.assert_array_equal(a["labels"], b["labels"])


def test_config_errors(tmp_path):
    with pytest.raises(NeurosimError, match="unknown config key 'train.epoch'"):
        load_config({"train": {"epoch": 3}})
    with pytest.raises(NeurosimError, match="must be int"):
        load_config({"train": {"epochs": "many"}})
    bad = tmp_path / "bad.yaml"
    bad.write_text("data: [unclosed")
    with pytest.raises(NeurosimError, match="not valid YAML"):
        load_config(bad)
    assert main(["train", str(tmp_path / "none.yaml"), "--out", str(tmp_path / "o")]) == 2


def _free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _worker(rank, world, port, cfg, out, results):
    os.environ.update(MASTER_ADDR="127.0.0.1", MASTER_PORT=str(port), WORLD_SIZE=str(world), RANK=str(rank),
                      LOCAL_RANK=str(rank))
    torch.set_num_threads(1)
    summary = train(cfg, out, quiet=True)
    results[rank] = summary["parameters_sha256"]
    torch.distributed.destroy_process_group()


def test_two_process_gloo_training(tmp_path):
    cfg = config(tmp_path, epochs=1)
    train(cfg, tmp_path / "warm", quiet=True)  # generates the data set once, before two processes race for it
    ctx = torch.multiprocessing.get_context("spawn")
    results = ctx.Manager().dict()
    port = _free_port()
    procs = [ctx.Process(target=_worker, args=(r, 2, port, cfg, tmp_path / "ddp", results)) for r in range(2)]
    for p in procs:
        p.start()
    for p in procs:
        p.join(120)
    assert all(p.exitcode == 0 for p in procs)
    assert results[0] == results[1]  # DDP kept the replicas identical
    history = json.loads((tmp_path / "ddp" / "history.json").read_text())
    assert history[0]["epoch"] == 1 and (tmp_path / "ddp" / "last.pt").is_file()


def test_eval_writes_a_card_and_torch_equals_simulator(tmp_path, capsys):
    cfg = config(tmp_path, epochs=1)
    train(cfg, tmp_path / "run", quiet=True)
    assert main(["export", str(tmp_path / "run" / "last.pt"), str(tmp_path / "model"), "--state-dict"]) == 0
    assert main(["eval", str(tmp_path / "model"), "--checkpoint", str(tmp_path / "run" / "last.pt"), "--card"]) == 0
    slim = load_checkpoint(tmp_path / "model" / "model.pt")  # the fine-tuning copy rebuilds the model
    assert "optimizer" not in slim and model_from_checkpoint(slim) is not None
    card = json.loads((tmp_path / "model" / "card.json").read_text())
    ev = card["evaluation"]
    assert ev["images"] == 4 and ev["sim"] == ev["torch"]
    assert card["training"]["seed"] == 3 and card["parameters"] > 0 and ev["firing_rates"]
    assert "mAP@50" in (tmp_path / "model" / "README.md").read_text()
    bar = card["quality_bar"]
    assert bar["min_map50"] == 0.6 and bar["met"] == (ev["sim"]["map50"] >= 0.6)
    assert "[model](model/README.md)" in (tmp_path / "README.md").read_text()  # the folder's index
    # simulate reads the test split of a dataset given with --data (of the kind the model reads)
    capsys.readouterr()
    assert main(["simulate", str(tmp_path / "model"), "--data", cfg["data"]["root"], "--images", "2", "--quiet"]) == 0
    assert "mAP@50" in capsys.readouterr().out
    assert main(["data", "gen1-synth", str(tmp_path / "g"), "--size", "half", "--counts", "1,1,1"]) == 0
    assert main(["simulate", str(tmp_path / "model"), "--data", str(tmp_path / "g")]) == 2
    assert "is a gen1-synth set but the model was trained on shapes" in capsys.readouterr().err


def test_quality_bar():
    from neurosim.train.card import quality_bar

    assert quality_bar("shapes", {"map50": 0.7}, {"map50": 0.74}, False)["met"]
    short = quality_bar("shapes", {"map50": 0.7}, {"map50": 0.8}, False)
    assert not short["met"] and short["reasons"] == ["10.0 points below its ANN twin"]
    assert quality_bar("gen1-synth", {"map50": 0.35}, None, False)["reasons"] == ["test mAP@50 0.350 is below 0.4"]
    assert quality_bar("shapes", {"map50": 0.9}, {"map50": 0.5}, True)["met"]  # a twin is not held to a twin


def test_float16_export_ships_the_weights_the_ir_was_made_from(tmp_path):
    cfg = config(tmp_path, epochs=1)
    train(cfg, tmp_path / "run", quiet=True)
    assert main(["export", str(tmp_path / "run" / "last.pt"), str(tmp_path / "model"), "--state-dict",
                 "--weights-dtype", "float16"]) == 0
    slim = load_checkpoint(tmp_path / "model" / "model.pt")
    floats = [v for v in slim["model"].values() if v.is_floating_point()]
    assert floats and all(v.dtype == torch.float16 for v in floats)
    full = load_checkpoint(tmp_path / "run" / "last.pt")["model"]
    assert any(not torch.equal(full[k], v.float()) for k, v in slim["model"].items() if v.is_floating_point())
    graph = load_graph(tmp_path / "model")
    assert graph.metadata["trained_weights_dtype"] == "float16"
    model = model_from_checkpoint(slim).double()
    x = np.stack([build_dataset(cfg, "test")[i][0] for i in range(2)])
    with torch.no_grad():
        ours = model(torch.from_numpy(x).double())
    spec = graph.metadata["detection"]
    sim_outputs = read_out(spec, simulate(graph, x, precision="float64").outputs)
    for name, expected in zip(spec["outputs"], ours):
        np.testing.assert_allclose(sim_outputs[name], expected.numpy(), rtol=1e-6, atol=1e-6)
