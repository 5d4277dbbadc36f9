"""Several neurosim processes at once on one installation and one data root: no corruption.

Two shared resources were unsafe: numba's on-disk cache of the kernels (two processes saving
different signatures of one kernel could leave machine code compiled for other types behind a
signature) and a dataset generated on first use (a reader could find a half-written set).
"""
from __future__ import annotations

import json
import os
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

HERE = Path(__file__).resolve().parent
RACE = HERE / "numba_cache_race.py"
KERNEL = "@njit(cache=True)\ndef f(x):\n    return x * 2 + 1\n"


def _race(tmp_path: Path, decorator_import: str) -> str:
    """Run the forced interleaving of numba_cache_race.py; what a fresh process then computes."""
    module = "racy_kernel"
    (tmp_path / f"{module}.py").write_text(f"{decorator_import}\n\n\n{KERNEL}")
    sync = tmp_path / "sync"
    sync.mkdir()
    env = dict(os.environ, NUMBA_CACHE_DIR=str(tmp_path / "cache"))
    run = lambda role: subprocess.run([sys.executable, str(RACE), role, module, str(sync)], env=env,
                                      capture_output=True, text=True, timeout=120)
    with ThreadPoolExecutor(2) as pool:
        a, b = pool.map(run, ["a", "b"])
    assert a.returncode == 0 and b.returncode == 0, a.stderr + b.stderr
    assert {p.name for p in sync.iterdir()} == {"a_indexed", "b_indexed", "b_loaded"}  # every hook ran
    check = run("check")
    assert check.returncode == 0, check.stderr
    return check.stdout.strip()


def test_our_kernel_cache_survives_two_processes_saving_at_once(tmp_path):
    assert _race(tmp_path, "from neurosim.sim.jit import njit") == "ok"


def test_numbas_own_cache_is_corrupted_by_the_same_interleaving(tmp_path):
    """The reason for neurosim.sim.jit: if this starts passing 'ok', numba has fixed it."""
    assert _race(tmp_path, "from numba import njit").startswith("wrong: ")


def test_every_kernel_uses_the_locked_cache():
    from neurosim.sim import batch_kernels, dense_ops, kernels
    from neurosim.sim.jit import LockedFunctionCache

    jitted = [f for m in (kernels, batch_kernels, dense_ops) for f in vars(m).values() if hasattr(f, "py_func")
              and f.__module__ == m.__name__]
    assert len(jitted) >= 40
    assert all(isinstance(f._cache, LockedFunctionCache) for f in jitted)


# ---------------------------------------------------------------- datasets generated on first use

WATCH = """
import json, sys, time
from pathlib import Path
root, stop = Path(sys.argv[1]), Path(sys.argv[2])
seen, bad = 0, []
while not stop.exists():
    if root.exists():  # whenever the set is visible it must be whole
        seen += 1
        manifest = root / "manifest.json"
        if not manifest.is_file():
            bad.append("no manifest")
        else:
            missing = [f for f in json.loads(manifest.read_text())["files"] if not (root / f).is_file()]
            if missing:
                bad.append(f"{len(missing)} files missing")
    time.sleep(0.002)
print(json.dumps({"seen": seen, "bad": bad[:3]}))
"""

GENERATE = """
import sys, time
from neurosim.data import generate_gen1_synth, Gen1Dataset
start = time.time()
root = generate_gen1_synth(sys.argv[1], seed=1, resolution=(96, 72), n_files={"train": 3, "val": 2},
                           duration_s=0.7)
print(len(Gen1Dataset(root, "val", T=2, window_us=50_000)), round(time.time() - start, 2))
"""


def test_two_processes_generating_one_fresh_set_and_a_reader_never_see_it_half_made(tmp_path):
    root, stop = tmp_path / "data" / "g1", tmp_path / "stop"
    watcher = subprocess.Popen([sys.executable, "-c", WATCH, str(root), str(stop)], stdout=subprocess.PIPE, text=True)
    gen = lambda _: subprocess.run([sys.executable, "-c", GENERATE, str(root)], capture_output=True, text=True,
                                   timeout=300)
    with ThreadPoolExecutor(2) as pool:
        runs = list(pool.map(gen, range(2)))
    stop.touch()
    seen = json.loads(watcher.communicate(timeout=60)[0])
    for r in runs:
        assert r.returncode == 0, r.stderr
    lengths = {r.stdout.split()[0] for r in runs}
    assert lengths == {"6"}  # 2 recordings x 3 label times (0.25, 0.45, 0.65 s), read whole by both
    assert seen["seen"] > 0 and seen["bad"] == []
    leftovers = sorted(p.name for p in root.parent.iterdir() if p.name != "g1")
    assert leftovers == [".g1.lock"]  # no staging or old folder left behind


def test_an_interrupted_older_set_is_replaced_but_foreign_files_are_refused(tmp_path):
    from neurosim.data import generate_shapes
    from neurosim.errors import DataError

    root = generate_shapes(tmp_path / "s", size=32, counts={"val": 2})
    (root / "manifest.json").unlink()                      # an interrupted run of the older code
    (root / "images" / "val" / "000007.png").write_bytes(b"stale")
    generate_shapes(root, size=32, counts={"val": 2})
    assert sorted(p.name for p in (root / "images" / "val").iterdir()) == ["000001.png", "000002.png"]
    mine = tmp_path / "mine"
    (mine / "recordings").mkdir(parents=True)
    (mine / "recordings" / "drive.dat").write_bytes(b"someone's data")
    with pytest.raises(DataError, match="recordings/drive.dat, which this generator does not make"):
        generate_shapes(mine, size=32, counts={"val": 1})
    assert (mine / "recordings" / "drive.dat").read_bytes() == b"someone's data"


def test_a_failed_generation_leaves_nothing(tmp_path, monkeypatch):
    from neurosim.data import shapes

    def boom(*args, **kwargs):
        raise RuntimeError("disk full")

    monkeypatch.setattr(shapes, "render_shapes_image", boom)
    with pytest.raises(RuntimeError):
        shapes.generate_shapes(tmp_path / "s", size=32, counts={"val": 1})
    assert sorted(p.name for p in tmp_path.iterdir()) == [".s.lock"]


def test_two_cli_runs_on_one_fresh_data_root_agree(tmp_path):
    """The reported failure: `neurosim sparsity trained/emsyolo-gen1 --images 2` beside another
    neurosim process on the same checkout, both generating the model's dataset on first use."""
    neurosim = Path(sys.executable).with_name("neurosim")
    if not neurosim.exists():
        pytest.skip("the neurosim script is not installed beside this python")
    run = lambda k: subprocess.run([str(neurosim), "sparsity", "emsyolo-gen1", "--images", "2", "--out", f"out{k}",
                                    "--quiet"], cwd=tmp_path, capture_output=True, text=True, timeout=600)
    with ThreadPoolExecutor(2) as pool:
        runs = list(pool.map(run, range(2)))
    for r in runs:
        assert r.returncode == 0, r.stderr
    assert runs[0].stdout == runs[1].stdout
    assert sorted(p.name for p in (tmp_path / "data").iterdir()) == [".gen1-synth-half.lock", "gen1-synth-half"]
