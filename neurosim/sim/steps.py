"""One Step class per node type: prepared parameters, buffers, state, and one timestep's work
for all the samples of a chunk at once.

Tensors travel between steps as :class:`Act`: a dense channels-last array ``[B, size]`` (one
flat row per sample), plus per-sample event lists for nodes that emit spikes. In fixed-point
mode an Act carries integer values in units of ``Act.unit`` (None for float values).

A step's counts for timestep t go to ``trace.<field>[rows, t]``, ``rows`` being the chunk's
slice of the run's samples.
"""
from __future__ import annotations

import itertools

import numpy as np

from ..ir.graph import Graph
from . import batch_kernels as bk
from . import kernels as k
from .dense_ops import conv2d_dense, conv_tap_count, pool_dense
from .trace import COUNT_FIELDS

_stamps = itertools.count(1)

#: an analog input with fewer nonzero entries than this fraction is scattered like events
SPARSE_ANALOG = 0.05


def new_stamp() -> int:
    """A number never handed out before: the identity of freshly computed values."""
    return next(_stamps)


class Act:
    """One node's output for one timestep: ``dense`` [B, size] and, for spikes, the event lists
    ``idx[b, :n[b]]``, ``val[b, :n[b]]`` with ``total[b]`` the sum of sample b's spike values.

    ``stamp`` identifies the values: two Acts with the same stamp hold the same values (a step
    fed by unchanged values may reuse its previous result); None means "not tracked"."""

    __slots__ = ("dense", "idx", "val", "n", "unit", "total", "stamp")

    def __init__(self, dense, idx=None, val=None, n=None, unit=None, total=None, stamp=None):
        self.dense, self.idx, self.val, self.n, self.unit = dense, idx, val, n, unit
        self.total, self.stamp = total, stamp

    @property
    def is_events(self) -> bool:
        return self.idx is not None

    def as_float(self) -> np.ndarray:
        return self.dense if self.unit in (None, 1.0) else self.dense * self.unit

    def in_units(self, unit: float) -> np.ndarray:
        """Integer values in units of ``unit`` (fixed-point mode)."""
        if self.unit == unit:
            return self.dense
        return np.rint(self.as_float() / unit).astype(np.int64)

    def nonzero(self) -> np.ndarray:
        """Nonzero entries per sample, [B]."""
        return self.n if self.is_events else bk.count_nonzero_rows(self.dense)


def hwc_dims(shape):
    """(H, W, C) of a (C, H, W) shape, (1, 1, N) of a flat one."""
    return (shape[1], shape[2], shape[0]) if len(shape) == 3 else (1, 1, shape[0])


def to_torch_layout(act: Act, shape, fixed) -> np.ndarray:
    """[B, *shape] in torch's (C, H, W) order."""
    values = act.as_float() if fixed is not None else act.dense
    if len(shape) == 1:
        return values
    h, w, c = hwc_dims(shape)
    return values.reshape(-1, h, w, c).transpose(0, 3, 1, 2)


class Step:
    """Base: holds the node, its shapes/kinds and its output buffers ([B, size], made by
    :meth:`start` for the chunk's batch)."""

    #: a step that may reuse its previous result when its inputs are unchanged (stateless, dense)
    cacheable = False
    #: output buffers (out, idx, val) lent by the engine's BufferPool for one timestep, from the
    #: node's run to its last consumer's, instead of owned: set by steps that write every entry
    #: of ``out`` at every run and keep nothing in it across timesteps (spiking neurons)
    pooled = False

    def __init__(self, node, graph: Graph, dtype, fixed, fused_adds):
        self.node = node
        self.graph = graph
        self.fixed = fixed
        self.dtype = dtype
        self.shape = graph.shapes[node.name]
        self.size = int(np.prod(self.shape))
        self.kind = graph.kinds[node.name]
        self.in_shapes = [graph.shapes[s] for s in node.inputs]
        self.in_kinds = [graph.kinds[s] for s in node.inputs]
        self.unit = fixed.unit[node.name] if fixed is not None else None
        self.emits_events = self.kind != "analog"
        self.keeps_list = self.emits_events
        self.out_dtype = self._out_dtype()
        self.channels = hwc_dims(self.shape)[2]
        self.event_acc = None  # [size] events per position over the run, made by start
        self.event_dtype = np.float64  # set per run by the engine (see buffers.event_map_dtype)
        self.batch = 0

    def _out_dtype(self):
        if self.fixed is None:
            return self.dtype
        return np.int64 if self.unit is not None else np.float64

    def start(self, batch: int):
        """Buffers for ``batch`` samples and fresh state (start of a chunk)."""
        if self.event_acc is None and self.emits_events:
            self.event_acc = np.zeros(self.size, self.event_dtype)  # handed to the last run's trace
        if batch != self.batch:
            self.batch = batch
            if self.pooled:
                self.out = self.idx = self.val = None
            else:
                self.out = np.zeros((batch, self.size), self.out_dtype)
                self.idx = np.empty((batch, self.size), np.int64) if self.keeps_list else None
                self.val = np.empty((batch, self.size), self.out_dtype) if self.keeps_list else None
            self.totals = np.zeros(batch, np.float64)
        # every step writes its whole output before reading it, except those that only clear
        # what they wrote last timestep: make their first clear a full one
        self.n_prev = np.full(batch, self.size, np.int64)
        self.cached = None
        self.reset_state()

    def buffer_bytes(self) -> int:
        """Bytes of owned buffers and state per sample (pooled buffers are counted by the pool)."""
        if self.pooled:
            return 0
        item = np.dtype(self.out_dtype).itemsize
        return self.size * (item + (8 + item if self.keeps_list else 0))

    def pooled_specs(self, batch: int) -> list[tuple[str, tuple[int, int], np.dtype]]:
        """(attribute, shape, dtype) of each buffer lent when :attr:`pooled`: ``out``, and the
        event list ``idx``, ``val`` of a step that keeps one."""
        specs = [("out", (batch, self.size), np.dtype(self.out_dtype))]
        if self.keeps_list:
            specs += [("idx", (batch, self.size), np.dtype(np.int64)), ("val", (batch, self.size), np.dtype(self.out_dtype))]
        return specs

    def reset_state(self):
        pass

    def clear_sparse(self):
        """Zero each sample's positions written last timestep (cheap when few were)."""
        bk.clear_events(self.out, self.idx, self.n_prev)

    def emit(self, n: np.ndarray, trace, rows, t: int) -> Act:
        """Record the event lists of this timestep in the trace and wrap them in an Act."""
        self.n_prev = n
        totals = np.zeros(len(n), np.float64)
        bk.record_events(self.idx, self.val, n, self.channels, trace.out_spikes_per_channel[rows, t],
                         self.event_acc, totals)
        trace.out_nonzero[rows, t] = n
        trace.out_spikes[rows, t] = totals
        return Act(self.out, self.idx, self.val, n, 1.0 if self.fixed is not None else None, total=totals)

    def finalize(self, trace):
        """Give the run's accumulated event map to the trace (called once per run): the trace
        takes the array itself (a torch-layout view of it), so the map exists once in memory."""
        if self.event_acc is None:
            return
        h, w, c = hwc_dims(self.shape)
        acc = self.event_acc.reshape(h, w, c).transpose(2, 0, 1) if len(self.shape) == 3 else self.event_acc
        if trace.event_map is None:
            trace.event_map = acc.reshape(self.shape)
            self.event_acc = None  # a fresh one is made by the next run's start
        else:
            trace.event_map += acc.reshape(trace.event_map.shape)
            self.event_acc.fill(0)

    @staticmethod
    def record_input(act: Act, trace, rows, t) -> np.ndarray:
        """Count the input's nonzero entries (returned, per sample) and spikes in the trace."""
        nonzero = act.nonzero()
        trace.in_nonzero[rows, t] = nonzero
        if act.is_events:
            trace.in_spikes[rows, t] = act.total
        return nonzero

    def reuse(self, inputs, trace, rows, t):
        """The previous result when this step is cacheable and its inputs are the values it last
        computed from: the same outputs and the same counts (copied from that timestep)."""
        if not self.cacheable or self.cached is None:
            return None
        stamps, t_prev, act = self.cached
        if any(a.stamp is None for a in inputs) or tuple(a.stamp for a in inputs) != stamps:
            return None
        for f in COUNT_FIELDS:
            column = getattr(trace, f)
            column[rows, t] = column[rows, t_prev]
        return act

    def remember(self, inputs, t, act: Act) -> Act:
        """Stamp a freshly computed result and keep it for :meth:`reuse`."""
        if self.cacheable and all(a.stamp is not None for a in inputs):
            act.stamp = new_stamp()
            self.cached = (tuple(a.stamp for a in inputs), t, act)
        return act


class InputStep(Step):
    def feed(self, x_chw, trace, rows, t, unchanged: bool = False) -> Act:
        """``x_chw`` [B, *shape]; ``unchanged``: the same values as the previous timestep."""
        if unchanged and not self.emits_events and self.cached is not None:
            return self.cached  # the Act of the previous timestep, stamp included
        x = np.asarray(x_chw)
        flat = x.transpose(0, 2, 3, 1).reshape(len(x), -1) if x.ndim == 4 else x.reshape(len(x), -1)
        if not self.emits_events:
            np.copyto(self.out, flat, casting="unsafe")
            self.cached = Act(self.out, unit=None, stamp=new_stamp())
            return self.cached
        if self.fixed is not None and np.any(flat != np.rint(flat)):
            raise ValueError(f"input '{self.node.name}' is declared as spikes but holds non-integer values")
        np.copyto(self.out, flat, casting="unsafe")
        n = np.zeros(self.batch, np.int64)
        bk.compact_events(self.out, self.idx, self.val, n)
        return self.emit(n, trace, rows, t)


class SynapticStep(Step):
    """Conv2d and Linear: event-driven when fed by spikes, dense (MACs) when fed by analog values."""

    def __init__(self, node, graph, dtype, fixed, fused_adds):
        super().__init__(node, graph, dtype, fixed, fused_adds)
        self.fuse_into = next((add for add, members in fused_adds.items() if node.name in members), None)
        self.add_step = None  # set by make_step's caller via link_fusion
        if fixed is not None:
            weight = fixed.weights[node.name]
            bias = fixed.bias[node.name]
            self.w_dense = weight.astype(np.float64)
        else:
            weight = node.weight.astype(dtype, copy=False)  # float32 weights are the IR's own array
            bias = None if node.bias is None else node.bias.astype(dtype)
            self.w_dense = weight
        self.bias = bias
        self.bias_from_zero = None if bias is None else np.zeros_like(bias) + bias
        self.event_fed = self.in_kinds[0] != "analog"
        # binary spikes (every event of value 1): syn_events = syn_ops, nothing else to count
        self.binary_in = self.in_kinds[0] == "binary"
        # syn_events of integer spikes: fanout[idx // fanout_per] per nonzero event (set by _prepare)
        self.fanout = None
        self.fanout_per = 1
        # a dense node writing its own buffer is a pure function of its input: reusable
        self.cacheable = not self.event_fed and self.fuse_into is None
        # otherwise ``buffer`` rewrites out whole at every run (or scatters into the add's): lendable
        self.pooled = not self.cacheable and self.kind == "analog"
        self.in_idx = None  # value lists of a sparse analog input (see ConvStep._sparse_input)
        self._prepare(weight)

    def buffer(self, fused: bool):
        """The output buffer, holding the bias (or zeros): ``out = 0 + b``. A fused add's shared
        buffer already holds its other terms, so the bias is added to it instead."""
        if fused and self.add_step is not None:
            out = self.add_step.out
            if self.bias is not None:
                out.reshape(len(out), -1, self.bias.shape[0])[:] += self.bias
            return out
        if self.bias is None:
            self.out.fill(0)
        else:  # one write pass instead of a fill and an add; 0 + b, so -0.0 biases give +0.0
            self.out.reshape(len(self.out), -1, self.bias.shape[0])[:] = self.bias_from_zero
        return self.out

    def run(self, inputs, trace, rows, t, fused=False) -> Act:
        if (act := self.reuse(inputs, trace, rows, t)) is not None:
            return act
        x = inputs[0]
        out = self.buffer(fused)
        nonzero = self.record_input(x, trace, rows, t)
        if self.event_fed:
            self._scatter(x, out, trace, rows, t)
            self._count_events(x, trace, rows, t)
        else:
            self._dense(x, out, int(nonzero.sum()))
            trace.macs[rows, t] = self.macs
        return self.remember(inputs, t, Act(out, unit=self.unit))

    def _count_events(self, x: Act, trace, rows, t):
        """``syn_events``: the fan-out of the nonzero input events, whatever their values. Event
        values are whole numbers >= 1 (the IR's event kinds), so a sample whose spike total equals
        its event count has only 1s: then it is syn_ops, which the scatter has just counted (always
        so for binary inputs: no extra work). Otherwise one pass over the event lists sums the
        per-position fan-out table; the scatter kernels are untouched."""
        if self.binary_in or np.array_equal(x.total, x.n):
            trace.syn_events[rows, t] = trace.syn_ops[rows, t]
            return
        counted = np.empty(len(x.n), np.float64)
        bk.fanout_events(x.idx, x.val, x.n, self.fanout_per, self.fanout, counted)
        trace.syn_events[rows, t] = counted


class ConvStep(SynapticStep):
    def _prepare(self, weight):
        node = self.node
        cout, cin_g, kh, kw = weight.shape
        g = node.groups
        cout_g = cout // g
        # wt[c, u, v, o] = W[group(c) * cout_g + o, c - group(c) * cin_g, u, v]
        self.row_path = g == 1 and tuple(node.stride) == (1, 1)
        self.depthwise = g == cout and cin_g == 1
        if not (self.row_path or self.depthwise):  # the general kernel's layout (the others have their own)
            per_group = weight.reshape(g, cout_g, cin_g, kh, kw).transpose(0, 2, 3, 4, 1)
            self.wt = np.ascontiguousarray(per_group.reshape(g * cin_g, kh, kw, cout_g))
        if self.depthwise:
            self.wdw = k.depthwise_weight_layout(weight)
        if self.row_path:
            self.wrow = np.ascontiguousarray(weight[:, :, :, ::-1].transpose(1, 2, 3, 0)).ravel()
        c, h, w = self.in_shapes[0]
        self.in_hwc = (h, w, c)
        self.macs = conv_tap_count(h, w, kh, kw, node.stride, node.padding, self.shape[1], self.shape[2]) * cin_g * cout
        if self.event_fed and not self.binary_in:
            # fan-out of an input pixel (y, x): cout_g x the output taps covering row y and column x,
            # the same tap ranges the scatter kernels walk; channels-last positions idx // C
            _, ho, wo = self.shape
            ny = k._tap_table(h, node.padding[0], node.stride[0], kh, ho)[:, 2]
            nx = k._tap_table(w, node.padding[1], node.stride[1], kw, wo)[:, 2]
            self.fanout = np.ascontiguousarray((ny[:, None] * nx[None, :]).ravel() * cout_g, np.int64)
            self.fanout_per = c

    def _scatter(self, x: Act, out, trace, rows, t):
        totals, per_channel = self._scatter_events(x.idx, x.val, x.n, out)
        trace.syn_ops[rows, t] = totals
        trace.syn_ops_per_channel[rows, t] = per_channel

    def _scatter_events(self, idx, val, n, out):
        """Scatter event lists into ``out``; returns the synaptic ops per sample [B] and per
        output channel [B, C_out] (or a [B, 1] column when every channel gets the same)."""
        node = self.node
        h, w, c = self.in_hwc
        cout, ho, wo = self.shape
        kh, kw = node.kernel_size
        totals = self.totals
        if self.row_path:
            bk.conv2d_events_rows(idx, val, n, w, c, self.wrow, cout, node.padding[0], node.padding[1],
                                  kh, kw, ho, wo, out, totals)
            return totals, (totals / cout)[:, None]
        synops_group = np.zeros((self.batch, node.groups), np.float64)
        if self.depthwise:
            bk.conv2d_events_depthwise(idx, val, n, w, c, self.wdw, node.stride[0], node.stride[1],
                                       node.padding[0], node.padding[1], kh, kw, ho, wo, out, synops_group, totals)
            return totals, synops_group
        bk.conv2d_events(idx, val, n, w, c, self.wt, node.groups, cout, node.stride[0], node.stride[1],
                         node.padding[0], node.padding[1], kh, kw, ho, wo, out, synops_group, totals)
        return totals, np.repeat(synops_group, cout // node.groups, axis=1)

    def _dense(self, x: Act, out, nonzero: int):
        if self.fixed is None and self._sparse_input(x, nonzero):
            self._scatter_events(self.in_idx, self.in_val, self.in_n, out)
            return
        node = self.node
        h, w, c = self.in_hwc
        values = x.as_float() if self.fixed is not None else x.dense
        y = conv2d_dense(values.reshape(-1, h, w, c), self.w_dense, node.stride, node.padding, node.groups)
        if self.fixed is not None:
            y = np.rint(y).astype(np.int64)
        out += y.reshape(len(out), -1)

    def _sparse_input(self, x: Act, nonzero: int) -> bool:
        """Whether the analog input is sparse enough (below SPARSE_ANALOG of its entries nonzero,
        as event-camera histograms are) to be scattered value by value like events rather than
        run through a dense im2col product. Only the simulation's speed depends on it: the
        result is the same sum (up to float rounding order) and the trace still counts every
        MAC, as the hardware computes an analog-fed layer densely. Leaves the value lists in
        ``in_idx``, ``in_val``, ``in_n``."""
        if x.dense.dtype != self.dtype or nonzero >= SPARSE_ANALOG * x.dense.size:
            return False
        if self.in_idx is None or self.in_idx.shape != x.dense.shape:
            self.in_idx = np.empty(x.dense.shape, np.int64)
            self.in_val = np.empty(x.dense.shape, self.dtype)
            self.in_n = np.zeros(len(x.dense), np.int64)
        bk.compact_events(x.dense, self.in_idx, self.in_val, self.in_n)
        return True


class LinearStep(SynapticStep):
    def _prepare(self, weight):
        self.wt = np.ascontiguousarray(weight.T)
        self.macs = int(weight.shape[0] * weight.shape[1])
        self.fanout = np.array([weight.shape[0]], np.int64)  # every input reaches every output
        self.fanout_per = int(weight.shape[1])

    def _scatter(self, x: Act, out, trace, rows, t):
        bk.linear_events(x.idx, x.val, x.n, self.wt, out, self.totals)
        trace.syn_ops[rows, t] = self.totals
        trace.syn_ops_per_channel[rows, t] = x.total[:, None]

    def _dense(self, x: Act, out, nonzero: int):
        values = x.as_float() if self.fixed is not None else x.dense
        y = values @ self.w_dense.T
        if self.fixed is not None:
            y = np.rint(y).astype(np.int64)
        out += y


class PoolStep(Step):
    def __init__(self, node, graph, dtype, fixed, fused_adds):
        super().__init__(node, graph, dtype, fixed, fused_adds)
        self.mode = {"maxpool2d": "max", "sumpool2d": "sum", "avgpool2d": "avg"}[node.op]
        kh, kw = node.kernel
        self.scale = 1.0 if self.mode != "avg" else 1.0 / (kh * kw)
        c, h, w = self.in_shapes[0]
        self.in_hwc = (h, w, c)
        self.keeps_list = True  # the kernel lists touched positions even when the output is analog
        self.cacheable = self.in_kinds[0] == "analog"
        self.window_ops = conv_tap_count(h, w, kh, kw, node.stride, node.padding, self.shape[1], self.shape[2]) * c

    def run(self, inputs, trace, rows, t, fused=False) -> Act:
        x = inputs[0]
        node = self.node
        h, w, c = self.in_hwc
        _, ho, wo = self.shape
        if x.is_events:
            self.record_input(x, trace, rows, t)
            if self.emits_events:
                self.clear_sparse()
            else:
                self.out.fill(0)
            scale = self.out_dtype(self.scale) if self.fixed is None else self.scale
            n = np.zeros(self.batch, np.int64)
            bk.pool_events(x.idx, x.val, x.n, w, c, node.kernel[0], node.kernel[1], node.stride[0],
                           node.stride[1], node.padding[0], node.padding[1], ho, wo, scale,
                           self.mode == "max", self.out, self.idx, n)
            if self.emits_events:
                bk.gather_values(self.out, self.idx, n, self.val)
                return self.emit(n, trace, rows, t)
            return Act(self.out, unit=None)
        if (act := self.reuse(inputs, trace, rows, t)) is not None:
            return act
        self.record_input(x, trace, rows, t)
        values = x.as_float() if self.fixed is not None else x.dense
        y = pool_dense(values.reshape(-1, h, w, c), node.kernel, node.stride, node.padding, self.mode)
        self.out[:] = y.reshape(len(y), -1)
        trace.analog_ops[rows, t] = self.window_ops
        return self.remember(inputs, t, Act(self.out, unit=None))


class UpsampleStep(Step):
    def run(self, inputs, trace, rows, t, fused=False) -> Act:
        x = inputs[0]
        c, h, w = self.in_shapes[0]
        s = self.node.scale
        self.record_input(x, trace, rows, t)
        if x.is_events:
            self.clear_sparse()
            n = np.zeros(self.batch, np.int64)
            bk.upsample_events(x.idx, x.val, x.n, w, c, s, self.out, self.idx, self.val, n)
            return self.emit(n, trace, rows, t)
        y = x.dense.reshape(-1, h, w, c).repeat(s, axis=1).repeat(s, axis=2)
        self.out[:] = y.reshape(len(y), -1)
        return Act(self.out, unit=self.unit)


class ConcatStep(Step):
    def run(self, inputs, trace, rows, t, fused=False) -> Act:
        c_out = self.channels
        trace.in_nonzero[rows, t] = sum(a.nonzero() for a in inputs)
        if self.emits_events:
            self.clear_sparse()
            n = np.zeros(self.batch, np.int64)
            offset = 0
            for a, shape in zip(inputs, self.in_shapes):
                c_in = hwc_dims(shape)[2]
                bk.remap_channels_events(a.idx, a.val, a.n, c_in, c_out, offset, self.out, self.idx, self.val, n)
                offset += c_in
            return self.emit(n, trace, rows, t)
        units = {a.unit for a in inputs}
        same_unit = len(units) == 1
        parts = []
        for a, shape in zip(inputs, self.in_shapes):
            h, w, c = hwc_dims(shape)
            values = a.dense if (self.fixed is None or same_unit) else a.as_float()
            parts.append(values.reshape(-1, h * w, c))
        joined = np.concatenate(parts, axis=2).reshape(self.batch, -1)
        if self.fixed is not None and not same_unit and self.out.dtype != joined.dtype:
            self.out = np.zeros((self.batch, self.size), joined.dtype)
        self.out[:] = joined
        return Act(self.out, unit=units.pop() if same_unit else None)


class FlattenStep(Step):
    def run(self, inputs, trace, rows, t, fused=False) -> Act:
        x = inputs[0]
        shape = self.in_shapes[0]
        self.record_input(x, trace, rows, t)
        h, w, c = hwc_dims(shape)
        if x.is_events:
            self.clear_sparse()
            n = np.zeros(self.batch, np.int64)
            bk.flatten_events(x.idx, x.val, x.n, h, w, c, self.out, self.idx, self.val, n)
            return self.emit(n, trace, rows, t)
        self.out[:] = x.dense.reshape(-1, h * w, c).transpose(0, 2, 1).reshape(self.batch, -1)
        return Act(self.out, unit=self.unit)


class AddStep(Step):
    def __init__(self, node, graph, dtype, fixed, fused_adds):
        super().__init__(node, graph, dtype, fixed, fused_adds)
        self.fused_members = set(fused_adds.get(node.name, ()))

    def clear_buffer(self):
        self.out.fill(0)

    def run(self, inputs, trace, rows, t, fused=False) -> Act:
        trace.in_nonzero[rows, t] = sum(a.nonzero() for a in inputs)
        if self.emits_events:
            self.clear_sparse()
            n = np.zeros(self.batch, np.int64)
            for a in inputs:
                bk.add_events(a.idx, a.val, a.n, self.out, self.idx, n)
            bk.gather_values(self.out, self.idx, n, self.val)
            return self.emit(n, trace, rows, t)
        if not fused:
            self.out.fill(0)
        for name, a in zip(self.node.inputs, inputs):
            if fused and name in self.fused_members:
                continue
            if self.fixed is None:
                self.out += a.dense
            elif self.unit is None:
                self.out += a.as_float()
            else:
                self.out += a.in_units(self.unit)
        trace.analog_ops[rows, t] = self.size * (len(inputs) - 1)
        return Act(self.out, unit=self.unit)


class NeuronStep(Step):
    def __init__(self, node, graph, dtype, fixed, fused_adds):
        super().__init__(node, graph, dtype, fixed, fused_adds)
        self.state_dtype = np.int64 if fixed is not None else dtype
        self.in_unit = fixed.neuron_unit[node.name] if fixed is not None else None
        self.p = fixed.neuron_params(node) if fixed is not None else None
        self.pooled = self.emits_events  # every neuron kernel writes all of out at every step

    def start(self, batch: int):
        if batch != self.batch:
            self.V = np.zeros((batch, self.size), self.state_dtype)
        super().start(batch)

    def buffer_bytes(self) -> int:
        return super().buffer_bytes() + self.size * np.dtype(self.state_dtype).itemsize

    #: fire() accepts ``fresh`` (the state of a new sample, known zero, is not read): the reset
    #: then only marks V as fresh instead of zeroing it
    reads_fresh = False

    def reset_state(self):
        self.fresh = True
        if not self.reads_fresh:
            self.V.fill(0)

    def take_fresh(self) -> bool:
        """Whether this step's V is still the zero state of a new sample (then no longer)."""
        fresh, self.fresh = self.fresh, False
        return fresh

    def current(self, x: Act) -> np.ndarray:
        if self.fixed is not None:
            return x.in_units(self.in_unit)
        if x.dense.dtype != self.dtype:
            return x.dense.astype(self.dtype)
        return x.dense

    #: fire() counts the nonzero input currents itself, in its pass over them
    counts_input = False

    def run(self, inputs, trace, rows, t, fused=False) -> Act:
        X = self.current(inputs[0])
        n, total, active, nonzero = bk.counts(self.batch)
        self.fire(X, n, total, active, nonzero)
        trace.in_nonzero[rows, t] = nonzero if self.counts_input else bk.count_nonzero_rows(X)
        trace.neuron_updates[rows, t] = self.size
        trace.active_neurons[rows, t] = active
        return self.emit(n, trace, rows, t)


class LIFStep(NeuronStep):
    counts_input = True

    def fire(self, X, n, total, active, nonzero):
        node, d = self.node, self.dtype
        decay = getattr(node, "decay", 1.0)
        decay_input = getattr(node, "decay_input", False)
        hard = node.reset == "hard"
        delayed = node.reset == "soft-delayed"
        strict = node.compare == ">"
        if self.fixed is None:
            bk.lif_step(X, self.V, self.out, self.idx, self.val, d(decay), d(1.0 - decay), d(node.threshold),
                        d(node.reset_value), hard, strict, decay_input, d(0), d(0), False, delayed, n, total, active,
                        nonzero)
            return
        p = self.p
        bk.lif_step_fixed(X, self.V, self.out, self.idx, self.val, p["keep_q"] if decay_input else p["decay_q"],
                          p["decay_shift"], p["threshold"], p["reset_value"], hard, strict, decay_input, p["lo"],
                          p["hi"], delayed, n, total, active, nonzero)


class ILIFStep(NeuronStep):
    counts_input = True

    @property
    def reads_fresh(self) -> bool:
        return self.fixed is None  # the float kernel takes ``fresh``

    def fire(self, X, n, total, active, nonzero):
        node, d = self.node, self.dtype
        if self.fixed is None:
            bk.ilif_step(X, self.V, self.out, self.idx, self.val, d(node.decay), d(1.0 - node.decay),
                         d(node.max_spike), node.decay_input, self.take_fresh(), self.state_dtype(0), n, total,
                         active, nonzero)
            return
        p = self.p
        bk.ilif_step_fixed(X, self.V, self.out, self.idx, self.val,
                           p["keep_q"] if node.decay_input else p["decay_q"], p["decay_shift"], p["one"],
                           node.max_spike, node.decay_input, p["lo"], p["hi"], n, total, active, nonzero)


class HoyerStep(NeuronStep):
    def fire(self, X, n, total, active, nonzero):
        node = self.node
        if self.fixed is None:
            scaled = X / self.dtype(node.clip)
            bk.threshold_step(scaled, self.out, self.idx, self.val, self.dtype(1), self.dtype(node.threshold),
                              n, total, active)
            return
        bk.threshold_step(X, self.out, self.idx, self.val, np.int64(1), np.int64(self.p["threshold"]),
                          n, total, active)


def per_neuron_values(values: np.ndarray, shape, dtype) -> np.ndarray:
    """Torch-layout ``values`` of ``shape`` laid out channels-last, flat."""
    values = np.asarray(values)
    if len(shape) == 3:
        values = values.transpose(1, 2, 0)
    return np.ascontiguousarray(values.ravel(), dtype=dtype)


def per_neuron(node, field_name: str, shape, dtype) -> np.ndarray:
    """A per-neuron parameter of ``node`` broadcast to ``shape`` and laid out channels-last, flat."""
    return per_neuron_values(node.param(field_name, shape), shape, dtype)


class ThresholdStep(NeuronStep):
    def __init__(self, node, graph, dtype, fixed, fused_adds):
        super().__init__(node, graph, dtype, fixed, fused_adds)
        if fixed is None:
            self.thr = per_neuron(node, "threshold", self.shape, dtype)
        else:
            self.thr = per_neuron_values(self.p["thresholds"], self.shape, np.int64)

    def fire(self, X, n, total, active, nonzero):
        bk.heaviside_step(X, self.out, self.idx, self.val, self.thr, n, total, active)


class CubaStep(NeuronStep):
    """CubaLIF (spikes), and CubaLI and LI, whose output is the membrane (analog)."""

    FIELDS = ("syn_decay", "syn_gain", "mem_decay", "mem_gain", "bias", "threshold", "reset_value")
    #: values of the fields a node type lacks: LI has no synaptic stage (I_t = X_t)
    DEFAULTS = {"syn_decay": 0.0, "syn_gain": 1.0, "mem_decay": 1.0, "mem_gain": 1.0, "bias": 0.0,
                "threshold": 0.0, "reset_value": 0.0}
    RENAMED = {"li": {"mem_decay": "decay", "mem_gain": "gain"}}

    def __init__(self, node, graph, dtype, fixed, fused_adds):
        super().__init__(node, graph, dtype, fixed, fused_adds)
        self.spiking = self.emits_events
        self.reset_mode = ("hard", "soft-delayed", "zero-delayed").index(getattr(node, "reset", "hard"))
        renamed = self.RENAMED.get(node.op, {})
        self.params = []
        for f in self.FIELDS:
            name = renamed.get(f, f)
            if name in node.array_fields:
                self.params.append(per_neuron(node, name, self.shape, dtype))
            else:
                self.params.append(np.full(self.size, self.DEFAULTS[f], dtype))

    def start(self, batch: int):
        if batch != self.batch:
            self.I = np.zeros((batch, self.size), self.state_dtype)
        super().start(batch)
        if not self.spiking:  # the kernel's event list is unused; give it typed placeholders
            self.idx = np.zeros((batch, 1), np.int64)
            self.val = np.zeros((batch, 1), self.out_dtype)

    def buffer_bytes(self) -> int:
        return super().buffer_bytes() + self.size * np.dtype(self.state_dtype).itemsize

    def reset_state(self):
        self.V.fill(0)
        self.I.fill(0)

    def fire(self, X, n, total, active, nonzero):
        bk.cuba_step(X, self.I, self.V, self.out, self.idx, self.val, *self.params, self.spiking, self.reset_mode,
                     n, total, active)

    def run(self, inputs, trace, rows, t, fused=False) -> Act:
        if self.spiking:
            return super().run(inputs, trace, rows, t, fused)
        X = self.current(inputs[0])
        trace.in_nonzero[rows, t] = bk.count_nonzero_rows(X)
        n, total, active, nonzero = bk.counts(self.batch)
        self.fire(X, n, total, active, nonzero)
        trace.neuron_updates[rows, t] = self.size
        trace.active_neurons[rows, t] = active
        return Act(self.out, unit=None)


class ScaleStep(Step):
    """``Y = scale * X``, dense on float values (fed by events, the product is analog)."""

    cacheable = True

    def __init__(self, node, graph, dtype, fixed, fused_adds):
        super().__init__(node, graph, dtype, fixed, fused_adds)
        self.scale = per_neuron(node, "scale", self.shape, self.out_dtype)

    def run(self, inputs, trace, rows, t, fused=False) -> Act:
        if (act := self.reuse(inputs, trace, rows, t)) is not None:
            return act
        x = inputs[0]
        self.record_input(x, trace, rows, t)
        values = x.as_float() if self.fixed is not None else x.dense
        np.multiply(values, self.scale, out=self.out, casting="unsafe")
        trace.analog_ops[rows, t] = self.size
        return self.remember(inputs, t, Act(self.out, unit=None))


class AnalogStep(Step):
    """ReLU, SiLU, Sigmoid, Mul, GlobalAvgPool: dense numpy on float values."""

    def __init__(self, node, graph, dtype, fixed, fused_adds):
        super().__init__(node, graph, dtype, fixed, fused_adds)
        self.cacheable = not self.emits_events

    def run(self, inputs, trace, rows, t, fused=False) -> Act:
        if (act := self.reuse(inputs, trace, rows, t)) is not None:
            return act
        trace.in_nonzero[rows, t] = sum(a.nonzero() for a in inputs)
        vals = [a.as_float() if self.fixed is not None else a.dense for a in inputs]
        op = self.node.op
        if op == "relu":
            y = np.maximum(vals[0], 0)
        elif op == "silu":
            y = vals[0] / (1 + np.exp(-vals[0]))
        elif op == "sigmoid":
            y = 1 / (1 + np.exp(-vals[0]))
        elif op == "globalavgpool":
            h, w, c = hwc_dims(self.in_shapes[0])
            y = vals[0].reshape(-1, h * w, c).mean(axis=1)
        elif op == "mul":
            views = [v.reshape((-1,) + hwc_dims(s)) if len(s) == 3 else v for v, s in zip(vals, self.in_shapes)]
            y = (views[0] * views[1]).reshape(self.batch, -1)
        else:  # pragma: no cover - make_step only builds known ops
            raise NotImplementedError(op)
        trace.analog_ops[rows, t] = self.size if op != "globalavgpool" else vals[0].shape[1]
        with np.errstate(over="ignore"):
            self.out[:] = y
        if self.emits_events:  # Mul of two spike tensors stays a spike tensor
            n = np.zeros(self.batch, np.int64)
            bk.compact_events(self.out, self.idx, self.val, n)
            return self.emit(n, trace, rows, t)
        return self.remember(inputs, t, Act(self.out, unit=None))


STEP_TYPES = {
    "input": InputStep, "conv2d": ConvStep, "linear": LinearStep,
    "maxpool2d": PoolStep, "avgpool2d": PoolStep, "sumpool2d": PoolStep,
    "upsample": UpsampleStep, "concat": ConcatStep, "flatten": FlattenStep, "add": AddStep,
    "lif": LIFStep, "if": LIFStep, "ilif": ILIFStep, "hoyer": HoyerStep,
    "relu": AnalogStep, "silu": AnalogStep, "sigmoid": AnalogStep, "mul": AnalogStep,
    "globalavgpool": AnalogStep,
    "scale": ScaleStep, "threshold": ThresholdStep, "li": CubaStep, "cubali": CubaStep, "cubalif": CubaStep,
}


def make_steps(graph: Graph, dtype, fixed, fused_adds) -> dict[str, Step]:
    """A Step per node, with fused synaptic nodes linked to the Add they scatter into."""
    built = {node.name: STEP_TYPES[node.op](node, graph, dtype, fixed, fused_adds) for node in graph.nodes}
    for step in built.values():
        if isinstance(step, SynapticStep) and step.fuse_into is not None:
            step.add_step = built[step.fuse_into]
    return built
