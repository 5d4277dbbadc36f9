"""``from_torch``: a trained torch SNN (SpikingJelly, snnTorch, the papers' code, ours) as an IR graph.

Time layout: a multi-step model's forward takes ``[T, B, *input_shape]`` and returns
``[T, B, ...]`` tensors (or a list, tuple or dict of them, or their mean / sum over time); a
single-step model is called once per timestep on ``[B, *input_shape]``, in order, and returns
that timestep's outputs.
"""
from __future__ import annotations

import dataclasses
import importlib.metadata
from dataclasses import dataclass, field

import numpy as np
import torch

from ..errors import NeurosimError
from ..ir import Graph
from . import neurons as neuron_converters
from .ops import OPS
from .recorder import ImportRefused, Recorder
from .values import BatchFirst, Membrane, TimeReduced, Value

RECORD_BATCH = 2
STEP_MODES = ("auto", "multi", "single")
LAYOUTS = ("auto", "TB", "BT")


@dataclass
class Recording:
    """The imported graph, the recording input ``[B, T, *shape]`` and what torch computed on it:
    ``outputs[name]`` as ``[B, T, ...]`` (``[B, ...]`` for a time readout) and the spike total of
    every neuron node."""

    graph: Graph
    inputs: np.ndarray
    outputs: dict[str, np.ndarray]
    spikes: dict[str, float]
    readouts: dict[str, str] = field(default_factory=dict)


def from_torch(module: torch.nn.Module, input_shape, T: int = 4, input_kind: str = "analog", head=None,
               step_mode: str = "auto", metadata: dict | None = None, seed: int = 0,
               time_layout: str = "auto") -> Graph:
    """The IR graph of ``module`` (BatchNorm folded, neurons mapped; see docs/import.md).

    ``input_shape``: per-sample, per-timestep ``(C, H, W)`` or ``(N,)``. ``input_kind``:
    ``"analog"`` (frames, first layer dense) or ``"binary"`` (events). ``head``: None (energy
    and sparsity only: no mAP), a :class:`neurosim.detect.HeadSpec`, its dict, or a head type
    (``"yolov8"``, ``"yolov3"``, ``"retina"``) whose strides, input size and outputs are read off
    the graph. ``step_mode``: ``"multi"`` (forward over all timesteps), ``"single"`` (called per
    timestep) or ``"auto"`` (SpikingJelly's own step mode; multi-step otherwise).
    ``time_layout`` of a multi-step input: ``"TB"`` ([T, B, ...], SpikingJelly and snnTorch),
    ``"BT"`` ([B, T, ...], neurosim's own models) or ``"auto"`` (BT for the classes of
    ``neurosim.models``, TB otherwise, including the authors' rebuilt networks).
    ``metadata["import"]`` records the source framework and every decision taken.
    """
    return record(module, input_shape, T, input_kind, head, step_mode, metadata, seed, time_layout=time_layout).graph


def record(module, input_shape, T=4, input_kind="analog", head=None, step_mode="auto", metadata=None,
           seed=0, inputs: np.ndarray | None = None, time_layout: str = "auto") -> Recording:
    """:func:`from_torch`, keeping the recording input and torch's outputs on it (for checks)."""
    if not isinstance(module, torch.nn.Module):
        raise NeurosimError(f"from_torch needs a torch.nn.Module, got {type(module).__name__}")
    if not isinstance(T, int) or isinstance(T, bool) or T < 1:
        raise NeurosimError(f"T must be a positive integer, got {T!r}")
    if input_kind not in ("analog", "binary"):
        raise NeurosimError(f"input_kind must be 'analog' or 'binary', got {input_kind!r}")
    input_shape = tuple(int(s) for s in input_shape)
    if len(input_shape) not in (1, 3) or min(input_shape) < 1:
        raise NeurosimError(f"input_shape must be (C, H, W) or (N,) of positive sizes, got {input_shape}")
    if step_mode not in STEP_MODES:
        raise NeurosimError(f"step_mode must be one of {', '.join(STEP_MODES)}, got {step_mode!r}")
    dtype = _param_dtype(module)
    if inputs is None:
        rng = np.random.default_rng(seed)
        shape = (RECORD_BATCH, T, *input_shape)
        inputs = (rng.random(shape) < 0.3).astype(np.float64) if input_kind == "binary" else rng.normal(0, 1, shape)
    if inputs.shape[:2] != (RECORD_BATCH, T) or tuple(inputs.shape[2:]) != input_shape:
        raise NeurosimError(f"recording inputs must be [{RECORD_BATCH}, T, *input_shape], got {inputs.shape}")
    mode = _step_mode(module) if step_mode == "auto" else step_mode
    if time_layout not in LAYOUTS:
        raise NeurosimError(f"time_layout must be one of {', '.join(LAYOUTS)}, got {time_layout!r}")
    if time_layout == "auto":
        time_layout = "BT" if type(module).__module__.startswith("neurosim.models.") else "TB"

    rec = Recorder(module, T, RECORD_BATCH, OPS, neuron_converters.converter_for)
    decisions = rec.decisions
    _reset_states(module, decisions, "before")
    was_training = module.training
    module.eval()
    x = torch.as_tensor(inputs, dtype=dtype).transpose(0, 1).contiguous()  # [T, B, ...]
    rec.input_node(input_shape, input_kind)
    hooks = [torch.nn.modules.module.register_module_forward_pre_hook(rec.pre_hook),
             torch.nn.modules.module.register_module_forward_hook(rec.post_hook)]
    try:
        with torch.no_grad(), rec:
            if mode == "multi" and time_layout == "BT":
                xb = x.transpose(0, 1).contiguous()
                rec.tag(xb, BatchFirst("input"))
                raw = [module(xb)]
            elif mode == "multi":
                rec.tag(x, Value("input", "seq"))
                raw = [module(x)]
            else:
                raw = []
                for t in range(T):
                    xt = x[t].clone()
                    rec.tag(xt, Value("input", "step", t))
                    raw.append(module(xt))
        outputs, torch_out, readouts = _collect_outputs(rec, raw, mode, T)
    except (ImportRefused, NeurosimError):
        raise
    except Exception as exc:  # a torch error while the model ran: the model, not neurosim
        if _raised_here(exc):
            raise
        raise NeurosimError(f"the model's forward failed on a [{T}, {RECORD_BATCH}, {', '.join(map(str, input_shape))}]"
                            f" input ({'multi' if mode == 'multi' else 'single'}-step): "
                            f"{type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''}") from None
    finally:
        for h in hooks:
            h.remove()
        _reset_states(module, decisions, "after")
        module.train(was_training)
    meta = dict(metadata or {})
    meta.setdefault("T", T)
    meta["import"] = {"source": _frameworks(module), "model_class": f"{type(module).__module__}.{type(module).__name__}",
                      "step_mode": mode, "time_layout": time_layout, "input_kind": input_kind,
                      "decisions": decisions,
                      "readouts": readouts}
    graph = rec.build(outputs, meta)
    if head is not None:
        graph = attach_head(graph, head, input_shape, readouts)
    else:
        graph.metadata["import"]["head"] = ("none: energy, latency and sparsity work; mAP is not computed "
                                            "without a head spec")
    return Recording(graph, inputs, torch_out, dict(rec.spikes), readouts)


def _raised_here(exc: BaseException) -> bool:
    """Whether the innermost frame of ``exc`` is the importer's own code (a bug: keep the traceback)."""
    if getattr(exc, "_raised_by_model", False):
        return False
    tb = exc.__traceback__
    while tb.tb_next is not None:
        tb = tb.tb_next
    return "torch_import" in tb.tb_frame.f_code.co_filename


def _param_dtype(module) -> torch.dtype:
    for p in list(module.parameters()) + list(module.buffers()):
        if p.is_floating_point():
            return p.dtype
    return torch.float32


def _step_mode(module) -> str:
    """SpikingJelly modules say their step mode; every other model is taken as multi-step."""
    modes = {getattr(m, "step_mode") for m in module.modules()
             if type(m).__module__.startswith("spikingjelly") and hasattr(m, "step_mode")
             and "neuron" in type(m).__module__}
    if len(modes) > 1:
        raise NeurosimError("the model mixes SpikingJelly neurons in step_mode 's' and 'm'; set one step mode "
                            "(functional.set_step_mode)")
    return "single" if modes == {"s"} else "multi"


def _frameworks(module) -> dict:
    found = {}
    for m in module.modules():
        root = type(m).__module__.split(".")[0]
        if root in ("spikingjelly", "snntorch", "neurosim") and root not in found:
            try:
                found[root] = importlib.metadata.version(root)
            except importlib.metadata.PackageNotFoundError:
                found[root] = "unknown"
    found["torch"] = torch.__version__
    return found


def _reset_states(module, decisions: list, when: str) -> None:
    """Zero every neuron state (SpikingJelly ``reset()``, snnTorch ``reset_mem()``); before the
    recording, a state left from an earlier run is noted."""
    for path, m in module.named_modules():
        root = type(m).__module__.split(".")[0]
        if root == "spikingjelly" and hasattr(m, "reset") and hasattr(m, "_memories"):
            stale = [k for k, v in m._memories.items() if isinstance(v, torch.Tensor)]
            if stale and when == "before":
                decisions.append(f"'{path}': SpikingJelly state {', '.join(stale)} was left from an earlier run; "
                                 "reset before recording (functional.reset_net)")
            m.reset()
        elif root == "snntorch" and hasattr(m, "reset_mem"):
            m.reset_mem()


def _collect_outputs(rec, raw, mode, T):
    """Output node names and torch's values ``[B, T, ...]`` (or ``[B, ...]`` for a readout)."""
    flat_calls = [_flatten(r) for r in raw]
    if any(len(c) != len(flat_calls[0]) for c in flat_calls):
        raise rec.refuse("returns a different number of outputs at different timesteps")
    names, values, readouts = [], {}, {}
    for k in range(len(flat_calls[0])):
        tensors = [c[k] for c in flat_calls]
        tags = [rec.tag_of(t) for t in tensors]
        if any(isinstance(tag, Membrane) for tag in tags):
            raise ImportRefused(f"the model returns the membrane potential of neuron '{tags[0].path}'; only spikes "
                                "and analog layer outputs can be outputs")
        if mode == "multi":
            tag = tags[0]
            tensor = tensors[0]
            if isinstance(tag, TimeReduced):
                node, value = tag.node, tensor.detach().double().cpu().numpy()
                readouts[node] = tag.how
            elif isinstance(tag, Value) and tag.layout == "seq":
                node, value = tag.node, tensor.detach().double().cpu().numpy().swapaxes(0, 1)
            elif isinstance(tag, Value) and tag.layout == "step" and tag.t == T - 1:  # x[-1]: the last timestep
                node, value = tag.node, tensor.detach().double().cpu().numpy()
                readouts[node] = "last"
            else:
                raise ImportRefused(f"output {k} of the model is not a [T, B, ...] sequence of one layer's values "
                                    "(nor its mean or sum over time, nor its last timestep)")
        else:
            if not all(isinstance(tag, Value) and tag.layout == "step" and tag.t == t for t, tag in enumerate(tags)) \
                    or len({tag.node for tag in tags}) != 1:
                raise ImportRefused(f"output {k} of the single-step model is not one layer's value at each timestep")
            node = tags[0].node
            value = np.stack([t.detach().double().cpu().numpy() for t in tensors], axis=1)
        if node in values:
            continue
        names.append(node)
        values[node] = value
    return names, values, readouts


def _flatten(obj):
    if isinstance(obj, torch.Tensor):
        return [obj]
    if isinstance(obj, dict):
        return [t for v in obj.values() for t in _flatten(v)]
    if isinstance(obj, (list, tuple)):
        return [t for v in obj for t in _flatten(v)]
    raise ImportRefused(f"the model returns a {type(obj).__name__}; supported: tensors, or lists, tuples and dicts "
                        "of them")


def attach_head(graph: Graph, head, input_shape, readouts=None) -> Graph:
    """``graph`` with a detection head spec in its metadata; strides, input size and outputs not
    given are read off the graph (output ``k`` of ``H_k x W_k`` has stride ``H / H_k``)."""
    from ..detect.spec import HeadSpec

    if isinstance(head, str):
        head = {"type": head}
    if isinstance(head, HeadSpec):
        head = head.to_dict()
    if not isinstance(head, dict):
        raise NeurosimError(f"head must be a HeadSpec, a dict or a head type, got {type(head).__name__}")
    spec = dict(head)
    if len(input_shape) != 3:
        raise NeurosimError("a detection head needs a (C, H, W) input")
    H, W = input_shape[1:]
    outs = list(spec.get("outputs") or graph.outputs)
    for name in outs:
        if name not in graph.shapes or len(graph.shapes[name]) != 3:
            raise NeurosimError(f"head output '{name}' is not a (C, H, W) output of the imported graph "
                                f"(outputs: {', '.join(graph.outputs)})")
    spec["outputs"] = outs
    spec.setdefault("input_size", [H, W])
    levels = outs[::2] if spec.get("type") == "retina" else outs
    spec.setdefault("strides", [H // graph.shapes[n][1] for n in levels])
    if "num_classes" not in spec and spec.get("type") == "yolov8":
        spec["num_classes"] = graph.shapes[outs[0]][0] - 4 * int(spec.get("reg_max", 16))
    if "num_classes" not in spec and spec.get("type") == "retina":
        spec["num_classes"] = graph.shapes[outs[0]][0] // len(spec.get("anchor_ratios", (0.5, 1, 2))) // 3
    if readouts:
        hows = {readouts.get(n) for n in outs}
        if hows in ({"mean"}, {"last"}):
            spec["readout"] = hows.pop()
    parsed = HeadSpec.from_dict(spec)
    metadata = dict(graph.metadata, detection=parsed.to_dict())
    return dataclasses.replace(graph, metadata=metadata)


def check_recording(rec: Recording, precision: str = "float32") -> dict:
    """Simulate the imported graph on the recording input and compare with torch's outputs:
    the largest difference relative to each output's range, and the spike totals per neuron node
    (``spikes_equal``: every node's count equal to torch's)."""
    from ..sim import simulate

    sim = simulate(rec.graph, rec.inputs, precision=precision)
    worst = 0.0
    for name, expected in rec.outputs.items():
        got = sim.outputs[name]
        how = rec.readouts.get(name)
        got = got.mean(axis=1) if how == "mean" else got.sum(axis=1) if how == "sum" else \
            got[:, -1] if how == "last" else got
        scale = max(1.0, float(np.abs(expected).max()))
        worst = max(worst, float(np.abs(got - expected).max()) / scale)
    counts = {n: (float(c), float(sim.trace[n].total("out_spikes"))) for n, c in rec.spikes.items()}
    return {"precision": precision, "max_relative_difference": worst,
            "spikes_equal": all(a == b for a, b in counts.values()),
            "spikes_torch": sum(a for a, _ in counts.values()), "spikes_neurosim": sum(b for _, b in counts.values())}
