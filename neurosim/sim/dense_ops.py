"""Dense operations for nodes fed by analog values (channels-last arrays [B, H, W, C], numpy + BLAS)."""
from __future__ import annotations

import numpy as np
from .jit import njit
from numpy.lib.stride_tricks import sliding_window_view


def _windows(x_bhwc: np.ndarray, kernel, stride, padding, pad_value) -> np.ndarray:
    """Sliding windows of a padded (B, H, W, C) array: shape (B, H_out, W_out, C, k_h, k_w)."""
    kh, kw = kernel
    ph, pw = padding
    if ph or pw:
        x_bhwc = np.pad(x_bhwc, ((0, 0), (ph, ph), (pw, pw), (0, 0)), constant_values=pad_value)
    win = sliding_window_view(x_bhwc, (kh, kw), axis=(1, 2))
    return win[:, :: stride[0], :: stride[1]]


def conv2d_dense(x_bhwc: np.ndarray, weight: np.ndarray, stride, padding, groups: int) -> np.ndarray:
    """``Y[b, i, j, o] = sum_{c, u, v} W[o, c, u, v] X_pad[b, s_h i + u, s_w j + v, g(o) C_g + c]``
    by im2col and one 2-D matrix product per group over all samples (contiguous operands: BLAS,
    not numpy's slow batched-matmul loop); returns (B, H_out, W_out, C_out).

    With one group the columns are ordered (u, v, c): a kernel row's ``k_w C`` inputs are
    contiguous in the channels-last map, which makes the im2col copy about twice as fast."""
    cout, cin_g, kh, kw = weight.shape
    if groups == 1 and (kh, kw) == (1, 1) and tuple(stride) == (1, 1) and tuple(padding) == (0, 0):
        # a pointwise conv is a plain matrix product on the channels-last map: no im2col
        return (x_bhwc.reshape(-1, cin_g) @ weight[:, :, 0, 0].T).reshape(x_bhwc.shape[:3] + (cout,))
    win = _windows(x_bhwc, (kh, kw), stride, padding, 0)
    batch, ho, wo = win.shape[:3]
    if groups == 1:
        cols = np.ascontiguousarray(win.transpose(0, 1, 2, 4, 5, 3)).reshape(batch * ho * wo, kh * kw * cin_g)
        wmat = weight.transpose(0, 2, 3, 1).reshape(cout, kh * kw * cin_g)
        return (cols @ wmat.T).reshape(batch, ho, wo, cout)
    cols = np.ascontiguousarray(win).reshape(batch * ho * wo, groups, cin_g * kh * kw)
    wmat = weight.reshape(groups, cout // groups, cin_g * kh * kw)
    y = np.empty((batch * ho * wo, groups, cout // groups), np.result_type(x_bhwc, weight))
    for g in range(groups):
        y[:, g] = np.ascontiguousarray(cols[:, g]) @ wmat[g].T
    return y.reshape(batch, ho, wo, cout)


def pool_dense(x_bhwc: np.ndarray, kernel, stride, padding, mode: str) -> np.ndarray:
    """Max (padding -inf), sum, or average (padding counted, as torch) pooling of (B, H, W, C)."""
    batch, h, w, c = x_bhwc.shape
    ho = (h + 2 * padding[0] - kernel[0]) // stride[0] + 1
    wo = (w + 2 * padding[1] - kernel[1]) // stride[1] + 1
    out = np.empty((batch, ho, wo, c), x_bhwc.dtype if mode == "max" else np.result_type(x_bhwc, np.float32))
    _pool_windows(np.ascontiguousarray(x_bhwc), kernel[0], kernel[1], stride[0], stride[1], padding[0], padding[1],
                  mode == "max", out)
    if mode == "avg":
        out /= kernel[0] * kernel[1]
    return out


@njit(cache=True)
def _pool_windows(x, kh, kw, sh, sw, ph, pw, use_max, out):
    """``out[b, i, j, c]`` = max (or sum) of ``x[b, s_h i - p_h + u, s_w j - p_w + v, c]`` over the
    taps inside the map (padding is -inf for max, 0 for sum); a C-vector per tap."""
    B, H, W, C = x.shape
    _, Ho, Wo, _ = out.shape
    for b in range(B):
        for i in range(Ho):
            for j in range(Wo):
                o = out[b, i, j]
                first = True
                for u in range(kh):
                    y = i * sh - ph + u
                    if y < 0 or y >= H:
                        continue
                    for v in range(kw):
                        xx = j * sw - pw + v
                        if xx < 0 or xx >= W:
                            continue
                        row = x[b, y, xx]
                        if first:
                            for ch in range(C):
                                o[ch] = row[ch]
                            first = False
                        elif use_max:
                            for ch in range(C):
                                o[ch] = max(o[ch], row[ch])
                        else:
                            for ch in range(C):
                                o[ch] += row[ch]
                if first:  # a window entirely on padding
                    for ch in range(C):
                        o[ch] = -np.inf if use_max else 0


def axis_tap_count(size: int, kernel: int, stride: int, pad: int, out_size: int) -> int:
    """Number of (output o, tap k) pairs along one axis whose input ``o s - p + k`` lies in [0, size)."""
    o = np.arange(out_size)[:, None]
    taps = np.arange(kernel)[None, :]
    pos = o * stride - pad + taps
    return int(((pos >= 0) & (pos < size)).sum())


def conv_tap_count(h, w, kh, kw, stride, padding, ho, wo) -> int:
    """Spatial (output, tap) pairs that read inside the map: MACs per (input, output) channel pair."""
    return axis_tap_count(h, kh, stride[0], padding[0], ho) * axis_tap_count(w, kw, stride[1], padding[1], wo)
