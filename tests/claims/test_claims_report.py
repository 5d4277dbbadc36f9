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
                                             "snn_over_ann": 3.0, "snn_over_trained_twin": 6.0,
                                             "ann_reference": "ann-45nm"},
                             "speck": {"fits": False, "reason": "too many layers"}}}]
    breakeven = {"m": {"memory-45nm": {"rate": 0.125, "reason": "crossed", "fits": True, "against": "ann-45nm"}}}
    text = render(arith, shipped, breakeven, None)
    assert "0.443" in text and "5.7x" in text
    assert "| 5.7x (spikeyolo) | a |  | 0.443 | 0.403 – 0.449 (12 readings) | 0.3 – 3.6 (60 readings, 2 with no solution) |" in text
    assert "Settled by issue #31." in text and "* speck: m: too many layers" in text
    assert "| m | shapes | 1 | 4 | 0.800 / 0.810 | 0.500 | 0.1 | 3 (6) |" in text
    assert "would need a mean rate below 0.125 to win" in text and "1,234" in text
    assert "10x less energy than its twin" in text  # 1 / 0.1, under the papers' convention
    assert "the 1 of our 1 detectors that have one fire 4x to 4x above it" in text  # 0.5 / 0.125


@pytest.mark.slow
def test_claims_command_writes_the_report(tmp_path):
    from neurosim.cli import main

    assert main(["claims", "--out", str(tmp_path), "--images", "2"]) == 0
    doc = json.loads((tmp_path / "claims.json").read_text())
    assert doc["arithmetic"]["implied"]["spikeyolo"]["literal"] == pytest.approx(0.443, abs=0.01)
    assert "## 5. Verdict" in (tmp_path / "claims.md").read_text()
