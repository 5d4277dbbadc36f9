"""Import time of ``from_torch`` against one plain torch forward pass of the same model, in the
same process (the recording is one forward pass plus the conversion, so the ratio is the
importer's overhead).

Models: SpikingJelly's model-zoo sew_resnet18 (IF neurons, multi-step, 3x224x224, T=4) and our
SpikeYOLO at scale s (I-LIF, 3x640x640, T=1), and the authors' snn_yolov8s as import-spikeyolo
rebuilds it (same input). One thread; best of ``--repeats``.

    .venv/bin/python benchmarks/bench_import.py [--repeats 3] [--json OUT]
"""
from __future__ import annotations

import argparse
import json
import os
import sys
import time
import types

os.environ.setdefault("OMP_NUM_THREADS", "1")

import numpy as np  # noqa: E402
import torch  # noqa: E402

from neurosim.torch_import import from_torch  # noqa: E402


def sew_resnet18():
    try:
        import torchvision  # noqa: F401
    except ImportError:  # the model zoo imports torchvision only to download pretrained weights
        for name in ("torchvision", "torchvision._internally_replaced_utils", "torchvision.models",
                     "torchvision.models.utils"):
            stub = types.ModuleType(name)
            stub.load_state_dict_from_url = None
            sys.modules.setdefault(name, stub)
    from spikingjelly.activation_based import functional, neuron
    from spikingjelly.activation_based.model import sew_resnet

    model = sew_resnet.sew_resnet18(spiking_neuron=neuron.IFNode, cnf="ADD", num_classes=1000)
    functional.set_step_mode(model, "m")
    return model, (3, 224, 224), 4, "TB"


def spikeyolo_s():
    from neurosim.models.spikeyolo import SpikeYOLO

    return SpikeYOLO(scale="s", num_classes=80, T=1), (3, 640, 640), 1, "BT"


def authors_spikeyolo_s():
    """The authors' snn_yolov8s rebuilt by import-spikeyolo (their key names and module layout)."""
    from pathlib import Path

    from neurosim.torch_import.authors import spikeyolo

    cfg = Path(__file__).resolve().parent.parent / "tests/torch_import/authors/data/snn_yolov8s.yaml"
    return spikeyolo.build(cfg), (3, 640, 640), 1, "TB"


def best(fn, repeats):
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return min(times)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--json", default=None)
    args = parser.parse_args(argv)
    torch.set_num_threads(1)
    rows = []
    for name, make in (("sew_resnet18", sew_resnet18), ("spikeyolo-s", spikeyolo_s),
                       ("authors-snn_yolov8s", authors_spikeyolo_s)):
        model, shape, T, layout = make()
        model.eval()
        x = torch.randn(2, T, *shape)
        x = x.transpose(0, 1).contiguous() if layout == "TB" else x

        def forward():
            with torch.no_grad():
                model(x)
            for m in model.modules():
                if hasattr(m, "reset") and hasattr(m, "_memories"):
                    m.reset()

        t_torch = best(forward, args.repeats)
        graph = None

        def imported():
            nonlocal graph
            graph = from_torch(model, shape, T=T)

        t_import = best(imported, args.repeats)
        params = sum(p.numel() for p in model.parameters())
        rows.append(dict(model=name, input=list(shape), T=T, params=params, nodes=len(graph),
                         torch_forward_s=t_torch, import_s=t_import, ratio=t_import / t_torch))
        print(f"{name:20s} {params / 1e6:6.2f} M params {len(graph):4d} nodes  torch forward {t_torch:7.3f} s  "
              f"from_torch {t_import:7.3f} s  ratio {t_import / t_torch:5.2f}")
    if args.json:
        with open(args.json, "w") as f:
            json.dump(rows, f, indent=1)


if __name__ == "__main__":
    main()
