"""Dense operations for nodes fed by analog values (channels-last arrays, numpy + BLAS)."""
from __future__ import annotations

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view


def _windows(x_hwc: np.ndarray, kernel, stride, padding, pad_value) -> np.ndarray:
    """Sliding windows of a padded (H, W, C) array: shape (H_out, W_out, C, k_h, k_w)."""
    kh, kw = kernel
    ph, pw = padding
    if ph or pw:
        x_hwc = np.pad(x_hwc, ((ph, ph), (pw, pw), (0, 0)), constant_values=pad_value)
    win = sliding_window_view(x_hwc, (kh, kw), axis=(0, 1))
    return win[:: stride[0], :: stride[1]]


def conv2d_dense(x_hwc: np.ndarray, weight: np.ndarray, stride, padding, groups: int) -> np.ndarray:
    """``Y[i, j, o] = sum_{c, u, v} W[o, c, u, v] X_pad[s_h i + u, s_w j + v, g(o) C_g + c]``
    by im2col and one 2-D matrix product per group (contiguous operands: BLAS, not numpy's
    slow batched-matmul loop); returns (H_out, W_out, C_out)."""
    cout, cin_g, kh, kw = weight.shape
    win = _windows(x_hwc, (kh, kw), stride, padding, 0)
    ho, wo = win.shape[:2]
    cols = np.ascontiguousarray(win).reshape(ho * wo, groups, cin_g * kh * kw)
    wmat = weight.reshape(groups, cout // groups, cin_g * kh * kw)
    if groups == 1:
        return (cols[:, 0] @ wmat[0].T).reshape(ho, wo, cout)
    y = np.empty((ho * wo, groups, cout // groups), np.result_type(x_hwc, weight))
    for g in range(groups):
        y[:, g] = np.ascontiguousarray(cols[:, g]) @ wmat[g].T
    return y.reshape(ho, wo, cout)


def pool_dense(x_hwc: np.ndarray, kernel, stride, padding, mode: str) -> np.ndarray:
    """Max (padding -inf), sum, or average (padding counted, as torch) pooling of (H, W, C)."""
    pad_value = -np.inf if mode == "max" else 0
    win = _windows(x_hwc, kernel, stride, padding, pad_value)
    if mode == "max":
        return win.max(axis=(3, 4))
    total = win.sum(axis=(3, 4))
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
