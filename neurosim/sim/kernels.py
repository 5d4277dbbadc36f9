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
from numba import njit


@njit(cache=True)
def record_events(idx, val, n, channels, per_channel, event_acc):
    """Accumulate one timestep's events (unique channels-last positions ``idx[:n]``, values
    ``val[:n]``): ``per_channel[idx % channels] += val`` and ``event_acc[idx] += val``."""
    for i in range(n):
        p = idx[i]
        v = val[i]
        per_channel[p % channels] += v
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


@njit(cache=True, error_model="numpy")
def conv2d_events(ev_idx, ev_val, n_ev, W, Cin, wt, groups, Cout, sh, sw, ph, pw,
                  kh, kw, Ho, Wo, out, synops_group):
    """Scatter input events through a convolution (any stride, padding, groups).

    ``wt[c, u, v, :]`` holds ``W[g * Cout_g + o, c - g * Cin_g, u, v]`` for o in the group g of c.
    For an event of value s at (c, y, x): ``out[o_y, o_x, g Cout_g + o] += s * W[...]`` for every
    tap landing inside the output map. ``synops_group[g] += s * taps`` counts synaptic operations
    per output channel of group g (each output channel of the group receives the same count).
    Returns the total value-weighted synaptic operations.
    """
    cin_g = Cin // groups
    cout_g = Cout // groups
    total = 0.0
    for e in range(n_ev):
        flat = ev_idx[e]
        s = ev_val[e]
        pos = flat // Cin
        c = flat - pos * Cin
        y = pos // W
        x = pos - y * W
        g = c // cin_g
        co0 = g * cout_g
        ky0, oy0, ny = _first_tap(y, ph, sh, kh, Ho)
        kx0, ox0, nx = _first_tap(x, pw, sw, kw, Wo)
        taps = ny * nx
        if taps == 0:
            continue
        for iy in range(ny):
            ky = ky0 + iy * sh
            oy = oy0 - iy
            for ix in range(nx):
                kx = kx0 + ix * sw
                base = ((oy * Wo + ox0 - ix) * Cout) + co0
                # slices (not raw indexing) let LLVM drop the wrap-around checks and vectorize
                o_row = out[base:base + cout_g]
                w_row = wt[c, ky, kx]
                if s == 1:
                    for o in range(cout_g):
                        o_row[o] += w_row[o]
                else:
                    for o in range(cout_g):
                        o_row[o] += s * w_row[o]
        synops_group[g] += s * taps
        total += s * taps * cout_g
    return total


@njit(cache=True, error_model="numpy")
def conv2d_events_rows(ev_idx, ev_val, n_ev, W, Cin, wrow, Cout, ph, pw, kh, kw, Ho, Wo, out):
    """Fast path for stride 1 and groups 1: one contiguous update per kernel row.

    ``wrow[c, u, f, o] = W[o, c, u, k_w - 1 - f]`` (kernel flipped along x), flattened. For an
    event at (c, y, x) and kernel row u, the outputs ``o_x = x + p_w - k_w + 1 + f`` for
    consecutive f are consecutive in the channels-last output, and so are their weights: the
    whole row is a single axpy of length ``(f_hi - f_lo) * C_out``. Events arrive ordered by
    pixel (channels-last), so the row bounds are recomputed only when the pixel changes.
    Returns the total value-weighted synaptic operations (per-channel counts are equal to
    total / C_out, since every output channel sees every tap).
    """
    total = 0.0
    block = kh * kw * Cout
    last_pos = -1
    y = 0
    base_ox = 0
    f_lo = 0
    n = 0
    u_lo = 0
    u_hi = 0
    for e in range(n_ev):
        flat = ev_idx[e]
        s = ev_val[e]
        pos = flat // Cin
        c = flat - pos * Cin
        if pos != last_pos:
            last_pos = pos
            y = pos // W
            x = pos - y * W
            base_ox = x + pw - kw + 1
            f_lo = max(0, -base_ox)
            n = (min(kw, Wo - base_ox) - f_lo) * Cout
            u_lo = max(0, y + ph - Ho + 1)
            u_hi = min(kh, y + ph + 1)
        if n <= 0 or u_hi <= u_lo:
            continue
        wbase = c * block + f_lo * Cout
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
    nonzero are appended to ``out_idx``; returns their number.
    """
    n_out = 0
    for e in range(n_ev):
        flat = ev_idx[e]
        s = ev_val[e]
        c = flat % C
        pos = flat // C
        x = pos % W
        y = pos // W
        ky0, oy0, ny = _first_tap(y, ph, sh, kh, Ho)
        kx0, ox0, nx = _first_tap(x, pw, sw, kw, Wo)
        for iy in range(ny):
            oy = oy0 - iy
            for ix in range(nx):
                ox = ox0 - ix
                o = (oy * Wo + ox) * C + c
                if out[o] == 0:
                    out_idx[n_out] = o
                    n_out += 1
                if use_max:
                    if s > out[o]:
                        out[o] = s
                else:
                    out[o] += scale * s
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


@njit(cache=True)
def lif_step(X, V, out, out_idx, out_val, decay, one_minus_decay, threshold, reset_value,
             hard_reset, strict, decay_input, lo, hi, saturate):
    """LIF (and IF with decay = 1). ``H = decay V + X`` or ``H = V + (X - V)(1 - decay)``."""
    n = 0
    active = 0
    for i in range(X.shape[0]):
        v = V[i]
        if decay_input:
            h = v + (X[i] - v) * one_minus_decay
        else:
            h = decay * v + X[i]
        if saturate:
            h = min(max(h, lo), hi)
        if h != 0:
            active += 1
        fire = h > threshold if strict else h >= threshold
        if fire:
            out[i] = 1
            out_idx[n] = i
            out_val[n] = 1
            n += 1
            V[i] = reset_value if hard_reset else h - threshold
        else:
            out[i] = 0
            V[i] = h
    return n, n, active


@njit(cache=True)
def lif_step_fixed(X, V, out, out_idx, out_val, decay_q, decay_shift, threshold, reset_value,
                   hard_reset, strict, decay_input, lo, hi):
    """Fixed-point LIF on int64: ``H = (V d_q) >> shift + X`` or ``H = V + ((X - V) k_q) >> shift``,
    saturated to [lo, hi]. The shift is arithmetic (rounds toward -inf)."""
    n = 0
    active = 0
    for i in range(X.shape[0]):
        v = V[i]
        if decay_input:
            h = v + (((X[i] - v) * decay_q) >> decay_shift)
        else:
            h = ((v * decay_q) >> decay_shift) + X[i]
        h = min(max(h, lo), hi)
        if h != 0:
            active += 1
        fire = h > threshold if strict else h >= threshold
        if fire:
            out[i] = 1
            out_idx[n] = i
            out_val[n] = 1
            n += 1
            V[i] = reset_value if hard_reset else h - threshold
        else:
            out[i] = 0
            V[i] = h
    return n, n, active


@njit(cache=True)
def ilif_step(X, V, out, out_idx, out_val, decay, one_minus_decay, max_spike, decay_input):
    """I-LIF: ``S = round_half_even(clamp(H, 0, D))``, ``V = H - S``."""
    n = 0
    total = 0
    active = 0
    for i in range(X.shape[0]):
        v = V[i]
        if decay_input:
            h = v + (X[i] - v) * one_minus_decay
        else:
            h = decay * v + X[i]
        if h != 0:
            active += 1
        c = min(max(h, 0), max_spike)
        s = np.rint(c)
        out[i] = s
        V[i] = h - s
        if s != 0:
            out_idx[n] = i
            out_val[n] = s
            n += 1
            total += int(s)
    return n, total, active


@njit(cache=True)
def ilif_step_fixed(X, V, out, out_idx, out_val, decay_q, decay_shift, one, max_spike,
                    decay_input, lo, hi):
    """Fixed-point I-LIF on int64 with ``one = 2^f`` state units per spike:
    ``S = round_half_even(clamp(H, 0, D one) / one)``, ``V = H - S one``."""
    n = 0
    total = 0
    active = 0
    half = one // 2
    for i in range(X.shape[0]):
        v = V[i]
        if decay_input:
            h = v + (((X[i] - v) * decay_q) >> decay_shift)
        else:
            h = ((v * decay_q) >> decay_shift) + X[i]
        h = min(max(h, lo), hi)
        if h != 0:
            active += 1
        c = min(max(h, 0), max_spike * one)
        q = c // one
        r = c - q * one
        if r > half or (r == half and q % 2 == 1):
            q += 1
        out[i] = q
        V[i] = h - q * one
        if q != 0:
            out_idx[n] = i
            out_val[n] = q
            n += 1
            total += q
    return n, total, active


@njit(cache=True)
def threshold_step(X, out, out_idx, out_val, scale, threshold):
    """Stateless threshold (Hoyer spike): ``S = [X * scale >= threshold]``, returns (n, n, active).

    The float mode passes ``scale`` = 1 and divides by the clip beforehand (as torch does)."""
    n = 0
    active = 0
    for i in range(X.shape[0]):
        h = X[i] * scale
        if h != 0:
            active += 1
        if h >= threshold:
            out[i] = 1
            out_idx[n] = i
            out_val[n] = 1
            n += 1
        else:
            out[i] = 0
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
              threshold, reset_value, spiking):
    """Current-based neuron with per-neuron parameters (CubaLIF; CubaLI and LI when not spiking).

    ``I = a_s I + g_s X``, ``H = a_m V + g_m I + b`` (``current`` holds I). Spiking:
    ``S = [H > threshold]`` and ``V = reset_value`` where S, else ``H``; not spiking: ``out = V = H``.
    """
    n = 0
    active = 0
    for i in range(X.shape[0]):
        cur = syn_decay[i] * current[i] + syn_gain[i] * X[i]
        current[i] = cur
        h = mem_decay[i] * V[i] + mem_gain[i] * cur + bias[i]
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
            V[i] = reset_value[i]
        else:
            out[i] = 0
            V[i] = h
    return n, n, active
