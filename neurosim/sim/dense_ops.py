"""Dense operations for nodes fed by analog values (channels-last arrays [B, H, W, C], numpy + BLAS)."""
from __future__ import annotations

import numpy as np
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
    pad_value = -np.inf if mode == "max" else 0
    win = _windows(x_bhwc, kernel, stride, padding, pad_value)
    if mode == "max":
        return win.max(axis=(4, 5))
    total = win.sum(axis=(4, 5))
    return total / (kernel[0] * kernel[1]) if mode == "avg" else total


def axis_tap_count(size: int, kernel: int, stride: int, pad: int, out_size: int) -> int:
    """Number of (output o, tap k) pairs along one axis whose input ``o s - p + k`` lies in [0, size)."""
    o = np.arange(out_size)[:, None]
    taps = np.arange(kernel)[None, :]
    pos = o * stride - pad + taps
    return int(((pos >= 0) & (pos < size)).sum())


def conv_tap_count(h, w, kh, kw, stride, padding, ho, wo) -> int:
    """Spatial (output, tap) pairs that read inside the map: MACs per (input, output) channel pair."""
    return axis_tap_count(h, kh, stride[0], padding[0], ho) * axis_tap_count(w, kw, stride[1], padding[1], wo)
