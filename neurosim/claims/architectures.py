"""Paper-scale IR graphs of SpikeYOLO and EMS-YOLO (random weights: only shapes count) and the
papers' per-layer FLOP table.

Architectures (``build_graph(name)``, cached per process):

* ``spikeyolo-{n,s,m,l}-640``: 3x640x640, 80 classes, T=1, D=4 (the released COCO models).
* ``spikeyolo-s-gen1``: the authors' Gen1 model (``SpikeYOLO_for_Gen1/train.py`` builds
  ``snn_yolov8s.yaml``, scale s [0.33, 0.5, 1024]; ``default.yaml`` imgsz 320; ``gen1.yaml`` 2
  classes; data ``gen1_yolo_T2``: T=2) at 3x320x320, D=4. The Gen1 yaml's blocks equal the COCO
  yaml's at depth 0.33 (layer 8: 1 repeat; layer 25: mlp ratio 1). A comment in their ``MS_GetT``
  mentions 256x320 inputs (rectangular validation); we use 320x320 as the brief and imgsz say.
* ``ems-resnet{10,18,34}-640``: EMS-YOLO at 3x640x640, 80 classes, T=4 (paper; the code has 5).
* ``ems-resnet{10,18,34}-gen1``: 3x320x320 (``g1-resnet/get_gen1_data.py`` resizes 240x304
  gray frames to 320x320, 3 channels), 2 classes, T=4 (the code's ``time_window`` is 5).
* ``ems-resnet34-cat-{640,gen1}`` (T=4) and ``ems-resnet34-cat-gen1-t5``: the cfg of the authors'
  released runs, ``resnet34-cat.yaml`` (EMS-Block2 at the downsamplings, a conv head); the
  ``-t5`` variant has the code's ``time_window`` 5 (the first 50 ms slice repeated over the steps).

SpikeYOLO graphs are exported with RepConv re-parameterised into single 3x3 convs (the
spike-driven inference form, ``merge_repconv=True``): FLOPs are counted on that form.
"""
from __future__ import annotations

from functools import lru_cache

import numpy as np

ARCHITECTURES = {
    **{f"spikeyolo-{s}-640": dict(family="spikeyolo", scale=s, num_classes=80, T=1, D=4, size=640)
       for s in ("n", "s", "m", "l")},
    "spikeyolo-s-gen1": dict(family="spikeyolo", scale="s", num_classes=2, T=2, D=4, size=320),
    **{f"ems-{b}-640": dict(family="emsyolo", backbone=b, num_classes=80, T=4, D=1, size=640)
       for b in ("resnet10", "resnet18", "resnet34")},
    **{f"ems-{b}-gen1": dict(family="emsyolo", backbone=b, num_classes=2, T=4, D=1, size=320)
       for b in ("resnet10", "resnet18", "resnet34")},
    # the authors' released configuration: resnet34-cat.yaml, T=4 as in the paper, T=5 as in the code
    "ems-resnet34-cat-640": dict(family="emsyolo", backbone="resnet34-cat", num_classes=80, T=4, D=1, size=640),
    "ems-resnet34-cat-gen1": dict(family="emsyolo", backbone="resnet34-cat", num_classes=2, T=4, D=1, size=320),
    "ems-resnet34-cat-gen1-t5": dict(family="emsyolo", backbone="resnet34-cat", num_classes=2, T=5, D=1, size=320),
}


@lru_cache(maxsize=None)
def build_graph(name: str, merge_repconv: bool = True):
    """The IR graph of architecture ``name`` (see ``ARCHITECTURES``); cached in-process.

    ``merge_repconv=False`` exports SpikeYOLO's RepConvs unmerged (1x1 -> depthwise 3x3 -> 1x1,
    the trained form and the fair ANN twin's); EMS-YOLO has none, so it changes nothing there.

    ``graph.metadata["claims"]`` holds the spec plus ``torch_parameters`` (the torch model's
    parameter count, BN included: what the authors' summaries print).
    """
    if name not in ARCHITECTURES:
        raise KeyError(f"unknown architecture '{name}' (known: {', '.join(ARCHITECTURES)})")
    spec = dict(ARCHITECTURES[name])
    import torch

    torch.manual_seed(0)
    size = spec["size"]
    if spec["family"] == "spikeyolo":
        from ..models.spikeyolo import SpikeYOLO

        model = SpikeYOLO(spec["scale"], num_classes=spec["num_classes"], T=spec["T"], D=spec["D"],
                          merge_repconv=merge_repconv)
        graph = model.export_graph(size, metadata={"claims": {}})
    else:
        from ..models.emsyolo import EMSYOLO
        from ..models.export import export_graph

        model = EMSYOLO(backbone=spec["backbone"], scale="paper", num_classes=spec["num_classes"],
                        T=spec["T"], input_size=(size, size))
        graph = export_graph(model, (3, size, size), metadata={"detection": model.head_spec((size, size))})
    spec["torch_parameters"] = int(sum(p.numel() for p in model.parameters()))
    spec["name"] = name
    graph.metadata["claims"] = spec
    return graph


def _is_head(name: str) -> bool:
    return name.startswith("head.") or name.startswith("detect.")


def layer_table(graph) -> list[dict]:
    """One row per synaptic node, in topological order.

    Keys: ``name``, ``op``, ``input`` (the node it reads), ``in_kind`` (``analog``/``spike``),
    ``first`` (reads a graph Input), ``head``, ``Cin``, ``Cout``, ``k``, ``stride``, ``groups``,
    ``H_out``, ``W_out``, ``flops`` = Cin*Cout*k^2*H_out*W_out/groups (the papers' count, taps
    on padding included), ``dense_macs`` (padding taps excluded: what the simulator and the ANN
    twin count), ``parameters`` (weights + bias of the IR node).
    """
    from ..hw.ann_twin import dense_macs

    inputs = set(graph.input_names)
    rows = []
    for node in graph.nodes:
        if not node.is_synaptic:
            continue
        src = node.inputs[0]
        in_kind = "analog" if graph.kinds[src] == "analog" else "spike"
        params = int(node.weight.size + (0 if node.bias is None else node.bias.size))
        if node.op == "conv2d":
            kh, kw = node.kernel_size
            cout, ho, wo = graph.shapes[node.name]
            cin, g = node.in_channels, node.groups
            flops = cin * cout * kh * kw * ho * wo // g
            row = dict(Cin=cin, Cout=cout, k=kh if kh == kw else (kh, kw), stride=node.stride[0] if
                       node.stride[0] == node.stride[1] else tuple(node.stride), groups=g, H_out=ho, W_out=wo)
        else:
            nout, nin = node.weight.shape
            flops = nin * nout
            row = dict(Cin=nin, Cout=nout, k=1, stride=1, groups=1, H_out=1, W_out=1)
        rows.append(dict(name=node.name, op=node.op, input=src, in_kind=in_kind, first=src in inputs,
                         head=_is_head(node.name), **row, flops=int(flops),
                         dense_macs=int(dense_macs(node, graph.shapes[src])), parameters=params))
    return rows


def table_totals(table: list[dict]) -> dict:
    """Totals of a :func:`layer_table`: FLOPs (all, analog-input, spike-input, head), dense MACs
    (all, analog-input), parameters, layer count."""
    f = lambda pred: int(sum(r["flops"] for r in table if pred(r)))  # noqa: E731
    return {"layers": len(table), "flops": f(lambda r: True), "flops_analog_input": f(lambda r: r["in_kind"] == "analog"),
            "flops_spike_input": f(lambda r: r["in_kind"] == "spike"), "flops_head": f(lambda r: r["head"]),
            "flops_first": f(lambda r: r["first"]),
            "dense_macs": int(sum(r["dense_macs"] for r in table)),
            "dense_macs_analog_input": int(sum(r["dense_macs"] for r in table if r["in_kind"] == "analog")),
            "parameters": int(np.sum([r["parameters"] for r in table]))}
