"""The claims report: rendering from computed numbers, and the whole command (slow)."""
import json

import pytest

from neurosim.claims.report import CLAIMS, render


def test_render_uses_the_computed_numbers():
    arith = {"sizes": [{"arch": "a", "size": 64, "T": 2, "D": 4, "params": 1234, "flops_G": 1.5}],
             "implied": {"spikeyolo": {"arch": "a", "claimed_ratio": 5.7, "cite": CLAIMS["spikeyolo"]["cite"],
                                       "literal": 0.4431, "settled_by": "issue #31",
                                       "settled": {"min": 0.403, "max": 0.449, "readings": 12, "unreachable_readings": 0},
                                       "ruled_out": {"min": 0.3, "max": 3.6, "readings": 60,
                                                     "unreachable_readings": 2}}}}
    shipped = [{"model": "m", "family": "spikeyolo", "dataset": "shapes", "T": 1, "D": 4, "map50": 0.8,
                "twin_map50": 0.81, "mean_rate": 0.5, "images": 4,
                "profiles": {"paper-45nm": {"fits": True, "energy_uJ": 10.0, "latency_ms": None, "chips": None,
                                            "snn_over_ann": 0.1, "ann_reference": "paper-45nm"},
                             "memory-45nm": {"fits": True, "energy_uJ": 300.0, "latency_ms": None, "chips": None,
                                             "snn_over_ann": 3.0, "snn_over_structural_twin": 6.0,
                                             "ann_reference": "ann-45nm"},
                             "speck": {"fits": False, "reason": "too many layers"}}}]
    breakeven = {"m": {"memory-45nm": {"rate": 0.125, "reason": "crossed", "fits": True, "against": "ann-45nm"}}}
    text = render(arith, shipped, breakeven, None)
    assert "0.443" in text and "5.7x" in text
    assert "| 5.7x (spikeyolo) | a |  | 0.443 | 0.403 – 0.449 (12 readings) | 0.3 – 3.6 (60 readings, 2 with no solution) |" in text
    assert "Settled by issue #31." in text and "* speck: m: too many layers" in text
    assert "| m | shapes | 1 | 4 | 0.800 / 0.810 | 0.500 | 0.1 | 3 (6) |" in text
    assert "would need a uniform rate below 0.125 to win" in text and "1,234" in text
    assert "10x less energy than its twin" in text  # 1 / 0.1, under the papers' convention
    assert "the 1 of our 1 detectors that have one fire 4x to 4x above it" in text  # 0.5 / 0.125


@pytest.mark.slow
def test_claims_command_writes_the_report(tmp_path):
    from neurosim.cli import main

    assert main(["claims", "--out", str(tmp_path), "--images", "2"]) == 0
    doc = json.loads((tmp_path / "claims.json").read_text())
    assert doc["arithmetic"]["implied"]["spikeyolo"]["literal"] == pytest.approx(0.443, abs=0.01)
    assert "## 7. Verdict" in (tmp_path / "claims.md").read_text()


def test_render_paper_scale_rows():
    from neurosim.claims.paper_scale import render_paper_scale

    prof = lambda r, m, be: {"snn_over_ann": r, "snn_over_ann_merged": m, "break_even": be,  # noqa: E731
                             "break_even_reason": "crossed" if be else "the SNN at zero spikes ..."}
    row = {"claim": "spikeyolo", "arch": "g", "T": 2, "rates": "sheet", "label": "power_cal.xlsx per layer",
           "weighted_rate": 0.368, "accuracy": "mAP 67.2",
           "convention": {"ann_over_snn": 6.92, "ann_unmerged_over_snn": 3.99},
           "profiles": {"paper-45nm": prof(0.25, 0.149, None), "memory-45nm": prof(86.0, 45.8, 0.00912),
                        "memory-45nm vs naive ANN": prof(2.65, 0.961, 0.375), "memory-45nm-int8": prof(791, 427, None)}}
    text = "\n".join(render_paper_scale([row]))
    assert "| spikeyolo | mAP 67.2 | g | 2 | power_cal.xlsx per layer | 0.368 | 6.92x (3.99x) | 0.25 (0.149) | 86 (45.8) |" in text
    assert "| 0.00912 x sheet | 0.375 x sheet | never wins |" in text


def test_render_chip_rows_at_implied_and_measured_rates():
    from neurosim.claims.paper_scale import render_chips

    base = {"claim": "spikeyolo", "arch": "g", "chip": "loihi2", "T": 4, "placed": True, "fits": True,
            "cores": 3581, "chips": 28, "misfit": None}
    rows = [{**base, "rates": "implied", "rate": 0.0381, "rate_model": None, "energy_J": 0.0123,
             "latency_s": 0.0042, "static_share": 0.25, "over_fp32_twin": 1.5, "over_int8_twin": 20.0},
            {**base, "rates": "measured", "rate": 0.3997, "rate_model": "spikeyolo-gen1", "energy_J": 0.1,
             "latency_s": 0.02, "static_share": 0.05, "over_fp32_twin": 12.0, "over_int8_twin": 160.0},
            {**base, "chip": "loihi", "rates": "implied", "rate": 0.0381, "fits": False, "cores": 300000,
             "chips": 2344, "misfit": "the network does not fit on loihi: too many cores; more"},
            {"claim": "spikeyolo", "arch": "g", "chip": "speck", "T": 4, "rates": "implied", "rate": 0.0381,
             "placed": False, "reason": "101 layers against 9 cores"}]
    text = "\n".join(render_chips(rows))
    assert "| g | loihi2 | 3,581 cores, 28 chips | 0.0381 implied | 12.3 | 4.2 | 25% | 1.5 | 20 |" in text
    assert "| g | loihi2 | 3,581 cores, 28 chips | 0.4 measured (spikeyolo-gen1) | 100 | 20 | 5% | 12 | 160 |" in text
    assert "| g | loihi | 300,000 cores, 2,344 chips: does not fit (below) | – | – | – | – | – | – |" in text
    assert "| g | speck | does not fit (below) | – | – | – | – | – | – |" in text
    assert "* g on loihi: the network does not fit on loihi: too many cores (and 1 more reasons)" in text
    assert "* g on speck: 101 layers against 9 cores" in text
