"""NIR's continuous-time neuron parameters <-> neurosim's discrete-time ones.

NIR states each neuron as an ODE::

    tau     dV/dt = (v_leak - V) + R I          (LI, LIF; tau = tau_mem for CubaLI, CubaLIF)
    tau_syn dI/dt = -I + w_in X                 (CubaLI, CubaLIF: I is the synaptic current)
            dV/dt = R X                         (I, IF)

neurosim takes one **forward-Euler** step of length ``dt`` per timestep, the synaptic
current first, then the membrane with this step's current::

    I_t = (1 - dt/tau_syn) I_{t-1} + (dt w_in / tau_syn) X_t
    V_t = (1 - dt/tau) V_{t-1} + (dt R / tau) I_t + dt v_leak / tau

i.e. ``decay = 1 - dt/tau``, ``gain = dt R / tau``, ``bias = dt v_leak / tau`` (and
``syn_decay = 1 - dt/tau_syn``, ``syn_gain = dt w_in / tau_syn``). This is the
discretization snnTorch (``beta = 1 - dt/tau``, dt = 1e-4) and Norse (``v += dt/tau (v_leak
- v + x)``, dt = 1e-3) use. I and IF integrate without dt, ``V_t = V_{t-1} + R X_t``, as
Norse, sinabs and snnTorch read and write them.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class Leak:
    """Discrete leaky integration ``V_t = decay V_{t-1} + gain X_t + bias`` (per-neuron arrays)."""

    decay: np.ndarray
    gain: np.ndarray
    bias: np.ndarray


def euler_leak(tau, r, v_leak, dt: float) -> Leak:
    """One forward-Euler step of ``tau dV/dt = (v_leak - V) + R X``.

    Raises ValueError when a time constant is not a positive finite number or is shorter
    than ``dt`` (the step would overshoot: decay < 0).
    """
    tau = np.asarray(tau, np.float64)
    if not np.all(np.isfinite(tau)) or np.any(tau <= 0):
        raise ValueError(f"time constants must be positive and finite, got {_describe(tau)}")
    ratio = dt / tau
    if np.any(ratio > 1):
        raise ValueError(f"time constant {float(tau.min()):g} is shorter than dt = {dt:g} "
                         "(forward Euler would overshoot); pass a smaller dt")
    return Leak(1.0 - ratio, ratio * np.asarray(r, np.float64), ratio * np.asarray(v_leak, np.float64))


def leak_to_nir(leak: Leak, dt: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``(tau, r, v_leak)`` whose forward-Euler step of length ``dt`` is ``leak``.

    Inverts :func:`euler_leak`: ``tau = dt / (1 - decay)``, ``R = gain / (1 - decay)``,
    ``v_leak = bias / (1 - decay)``. Raises ValueError for ``decay = 1`` (no leak: an infinite
    time constant, which is an I or IF neuron in NIR).
    """
    keep = 1.0 - np.asarray(leak.decay, np.float64)
    if np.any(keep <= 0):
        raise ValueError("a decay of 1 (no leak) is an infinite time constant")
    return dt / keep, np.asarray(leak.gain, np.float64) / keep, np.asarray(leak.bias, np.float64) / keep


def _describe(values: np.ndarray) -> str:
    if values.size == 1:
        return f"{float(values.min()):g}"
    return f"values in [{float(values.min()):g}, {float(values.max()):g}]"
