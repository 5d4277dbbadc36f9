"""The faster Numba kernels against dense torch / numpy references and, to the bit, against the
kernels they replace (copied below as ``old_*``, the one-event-at-a-time and one-pass versions).

Event lists are channels-last flat positions (see :mod:`neurosim.sim.kernels`). Every kernel is
run on float32, float64 and int64 (fixed-point) data, binary and integer spikes, ascending and
shuffled event lists, and empty ones.
"""
import zlib

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from numba import njit

from neurosim.sim import kernels as k

# ------------------------------------------------------------------ the replaced kernels (verbatim)


@njit(cache=True)
def _old_first_tap(pos, pad, stride, kernel, out_size):
    t = pos + pad
    o0 = t // stride
    if o0 > out_size - 1:
        o0 = out_size - 1
    k0 = t - o0 * stride
    if k0 >= kernel:
        return 0, 0, 0
    count = (kernel - 1 - k0) // stride + 1
    if count > o0 + 1:
        count = o0 + 1
    return k0, o0, count


@njit(cache=True, error_model="numpy")
def old_conv2d_events(ev_idx, ev_val, n_ev, W, Cin, wt, groups, Cout, sh, sw, ph, pw,
                      kh, kw, Ho, Wo, out, synops_group):
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
        ky0, oy0, ny = _old_first_tap(y, ph, sh, kh, Ho)
        kx0, ox0, nx = _old_first_tap(x, pw, sw, kw, Wo)
        taps = ny * nx
        if taps == 0:
            continue
        for iy in range(ny):
            ky = ky0 + iy * sh
            oy = oy0 - iy
            for ix in range(nx):
                kx = kx0 + ix * sw
                base = ((oy * Wo + ox0 - ix) * Cout) + co0
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
def old_conv2d_events_rows(ev_idx, ev_val, n_ev, W, Cin, wrow, Cout, ph, pw, kh, kw, Ho, Wo, out):
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
def old_pool_events(ev_idx, ev_val, n_ev, W, C, kh, kw, sh, sw, ph, pw, Ho, Wo, scale, use_max,
                    out, out_idx):
    n_out = 0
    for e in range(n_ev):
        flat = ev_idx[e]
        s = ev_val[e]
        c = flat % C
        pos = flat // C
        x = pos % W
        y = pos // W
        ky0, oy0, ny = _old_first_tap(y, ph, sh, kh, Ho)
        kx0, ox0, nx = _old_first_tap(x, pw, sw, kw, Wo)
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
def old_lif_step(X, V, out, out_idx, out_val, decay, one_minus_decay, threshold, reset_value,
                 hard_reset, strict, decay_input, lo, hi, saturate):
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
def old_lif_step_fixed(X, V, out, out_idx, out_val, decay_q, decay_shift, threshold, reset_value,
                       hard_reset, strict, decay_input, lo, hi):
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
def old_ilif_step(X, V, out, out_idx, out_val, decay, one_minus_decay, max_spike, decay_input):
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
def old_ilif_step_fixed(X, V, out, out_idx, out_val, decay_q, decay_shift, one, max_spike,
                        decay_input, lo, hi):
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
def old_threshold_step(X, out, out_idx, out_val, scale, threshold):
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


# ------------------------------------------------------------------------------------ helpers

DTYPES = [np.float32, np.float64, np.int64]


def seeded(*key):
    """A generator seeded from the test parameters (stable across runs, unlike hash())."""
    return np.random.default_rng(zlib.crc32(repr(key).encode()))


def out_size(size, kernel, stride, pad):
    return (size + 2 * pad - kernel) // stride + 1


def random_events(rng, C, H, W, density, dtype, max_value=1, order="ascending"):
    """An event list (idx, val, n) over a (C, H, W) map held channels-last, and the dense map
    [C, H, W] it stands for. Buffers are longer than n, with junk past n."""
    size = C * H * W
    mask = rng.random(size) < density
    idx = np.flatnonzero(mask).astype(np.int64)
    val = rng.integers(1, max_value + 1, idx.size).astype(dtype)
    if order == "shuffled":
        perm = rng.permutation(idx.size)
        idx, val = idx[perm], val[perm]
    n = idx.size
    idx_buf = np.full(size + 3, -7, np.int64)
    val_buf = np.full(size + 3, 99, dtype)
    idx_buf[:n] = idx
    val_buf[:n] = val
    dense_hwc = np.zeros(size, np.float64)
    dense_hwc[idx] = val
    return idx_buf, val_buf, n, dense_hwc.reshape(H, W, C).transpose(2, 0, 1)


def random_weight(rng, shape, dtype):
    if np.dtype(dtype).kind == "i":
        return rng.integers(-50, 51, shape).astype(dtype)
    return rng.standard_normal(shape).astype(dtype)


def torch_conv(dense_chw, weight, stride, padding, groups):
    """Dense reference in float64, returned channels-last flat."""
    x = torch.from_numpy(np.ascontiguousarray(dense_chw, np.float64))[None]
    w = torch.from_numpy(weight.astype(np.float64))
    y = F.conv2d(x, w, stride=stride, padding=padding, groups=groups)[0].numpy()
    return y.transpose(1, 2, 0).ravel()


def axis_taps(size, kernel, stride, pad, n_out):
    """taps[p]: number of (output o, tap t) pairs with o stride - pad + t == p."""
    taps = np.zeros(size, np.int64)
    for o in range(n_out):
        for t in range(kernel):
            p = o * stride - pad + t
            if 0 <= p < size:
                taps[p] += 1
    return taps


def synops_reference(dense_chw, kh, kw, stride, padding, Ho, Wo):
    """Per input channel: sum over events of value x (taps landing inside the output)."""
    C, H, W = dense_chw.shape
    ty = axis_taps(H, kh, stride[0], padding[0], Ho)
    tx = axis_taps(W, kw, stride[1], padding[1], Wo)
    return (dense_chw * ty[None, :, None] * tx[None, None, :]).sum(axis=(1, 2))


def assert_close(actual, expected, dtype, err_msg=""):
    if np.dtype(dtype).kind == "i":
        np.testing.assert_array_equal(actual, expected, err_msg=err_msg)
    else:
        tol = 2e-4 if dtype == np.float32 else 1e-10
        np.testing.assert_allclose(actual, expected, rtol=tol, atol=tol, err_msg=err_msg)


def grouped_layout(weight, groups):
    """``wt`` of :func:`conv2d_events` (as ConvStep builds it)."""
    cout, cin_g, kh, kw = weight.shape
    cout_g = cout // groups
    per_group = weight.reshape(groups, cout_g, cin_g, kh, kw).transpose(0, 2, 3, 4, 1)
    return np.ascontiguousarray(per_group.reshape(groups * cin_g, kh, kw, cout_g))


# --------------------------------------------------------------------------------- depthwise

DW_CASES = [
    # C, H, W, kh, kw, stride, padding
    (32, 16, 16, 7, 7, (1, 1), (3, 3)),
    (64, 8, 8, 7, 7, (1, 1), (3, 3)),
    (128, 4, 4, 7, 7, (1, 1), (3, 3)),
    (5, 9, 11, 3, 3, (1, 1), (1, 1)),
    (6, 10, 7, 3, 5, (2, 1), (1, 2)),
    (4, 12, 9, 5, 3, (2, 3), (2, 0)),
    (3, 7, 8, 3, 3, (3, 2), (0, 1)),
    (7, 6, 6, 1, 1, (1, 1), (0, 0)),
    (8, 5, 6, 4, 4, (1, 2), (3, 1)),
]


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("case", DW_CASES)
@pytest.mark.parametrize("density,max_value,order", [
    (0.3, 1, "ascending"), (0.3, 4, "ascending"), (0.9, 2, "ascending"),
    (0.05, 1, "ascending"), (0.3, 3, "shuffled"),
])
def test_depthwise_matches_torch_and_old_kernel(dtype, case, density, max_value, order):
    C, H, W, kh, kw, stride, padding = case
    rng = seeded((C, H, W, kh, kw, stride, padding, density, max_value, order))
    Ho, Wo = out_size(H, kh, stride[0], padding[0]), out_size(W, kw, stride[1], padding[1])
    weight = random_weight(rng, (C, 1, kh, kw), dtype)
    idx, val, n, dense = random_events(rng, C, H, W, density, dtype, max_value, order)
    init = random_weight(rng, Ho * Wo * C, dtype)  # the output buffer may hold a bias or other terms

    out = init.copy()
    syn = np.full(C, 0.5)
    total = k.conv2d_events_depthwise(idx, val, n, W, C, k.depthwise_weight_layout(weight),
                                      stride[0], stride[1], padding[0], padding[1], kh, kw, Ho, Wo,
                                      out, syn)

    # dense torch reference
    expected = init.astype(np.float64) + torch_conv(dense, weight, stride, padding, C)
    assert_close(out, expected, dtype)
    ref_syn = synops_reference(dense, kh, kw, stride, padding, Ho, Wo)
    np.testing.assert_array_equal(syn, 0.5 + ref_syn)
    assert total == ref_syn.sum()

    # the general kernel with groups = C, to the bit
    out_old = init.copy()
    syn_old = np.full(C, 0.5)
    total_old = old_conv2d_events(idx, val, n, W, C, grouped_layout(weight, C), C, C, stride[0], stride[1],
                                  padding[0], padding[1], kh, kw, Ho, Wo, out_old, syn_old)
    np.testing.assert_array_equal(out, out_old)
    np.testing.assert_array_equal(syn, syn_old)
    assert total == total_old


@pytest.mark.parametrize("dtype", DTYPES)
def test_depthwise_empty_and_repeated_events(dtype):
    rng = np.random.default_rng(3)
    C, H, W = 8, 6, 6
    weight = random_weight(rng, (C, 1, 3, 3), dtype)
    wdw = k.depthwise_weight_layout(weight)
    out = random_weight(rng, H * W * C, dtype)
    before = out.copy()
    syn = np.zeros(C)
    assert k.conv2d_events_depthwise(np.zeros(4, np.int64), np.zeros(4, dtype), 0, W, C, wdw, 1, 1, 1, 1,
                                     3, 3, H, W, out, syn) == 0
    np.testing.assert_array_equal(out, before)
    np.testing.assert_array_equal(syn, 0)

    # a position listed twice (not produced by the engine) still adds twice, in event order
    idx = np.array([8, 9, 10, 11, 12, 13, 8, 9, 40, 41, 42, 43, 44, 45, 46, 47, 44], np.int64)
    val = rng.integers(1, 4, idx.size).astype(dtype)
    out_new, out_old = before.copy(), before.copy()
    syn_new, syn_old = np.zeros(C), np.zeros(C)
    t_new = k.conv2d_events_depthwise(idx, val, idx.size, W, C, wdw, 1, 1, 1, 1, 3, 3, H, W, out_new, syn_new)
    t_old = old_conv2d_events(idx, val, idx.size, W, C, grouped_layout(weight, C), C, C, 1, 1, 1, 1, 3, 3,
                              H, W, out_old, syn_old)
    np.testing.assert_array_equal(out_new, out_old)
    np.testing.assert_array_equal(syn_new, syn_old)
    assert t_new == t_old


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("stride", [1, 2])
def test_depthwise_dense_pixels_match_event_by_event(dtype, stride):
    """Pixels where many channels fire take the dense per-pixel update, the others the event
    path (k.DEPTHWISE_DENSE_PIXEL); both give the one-event-at-a-time result to the bit."""
    rng = np.random.default_rng(17 + stride)
    C, H, W = 64, 9, 11
    weight = random_weight(rng, (C, 1, 7, 7), dtype)
    wdw = k.depthwise_weight_layout(weight)
    fires = np.zeros((H, W, C), bool)
    for y in range(H):
        for x in range(W):
            share = (0.0, 1 / C, 0.5, 1.0)[(y + 2 * x) % 4]  # silent, one channel, half, all
            fires[y, x] = rng.random(C) < share
    idx = np.flatnonzero(fires.ravel()).astype(np.int64)
    val = rng.integers(1, 5, idx.size).astype(dtype)
    dense_pixels = sum(1 for y in range(H) for x in range(W)
                       if k.DEPTHWISE_DENSE_PIXEL * fires[y, x].sum() >= C)
    assert 0 < dense_pixels < H * W  # both paths run
    Ho, Wo = (H + 6 - 7) // stride + 1, (W + 6 - 7) // stride + 1
    out_new = random_weight(rng, Ho * Wo * C, dtype)
    out_old = out_new.copy()
    syn_new, syn_old = np.zeros(C), np.zeros(C)
    t_new = k.conv2d_events_depthwise(idx, val, idx.size, W, C, wdw, stride, stride, 3, 3, 7, 7, Ho, Wo,
                                      out_new, syn_new)
    t_old = old_conv2d_events(idx, val, idx.size, W, C, grouped_layout(weight, C), C, C, stride, stride, 3, 3,
                              7, 7, Ho, Wo, out_old, syn_old)
    np.testing.assert_array_equal(out_new.view(np.uint8), out_old.view(np.uint8))
    np.testing.assert_array_equal(syn_new, syn_old)
    assert t_new == t_old


def test_depthwise_weight_layout():
    w = np.arange(2 * 1 * 3 * 4, dtype=np.float32).reshape(2, 1, 3, 4)
    wdw = k.depthwise_weight_layout(w)
    assert wdw.shape == (3, 4, 2) and wdw.flags.c_contiguous
    for c in range(2):
        for u in range(3):
            for v in range(4):
                assert wdw[u, 4 - 1 - v, c] == w[c, 0, u, v]
    with pytest.raises(ValueError):
        k.depthwise_weight_layout(np.zeros((4, 2, 3, 3)))


# ------------------------------------------------------------------------------ general conv

CONV_CASES = [
    # Cin, Cout, groups, H, W, kh, kw, stride, padding
    (16, 16, 1, 32, 32, 3, 3, (2, 2), (1, 1)),
    (32, 64, 1, 8, 8, 3, 3, (2, 2), (1, 1)),
    (8, 12, 1, 9, 11, 3, 3, (2, 2), (0, 1)),
    (6, 4, 2, 10, 7, 5, 3, (2, 1), (2, 1)),
    (6, 6, 3, 7, 9, 3, 3, (1, 3), (1, 0)),
    (5, 7, 1, 6, 6, 1, 1, (1, 1), (0, 0)),
    (4, 8, 4, 8, 8, 3, 3, (1, 1), (2, 2)),
]


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("case", CONV_CASES)
@pytest.mark.parametrize("density,max_value,order", [
    (0.3, 1, "ascending"), (0.3, 4, "ascending"), (0.05, 2, "ascending"), (0.3, 2, "shuffled"),
    (0.0, 1, "ascending"),
])
def test_conv2d_events_matches_torch_and_old_kernel(dtype, case, density, max_value, order):
    Cin, Cout, groups, H, W, kh, kw, stride, padding = case
    rng = seeded((case, density, max_value, order))
    Ho, Wo = out_size(H, kh, stride[0], padding[0]), out_size(W, kw, stride[1], padding[1])
    weight = random_weight(rng, (Cout, Cin // groups, kh, kw), dtype)
    wt = grouped_layout(weight, groups)
    idx, val, n, dense = random_events(rng, Cin, H, W, density, dtype, max_value, order)
    init = random_weight(rng, Ho * Wo * Cout, dtype)

    out, syn = init.copy(), np.full(groups, 0.25)
    total = k.conv2d_events(idx, val, n, W, Cin, wt, groups, Cout, stride[0], stride[1], padding[0],
                            padding[1], kh, kw, Ho, Wo, out, syn)
    expected = init.astype(np.float64) + torch_conv(dense, weight, stride, padding, groups)
    assert_close(out, expected, dtype)
    per_in = synops_reference(dense, kh, kw, stride, padding, Ho, Wo)
    ref_syn = per_in.reshape(groups, Cin // groups).sum(axis=1)
    np.testing.assert_array_equal(syn, 0.25 + ref_syn)
    assert total == ref_syn.sum() * (Cout // groups)

    out_old, syn_old = init.copy(), np.full(groups, 0.25)
    total_old = old_conv2d_events(idx, val, n, W, Cin, wt, groups, Cout, stride[0], stride[1], padding[0],
                                  padding[1], kh, kw, Ho, Wo, out_old, syn_old)
    np.testing.assert_array_equal(out, out_old)
    np.testing.assert_array_equal(syn, syn_old)
    assert total == total_old


ROWS_CASES = [
    # Cin, Cout, H, W, kh, kw, padding
    (16, 16, 16, 16, 3, 3, (1, 1)),
    (96, 32, 8, 8, 3, 3, (1, 1)),
    (32, 64, 16, 16, 1, 1, (0, 0)),
    (5, 7, 9, 6, 3, 5, (1, 2)),
    (4, 3, 7, 8, 5, 3, (0, 3)),
]


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("case", ROWS_CASES)
@pytest.mark.parametrize("density,max_value,order", [
    (0.3, 1, "ascending"), (0.3, 4, "ascending"), (0.3, 2, "shuffled"), (0.0, 1, "ascending"),
])
def test_conv2d_events_rows_matches_torch_and_old_kernel(dtype, case, density, max_value, order):
    Cin, Cout, H, W, kh, kw, padding = case
    rng = seeded((case, density, max_value, order))
    Ho, Wo = out_size(H, kh, 1, padding[0]), out_size(W, kw, 1, padding[1])
    weight = random_weight(rng, (Cout, Cin, kh, kw), dtype)
    wrow = np.ascontiguousarray(weight[:, :, :, ::-1].transpose(1, 2, 3, 0)).ravel()
    idx, val, n, dense = random_events(rng, Cin, H, W, density, dtype, max_value, order)
    init = random_weight(rng, Ho * Wo * Cout, dtype)

    out = init.copy()
    total = k.conv2d_events_rows(idx, val, n, W, Cin, wrow, Cout, padding[0], padding[1], kh, kw, Ho, Wo, out)
    expected = init.astype(np.float64) + torch_conv(dense, weight, (1, 1), padding, 1)
    assert_close(out, expected, dtype)
    assert total == synops_reference(dense, kh, kw, (1, 1), padding, Ho, Wo).sum() * Cout

    out_old = init.copy()
    total_old = old_conv2d_events_rows(idx, val, n, W, Cin, wrow, Cout, padding[0], padding[1], kh, kw,
                                       Ho, Wo, out_old)
    np.testing.assert_array_equal(out, out_old)
    assert total == total_old


MIXED = [  # (event values, weights, output): engine combinations and ones that round differently
    (np.int64, np.int64, np.float64),  # fixed point, a head conv (output dequantized later)
    (np.float32, np.float32, np.float64),
    (np.float64, np.float32, np.float32),
    (np.float64, np.float64, np.float32),
]


@pytest.mark.parametrize("types", MIXED)
@pytest.mark.parametrize("stride", [(1, 1), (2, 2)])
def test_conv_kernels_on_mixed_types_match_old_kernels(types, stride):
    """Four events chained in one expression must round as four separate updates of ``out``."""
    tv, tw, to = types
    rng = seeded(types, stride)
    Cin, Cout, H, W = 24, 16, 9, 8
    Ho, Wo = out_size(H, 3, stride[0], 1), out_size(W, 3, stride[1], 1)
    weight = (rng.standard_normal((Cout, Cin, 3, 3)) * 100).astype(tw) / tw(7)
    idx, val, n, _ = random_events(rng, Cin, H, W, 0.6, np.int64, 4)
    val = val.astype(tv)
    if np.dtype(tv).kind == "f":
        val[:n] = val[:n] + tv(0.1)  # values that do not multiply exactly
    init = (rng.standard_normal(Ho * Wo * Cout) * 1000).astype(to)
    wt = grouped_layout(weight, 1)
    out, out_old, syn, syn_old = init.copy(), init.copy(), np.zeros(1), np.zeros(1)
    t = k.conv2d_events(idx, val, n, W, Cin, wt, 1, Cout, *stride, 1, 1, 3, 3, Ho, Wo, out, syn)
    t_old = old_conv2d_events(idx, val, n, W, Cin, wt, 1, Cout, *stride, 1, 1, 3, 3, Ho, Wo, out_old, syn_old)
    np.testing.assert_array_equal(out, out_old)
    assert t == t_old and syn[0] == syn_old[0]
    if stride == (1, 1):
        wrow = np.ascontiguousarray(weight[:, :, :, ::-1].transpose(1, 2, 3, 0)).ravel()
        out, out_old = init.copy(), init.copy()
        t = k.conv2d_events_rows(idx, val, n, W, Cin, wrow, Cout, 1, 1, 3, 3, Ho, Wo, out)
        t_old = old_conv2d_events_rows(idx, val, n, W, Cin, wrow, Cout, 1, 1, 3, 3, Ho, Wo, out_old)
        np.testing.assert_array_equal(out, out_old)
        assert t == t_old
    # depthwise on the same types
    dw = (rng.standard_normal((Cin, 1, 3, 3)) * 100).astype(tw) / tw(7)
    init = (rng.standard_normal(Ho * Wo * Cin) * 1000).astype(to)
    for density in (0.6, 0.05):
        idx, val, n, _ = random_events(rng, Cin, H, W, density, np.int64, 4)
        val = val.astype(tv)
        out, out_old, syn, syn_old = init.copy(), init.copy(), np.zeros(Cin), np.zeros(Cin)
        t = k.conv2d_events_depthwise(idx, val, n, W, Cin, k.depthwise_weight_layout(dw), *stride, 1, 1, 3, 3,
                                      Ho, Wo, out, syn)
        t_old = old_conv2d_events(idx, val, n, W, Cin, grouped_layout(dw, Cin), Cin, Cin, *stride, 1, 1, 3, 3,
                                  Ho, Wo, out_old, syn_old)
        np.testing.assert_array_equal(out, out_old)
        np.testing.assert_array_equal(syn, syn_old)
        assert t == t_old


# ------------------------------------------------------------------------------------ pooling

POOL_CASES = [
    # C, H, W, kh, kw, stride, padding
    (8, 64, 64, 2, 2, (2, 2), (0, 0)),
    (16, 32, 32, 3, 3, (2, 2), (1, 1)),
    (5, 9, 7, 3, 3, (2, 2), (1, 1)),
    (4, 8, 10, 3, 2, (1, 2), (1, 0)),
    (6, 11, 11, 5, 5, (1, 1), (2, 2)),
]


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("case", POOL_CASES)
@pytest.mark.parametrize("mode", ["max", "sum"])
@pytest.mark.parametrize("density,max_value,order", [
    (0.3, 1, "ascending"), (0.2, 4, "ascending"), (0.3, 3, "shuffled"), (0.0, 1, "ascending"),
])
def test_pool_events_matches_torch_and_old_kernel(dtype, case, mode, density, max_value, order):
    C, H, W, kh, kw, stride, padding = case
    rng = seeded((case, mode, density, max_value, order))
    Ho, Wo = out_size(H, kh, stride[0], padding[0]), out_size(W, kw, stride[1], padding[1])
    idx, val, n, dense = random_events(rng, C, H, W, density, dtype, max_value, order)
    size = Ho * Wo * C
    if np.dtype(dtype).kind == "i":
        scale = 1.0
    else:
        scale = dtype(0.25) if mode == "sum" else dtype(1)

    out, out_idx = np.zeros(size, dtype), np.full(size, -1, np.int64)
    n_out = k.pool_events(idx, val, n, W, C, kh, kw, stride[0], stride[1], padding[0], padding[1], Ho, Wo,
                          scale, mode == "max", out, out_idx)

    if mode == "max":
        y = F.max_pool2d(torch.from_numpy(dense)[None], (kh, kw), stride, padding)
        expected = y[0].numpy().transpose(1, 2, 0).ravel()
    else:  # window sums (a depthwise conv with ones, exact on integers), scaled
        expected = torch_conv(dense, np.ones((C, 1, kh, kw)), stride, padding, C) * float(scale)
    assert_close(out, expected, dtype)
    assert n_out == np.count_nonzero(expected)
    assert sorted(out_idx[:n_out]) == list(np.flatnonzero(expected))

    out_old, idx_old = np.zeros(size, dtype), np.full(size, -1, np.int64)
    n_old = old_pool_events(idx, val, n, W, C, kh, kw, stride[0], stride[1], padding[0], padding[1], Ho, Wo,
                            scale, mode == "max", out_old, idx_old)
    assert n_out == n_old
    np.testing.assert_array_equal(out, out_old)
    np.testing.assert_array_equal(out_idx, idx_old)  # same order, and nothing written past n_out


# ------------------------------------------------------------------------------------ neurons


def run_both(new, old, arrays, args, n_slots=None):
    """Run the new and old neuron kernel on copies of ``arrays`` (X, [V,] out); return both
    results and outputs. ``n_slots``: length of the event buffers (N by default)."""
    results = []
    for fn in (new, old):
        arrs = [a.copy() for a in arrays]
        N = arrs[0].shape[0]
        slots = N if n_slots is None else n_slots
        out_idx = np.full(slots, -1, np.int64)
        out_val = np.full(slots, 77, arrs[-1].dtype)
        r = fn(*arrs, out_idx, out_val, *args)
        results.append((r, arrs, out_idx, out_val))
    return results


def assert_same(results):
    (r_new, a_new, i_new, v_new), (r_old, a_old, i_old, v_old) = results
    if len(r_new) == 4:  # the LIF and I-LIF kernels also count the nonzero input currents
        assert r_new[3] == np.count_nonzero(a_new[0])
        r_new = r_new[:3]
    assert r_new == r_old
    for x, y in zip(a_new, a_old):
        np.testing.assert_array_equal(x, y)
        assert x.dtype == y.dtype
    n = r_new[0]
    np.testing.assert_array_equal(i_new[:n], i_old[:n])
    np.testing.assert_array_equal(v_new[:n], v_old[:n])
    assert np.all(np.diff(i_new[:n]) > 0)


def float_currents(rng, N, dtype, exact_hits=True):
    X = (rng.standard_normal(N) * 1.5).astype(dtype)
    V = (rng.standard_normal(N) * 0.7).astype(dtype)
    X[rng.random(N) < 0.1] = 0  # some neurons with zero charge
    V[rng.random(N) < 0.5] = 0
    if exact_hits:  # charges landing exactly on the threshold / half-integers
        hits = np.array([0.5, 1.5, 2.5, 3.5, 4.5, -0.5, 1.0, 0.0], dtype)[:N]
        X[:hits.size] = hits
        V[:hits.size] = 0
    return X, V


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("N", [0, 1, 7, 1000, 8192])
@pytest.mark.parametrize("hard,strict,decay_input,saturate", [
    (True, False, False, False), (False, True, False, False), (False, False, True, True),
    (True, True, True, False), (False, False, False, True), (True, True, True, True),
])
def test_lif_step(dtype, N, hard, strict, decay_input, saturate):
    rng = np.random.default_rng(N + 10 * hard + 20 * strict + 40 * decay_input + 80 * saturate)
    d = dtype
    X, V = float_currents(rng, N, d)
    args = (d(0.25), d(0.75), d(0.5), d(-0.125), hard, strict, decay_input, d(-1), d(1.25), saturate)
    for step in range(3):  # a few steps, the state carried over
        res = run_both(lambda *a: k.lif_step(*a, False), old_lif_step, (X, V, np.zeros(N, d)), args)
        assert_same(res)
        (n, total, active, nonzero), (_, V_new, out), idx, vals = res[0]
        # numpy reference of the same formulas, in the same precision
        h = V + (X - V) * d(0.75) if decay_input else d(0.25) * V + X
        if saturate:
            h = np.minimum(np.maximum(h, d(-1)), d(1.25))
        fire = h > d(0.5) if strict else h >= d(0.5)
        np.testing.assert_array_equal(out, fire.astype(d))
        np.testing.assert_array_equal(V_new, np.where(fire, d(-0.125) if hard else h - d(0.5), h))
        assert (n, total, active, nonzero) == (fire.sum(), fire.sum(), np.count_nonzero(h), np.count_nonzero(X))
        np.testing.assert_array_equal(idx[:n], np.flatnonzero(fire))
        np.testing.assert_array_equal(vals[:n], 1)
        V = V_new
        X = np.roll(X, 3)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("N", [0, 5, 1000, 8192])
@pytest.mark.parametrize("decay_input", [False, True])
@pytest.mark.parametrize("max_spike", [1, 4])
def test_ilif_step(dtype, N, decay_input, max_spike):
    rng = np.random.default_rng(N + 7 * decay_input + max_spike)
    d = dtype
    X, V = float_currents(rng, N, d)
    X *= d(2)
    for step in range(3):
        args = (d(0.25), d(0.75), d(max_spike), decay_input)
        def ilif_step(*a):
            return k.ilif_step(*a, False, d(0))
        res = run_both(ilif_step, old_ilif_step, (X, V, np.zeros(N, d)), args)
        assert_same(res)
        (n, total, active, nonzero), (_, V_new, out), idx, vals = res[0]
        h = V + (X - V) * d(0.75) if decay_input else d(0.25) * V + X
        s = np.rint(np.clip(h.astype(np.float64), 0, max_spike))
        np.testing.assert_array_equal(out, s.astype(d))
        np.testing.assert_array_equal(V_new, (h - s).astype(d))
        assert (n, total, active, nonzero) == (np.count_nonzero(s), int(s.sum()), np.count_nonzero(h), np.count_nonzero(X))
        np.testing.assert_array_equal(idx[:n], np.flatnonzero(s))
        np.testing.assert_array_equal(vals[:n], s[s != 0])
        V = V_new
        X = np.roll(X, 5)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("decay_input", [False, True])
def test_ilif_step_fresh_state_is_not_read(dtype, decay_input):
    """fresh=True on a V full of garbage gives, to the bit, what a V reset to zeros gives."""
    rng = np.random.default_rng(11)
    d = dtype
    N = 4096
    X, _ = float_currents(rng, N, d)
    X *= d(3)
    outs = []
    for fresh, V in ((False, np.zeros(N, d)), (True, np.full(N, np.nan, d))):
        out, idx, val = np.zeros(N, d), np.full(N, -1, np.int64), np.zeros(N, d)
        r = k.ilif_step(X, V, out, idx, val, d(0.25), d(0.75), d(4), decay_input, fresh, d(0))
        outs.append((r, V, out, idx[:r[0]], val[:r[0]]))
    (r0, V0, out0, i0, v0), (r1, V1, out1, i1, v1) = outs
    assert r0 == r1 and r0[0] > 0
    for a, b in ((V0, V1), (out0, out1), (i0, i1), (v0, v1)):
        np.testing.assert_array_equal(a.view(np.uint8), b.view(np.uint8))


@pytest.mark.parametrize("dtype", [np.float32, np.float64, np.int64])
@pytest.mark.parametrize("N", [0, 3, 1000, 8192])
def test_threshold_step(dtype, N):
    rng = np.random.default_rng(N)
    if np.dtype(dtype).kind == "i":
        X = rng.integers(-100, 100, N).astype(dtype)
        X[rng.random(N) < 0.2] = 0
        scale, thr = dtype(3), dtype(64)
    else:
        X, _ = float_currents(rng, N, dtype)
        scale, thr = dtype(1), dtype(0.5)
    res = run_both(k.threshold_step, old_threshold_step, (X, np.zeros(N, dtype)), (scale, thr))
    assert_same(res)
    (n, total, active), (_, out), idx, vals = res[0]
    h = X * scale
    np.testing.assert_array_equal(out, (h >= thr).astype(dtype))
    assert (n, total, active) == ((h >= thr).sum(), (h >= thr).sum(), np.count_nonzero(h))
    np.testing.assert_array_equal(idx[:n], np.flatnonzero(h >= thr))


def fixed_currents(rng, N):
    X = rng.integers(-300, 300, N).astype(np.int64)
    V = rng.integers(-200, 200, N).astype(np.int64)
    X[rng.random(N) < 0.1] = 0
    V[rng.random(N) < 0.3] = 0
    hits = np.array([64, 32, 96, 160, 0, -64], np.int64)[:N]  # on the threshold, half a spike, ...
    X[:hits.size] = hits
    V[:hits.size] = 0
    return X, V


def shift(a, s):
    return a >> s  # numpy's >> on int64 is arithmetic, as the kernels' shift


@pytest.mark.parametrize("N", [0, 6, 1000, 8192])
@pytest.mark.parametrize("hard,strict,decay_input", [
    (True, False, False), (False, True, True), (True, True, False), (False, False, True),
])
def test_lif_step_fixed(N, hard, strict, decay_input):
    rng = np.random.default_rng(N + 3 * hard + 5 * strict + 11 * decay_input)
    X, V = fixed_currents(rng, N)
    lo, hi = -400, 399
    dq = 3072 if decay_input else 1024
    for step in range(3):
        args = (dq, 12, 64, -16, hard, strict, decay_input, lo, hi)
        res = run_both(lambda *a: k.lif_step_fixed(*a, False), old_lif_step_fixed, (X, V, np.zeros(N, np.int64)), args)
        assert_same(res)
        (n, total, active, nonzero), (_, V_new, out), idx, vals = res[0]
        h = V + shift((X - V) * dq, 12) if decay_input else shift(V * dq, 12) + X
        h = np.clip(h, lo, hi)
        fire = h > 64 if strict else h >= 64
        np.testing.assert_array_equal(out, fire)
        np.testing.assert_array_equal(V_new, np.where(fire, -16 if hard else h - 64, h))
        assert (n, total, active, nonzero) == (fire.sum(), fire.sum(), np.count_nonzero(h), np.count_nonzero(X))
        V = V_new
        X = np.roll(X, 7)


@pytest.mark.parametrize("N", [0, 6, 1000, 8192])
@pytest.mark.parametrize("decay_input", [False, True])
@pytest.mark.parametrize("one", [64, 1, 48])  # a power of two (the fixed-point rule), and others
def test_ilif_step_fixed(N, decay_input, one):
    rng = np.random.default_rng(N + one + decay_input)
    X, V = fixed_currents(rng, N)
    X *= 2
    lo, hi = -600, 599
    dq = 3072 if decay_input else 1024
    for step in range(3):
        args = (dq, 12, one, 4, decay_input, lo, hi)
        res = run_both(k.ilif_step_fixed, old_ilif_step_fixed, (X, V, np.zeros(N, np.int64)), args)
        assert_same(res)
        (n, total, active, nonzero), (_, V_new, out), idx, vals = res[0]
        h = V + shift((X - V) * dq, 12) if decay_input else shift(V * dq, 12) + X
        h = np.clip(h, lo, hi)
        c = np.clip(h, 0, 4 * one)
        q, r = c // one, c % one
        half = one // 2
        q = q + ((r > half) | ((r == half) & (q % 2 == 1)))
        np.testing.assert_array_equal(out, q)
        np.testing.assert_array_equal(V_new, h - q * one)
        assert (n, total, active, nonzero) == (np.count_nonzero(q), q.sum(), np.count_nonzero(h), np.count_nonzero(X))
        np.testing.assert_array_equal(vals[:n], q[q != 0])
        V = V_new
        X = np.roll(X, 7)


def test_neuron_kernels_with_short_event_buffers():
    """Event buffers shorter than the layer (but long enough for its spikes) are not overrun."""
    rng = np.random.default_rng(5)
    N = 4000
    d = np.float32
    X, V = float_currents(rng, N, d)
    X[-1] = 0  # the last neuron stays silent, so N - 1 slots are enough
    V[-1] = 0
    res = run_both(lambda *a: k.lif_step(*a, False), old_lif_step, (X, V, np.zeros(N, d)),
                   (d(0.25), d(0.75), d(0.5), d(0), True, False, False, d(0), d(0), False), n_slots=N - 1)
    assert_same(res)
    res = run_both(lambda *a: k.ilif_step(*a, False, d(0)), old_ilif_step, (X, V, np.zeros(N, d)), (d(0.25), d(0.75), d(4), False),
                   n_slots=N - 1)
    assert_same(res)
    res = run_both(k.threshold_step, old_threshold_step, (X, np.zeros(N, d)), (d(1), d(0.5)), n_slots=N - 1)
    assert_same(res)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("strict,decay_input,saturate", [(True, False, False), (False, True, True), (True, True, False)])
def test_lif_step_soft_delayed(dtype, strict, decay_input, saturate):
    """Soft-delayed reset (snnTorch): ``H = leak(V, X) - thr [V fired]``, then ``V = H``."""
    rng = np.random.default_rng(5 + strict + 2 * decay_input)
    d, N = dtype, 1000
    X, V = float_currents(rng, N, d)
    thr = d(0.5)
    for step in range(4):
        out, idx, val = np.zeros(N, d), np.zeros(N, np.int64), np.zeros(N, d)
        V_before = V.copy()
        n, total, active, nonzero = k.lif_step(X, V, out, idx, val, d(0.25), d(0.75), thr, d(-0.125), False, strict,
                                               decay_input, d(-1), d(1.25), saturate, True)
        h = V_before + (X - V_before) * d(0.75) if decay_input else d(0.25) * V_before + X
        fired = V_before > thr if strict else V_before >= thr
        h = np.where(fired, h - thr, h)
        if saturate:
            h = np.minimum(np.maximum(h, d(-1)), d(1.25))
        fire = h > thr if strict else h >= thr
        np.testing.assert_array_equal(out, fire.astype(d))
        np.testing.assert_array_equal(V, h)
        assert (n, total, active, nonzero) == (fire.sum(), fire.sum(), np.count_nonzero(h), np.count_nonzero(X))
        X = np.roll(X, 3)


def test_lif_step_fixed_soft_delayed():
    rng = np.random.default_rng(9)
    X, V = fixed_currents(rng, 1000)
    for step in range(3):
        out, idx, val = np.zeros(1000, np.int64), np.zeros(1000, np.int64), np.zeros(1000, np.int64)
        V_before = V.copy()
        k.lif_step_fixed(X, V, out, idx, val, 1024, 12, 64, -16, False, True, False, -400, 399, True)
        h = shift(V_before * 1024, 12) + X - 64 * (V_before > 64)
        h = np.clip(h, -400, 399)
        np.testing.assert_array_equal(out, h > 64)
        np.testing.assert_array_equal(V, h)
        X = np.roll(X, 7)


@pytest.mark.parametrize("order", ["ascending", "shuffled"])
@pytest.mark.parametrize("channels", [1, 3, 64])
def test_record_events_matches_numpy(order, channels):
    """Per-channel and per-position sums of an event list, walked without a division per event,
    against np.add.at: ascending lists with gaps of every size, and lists in any order."""
    rng = np.random.default_rng(channels)
    size = channels * 200
    idx = np.flatnonzero(rng.random(size) < 0.3).astype(np.int64)
    if order == "shuffled":
        rng.shuffle(idx)
    val = rng.integers(1, 5, idx.size).astype(np.float32)
    per_channel, acc = np.zeros(channels, np.float64), np.zeros(size, np.float64)
    k.record_events(idx, val, idx.size, channels, per_channel, acc)
    want_channel, want_acc = np.zeros(channels), np.zeros(size)
    np.add.at(want_channel, idx % channels, val)
    np.add.at(want_acc, idx, val)
    np.testing.assert_array_equal(acc, want_acc)
    np.testing.assert_allclose(per_channel, want_channel, rtol=0, atol=0)
