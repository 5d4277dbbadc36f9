"""The runnable examples in the docs run."""
import re
from pathlib import Path

DOCS = Path(__file__).resolve().parent.parent / "docs"


def test_api_example_runs(tmp_path, monkeypatch, capsys):
    text = (DOCS / "api.md").read_text()
    code = re.search(r"```python\n(.*?)```", text, re.S).group(1)
    code = code.replace("/tmp/doc-example", str(tmp_path / "doc-example"))
    exec(compile(code, "docs/api.md", "exec"), {})
    out = capsys.readouterr().out
    assert "(3, 4, 4, 8, 8)" in out and "spikes float vs fixed" in out


def test_readme_own_model_example_runs(tmp_path, capsys):
    import pytest

    pytest.importorskip("spikingjelly.activation_based")
    text = (DOCS.parent / "README.md").read_text()
    section = text.split("## Your own model", 1)[1]
    code = re.search(r"```python\n(.*?)```", section, re.S).group(1)
    code = code.replace("/tmp/my-snn", str(tmp_path / "my-snn"))
    exec(compile(code, "README.md", "exec"), {})
    out = capsys.readouterr().out
    assert "folded into" in out and "uJ per inference on Loihi, fits: True" in out
    assert (tmp_path / "my-snn" / "graph.json").is_file()
