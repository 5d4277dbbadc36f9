"""The example of docs/heads.md runs and prints what it says."""
import re
from pathlib import Path

DOC = Path(__file__).resolve().parents[2] / "docs" / "heads.md"


def test_heads_doc_example_runs(capsys):
    code = re.search(r"```python\n(.*?)```", DOC.read_text(), re.DOTALL).group(1)
    exec(compile(code, "docs/heads.md", "exec"), {})  # noqa: S102 -- the doc example is ours
    printed = capsys.readouterr().out.strip()
    expected = code.strip().splitlines()[-1].lstrip("# ")
    assert printed == expected
