import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from neurosim.data.datasets import ShapesDataset
from neurosim.data.shapes import generate_shapes
from neurosim.data.torch_adapter import TorchDetectionDataset, collate_detection


def test_wrap_and_collate(tmp_path):
    root = generate_shapes(tmp_path, size=32, counts={"val": 3})
    ds = TorchDetectionDataset(ShapesDataset(root, "val", T=2))
    x, target = ds[0]
    assert x.dtype == torch.float32 and x.shape == (2, 3, 32, 32)
    assert target["boxes"].dtype == torch.float32 and target["labels"].dtype == torch.int64
    loader = torch.utils.data.DataLoader(ds, batch_size=3, collate_fn=collate_detection)
    xb, targets = next(iter(loader))
    assert xb.shape == (3, 2, 3, 32, 32) and len(targets) == 3
    assert [t["image_id"] for t in targets] == [1, 2, 3]
    np.testing.assert_array_equal(targets[1]["boxes"].numpy(), ShapesDataset(root, "val")[1][1]["boxes"])


def test_data_and_eval_packages_do_not_import_torch():
    code = ("import sys, neurosim.data, neurosim.eval, neurosim.data.gen1_synth; "
            "print('torch' in sys.modules)")
    import neurosim

    repo = str(Path(neurosim.__file__).resolve().parents[1])
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([repo, os.environ.get("PYTHONPATH", "")])}
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, env=env)
    assert out.stdout.strip() == "False"
