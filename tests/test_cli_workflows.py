"""compare and sparsity end to end on the built-in example."""
import json

import matplotlib.image as mpimg
import numpy as np

import neurosim.hw as hw
from neurosim.cli import main
from neurosim.examples import example_input, tiny_snn
from neurosim.sim import simulate


def _png_ok(path):
    image = mpimg.imread(path)
    return image.ndim == 3 and image.shape[0] > 100 and image.shape[1] > 100 and image.std() > 0


def test_compare_matches_the_api_and_reports_misfits(tmp_path, capsys):
    out = tmp_path / "cmp"
    assert main(["compare", "example:tiny-snn", "--T", "2", "--chips", "loihi,speck,paper-45nm", "--out", str(out)]) == 0
    doc = json.loads((out / "compare.json").read_text())
    rows = {r["chip"]: r for r in doc["chips"]}
    assert rows["speck"]["fits"] == "no" and "speck" in doc["does_not_fit"]
    graph = tiny_snn()
    trace = simulate(graph, example_input(graph, 2, 1, 0)).trace
    model = hw.hardware_model("loihi")
    expected = model.cost(trace, model.place(graph), graph).totals()["energy_per_inference"] * 1e6
    assert rows["loihi"]["energy_uJ"] == expected
    assert _png_ok(out / "compare.png") and (out / "compare.csv").read_text().startswith("chip,fits")


def test_sparsity_rates_match_the_trace(tmp_path):
    out = tmp_path / "sp"
    assert main(["sparsity", "example:tiny-snn", "--T", "3", "--images", "2", "--out", str(out)]) == 0
    doc = json.loads((out / "sparsity.json").read_text())
    graph = tiny_snn()
    trace = simulate(graph, example_input(graph, 3, 2, 0)).trace
    by_layer = {r["layer"]: r for r in doc["layers"]}
    assert set(by_layer) == {"enc.lif", "block.lif", "stage2.ilif"}
    for name, row in by_layer.items():
        assert np.isclose(row["rate_mean"], trace[name].firing_rate())
        assert len(row["rate_per_timestep"]) == 3
    assert _png_ok(out / "sparsity_layers.png") and _png_ok(out / "sparsity_heatmap.png")


def test_unknown_chip_in_compare_fails_before_simulating(tmp_path, capsys):
    assert main(["compare", "example:tiny-snn", "--chips", "loihi,warp-drive", "--out", str(tmp_path / "o")]) == 2
    assert "warp-drive" in capsys.readouterr().err and not (tmp_path / "o").exists()


def test_run_scenario(tmp_path, capsys):
    scenario = tmp_path / "s.yaml"
    scenario.write_text("command: sparsity\nmodel: example:tiny-snn\nT: 2\nimages: 2\n"
                        f"out: {tmp_path / 'sp'}\n")
    assert main(["run", str(scenario)]) == 0
    assert (tmp_path / "sp" / "sparsity.json").is_file()
    scenario.write_text("command: sparsity\nmodel: example:tiny-snn\nwarp: 9\n")
    assert main(["run", str(scenario)]) == 2
    assert "options not accepted by 'sparsity'" in capsys.readouterr().err
    scenario.write_text("command: [unclosed")
    assert main(["run", str(scenario)]) == 2


def test_shipped_scenarios_parse():
    from pathlib import Path

    import yaml

    from neurosim.cli import build_parser
    from neurosim.cli.run_cmd import scenario_argv

    root = Path(__file__).resolve().parent.parent / "scenarios"
    for path in sorted(root.glob("*.yaml")):
        build_parser().parse_args(scenario_argv(yaml.safe_load(path.read_text()), str(path)))


def test_energy_components_add_up_per_inference_at_batch_two(tmp_path, capsys):
    assert main(["compare", "example:tiny-snn", "--T", "2", "--images", "2", "--chips", "loihi,memory-45nm",
                 "--out", str(tmp_path)]) == 0
    doc = json.loads((tmp_path / "compare.json").read_text())
    for row in doc["chips"]:
        parts = doc["energy_by_component_per_inference"][row["chip"]]
        assert np.isclose(sum(parts.values()) * 1e6, row["energy_uJ"])
    assert main(["simulate", "example:tiny-snn", "--T", "2", "--images", "2", "--chip", "memory-45nm"]) == 0
    line = next(l for l in capsys.readouterr().out.splitlines() if l.startswith("energy per inference"))
    total = float(line.split(":")[1].split("uJ")[0])
    parts = [float(p.split()[-1]) for p in line.split("(")[1].split(" uJ)")[0].split(",")]
    assert np.isclose(sum(parts), total, rtol=1e-3)
