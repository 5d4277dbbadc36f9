"""Converters of neuron modules (recorded as leaves) to IR neuron nodes, one per module class.

Each converter's docstring gives the framework's discrete equations, with the source lines they
were read from (SpikingJelly 2.0.0, snnTorch 1.0.0 as installed; see docs/import.md), and the IR
node that computes the same. A neuron module may be called

* once on a ``[T, B, ...]`` sequence (multi-step: SpikingJelly ``step_mode='m'``, ours), or
* once per timestep on ``[B, ...]`` (single-step: SpikingJelly ``'s'``, snnTorch), in order
  t = 0 .. T-1, on the same layer's output each time.

A stateful module called twice in one pass would carry its state from the first call into the
second; that is refused.
"""
from __future__ import annotations

import numpy as np
import torch

from ..ir.nodes import NODE_TYPES
from .values import Membrane, Value

CONVERTERS: list[tuple[callable, callable]] = []  # (matches(module), converter)


def neuron_converter(matches):
    def register(fn):
        CONVERTERS.append((matches, fn))
        return fn
    return register


def converter_for(module):
    for matches, fn in CONVERTERS:
        if matches(module):
            return fn
    return None


def _class_is(module, package: str, *names: str) -> bool:
    cls = type(module)
    return cls.__module__.split(".")[0] == package and cls.__name__ in names


def _spikes_of(output):
    return output[0] if isinstance(output, (tuple, list)) else output


def add_neuron(rec, module, x, output, op: str, params: dict, extra_outputs=()):
    """Map one call of a neuron module: input ``x``, real ``output`` (spikes, or a tuple whose
    first item is the spikes and the rest ``extra_outputs`` tags, e.g. membranes)."""
    path = rec.paths.get(id(module), type(module).__name__)
    value = rec.value(x)
    if value.layout == "flat":
        raise rec.refuse("receives a time-flattened [T*B, ...] tensor; a neuron needs [T, B, ...] (multi-step) or "
                         "one timestep [B, ...] (single-step)")
    calls = rec.neuron_calls.get(id(module))
    spikes = _spikes_of(output)
    if calls is None:
        if value.layout == "step" and value.t != 0:
            raise rec.refuse(f"is first called at timestep {value.t}; a single-step neuron must run at every "
                             "timestep from 0")
        node = rec.add_node(op, [value.node], params, name=path)
        calls = rec.neuron_calls[id(module)] = {"node": node, "input": value.node, "t": value.t,
                                                 "layout": value.layout}
    else:
        if value.layout == "seq" or calls["layout"] == "seq":
            raise rec.refuse("is called twice in one forward pass; its state would carry over from the first call "
                             "into the second (use one module per layer)")
        if value.node != calls["input"] or value.t != calls["t"] + 1:
            raise rec.refuse(f"is called at timestep {value.t} on another input than at timestep {calls['t']}; a "
                             "single-step neuron must be called once per timestep on the same layer's output")
        calls["t"] = value.t
    node = calls["node"]
    if NODE_TYPES[op].is_neuron:  # an analog activation declared by ir_node() (e.g. 'silu') emits no spikes
        rec.spikes[node] = rec.spikes.get(node, 0.0) + float(spikes.detach().double().sum())
    tag = Value(node, value.layout, value.t)
    rec.tag(spikes, tag)
    if isinstance(output, (tuple, list)):
        for tensor, extra in zip(output[1:], extra_outputs):
            if isinstance(tensor, torch.Tensor):
                rec.tag(tensor, extra)
    return tag


# --------------------------------------------------------------------------- our own modules


@neuron_converter(lambda m: hasattr(m, "ir_node") and callable(m.ir_node) and isinstance(m, torch.nn.Module))
def own_neuron(rec, module, args, output):
    """neurosim's training neurons (neurosim.models.neurons) and any module with ``ir_node()``
    returning ``(op, params)`` of an IR node: the module declares its own equations."""
    op, params = module.ir_node()
    add_neuron(rec, module, args[0], output, op, params)


# --------------------------------------------------------------------------- SpikingJelly 2.0


def _sj_threshold_and_reset(rec, module):
    """SpikingJelly: ``S = heaviside(H - v_threshold)`` with ``heaviside(x) = [x >= 0]``
    (surrogate.py:59); reset (_ops/reset.py) ``V = H - v_threshold S`` if ``v_reset is None``
    (soft), else ``V = S v_reset + (1 - S) H`` (hard); ``V_{-1} = v_reset`` (0 when soft,
    neuron/base_node.py:341). With ``U = V - v_reset`` the charge keeps its form and the hard
    reset goes to ``U = 0``: the IR node gets ``threshold = v_threshold - v_reset``."""
    thr = float(module.v_threshold)
    if module.v_reset is None:
        return dict(threshold=thr, reset="soft", reset_value=0.0, compare=">=")
    v_reset = float(module.v_reset)
    if v_reset != 0.0:
        rec.decisions.append(f"'{rec.paths.get(id(module))}': v_reset {v_reset} moved into the threshold "
                             f"(U = V - v_reset; threshold {thr} - {v_reset})")
    return dict(threshold=thr - v_reset, reset="hard", reset_value=0.0, compare=">=")


def _sj_check(rec, module):
    if getattr(module, "_neuron_precision", None) is not None:
        raise rec.refuse("runs with a reduced neuron precision; supported: the default fp32/fp64 neurons")


@neuron_converter(lambda m: _class_is(m, "spikingjelly", "IFNode"))
def sj_if(rec, module, args, output):
    """SpikingJelly IFNode: ``H = V + X`` (neuron/integrate_and_fire.py:107) -> IR ``if``."""
    _sj_check(rec, module)
    add_neuron(rec, module, args[0], output, "if", _sj_threshold_and_reset(rec, module))


def _sj_lif_params(rec, module, inv_tau: float):
    """Charge (_ops/lif/reference.py ``charge``): ``H = V + (X - (V - v_reset)) / tau`` with
    decay_input, else ``H = V - (V - v_reset) / tau + X``; in ``U = V - v_reset`` these are the IR
    ``lif`` forms with ``decay = 1 - 1/tau``."""
    params = _sj_threshold_and_reset(rec, module)
    params.update(decay=1.0 - inv_tau, decay_input=bool(module.decay_input))
    return params


@neuron_converter(lambda m: _class_is(m, "spikingjelly", "LIFNode"))
def sj_lif(rec, module, args, output):
    """SpikingJelly LIFNode (tau, decay_input, v_reset) -> IR ``lif`` (see _sj_lif_params)."""
    _sj_check(rec, module)
    add_neuron(rec, module, args[0], output, "lif", _sj_lif_params(rec, module, 1.0 / float(module.tau)))


@neuron_converter(lambda m: _class_is(m, "spikingjelly", "ParametricLIFNode"))
def sj_plif(rec, module, args, output):
    """SpikingJelly ParametricLIFNode: as LIFNode with the trained ``1/tau = sigmoid(w)``
    (neuron/plif.py, functional plif_multi_step)."""
    _sj_check(rec, module)
    inv_tau = float(torch.sigmoid(module.w.detach().double()))
    add_neuron(rec, module, args[0], output, "lif", _sj_lif_params(rec, module, inv_tau))
    rec.decisions.append(f"'{rec.paths.get(id(module))}': trained tau = {1.0 / inv_tau:.6g}")


# --------------------------------------------------------------------------- snnTorch 1.0


def _snn_param(value) -> np.ndarray:
    return np.asarray(value.detach().double().cpu().numpy() if isinstance(value, torch.Tensor) else value, np.float64)


def _snn_check(rec, module):
    if getattr(module, "inhibition", False):
        raise rec.refuse("uses inhibition; supported: snnTorch neurons without inhibition")
    if getattr(module, "state_quant", False):
        raise rec.refuse("quantizes its state (state_quant); supported: float state")
    factor = _snn_param(getattr(module, "graded_spikes_factor", 1.0))
    if np.any(factor != 1.0):
        raise rec.refuse("scales its spikes (graded_spikes_factor != 1); supported: binary spikes")
    mech = getattr(module, "reset_mechanism", "subtract")
    if mech not in ("subtract", "zero"):
        raise rec.refuse(f"uses reset_mechanism '{mech}'; supported: 'subtract' and 'zero'")
    if not getattr(module, "reset_delay", True) and mech == "zero":
        raise rec.refuse("uses reset_mechanism 'zero' with reset_delay=False; supported: reset_delay=True, or "
                         "'subtract' with either")
    return mech


def _snn_input_and_state(rec, module, args, n_states: int):
    """snnTorch neurons are single-step: ``lif(x, mem)`` (or ``lif(x)`` with init_hidden). A
    membrane passed in must be zero at t = 0 and this neuron's own membrane after that."""
    x = args[0]
    value = rec.value(x)
    if value.layout == "seq":
        raise rec.refuse("(a snnTorch neuron) receives a [T, B, ...] sequence; snnTorch neurons are single-step: "
                         "call them once per timestep on x[t]")
    path = rec.paths.get(id(module))
    for state in args[1:1 + n_states]:
        if state is None:
            continue
        tag = rec.tag_of(state)
        if tag is None:
            if value.t == 0 and isinstance(state, torch.Tensor) and not torch.any(state != 0):
                continue
            raise rec.refuse("is given a nonzero initial state; supported: zero initial state (reset_mem())")
        if not (isinstance(tag, Membrane) and tag.path == path and tag.t == value.t - 1):
            raise rec.refuse("is given a state that is not its own from the previous timestep")
    return x, value, path


@neuron_converter(lambda m: _class_is(m, "snntorch", "Leaky"))
def snn_leaky(rec, module, args, output):
    """snnTorch Leaky (_neurons/leaky.py forward, _base_sub/_base_zero; _neurons/neurons.py
    fire/mem_reset; spike ``[U - threshold > 0]``): with ``R_t = [U_{t-1} > threshold]``

    * subtract: ``U_t = beta U_{t-1} + X_t - threshold R_t``  -> IR ``lif`` reset ``soft-delayed``;
    * zero: ``U_t = beta (1 - R_t) U_{t-1} + X_t``            -> IR ``lif`` reset ``hard`` to 0;
    * subtract with ``reset_delay=False``: ``U_t = H_t - threshold S_t`` -> IR ``lif`` ``soft``.

    ``beta`` is clamped to [0, 1]. A per-neuron beta or threshold gives an IR ``cubalif`` with
    ``syn_decay = 0`` (the same equations with per-neuron parameters).
    """
    mech = _snn_check(rec, module)
    x, value, path = _snn_input_and_state(rec, module, args, 1)
    beta = np.clip(_snn_param(module.beta), 0.0, 1.0)
    thr = _snn_param(module.threshold)
    delayed = getattr(module, "reset_delay", True)
    reset = "hard" if mech == "zero" else ("soft-delayed" if delayed else "soft")
    if beta.size == 1 and thr.size == 1:
        op, params = "lif", dict(threshold=float(thr.reshape(())), decay=float(beta.reshape(())), reset=reset,
                                 reset_value=0.0, compare=">", decay_input=False)
    else:
        if reset == "soft":
            raise rec.refuse("has per-neuron parameters with reset_delay=False; supported: reset_delay=True")
        op, params = "cubalif", dict(syn_decay=np.zeros(1), syn_gain=np.ones(1), mem_decay=beta, mem_gain=np.ones(1),
                                     bias=np.zeros(1), threshold=thr, reset_value=np.zeros(1), reset=reset)
    add_neuron(rec, module, x, output, op, params, extra_outputs=(Membrane(path, value.t),))


@neuron_converter(lambda m: _class_is(m, "snntorch", "Synaptic"))
def snn_synaptic(rec, module, args, output):
    """snnTorch Synaptic (_neurons/synaptic.py ``_base_state_function``, ``_base_sub``,
    ``_base_zero``): ``I_t = alpha I_{t-1} + X_t``; with ``R_t = [U_{t-1} > threshold]``

    * subtract: ``U_t = beta U_{t-1} + I_t - threshold R_t``  -> IR ``cubalif`` ``soft-delayed``;
    * zero: ``U_t = (1 - R_t)(beta U_{t-1} + I_t)`` (the input is zeroed too; I is kept)
      -> IR ``cubalif`` ``zero-delayed``.
    """
    mech = _snn_check(rec, module)
    if not getattr(module, "reset_delay", True):
        raise rec.refuse("uses reset_delay=False; supported for Synaptic: reset_delay=True")
    x, value, path = _snn_input_and_state(rec, module, args, 2)
    params = dict(syn_decay=np.clip(_snn_param(module.alpha), 0, 1), syn_gain=np.ones(1),
                  mem_decay=np.clip(_snn_param(module.beta), 0, 1), mem_gain=np.ones(1), bias=np.zeros(1),
                  threshold=_snn_param(module.threshold), reset_value=np.zeros(1),
                  reset="soft-delayed" if mech == "subtract" else "zero-delayed")
    add_neuron(rec, module, x, output, "cubalif", params,
               extra_outputs=(Membrane(path, value.t), Membrane(path, value.t)))


# --------------------------------------------------------------------------- unsupported neurons


def _is_unknown_neuron(module) -> bool:
    root = type(module).__module__.split(".")[0]
    if root == "spikingjelly":
        return "neuron" in type(module).__module__
    if root == "snntorch":
        return "_neurons" in type(module).__module__
    return False


SUPPORTED_NEURONS = ("SpikingJelly IFNode, LIFNode, ParametricLIFNode; snnTorch Leaky, Synaptic; modules with "
                     "ir_node() (neurosim's LIF, ILIF, HoyerSpike)")


@neuron_converter(_is_unknown_neuron)
def unknown_neuron(rec, module, args, output):
    raise rec.refuse(f"is a neuron model the importer does not convert (supported: {SUPPORTED_NEURONS})")


# --------------------------------------------------------------------------- blocks that export themselves


class _BuilderShim:
    """``exporter.builder`` for a module's own ``export``: each op method adds a recorded node."""

    def __init__(self, rec):
        self.rec = rec

    def __getattr__(self, op):
        def add(*inputs, name=None, **params):
            return self.rec.add_node(op, inputs, params, name=name)
        return add


class _ExporterShim:
    def __init__(self, rec):
        self.builder = _BuilderShim(rec)


#: neurosim blocks whose forward has no op-by-op IR form: RepConv and SepRepConv pad with a
#: BatchNorm's value (their ``export`` is the re-parameterised convolution, exact in float64);
#: the retina ASD integrates over time in a Python loop (its ``export`` is the IR ``li``)
SELF_EXPORTING = ("RepConv", "SepRepConv", "ASD")
SEQUENCE_BLOCKS = ("ASD",)


@neuron_converter(lambda m: type(m).__module__.startswith("neurosim.models") and type(m).__name__ in SELF_EXPORTING)
def own_block(rec, module, args, output):
    value = rec.value(args[0])
    if (value.layout == "seq") != (type(module).__name__ in SEQUENCE_BLOCKS):
        raise rec.refuse("receives a tensor of another time layout than its forward expects")
    key = ("block", id(module), value.node)
    if key in rec.memo:
        node = rec.memo[key]
    else:
        path = rec.paths.get(id(module), type(module).__name__)
        node = module.export(_ExporterShim(rec), value.node, path)
        rec.memo[key] = node
        rec.decisions.append(f"'{path}' ({type(module).__name__}) exported by its own re-parameterisation")
    rec.tag(output, Value(node, value.layout, value.t))
