"""The claims report: rendering from computed numbers, and the whole command (slow)."""
import json

import pytest

from neurosim.claims.report import CLAIMS, render


def test_render_uses_the_computed_numbers():
    arith = {"sizes": [{"arch": "a", "size": 64, "T": 2, "D": 4, "params": 1234, "flops_G": 1.5}],
             "implied": {"spikeyolo": {"arch": "a", "claimed_ratio": 5.7, "cite": CLAIMS["spikeyolo"]["cite"],
                                       "literal": 0.4431, "min": 0.3, "max": 3.6, "readings": 72,
                                       "unreachable_readings": 0}}}
    shipped = [{"model": "m", "T": 1, "D": 4, "map50": 0.8, "twin_map50": 0.81, "mean_rate": 0.5, "images": 4,
                "profiles": {"paper-45nm": {"fits": True, "energy_uJ": 10.0, "latency_ms": None, "chips": None,
                                            "snn_over_ann": 0.1, "ann_reference": "paper-45nm"},
                             "speck": {"fits": False, "reason": "too many layers"}}}]
    breakeven = {"m": {"memory-45nm": {"rate": 0.135, "reason": "crossed", "fits": True, "against": "ann-45nm"}}}
    text = render(arith, shipped, breakeven, None)
    assert "0.443" in text and "5.7x" in text and "| speck | no: too many layers |" in text
    assert "would need a rate below 0.135" in text and "1,234" in text


@pytest.mark.slow
def test_claims_command_writes_the_report(tmp_path):
    from neurosim.cli import main

    assert main(["claims", "--out", str(tmp_path), "--images", "2"]) == 0
    doc = json.loads((tmp_path / "claims.json").read_text())
    assert doc["arithmetic"]["implied"]["spikeyolo"]["literal"] == pytest.approx(0.443, abs=0.01)
    assert "## 4. Verdict" in (tmp_path / "claims.md").read_text()
