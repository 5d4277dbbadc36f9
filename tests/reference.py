"""A dense reference of the IR semantics, written apart from the engine.

Plain numpy in torch layout (C, H, W), every node computed densely from the equations in
the node docstrings; counts (synaptic ops, MACs) computed from the output side by brute
force, not from the engine's per-event fan-out. Fixed-point mode takes the integer weights
and units from the FixedPointPlan (the quantization rules are tested separately) and does
its own integer arithmetic.
"""
from __future__ import annotations

import numpy as np

from neurosim.ir import nodes as ir


def _pad(x, ph, pw, value=0.0):
    return np.pad(x, ((0, 0), (ph, ph), (pw, pw)), constant_values=value)


def conv_ref(x, weight, stride, padding, groups):
    """Direct cross-correlation: loop over kernel taps, einsum over channels."""
    cout, cin_g, kh, kw = weight.shape
    c, h, w = x.shape
    sh, sw = stride
    ph, pw = padding
    ho = (h + 2 * ph - kh) // sh + 1
    wo = (w + 2 * pw - kw) // sw + 1
    xp = _pad(x, ph, pw)
    out = np.zeros((cout, ho, wo), dtype=np.result_type(x, weight))
    cout_g = cout // groups
    for g in range(groups):
        xs = xp[g * cin_g:(g + 1) * cin_g]
        ws = weight[g * cout_g:(g + 1) * cout_g]
        for u in range(kh):
            for v in range(kw):
                patch = xs[:, u:u + sh * (ho - 1) + 1:sh, v:v + sw * (wo - 1) + 1:sw]
                out[g * cout_g:(g + 1) * cout_g] += np.einsum("oc,chw->ohw", ws[:, :, u, v], patch)
    return out


def pool_ref(x, kernel, stride, padding, mode):
    c, h, w = x.shape
    kh, kw = kernel
    sh, sw = stride
    ph, pw = padding
    ho = (h + 2 * ph - kh) // sh + 1
    wo = (w + 2 * pw - kw) // sw + 1
    xp = _pad(x.astype(np.float64), ph, pw, -np.inf if mode == "max" else 0.0)
    out = np.full((c, ho, wo), -np.inf if mode == "max" else 0.0)
    for u in range(kh):
        for v in range(kw):
            patch = xp[:, u:u + sh * (ho - 1) + 1:sh, v:v + sw * (wo - 1) + 1:sw]
            out = np.maximum(out, patch) if mode == "max" else out + patch
    return out / (kh * kw) if mode == "avg" else out


def param_ref(node, field, shape, dtype):
    """A per-neuron parameter broadcast to ``shape``: one value, one per channel, or one per neuron."""
    a = np.asarray(getattr(node, field), dtype=dtype)
    if a.size == 1:
        a = a.reshape(())
    elif len(shape) == 3 and a.shape == (shape[0],):
        a = a[:, None, None]
    return np.broadcast_to(a, shape)


def conv_synops_ref(x, node):
    """Brute force from the output side: every output neuron counts the spike values in its
    receptive field (inside the map), summed over its group's input channels."""
    ones = np.ones_like(node.weight, dtype=np.float64)
    return float(conv_ref(x.astype(np.float64), ones, node.stride, node.padding, node.groups).sum())


def conv_macs_ref(in_shape, node):
    return conv_synops_ref(np.ones(in_shape), node)


class Reference:
    """Run a graph densely. ``dtype`` float32/float64, or ``plan`` for fixed point."""

    def __init__(self, graph, dtype=np.float64, plan=None):
        self.graph = graph
        self.dtype = dtype
        self.plan = plan

    # units helpers (fixed point)
    def _unit(self, name):
        return self.plan.unit[name] if self.plan is not None else None

    def _to_float(self, name, value):
        unit = self._unit(name)
        return value if unit in (None, 1.0) else value * unit

    def _to_units(self, name, value, unit):
        if self._unit(name) == unit:
            return value
        return np.rint(self._to_float(name, value) / unit).astype(np.int64)

    def run(self, inputs):
        g = self.graph
        if not isinstance(inputs, dict):
            inputs = {g.input_names[0]: inputs}
        inputs = {k: (v[None] if v.ndim == len(g.shapes[k]) + 1 else v) for k, v in inputs.items()}
        batch, steps = next(iter(inputs.values())).shape[:2]
        outs = {n: np.zeros((batch, steps) + g.shapes[n]) for n in g.outputs}
        counts = {n.name: {f: np.zeros((batch, steps)) for f in ("syn_ops", "macs", "out_spikes", "out_nonzero", "neuron_updates")}
                  for n in g.nodes}
        for n in g.nodes:
            counts[n.name]["syn_ops_per_channel"] = np.zeros((batch, steps, g.shapes[n.name][0]))
            counts[n.name]["out_spikes_per_channel"] = np.zeros((batch, steps, g.shapes[n.name][0]))
            counts[n.name]["event_map"] = np.zeros(g.shapes[n.name])
        for b in range(batch):
            state = {}
            for t in range(steps):
                vals = {}
                for node in g.nodes:
                    y = self._node(node, vals, inputs, b, t, state, counts[node.name])
                    vals[node.name] = y
                    if g.kinds[node.name] != "analog":
                        counts[node.name]["out_spikes"][b, t] = float(np.sum(y))
                        counts[node.name]["out_nonzero"][b, t] = float(np.count_nonzero(y))
                        per_channel = y.reshape(y.shape[0], -1).sum(axis=1)
                        counts[node.name]["out_spikes_per_channel"][b, t] = per_channel
                        counts[node.name]["event_map"] += y
                for n in g.outputs:
                    outs[n][b, t] = self._to_float(n, vals[n]) if self.plan is not None else vals[n]
        return outs, counts

    def _node(self, node, vals, inputs, b, t, state, count):
        g, plan, dt = self.graph, self.plan, self.dtype
        xs = [vals[s] for s in node.inputs]
        in_kinds = [g.kinds[s] for s in node.inputs]
        if isinstance(node, ir.Input):
            x = inputs[node.name][b, t]
            if plan is not None:
                return x.astype(np.int64) if node.kind != "analog" else x.astype(np.float64)
            return x.astype(dt)
        if isinstance(node, (ir.Conv2d, ir.Linear)):
            src = node.inputs[0]
            events = in_kinds[0] != "analog"
            if plan is not None:
                w, bias = plan.weights[node.name], plan.bias[node.name]
                x = xs[0] if events else self._to_float(src, xs[0])
                if not events:
                    w = w.astype(np.float64)
            else:
                w = node.weight.astype(dt)
                bias = None if node.bias is None else node.bias.astype(dt)
                x = xs[0]
            if isinstance(node, ir.Conv2d):
                y = conv_ref(x, w, node.stride, node.padding, node.groups)
                if events:
                    count["syn_ops"][b, t] = conv_synops_ref(xs[0], node)
                    ones = np.ones_like(node.weight, dtype=np.float64)
                    count["syn_ops_per_channel"][b, t] = conv_ref(
                        xs[0].astype(np.float64), ones, node.stride, node.padding, node.groups).sum(axis=(1, 2))
                else:
                    count["macs"][b, t] = conv_macs_ref(x.shape, node)
            else:
                y = w @ x
                if events:
                    count["syn_ops"][b, t] = float(np.sum(xs[0])) * w.shape[0]
                    count["syn_ops_per_channel"][b, t] = float(np.sum(xs[0]))
                else:
                    count["macs"][b, t] = w.size
            if plan is not None and not events:
                y = np.rint(y).astype(np.int64)
            if bias is not None:
                y = y + (bias[:, None, None] if y.ndim == 3 else bias)
            return y.astype(dt) if plan is None else y
        if isinstance(node, ir.Add):
            if plan is not None:
                unit = self._unit(node.name)
                if unit is None:
                    return sum(self._to_float(s, v) for s, v in zip(node.inputs, xs))
                return sum(self._to_units(s, v, unit) for s, v in zip(node.inputs, xs))
            return sum(xs[1:], xs[0]).astype(dt)
        if isinstance(node, ir.Concat):
            if plan is not None and len({self._unit(s) for s in node.inputs}) != 1:
                xs = [self._to_float(s, v) for s, v in zip(node.inputs, xs)]
            return np.concatenate(xs, axis=0)
        if isinstance(node, (ir.MaxPool2d, ir.SumPool2d, ir.AvgPool2d)):
            mode = {"maxpool2d": "max", "sumpool2d": "sum", "avgpool2d": "avg"}[node.op]
            x = xs[0] if plan is None else self._to_float(node.inputs[0], xs[0])
            y = pool_ref(x, node.kernel, node.stride, node.padding, mode)
            if plan is not None and g.kinds[node.name] != "analog":
                return y.astype(np.int64)
            return y.astype(dt) if plan is None else y
        if isinstance(node, ir.Upsample):
            return xs[0].repeat(node.scale, axis=1).repeat(node.scale, axis=2)
        if isinstance(node, ir.Flatten):
            return xs[0].reshape(-1)
        if isinstance(node, ir.Scale):
            x = xs[0] if plan is None else self._to_float(node.inputs[0], xs[0])
            return x * param_ref(node, "scale", x.shape, x.dtype if plan is None else np.float64)
        if node.is_neuron:
            count["neuron_updates"][b, t] = xs[0].size
            return self._neuron(node, xs[0], state)
        x = xs[0] if plan is None else self._to_float(node.inputs[0], xs[0])
        if isinstance(node, ir.ReLU):
            return np.maximum(x, 0)
        if isinstance(node, ir.SiLU):
            return x / (1 + np.exp(-x))
        if isinstance(node, ir.Sigmoid):
            return 1 / (1 + np.exp(-x))
        if isinstance(node, ir.GlobalAvgPool):
            return x.mean(axis=(1, 2), keepdims=True)
        if isinstance(node, ir.Mul):
            other = xs[1] if plan is None else self._to_float(node.inputs[1], xs[1])
            return x * other
        raise NotImplementedError(node.op)

    def _neuron(self, node, x, state):
        name = node.name
        if self.plan is not None:
            return self._neuron_fixed(node, x, state)
        dt = self.dtype
        x = x.astype(dt)
        v = state.get(name, np.zeros_like(x))
        if isinstance(node, ir.HoyerSpike):
            return ((x / dt(node.clip)) >= dt(node.threshold)).astype(dt)
        if isinstance(node, ir.Threshold):
            return (x > param_ref(node, "threshold", x.shape, dt)).astype(dt)
        if isinstance(node, (ir.LI, ir.CubaLI, ir.CubaLIF)):
            return self._current_based(node, x, state)
        decay = dt(getattr(node, "decay", 1.0))
        if getattr(node, "decay_input", False):
            h = v + (x - v) * (dt(1.0) - decay)
        else:
            h = decay * v + x
        if isinstance(node, ir.ILIF):
            s = np.rint(np.clip(h, 0, node.max_spike)).astype(dt)
            state[name] = h - s
            return s
        th = dt(node.threshold)
        fires = (lambda u: u > th) if node.compare == ">" else (lambda u: u >= th)
        if node.reset == "soft-delayed":  # the last step's spike, recomputed from the kept H
            h = h - th * fires(v).astype(dt)
        s = fires(h).astype(dt)
        if node.reset == "hard":
            state[name] = np.where(s > 0, dt(node.reset_value), h)
        else:
            state[name] = h if node.reset == "soft-delayed" else h - th * s
        return s

    def _current_based(self, node, x, state):
        """LI: V = d V + g X + b. CubaLI/CubaLIF: I = a_s I + g_s X, H = a_m V + g_m I + b;
        CubaLIF spikes where H > threshold and resets V to reset_value there."""
        dt = self.dtype
        P = lambda f: param_ref(node, f, x.shape, dt)  # noqa: E731
        i_prev, v_prev = state.get(node.name, (np.zeros_like(x), np.zeros_like(x)))
        if isinstance(node, ir.LI):
            i, h = x, P("decay") * v_prev + P("gain") * x + P("bias")
        else:
            i = P("syn_decay") * i_prev + P("syn_gain") * x
            h = P("mem_decay") * v_prev + P("mem_gain") * i + P("bias")
        if not isinstance(node, ir.CubaLIF):
            state[node.name] = (i, h)
            return h
        fired_before = v_prev > P("threshold")
        if node.reset == "soft-delayed":
            h = np.where(fired_before, h - P("threshold"), h)
        elif node.reset == "zero-delayed":
            h = np.where(fired_before, 0, h).astype(dt)
        s = (h > P("threshold")).astype(dt)
        state[node.name] = (i, np.where(s > 0, P("reset_value"), h) if node.reset == "hard" else h)
        return s

    def _neuron_fixed(self, node, x, state):
        plan = self.plan
        name = node.name
        src = node.inputs[0]
        unit = plan.neuron_unit[name]
        x = self._to_units(src, x, unit)
        cfg = plan.config
        lo, hi = cfg.state_range
        one = 1 << cfg.frac_bits
        shift = cfg.decay_bits
        v = state.get(name, np.zeros(x.shape, np.int64))
        if isinstance(node, ir.HoyerSpike):
            return (x >= one).astype(np.int64)
        if isinstance(node, ir.Threshold):
            thr = np.rint(param_ref(node, "threshold", x.shape, np.float64) / unit).astype(np.int64)
            return (x > thr).astype(np.int64)
        decay = getattr(node, "decay", 1.0)
        if getattr(node, "decay_input", False):
            k = int(round((1 - decay) * (1 << shift)))
            h = v + np.right_shift((x - v) * k, shift)
        else:
            d = int(round(decay * (1 << shift)))
            h = np.right_shift(v * d, shift) + x
        h = np.clip(h, lo, hi)
        if isinstance(node, ir.ILIF):
            c = np.clip(h, 0, node.max_spike * one)
            s = np.rint(c / one).astype(np.int64)  # exact: c / one is a dyadic float, rint is half-even
            state[name] = h - s * one
            return s
        fires = (lambda u: u > one) if node.compare == ">" else (lambda u: u >= one)
        if node.reset == "soft-delayed":
            h = np.clip(h - one * fires(v), lo, hi)
        s = fires(h).astype(np.int64)
        reset = int(np.rint(node.reset_value / unit))
        if node.reset == "hard":
            state[name] = np.where(s > 0, reset, h)
        else:
            state[name] = h if node.reset == "soft-delayed" else h - one * s
        return s
