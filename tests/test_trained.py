"""Every shipped checkpoint in trained/: loads, simulates test images, matches its torch model's
detections; slow: its test-split mAP through the simulator equals its card."""
import json
from pathlib import Path

import numpy as np
import pytest

from neurosim.detect import decode, read_out
from neurosim.ir import load_graph
from neurosim.sim import simulate

TRAINED = Path(__file__).resolve().parent.parent / "trained"
MODELS = sorted(p for p in TRAINED.glob("*") if (p / "card.json").is_file())


@pytest.fixture(scope="session")
def test_splits(tmp_path_factory):
    """Each model's test split, generated once per session in a temporary folder."""
    from neurosim.train.config import load_config
    from neurosim.train.data import build_dataset, ensure_dataset

    cache = {}

    def get(graph):
        config = load_config(graph.metadata["training"]["config"])
        key = json.dumps(config["data"], sort_keys=True)
        if key not in cache:
            config["data"]["root"] = str(tmp_path_factory.mktemp("data") / config["data"]["dataset"])
            ensure_dataset(config)
            cache[key] = build_dataset(config, "test")
        return cache[key]

    return get


def test_trained_folder_is_small():
    size = sum(f.stat().st_size for f in TRAINED.rglob("*") if f.is_file())
    assert size < 40 * 2**20, f"trained/ holds {size / 2**20:.1f} MB"


@pytest.mark.parametrize("model_dir", MODELS, ids=[m.name for m in MODELS])
def test_shipped_model_matches_its_torch_model(model_dir, test_splits):
    torch = pytest.importorskip("torch")
    from neurosim.train.loop import load_checkpoint, model_from_checkpoint

    graph = load_graph(model_dir)
    card = json.loads((model_dir / "card.json").read_text())
    assert card["name"] == model_dir.name and card["evaluation"]["sim"]["map50"] >= 0
    dataset = test_splits(graph)
    x = np.stack([dataset[i][0] for i in range(4)])
    spec = graph.metadata["detection"]
    sim = read_out(spec, simulate(graph, x, precision="float64").outputs)
    model = model_from_checkpoint(load_checkpoint(model_dir / "model.pt")).double()
    with torch.no_grad():
        ours = model(torch.from_numpy(x).double())
    # The IR stores BN-folded weights in float32; through an all-analog ANN twin that rounding
    # reaches a few 1e-6 on the logits (spiking layers re-quantize it away).
    for name, expected in zip(spec["outputs"], ours):
        np.testing.assert_allclose(sim[name], expected.numpy(), rtol=1e-5, atol=1e-5)
    for a, b in zip(decode(spec, sim), decode(spec, {n: o.numpy() for n, o in zip(spec["outputs"], ours)})):
        np.testing.assert_array_equal(a["labels"], b["labels"])
        np.testing.assert_allclose(a["boxes"], b["boxes"], atol=1e-3)


@pytest.mark.slow
@pytest.mark.parametrize("model_dir", MODELS, ids=[m.name for m in MODELS])
def test_card_map_is_reproduced_by_the_simulator(model_dir, test_splits):
    from neurosim.train.card import simulate_detections

    graph = load_graph(model_dir)
    card = json.loads((model_dir / "card.json").read_text())
    dataset = test_splits(graph)
    detections, _ = simulate_detections(graph, dataset)
    stats = dataset.evaluate(dict(enumerate(detections)))
    assert stats["AP50"] == pytest.approx(card["evaluation"]["sim"]["map50"], abs=2e-3)
    assert stats["AP"] == pytest.approx(card["evaluation"]["sim"]["map"], abs=2e-3)
