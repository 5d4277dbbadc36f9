"""Numba kernels of the event-driven engine.

Layout: a map of shape (C, H, W) is held channels-last and flat, index ``(y * W + x) * C + c``,
so that one event's fan-out into the output channels is a contiguous row of weights.
An event list is ``(idx, val, n)``: the first ``n`` entries of ``idx`` (flat positions) and
``val`` (spike values: 1 for binary spikes, 1..D for integer spikes).

Every kernel is generic in the number type: float32/float64 for the float modes, int64 for
the fixed-point mode (Numba compiles one specialization per type).
"""
from __future__ import annotations

import numpy as np
from .jit import njit


@njit(cache=True)
def record_events(idx, val, n, channels, per_channel, event_acc):
    """Accumulate one timestep's events (unique channels-last positions ``idx[:n]``, values
    ``val[:n]``): ``per_channel[idx % channels] += val`` and ``event_acc[idx] += val``.

    The channel ``idx % channels`` is found by walking a pixel base forward, as event lists
    come ascending (a 64-bit division per event cost more than the rest of the loop); a jump
    of more than one pixel, or backwards, divides."""
    base = 0
    for i in range(n):
        p = idx[i]
        v = val[i]
        c = p - base
        if channels <= c < 2 * channels:  # the next pixel
            base += channels
            c -= channels
        elif c < 0 or c >= channels:
            base = p - p % channels
            c = p - base
        per_channel[c] += v
        event_acc[p] += v


@njit(cache=True)
def _first_tap(pos, pad, stride, kernel, out_size):
    """Range of kernel taps k and outputs o with ``o * stride - pad + k == pos``.

    Returns (k0, o0, count): taps k0, k0 + stride, ...; outputs o0, o0 - 1, ...
    """
    t = pos + pad  # = o * stride + k
    # largest o with k = t - o*stride >= 0 and o < out_size
    o0 = t // stride
    if o0 > out_size - 1:
        o0 = out_size - 1
    k0 = t - o0 * stride
    if k0 >= kernel:
        return 0, 0, 0
    # taps k0, k0+stride, ... < kernel with outputs o0, o0-1, ... >= 0
    count = (kernel - 1 - k0) // stride + 1
    if count > o0 + 1:
        count = o0 + 1
    return k0, o0, count


@njit(cache=True)
def _tap_table(size, pad, stride, kernel, out_size):
    """``_first_tap`` of every position in [0, size): rows (k0, o0, count)."""
    table = np.empty((size, 3), np.int64)
    for p in range(size):
        k0, o0, count = _first_tap(p, pad, stride, kernel, out_size)
        table[p, 0] = k0
        table[p, 1] = o0
        table[p, 2] = count
    return table


@njit(cache=True)
def _locate_pixel(flat, C, W, base, y, x):
    """(base, y, x) of the pixel holding the channels-last position ``flat``, given those of
    a previous pixel: walked forward when close (ascending event lists, the usual case), by
    integer division otherwise (divisions cost tens of cycles; a step costs one or two)."""
    d = flat - base
    if d < 0 or d >= 16 * C:
        pos = flat // C
        y = pos // W
        return pos * C, y, pos - y * W
    while d >= C:
        d -= C
        base += C
        x += 1
        if x == W:
            x = 0
            y += 1
    return base, y, x


_FLOAT64 = np.dtype(np.float64)


@njit(cache=True)
def _exact_chains(out, ev_val, w):
    """Whether ``out[o] + s0 w0[o] + s1 w1[o] + ...`` evaluated in one expression rounds like
    the separate updates ``out[o] += s w[o]`` (each stored in ``out``'s type): true when
    ``out``'s type is that of the sums (all one type, or ``out`` float64)."""
    return out.dtype == _FLOAT64 or (out.dtype == ev_val.dtype and out.dtype == w.dtype)


@njit(cache=True)
def _pixel_group_end(ev_idx, e, n_ev, base, C):
    """End of the run of events from ``e`` that lie in the pixel whose channels-last positions
    are ``[base, base + C)`` (event lists come ordered by pixel, so a pixel's events are
    adjacent; a list in another order only yields shorter runs)."""
    e1 = e + 1
    while e1 < n_ev:
        d = ev_idx[e1] - base
        if d < 0 or d >= C:
            break
        e1 += 1
    return e1


@njit(cache=True, error_model="numpy")
def conv2d_events(ev_idx, ev_val, n_ev, W, Cin, wt, groups, Cout, sh, sw, ph, pw,
                  kh, kw, Ho, Wo, out, synops_group):
    """Scatter input events through a convolution (any stride, padding, groups).

    ``wt[c, u, v, :]`` holds ``W[g * Cout_g + o, c - g * Cin_g, u, v]`` for o in the group g of c.
    For an event of value s at (c, y, x): ``out[o_y, o_x, g Cout_g + o] += s * W[...]`` for every
    tap landing inside the output map. ``synops_group[g] += s * taps`` counts synaptic operations
    per output channel of group g (each output channel of the group receives the same count).
    Returns the total value-weighted synaptic operations.

    Events of one pixel are handled together: the pixel's taps are found once per run of
    same-pixel events (walking from the previous pixel, without integer divisions), and with
    groups = 1 the run's events go four at a time through each tap's output row, each output
    adding their four terms one after the other (see :func:`_exact_chains`). Every output
    receives its terms in event order, each rounded as a separate ``+=`` would round it, so the
    results are those of one event at a time, to the bit.
    """
    cin_g = Cin // groups
    cout_g = Cout // groups
    total = 0.0
    xtaps = _tap_table(W, pw, sw, kw, Wo)
    base, y, x = 0, 0, 0
    ty = -1
    ky0, oy0, ny = 0, 0, 0
    ops0 = synops_group[0]  # groups == 1: the count accumulates in a register
    chains = groups == 1 and _exact_chains(out, ev_val, wt)
    e = 0
    while e < n_ev:
        base, y, x = _locate_pixel(ev_idx[e], Cin, W, base, y, x)
        e1 = _pixel_group_end(ev_idx, e, n_ev, base, Cin)
        if y != ty:
            ky0, oy0, ny = _first_tap(y, ph, sh, kh, Ho)
            ty = y
        kx0 = xtaps[x, 0]
        ox0 = xtaps[x, 1]
        nx = xtaps[x, 2]
        taps = ny * nx
        if taps == 0:
            e = e1
            continue
        j = e
        if chains:
            # the pixel's events update the same output rows (one per tap): four at a time,
            # each output adding their terms one after the other in event order, as separate
            # updates would (one load and store of the output per four events)
            while j + 4 <= e1:
                s0 = ev_val[j]
                s1 = ev_val[j + 1]
                s2 = ev_val[j + 2]
                s3 = ev_val[j + 3]
                c0 = ev_idx[j] - base
                c1 = ev_idx[j + 1] - base
                c2 = ev_idx[j + 2] - base
                c3 = ev_idx[j + 3] - base
                for iy in range(ny):
                    ky = ky0 + iy * sh
                    orow = (oy0 - iy) * Wo + ox0
                    for ix in range(nx):
                        kx = kx0 + ix * sw
                        base_o = (orow - ix) * Cout
                        o_row = out[base_o:base_o + Cout]
                        r0 = wt[c0, ky, kx]
                        r1 = wt[c1, ky, kx]
                        r2 = wt[c2, ky, kx]
                        r3 = wt[c3, ky, kx]
                        for o in range(Cout):
                            o_row[o] = o_row[o] + s0 * r0[o] + s1 * r1[o] + s2 * r2[o] + s3 * r3[o]
                ops0 += s0 * taps
                total += s0 * taps * cout_g
                ops0 += s1 * taps
                total += s1 * taps * cout_g
                ops0 += s2 * taps
                total += s2 * taps * cout_g
                ops0 += s3 * taps
                total += s3 * taps * cout_g
                j += 4
        while j < e1:
            c = ev_idx[j] - base
            s = ev_val[j]
            j += 1
            g = 0 if groups == 1 else c // cin_g
            co0 = g * cout_g
            for iy in range(ny):
                ky = ky0 + iy * sh
                orow = (oy0 - iy) * Wo + ox0
                for ix in range(nx):
                    kx = kx0 + ix * sw
                    base_o = (orow - ix) * Cout + co0
                    # slices (not raw indexing) let LLVM drop the wrap-around checks and vectorize
                    o_row = out[base_o:base_o + cout_g]
                    w_row = wt[c, ky, kx]
                    if s == 1:
                        for o in range(cout_g):
                            o_row[o] += w_row[o]
                    else:
                        for o in range(cout_g):
                            o_row[o] += s * w_row[o]
            if groups == 1:
                ops0 += s * taps
            else:
                synops_group[g] += s * taps
            total += s * taps * cout_g
        e = e1
    if groups == 1:
        synops_group[0] = ops0
    return total


def depthwise_weight_layout(weight):
    """Weights of a depthwise conv (torch ``[C, 1, k_h, k_w]``) laid out for
    :func:`conv2d_events_depthwise`: a C-contiguous ``[k_h, k_w, C]`` array with
    ``wdw[u, f, c] = W[c, 0, u, k_w - 1 - f]`` (kernel flipped along x, like ``wrow`` of
    :func:`conv2d_events_rows`, so that one kernel row's weights for consecutive outputs are
    contiguous)."""
    weight = np.asarray(weight)
    if weight.ndim != 4 or weight.shape[1] != 1:
        raise ValueError(f"depthwise weight must be [C, 1, kh, kw], got {weight.shape}")
    return np.ascontiguousarray(weight[:, 0, :, ::-1].transpose(1, 2, 0))


#: a pixel whose firing channels number at least C / DEPTHWISE_DENSE_PIXEL goes through the
#: depthwise kernel as a dense vector of all C channels (measured on SpikeYOLO-s shapes: at 1/16
#: the contiguous update is as fast as the event-by-event one for C = 128 to 1024, and 1.2-3x
#: faster from 10% of the channels up)
DEPTHWISE_DENSE_PIXEL = 16


@njit(cache=True)
def _strictly_ascending(ev_idx, e, e1):
    """Whether ``ev_idx[e:e1]`` is strictly ascending (no position twice: the engine's lists
    always are; a list that repeats a position must add it twice, event by event)."""
    for j in range(e + 1, e1):
        if ev_idx[j] <= ev_idx[j - 1]:
            return False
    return True


@njit(cache=True, error_model="numpy")
def conv2d_events_depthwise(ev_idx, ev_val, n_ev, W, C, wdw, sh, sw, ph, pw, kh, kw, Ho, Wo, out,
                            synops_channel):
    """Scatter input events through a depthwise convolution (groups = C_in = C_out = C, any
    stride and padding); ``wdw`` is the ``[k_h, k_w, C]`` array of :func:`depthwise_weight_layout`.

    For an event of value s at (c, y, x): ``out[o_y, o_x, c] += s * W[c, 0, u, v]`` for every tap
    (u, v) landing inside the output map, and ``synops_channel[c] += s * taps``. Returns the
    total value-weighted synaptic operations: the same numbers, and the same outputs to the
    bit, as :func:`conv2d_events` with groups = C. The tap ranges are found once per pixel
    (events arrive grouped by pixel), then each event updates its channel at every tap.
    """
    total = 0.0
    xtaps = _tap_table(W, pw, sw, kw, Wo)
    wflat = wdw.reshape(kh * kw * C)
    pixel = np.zeros(C, ev_val.dtype)  # the spikes of one pixel, dense (see below)
    wstep = sw * C
    base, y, x = 0, 0, 0
    ty = -1
    ky0, oy0, ny = 0, 0, 0
    e = 0
    while e < n_ev:
        base, y, x = _locate_pixel(ev_idx[e], C, W, base, y, x)
        e1 = _pixel_group_end(ev_idx, e, n_ev, base, C)
        if y != ty:
            ky0, oy0, ny = _first_tap(y, ph, sh, kh, Ho)
            ty = y
        kx0 = xtaps[x, 0]
        ox0 = xtaps[x, 1]
        nx = xtaps[x, 2]
        taps = ny * nx
        if taps != 0:
            if DEPTHWISE_DENSE_PIXEL * (e1 - e) >= C and _strictly_ascending(ev_idx, e, e1):
                # many of the pixel's channels fire: one contiguous (vectorized) update of all C
                # channels per tap, the silent ones adding 0 * w (which leaves a finite sum as it
                # is: the sums never hold -0.0, since they start from 0 + b)
                for j in range(e, e1):
                    pixel[ev_idx[j] - base] = ev_val[j]
                for iy in range(ny):
                    ky = ky0 + iy * sh
                    o = ((oy0 - iy) * Wo + ox0) * C
                    w = ((ky * kw) + kw - 1 - kx0) * C
                    for ix in range(nx):
                        o_row = out[o:o + C]
                        w_row = wflat[w:w + C]
                        for c in range(C):
                            o_row[c] += pixel[c] * w_row[c]
                        o -= C
                        w -= wstep
                for j in range(e, e1):
                    pixel[ev_idx[j] - base] = 0
            else:
                for j in range(e, e1):
                    c = ev_idx[j] - base
                    s = ev_val[j]
                    for iy in range(ny):
                        ky = ky0 + iy * sh
                        o = ((oy0 - iy) * Wo + ox0) * C + c
                        w = ((ky * kw) + kw - 1 - kx0) * C + c
                        for ix in range(nx):
                            out[o] += s * wflat[w]
                            o -= C
                            w -= wstep
            for j in range(e, e1):
                s = ev_val[j]
                synops_channel[ev_idx[j] - base] += s * taps
                total += s * taps
        e = e1
    return total


@njit(cache=True, error_model="numpy")
def conv2d_events_rows(ev_idx, ev_val, n_ev, W, Cin, wrow, Cout, ph, pw, kh, kw, Ho, Wo, out):
    """Fast path for stride 1 and groups 1: one contiguous update per kernel row.

    ``wrow[c, u, f, o] = W[o, c, u, k_w - 1 - f]`` (kernel flipped along x), flattened. For an
    event at (c, y, x) and kernel row u, the outputs ``o_x = x + p_w - k_w + 1 + f`` for
    consecutive f are consecutive in the channels-last output, and so are their weights: the
    whole row is a single axpy of length ``(f_hi - f_lo) * C_out``. Events arrive ordered by
    pixel (channels-last), so the row bounds are computed once per run of same-pixel events,
    and the run's events (which update the same output rows) go four at a time through each
    row, each output adding their four terms one after the other in event order (see
    :func:`_exact_chains`): the results are those of one event at a time, to the bit.
    Returns the total value-weighted synaptic operations (per-channel counts are equal to
    total / C_out, since every output channel sees every tap).
    """
    total = 0.0
    block = kh * kw * Cout
    chains = _exact_chains(out, ev_val, wrow)
    base, y, x = 0, 0, 0
    e = 0
    while e < n_ev:
        base, y, x = _locate_pixel(ev_idx[e], Cin, W, base, y, x)
        e1 = _pixel_group_end(ev_idx, e, n_ev, base, Cin)
        base_ox = x + pw - kw + 1
        f_lo = max(0, -base_ox)
        n = (min(kw, Wo - base_ox) - f_lo) * Cout
        u_lo = max(0, y + ph - Ho + 1)
        u_hi = min(kh, y + ph + 1)
        if n <= 0 or u_hi <= u_lo:
            e = e1
            continue
        # the pixel's events update the same output rows: four (then one) at a time, each
        # output adding their terms one after the other, in event order, as separate updates
        # would (one load and store of the output per four events instead of per event)
        wb0 = f_lo * Cout
        j = e
        while chains and j + 4 <= e1:
            s0 = ev_val[j]
            s1 = ev_val[j + 1]
            s2 = ev_val[j + 2]
            s3 = ev_val[j + 3]
            w0 = (ev_idx[j] - base) * block + wb0
            w1 = (ev_idx[j + 1] - base) * block + wb0
            w2 = (ev_idx[j + 2] - base) * block + wb0
            w3 = (ev_idx[j + 3] - base) * block + wb0
            for u in range(u_lo, u_hi):
                ob = ((y + ph - u) * Wo + base_ox + f_lo) * Cout
                du = u * kw * Cout
                o_row = out[ob:ob + n]
                r0 = wrow[w0 + du:w0 + du + n]
                r1 = wrow[w1 + du:w1 + du + n]
                r2 = wrow[w2 + du:w2 + du + n]
                r3 = wrow[w3 + du:w3 + du + n]
                for o in range(n):
                    o_row[o] = o_row[o] + s0 * r0[o] + s1 * r1[o] + s2 * r2[o] + s3 * r3[o]
            total += s0 * (u_hi - u_lo) * n
            total += s1 * (u_hi - u_lo) * n
            total += s2 * (u_hi - u_lo) * n
            total += s3 * (u_hi - u_lo) * n
            j += 4
        while j < e1:
            s = ev_val[j]
            wbase = (ev_idx[j] - base) * block + wb0
            for u in range(u_lo, u_hi):
                ob = ((y + ph - u) * Wo + base_ox + f_lo) * Cout
                wb = wbase + u * kw * Cout
                o_row = out[ob:ob + n]
                w_row = wrow[wb:wb + n]
                if s == 1:
                    for o in range(n):
                        o_row[o] += w_row[o]
                else:
                    for o in range(n):
                        o_row[o] += s * w_row[o]
            total += s * (u_hi - u_lo) * n
            j += 1
        e = e1
    return total


@njit(cache=True)
def linear_events(ev_idx, ev_val, n_ev, wt, out):
    """``out[:] += s * W[:, i]`` for each event (i, s); ``wt`` is ``W`` transposed (N_in, N_out).

    Returns the value-weighted synaptic operations (each event reaches every output).
    """
    n_out = wt.shape[1]
    total = 0.0
    for e in range(n_ev):
        i = ev_idx[e]
        s = ev_val[e]
        if s == 1:
            for o in range(n_out):
                out[o] += wt[i, o]
        else:
            for o in range(n_out):
                out[o] += s * wt[i, o]
        total += s * n_out
    return total


@njit(cache=True)
def pool_events(ev_idx, ev_val, n_ev, W, C, kh, kw, sh, sw, ph, pw, Ho, Wo, scale, use_max,
                out, out_idx):
    """Event-driven max / sum pooling into ``out`` (zeroed by the caller).

    Max: ``out[o] = max(out[o], s)`` over events in the window (spikes are >= 0, so zero is
    the max of an empty window). Sum: ``out[o] += scale * s``. Output positions that become
    nonzero are appended to ``out_idx`` (in the order events reach them: event by event, and
    for one event its windows from the bottom-right one back); returns their number.

    The windows of a pixel are found once per run of same-pixel events.
    """
    n_out = 0
    xtaps = _tap_table(W, pw, sw, kw, Wo)
    base, y, x = 0, 0, 0
    ty = -1
    oy0, ny = 0, 0
    e = 0
    while e < n_ev:
        base, y, x = _locate_pixel(ev_idx[e], C, W, base, y, x)
        e1 = _pixel_group_end(ev_idx, e, n_ev, base, C)
        if y != ty:
            oy0, ny = _first_tap(y, ph, sh, kh, Ho)[1:]
            ty = y
        ox0 = xtaps[x, 1]
        nx = xtaps[x, 2]
        if ny * nx == 0:
            e = e1
            continue
        for j in range(e, e1):
            c = ev_idx[j] - base
            s = ev_val[j]
            for iy in range(ny):
                o = ((oy0 - iy) * Wo + ox0) * C + c
                for ix in range(nx):
                    v = out[o]
                    if v == 0:
                        out_idx[n_out] = o
                        n_out += 1
                    if use_max:
                        if s > v:
                            out[o] = s
                    else:
                        out[o] = v + scale * s
                    o -= C
        e = e1
    return n_out


@njit(cache=True)
def upsample_events(ev_idx, ev_val, n_ev, W, C, scale, out, out_idx, out_val):
    """Nearest upsampling of events: each event (c, y, x) becomes scale^2 events."""
    Wo = W * scale
    n = 0
    for e in range(n_ev):
        flat = ev_idx[e]
        s = ev_val[e]
        c = flat % C
        pos = flat // C
        x = pos % W
        y = pos // W
        for dy in range(scale):
            for dx in range(scale):
                o = ((y * scale + dy) * Wo + x * scale + dx) * C + c
                out[o] = s
                out_idx[n] = o
                out_val[n] = s
                n += 1
    return n


@njit(cache=True)
def remap_channels_events(ev_idx, ev_val, n_ev, C_in, C_out, offset, out, out_idx, out_val, start):
    """Concat: copy events of a C_in-channel map into channels [offset, offset + C_in) of a
    C_out-channel map, appending to the output list from ``start``. Returns the new length."""
    n = start
    for e in range(n_ev):
        flat = ev_idx[e]
        o = (flat // C_in) * C_out + offset + flat % C_in
        out[o] = ev_val[e]
        out_idx[n] = o
        out_val[n] = ev_val[e]
        n += 1
    return n


@njit(cache=True)
def flatten_events(ev_idx, ev_val, n_ev, H, W, C, out, out_idx, out_val):
    """Flatten a channels-last map to torch's (c, y, x) order: index ``c H W + y W + x``."""
    for e in range(n_ev):
        flat = ev_idx[e]
        c = flat % C
        pos = flat // C
        o = c * H * W + pos
        out[o] = ev_val[e]
        out_idx[e] = o
        out_val[e] = ev_val[e]
    return n_ev


@njit(cache=True)
def add_events(ev_idx, ev_val, n_ev, out, out_idx, n_out):
    """Scatter-add events into ``out``; positions that become nonzero are appended to
    ``out_idx`` (values are >= 0, so a touched position stays nonzero)."""
    for e in range(n_ev):
        o = ev_idx[e]
        if out[o] == 0:
            out_idx[n_out] = o
            n_out += 1
        out[o] += ev_val[e]
    return n_out


@njit(cache=True)
def gather_values(out, out_idx, n, out_val):
    """``out_val[k] = out[out_idx[k]]`` for k < n."""
    for k in range(n):
        out_val[k] = out[out_idx[k]]


@njit(cache=True)
def compact_events(dense, out_idx, out_val):
    """Event list of the nonzero entries of ``dense``; returns their number."""
    n = 0
    for i in range(dense.shape[0]):
        v = dense[i]
        if v != 0:
            out_idx[n] = i
            out_val[n] = v
            n += 1
    return n


# ---------------------------------------------------------------------------------- neurons
# Each neuron kernel updates state V in place from the input current X, writes the spikes to
# ``out`` and the event list, and returns (number of events, sum of spike values, active
# neurons), where a neuron is active when its charge H is nonzero.
#
# The LIF, I-LIF and threshold kernels (float and fixed point) run in two passes: a branch-free
# state update over all neurons (selects, not branches, so that LLVM vectorizes it where the
# types allow), then a branch-free compaction of the nonzero outputs into the event list
# (ascending, as a single pass emits them). The compaction writes each candidate index at slot
# n before deciding to keep it, so ``out_idx[n]``, the slot just past the last event, may be
# overwritten when n < size; the event list itself, ``out``, ``V`` and the returned counts are
# those of the one-pass loop, to the bit. (Event buffers shorter than the layer get a plain
# branchy compaction.)


@njit(cache=True)
def _compact_nonzero(out, out_idx, out_val, binary):
    """Event list of the nonzero entries of ``out`` (ascending); returns their number.
    ``binary``: the nonzero entries are all 1 (the values are then filled in, not gathered)."""
    N = out.shape[0]
    n = 0
    if out_idx.shape[0] >= N:
        for i in range(N):  # branch-free: slot n is always written, kept only if nonzero
            out_idx[n] = i
            n += out[i] != 0
        if binary:
            for k in range(n):
                out_val[k] = 1
        else:
            for k in range(n):
                out_val[k] = out[out_idx[k]]
    else:
        for i in range(N):
            v = out[i]
            if v != 0:
                out_idx[n] = i
                out_val[n] = v
                n += 1
    return n


@njit(cache=True)
def lif_step(X, V, out, out_idx, out_val, decay, one_minus_decay, threshold, reset_value,
             hard_reset, strict, decay_input, lo, hi, saturate, delayed):
    """LIF (and IF with decay = 1). ``H = decay V + X`` or ``H = V + (X - V)(1 - decay)``;
    ``delayed`` (soft-delayed reset): ``H -= threshold [V > threshold]`` and ``V = H``."""
    active = 0
    nonzero = 0
    equal_fires = not strict
    for i in range(X.shape[0]):
        # every choice is a select, not a branch, so that the loop vectorizes
        v = V[i]
        x = X[i]
        h_in = v + (x - v) * one_minus_decay
        h_de = decay * v + x
        h = h_in if decay_input else h_de
        fired_before = (v > threshold) | (equal_fires & (v == threshold))
        h_late = h - threshold
        h = h_late if (delayed & fired_before) else h
        h_sat = min(max(h, lo), hi)
        h = h_sat if saturate else h
        active += h != 0
        nonzero += x != 0
        fire = (h > threshold) | (equal_fires & (h == threshold))
        out[i] = 1 if fire else 0
        soft = h - threshold
        after = reset_value if hard_reset else soft
        V[i] = after if (fire & (not delayed)) else h
    n = _compact_nonzero(out, out_idx, out_val, True)
    return n, n, active, nonzero


@njit(cache=True)
def lif_step_fixed(X, V, out, out_idx, out_val, decay_q, decay_shift, threshold, reset_value,
                   hard_reset, strict, decay_input, lo, hi, delayed):
    """Fixed-point LIF on int64: ``H = (V d_q) >> shift + X`` or ``H = V + ((X - V) k_q) >> shift``
    (minus the threshold where ``delayed`` and ``V`` fired), saturated to [lo, hi]. The shift is
    arithmetic (rounds toward -inf)."""
    active = 0
    nonzero = 0
    for i in range(X.shape[0]):
        v = V[i]
        if decay_input:
            h = v + (((X[i] - v) * decay_q) >> decay_shift)
        else:
            h = ((v * decay_q) >> decay_shift) + X[i]
        if delayed and ((v > threshold) if strict else (v >= threshold)):
            h -= threshold
        h = min(max(h, lo), hi)
        active += h != 0
        nonzero += X[i] != 0
        fire = (h > threshold) if strict else (h >= threshold)
        out[i] = 1 if fire else 0
        if delayed:
            V[i] = h
        else:
            V[i] = (reset_value if hard_reset else h - threshold) if fire else h
    n = _compact_nonzero(out, out_idx, out_val, True)
    return n, n, active, nonzero


@njit(cache=True)
def ilif_step(X, V, out, out_idx, out_val, decay, one_minus_decay, max_spike, decay_input, fresh, zero):
    """I-LIF: ``S = round_half_even(clamp(H, 0, D))``, ``V = H - S``. ``fresh``: the state is
    the zero of a new sample, so ``V`` is not read (the same arithmetic runs on ``zero``, a +0
    of V's type: one pass over V's memory saved, and its reset before)."""
    total = 0
    active = 0
    nonzero = 0
    for i in range(X.shape[0]):
        v = zero if fresh else V[i]
        x = X[i]
        h_in = v + (x - v) * one_minus_decay
        h_de = decay * v + x
        h = h_in if decay_input else h_de  # a select, not a branch: the loop vectorizes
        active += h != 0
        nonzero += x != 0
        c = min(max(h, 0), max_spike)
        s = np.rint(c)
        out[i] = s
        V[i] = h - s
        total += int(s)
    n = _compact_nonzero(out, out_idx, out_val, False)
    return n, total, active, nonzero


@njit(cache=True)
def ilif_step_fixed(X, V, out, out_idx, out_val, decay_q, decay_shift, one, max_spike,
                    decay_input, lo, hi):
    """Fixed-point I-LIF on int64 with ``one = 2^f`` state units per spike:
    ``S = round_half_even(clamp(H, 0, D one) / one)``, ``V = H - S one``."""
    total = 0
    active = 0
    nonzero = 0
    half = one // 2
    top = max_spike * one
    f = 0
    while (1 << f) < one:
        f += 1
    if (1 << f) == one:  # clamped charges are >= 0: a shift and a mask divide by 2^f
        mask = one - 1
        for i in range(X.shape[0]):
            v = V[i]
            if decay_input:
                h = v + (((X[i] - v) * decay_q) >> decay_shift)
            else:
                h = ((v * decay_q) >> decay_shift) + X[i]
            h = min(max(h, lo), hi)
            active += h != 0
            nonzero += X[i] != 0
            c = min(max(h, 0), top)
            q = c >> f
            r = c & mask
            q += (r > half) | ((r == half) & ((q & 1) == 1))
            out[i] = q
            V[i] = h - q * one
            total += q
    else:
        for i in range(X.shape[0]):
            v = V[i]
            if decay_input:
                h = v + (((X[i] - v) * decay_q) >> decay_shift)
            else:
                h = ((v * decay_q) >> decay_shift) + X[i]
            h = min(max(h, lo), hi)
            active += h != 0
            nonzero += X[i] != 0
            c = min(max(h, 0), top)
            q = c // one
            r = c - q * one
            q += (r > half) | ((r == half) & (q % 2 == 1))
            out[i] = q
            V[i] = h - q * one
            total += q
    n = _compact_nonzero(out, out_idx, out_val, False)
    return n, total, active, nonzero


@njit(cache=True)
def threshold_step(X, out, out_idx, out_val, scale, threshold):
    """Stateless threshold (Hoyer spike): ``S = [X * scale >= threshold]``, returns (n, n, active).

    The float mode passes ``scale`` = 1 and divides by the clip beforehand (as torch does)."""
    active = 0
    for i in range(X.shape[0]):
        h = X[i] * scale
        active += h != 0
        out[i] = 1 if h >= threshold else 0
    n = _compact_nonzero(out, out_idx, out_val, True)
    return n, n, active


@njit(cache=True)
def heaviside_step(X, out, out_idx, out_val, threshold):
    """Stateless spike with a per-neuron threshold: ``S = [X > threshold]``; returns (n, n, active)."""
    n = 0
    active = 0
    for i in range(X.shape[0]):
        h = X[i]
        if h != 0:
            active += 1
        if h > threshold[i]:
            out[i] = 1
            out_idx[n] = i
            out_val[n] = 1
            n += 1
        else:
            out[i] = 0
    return n, n, active


@njit(cache=True)
def cuba_step(X, current, V, out, out_idx, out_val, syn_decay, syn_gain, mem_decay, mem_gain, bias,
              threshold, reset_value, spiking, reset_mode):
    """Current-based neuron with per-neuron parameters (CubaLIF; CubaLI and LI when not spiking).

    ``I = a_s I + g_s X``, ``H = a_m V + g_m I + b`` (``current`` holds I). Spiking:
    ``S = [H > threshold]`` and ``V = reset_value`` where S, else ``H`` (``reset_mode`` 0, hard);
    delayed resets keep ``V = H`` and, where ``V > threshold`` before the step, subtract the
    threshold from ``H`` (mode 1, soft-delayed) or zero ``H`` (mode 2, zero-delayed).
    Not spiking: ``out = V = H``.
    """
    n = 0
    active = 0
    for i in range(X.shape[0]):
        cur = syn_decay[i] * current[i] + syn_gain[i] * X[i]
        current[i] = cur
        v = V[i]
        h = mem_decay[i] * v + mem_gain[i] * cur + bias[i]
        if reset_mode != 0 and spiking and v > threshold[i]:
            h = h - threshold[i] if reset_mode == 1 else 0.0
        if h != 0:
            active += 1
        if not spiking:
            out[i] = h
            V[i] = h
        elif h > threshold[i]:
            out[i] = 1
            out_idx[n] = i
            out_val[n] = 1
            n += 1
            V[i] = reset_value[i] if reset_mode == 0 else h
        else:
            out[i] = 0
            V[i] = h
    return n, n, active
