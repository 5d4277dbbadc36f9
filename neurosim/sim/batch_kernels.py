"""Batched drivers of the per-sample kernels in :mod:`neurosim.sim.kernels`.

The engine runs all samples of a chunk through one node at a time, so each node and timestep
costs one call from Python whatever the batch. Arrays gain a leading sample axis: a map is
``[B, size]`` (channels-last flat per sample), an event list is ``idx[B, size]``,
``val[B, size]`` and its lengths ``n[B]``. Each driver loops over the samples and calls the
per-sample kernel on row ``b``; per-sample results go to ``[B]`` arrays.
"""
from __future__ import annotations

import numpy as np
from .jit import njit

from . import kernels as k


@njit(cache=True)
def record_events(idx, val, n, channels, per_channel, event_acc, totals):
    """Per sample b: ``per_channel[b, c] += val`` over events of channel c, ``event_acc[p] += val``
    (summed over samples) and ``totals[b] = sum(val)``."""
    for b in range(idx.shape[0]):
        k.record_events(idx[b], val[b], n[b], channels, per_channel[b], event_acc)
        s = 0.0
        for i in range(n[b]):
            s += val[b, i]
        totals[b] = s


@njit(cache=True)
def count_nonzero_rows(dense):
    """Nonzero entries of each row of ``dense`` [B, size] (numpy's axis-wise count is a slow,
    generic reduction)."""
    counts = np.zeros(dense.shape[0], np.int64)
    for b in range(dense.shape[0]):
        row = dense[b]
        c = 0
        for i in range(row.shape[0]):
            c += row[i] != 0
        counts[b] = c
    return counts


@njit(cache=True)
def clear_events(out, idx, n_prev):
    """Zero each sample's positions written last timestep (the whole row when they were many)."""
    size = out.shape[1]
    for b in range(out.shape[0]):
        if n_prev[b] * 4 < size:
            for i in range(n_prev[b]):
                out[b, idx[b, i]] = 0
        else:
            out[b, :] = 0


@njit(cache=True)
def compact_events(dense, idx, val, n):
    for b in range(dense.shape[0]):
        n[b] = k.compact_events(dense[b], idx[b], val[b])


@njit(cache=True)
def conv2d_events(ev_idx, ev_val, n_ev, W, Cin, wt, groups, Cout, sh, sw, ph, pw, kh, kw, Ho, Wo, out,
                  synops_group, totals):
    for b in range(out.shape[0]):
        totals[b] = k.conv2d_events(ev_idx[b], ev_val[b], n_ev[b], W, Cin, wt, groups, Cout, sh, sw, ph, pw,
                                    kh, kw, Ho, Wo, out[b], synops_group[b])


@njit(cache=True)
def conv2d_events_depthwise(ev_idx, ev_val, n_ev, W, C, wdw, sh, sw, ph, pw, kh, kw, Ho, Wo, out, synops_channel,
                            totals):
    for b in range(out.shape[0]):
        totals[b] = k.conv2d_events_depthwise(ev_idx[b], ev_val[b], n_ev[b], W, C, wdw, sh, sw, ph, pw, kh, kw,
                                              Ho, Wo, out[b], synops_channel[b])


@njit(cache=True)
def conv2d_events_rows(ev_idx, ev_val, n_ev, W, Cin, wrow, Cout, ph, pw, kh, kw, Ho, Wo, out, totals):
    for b in range(out.shape[0]):
        totals[b] = k.conv2d_events_rows(ev_idx[b], ev_val[b], n_ev[b], W, Cin, wrow, Cout, ph, pw, kh, kw,
                                         Ho, Wo, out[b])


@njit(cache=True)
def linear_events(ev_idx, ev_val, n_ev, wt, out, totals):
    for b in range(out.shape[0]):
        totals[b] = k.linear_events(ev_idx[b], ev_val[b], n_ev[b], wt, out[b])


@njit(cache=True)
def fanout_events(ev_idx, ev_val, n_ev, per, fanout, out):
    """Synaptic events: ``out[b]`` = sum over sample b's nonzero events of ``fanout[idx // per]``
    (the fan-out of an input position, whatever the spike's value; ``per`` positions share one
    entry: the channels of a pixel for a convolution, the whole input for a linear layer)."""
    for b in range(ev_idx.shape[0]):
        s = 0
        for i in range(n_ev[b]):
            if ev_val[b, i] != 0:
                s += fanout[ev_idx[b, i] // per]
        out[b] = s


@njit(cache=True)
def pool_events(ev_idx, ev_val, n_ev, W, C, kh, kw, sh, sw, ph, pw, Ho, Wo, scale, use_max, out, out_idx,
                n_out):
    for b in range(out.shape[0]):
        n_out[b] = k.pool_events(ev_idx[b], ev_val[b], n_ev[b], W, C, kh, kw, sh, sw, ph, pw, Ho, Wo, scale,
                                 use_max, out[b], out_idx[b])


@njit(cache=True)
def upsample_events(ev_idx, ev_val, n_ev, W, C, scale, out, out_idx, out_val, n_out):
    for b in range(out.shape[0]):
        n_out[b] = k.upsample_events(ev_idx[b], ev_val[b], n_ev[b], W, C, scale, out[b], out_idx[b], out_val[b])


@njit(cache=True)
def remap_channels_events(ev_idx, ev_val, n_ev, C_in, C_out, offset, out, out_idx, out_val, n_out):
    """Concat: append each sample's events, moved to channels [offset, offset + C_in), after the
    ``n_out[b]`` already there (updated)."""
    for b in range(out.shape[0]):
        n_out[b] = k.remap_channels_events(ev_idx[b], ev_val[b], n_ev[b], C_in, C_out, offset, out[b],
                                           out_idx[b], out_val[b], n_out[b])


@njit(cache=True)
def flatten_events(ev_idx, ev_val, n_ev, H, W, C, out, out_idx, out_val, n_out):
    for b in range(out.shape[0]):
        n_out[b] = k.flatten_events(ev_idx[b], ev_val[b], n_ev[b], H, W, C, out[b], out_idx[b], out_val[b])


@njit(cache=True)
def add_events(ev_idx, ev_val, n_ev, out, out_idx, n_out):
    for b in range(out.shape[0]):
        n_out[b] = k.add_events(ev_idx[b], ev_val[b], n_ev[b], out[b], out_idx[b], n_out[b])


@njit(cache=True)
def gather_values(out, out_idx, n, out_val):
    for b in range(out.shape[0]):
        k.gather_values(out[b], out_idx[b], n[b], out_val[b])


# ---------------------------------------------------------------------------------- neurons
# Each driver fills n[b] (events), total[b] (sum of spike values) and active[b] (neurons whose
# charge was nonzero); the LIF and I-LIF drivers also nonzero[b] (nonzero input currents,
# counted in the same pass over X).


@njit(cache=True)
def lif_step(X, V, out, out_idx, out_val, decay, one_minus_decay, threshold, reset_value, hard_reset, strict,
             decay_input, lo, hi, saturate, delayed, n, total, active, nonzero):
    for b in range(X.shape[0]):
        n[b], total[b], active[b], nonzero[b] = k.lif_step(X[b], V[b], out[b], out_idx[b], out_val[b], decay, one_minus_decay,
                                               threshold, reset_value, hard_reset, strict, decay_input, lo, hi,
                                               saturate, delayed)


@njit(cache=True)
def lif_step_fixed(X, V, out, out_idx, out_val, decay_q, decay_shift, threshold, reset_value, hard_reset, strict,
                   decay_input, lo, hi, delayed, n, total, active, nonzero):
    for b in range(X.shape[0]):
        n[b], total[b], active[b], nonzero[b] = k.lif_step_fixed(X[b], V[b], out[b], out_idx[b], out_val[b], decay_q,
                                                     decay_shift, threshold, reset_value, hard_reset, strict,
                                                     decay_input, lo, hi, delayed)


@njit(cache=True)
def ilif_step(X, V, out, out_idx, out_val, decay, one_minus_decay, max_spike, decay_input, fresh, zero, n, total,
              active, nonzero):
    for b in range(X.shape[0]):
        n[b], total[b], active[b], nonzero[b] = k.ilif_step(X[b], V[b], out[b], out_idx[b], out_val[b], decay, one_minus_decay,
                                                max_spike, decay_input, fresh, zero)


@njit(cache=True)
def ilif_step_fixed(X, V, out, out_idx, out_val, decay_q, decay_shift, one, max_spike, decay_input, lo, hi,
                    n, total, active, nonzero):
    for b in range(X.shape[0]):
        n[b], total[b], active[b], nonzero[b] = k.ilif_step_fixed(X[b], V[b], out[b], out_idx[b], out_val[b], decay_q,
                                                      decay_shift, one, max_spike, decay_input, lo, hi)


@njit(cache=True)
def threshold_step(X, out, out_idx, out_val, scale, threshold, n, total, active):
    for b in range(X.shape[0]):
        n[b], total[b], active[b] = k.threshold_step(X[b], out[b], out_idx[b], out_val[b], scale, threshold)


@njit(cache=True)
def heaviside_step(X, out, out_idx, out_val, threshold, n, total, active):
    for b in range(X.shape[0]):
        n[b], total[b], active[b] = k.heaviside_step(X[b], out[b], out_idx[b], out_val[b], threshold)


@njit(cache=True)
def cuba_step(X, current, V, out, out_idx, out_val, syn_decay, syn_gain, mem_decay, mem_gain, bias, threshold,
              reset_value, spiking, reset_mode, n, total, active):
    for b in range(X.shape[0]):
        n[b], total[b], active[b] = k.cuba_step(X[b], current[b], V[b], out[b], out_idx[b], out_val[b], syn_decay,
                                                syn_gain, mem_decay, mem_gain, bias, threshold, reset_value, spiking,
                                                reset_mode)


def counts(batch: int):
    """Fresh (n, total, active, nonzero) result arrays for a neuron driver."""
    return (np.zeros(batch, np.int64), np.zeros(batch, np.float64), np.zeros(batch, np.int64),
            np.zeros(batch, np.int64))
