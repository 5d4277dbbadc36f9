"""The numba cache stamp covers every source file of a kernel's folder, so that editing a kernel
that another file's compiled code inlines (kernels.py, called by batch_kernels.py) recompiles
both."""
import os

from neurosim.sim import batch_kernels, kernels
from neurosim.sim.jit import folder_stamp


def test_stamp_changes_when_a_sibling_file_changes(tmp_path):
    a, b = tmp_path / "a.py", tmp_path / "b.py"
    a.write_text("x = 1\n")
    b.write_text("y = 2\n")
    (tmp_path / "notes.txt").write_text("not source")
    before = folder_stamp(str(a))
    assert [entry[0] for entry in before] == ["a.py", "b.py"]
    b.write_text("y = 22\n")  # size and mtime change
    os.utime(b, (1, 1))
    assert folder_stamp(str(a)) != before


def test_kernel_caches_share_one_stamp():
    stamp = batch_kernels.ilif_step._cache._cache_file._source_stamp
    assert stamp == kernels.ilif_step._cache._cache_file._source_stamp
    assert "kernels.py" in {entry[0] for entry in stamp}
