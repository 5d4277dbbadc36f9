"""Build hook: the chip profiles (hwmodels/) and the shipped detectors (trained/) become package
data of the wheel, under ``neurosim/_shipped/``, so an installed neurosim finds them without
this repository. Everything else about the package is in pyproject.toml."""
from __future__ import annotations

import shutil
from pathlib import Path

from setuptools import setup
from setuptools.command.build_py import build_py

HERE = Path(__file__).resolve().parent
# model.pt (the torch weights, for fine-tuning) stays in the repository: simulating needs only the IR
MODEL_FILES = ("graph.json", "weights.npz", "card.json", "README.md")


def shipped_files() -> list[tuple[Path, str]]:
    """(source file, path under neurosim/_shipped/) for every file the wheel carries."""
    files = [(p, f"hwmodels/{p.name}") for p in sorted((HERE / "hwmodels").iterdir())
             if p.suffix in (".yaml", ".yml", ".md")]
    trained = HERE / "trained"
    if (trained / "README.md").is_file():
        files.append((trained / "README.md", "trained/README.md"))
    for model in sorted(p.parent for p in trained.glob("*/graph.json")):
        files += [(model / f, f"trained/{model.name}/{f}") for f in MODEL_FILES if (model / f).is_file()]
    return files


class BuildPyWithShipped(build_py):
    """build_py that also copies hwmodels/ and trained/ into the built package."""

    def run(self):
        super().run()
        if getattr(self, "editable_mode", False):
            return  # an editable install reads them from the checkout itself
        target = Path(self.build_lib) / "neurosim" / "_shipped"
        if target.exists():
            shutil.rmtree(target)
        for source, relative in shipped_files():
            out = target / relative
            out.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(source, out)


setup(cmdclass={"build_py": BuildPyWithShipped})
