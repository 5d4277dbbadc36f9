"""Import of every supported NIR primitive from hand-built graphs, checked against numpy."""
import numpy as np
import pytest

from tests.nir.nirgraphs import chain, full, nir, run
from tests.reference import conv_ref, pool_ref

RNG = np.random.default_rng(7)
DT = 1e-3
# per-neuron parameters (li, cubali, cubalif) are stored in float32, as the frameworks hold them
ANALOG_RTOL, ANALOG_ATOL = 1e-5, 1e-7


def euler(kind, x, dt=DT, **p):
    """NIR's neuron ODEs stepped by forward Euler in plain numpy (docs/nir.md), x: [T, *shape]."""
    v = np.zeros(x.shape[1:])
    i = np.zeros(x.shape[1:])
    out = []
    for xt in x:
        if kind in ("I", "IF"):
            v = v + p["r"] * xt
        elif kind in ("LI", "LIF"):
            v = v + dt / p["tau"] * (p["v_leak"] - v + p["r"] * xt)
        else:  # CubaLI, CubaLIF: this step's current charges the membrane
            i = i + dt / p["tau_syn"] * (-i + p.get("w_in", 1.0) * xt)
            v = v + dt / p["tau_mem"] * (p["v_leak"] - v + p["r"] * i)
        if "v_threshold" in p:
            z = v > p["v_threshold"]
            v = np.where(z, p.get("v_reset", 0.0), v)
            out.append(z.astype(float))
        else:
            out.append(v)
    return np.array(out)


# ------------------------------------------------------------------------------ synaptic, structural


def test_affine_and_linear():
    w1, b1 = RNG.normal(size=(4, 3)), RNG.normal(size=4)
    w2 = RNG.normal(size=(2, 4))
    x = RNG.normal(size=(5, 3))
    graph, out = run(chain([3], nir.Affine(weight=w1, bias=b1), nir.Linear(weight=w2)), x)
    assert [n.op for n in graph.nodes] == ["input", "linear", "linear"]
    w1, b1, w2 = (a.astype(np.float32).astype(np.float64) for a in (w1, b1, w2))
    np.testing.assert_allclose(out, (x @ w1.T + b1) @ w2.T, rtol=1e-6)


@pytest.mark.parametrize("stride,padding,groups", [(1, 1, 1), (2, 0, 2), ((1, 2), "same", 1)])
def test_conv2d(stride, padding, groups):
    w = RNG.normal(size=(4, 4 // groups, 3, 3))
    bias = RNG.normal(size=4)
    # nir's type check takes weight.shape[1] for the input channels, wrong for groups > 1
    input_shape = (6, 7) if groups == 1 else None
    conv = nir.Conv2d(input_shape=input_shape, weight=w, stride=stride, padding=padding, dilation=1, groups=groups,
                      bias=bias)
    x = RNG.normal(size=(2, 4, 6, 7))
    _, out = run(chain([4, 6, 7], conv), x)
    s = (stride, stride) if isinstance(stride, int) else stride
    p = (1, 1) if padding == "same" else (padding, padding)
    w32, b32 = w.astype(np.float32).astype(np.float64), bias.astype(np.float32).astype(np.float64)
    for t in range(2):
        np.testing.assert_allclose(out[t], conv_ref(x[t], w32, s, p, groups) + b32[:, None, None], rtol=1e-9, atol=1e-9)


def test_conv1d_runs_as_a_height_one_conv2d():
    w = RNG.normal(size=(3, 2, 3))
    conv = nir.Conv1d(input_shape=8, weight=w, stride=2, padding=1, dilation=1, groups=1, bias=np.zeros(3))
    x = RNG.normal(size=(2, 2, 8))
    flat = nir.Flatten(input_type={"input": np.array([3, 4])}, start_dim=0, end_dim=-1)
    graph, out = run(chain([2, 8], conv, flat), x[:, :, None, :])
    assert graph.shapes["input"] == (2, 1, 8) and graph.shapes["n0"] == (3, 1, 4)
    w32 = w.astype(np.float32).astype(np.float64)
    xp = np.pad(x, ((0, 0), (0, 0), (1, 1)))
    expected = np.stack([[[sum((w32[o, c] * xp[t, c, 2 * j:2 * j + 3]).sum() for c in range(2)) for j in range(4)]
                          for o in range(3)] for t in range(2)])
    np.testing.assert_allclose(out, expected.reshape(2, -1), rtol=1e-9)


def test_flatten_and_pools():
    x = RNG.normal(size=(2, 2, 6, 6))
    g = chain([2, 6, 6], nir.SumPool2d(kernel_size=np.array([2, 2]), stride=np.array([2, 2]), padding=np.array([0, 0])),
              nir.AvgPool2d(kernel_size=np.array([3, 3]), stride=np.array([1, 1]), padding=np.array([1, 1])),
              nir.Flatten(input_type={"input": np.array([2, 3, 3])}, start_dim=0, end_dim=-1))
    graph, out = run(g, x)
    assert [n.op for n in graph.nodes] == ["input", "sumpool2d", "avgpool2d", "flatten"]
    for t in range(2):
        summed = pool_ref(x[t], (2, 2), (2, 2), (0, 0), "sum")
        np.testing.assert_allclose(out[t], pool_ref(summed, (3, 3), (1, 1), (1, 1), "avg").reshape(-1), rtol=1e-12)


def test_scale_and_threshold():
    s = RNG.normal(size=5)
    thr = np.array([0.0, 0.5, -0.5, 1.0, 0.25])
    x = RNG.normal(size=(6, 5))
    x[0] = thr / s.astype(np.float32)  # lands on the threshold: no spike (strict >)
    _, out = run(chain([5], nir.Scale(scale=s), nir.Threshold(threshold=thr)), x)
    scaled = x * s.astype(np.float32)
    np.testing.assert_array_equal(out, (scaled > thr).astype(float))


# ------------------------------------------------------------------------------ neurons


def test_if_fires_strictly_above_threshold_and_resets_to_v_reset():
    node = nir.IF(r=full(1, 1.0), v_threshold=full(1, 1.0), v_reset=full(1, -0.5))
    graph, out = run(chain([1], node), np.array([[0.5], [0.5], [0.25], [1.5], [0.5]]))
    assert graph.node("n0").op == "if" and graph.node("n0").compare == ">"
    # V: 0.5, 1.0 (not > 1), 1.25 -> spike, reset -0.5; 1.0 (no); 1.5 -> spike
    np.testing.assert_array_equal(out[:, 0], [0, 0, 1, 0, 1])


def test_if_with_resistance_or_per_neuron_parameters():
    p = dict(r=np.array([2.0, 0.5, 1.0]), v_threshold=np.array([1.0, 0.25, 0.5]), v_reset=np.array([0.0, 0.1, -0.2]))
    x = RNG.uniform(-0.2, 0.6, size=(20, 3))
    graph, out = run(chain([3], nir.IF(**p)), x)
    assert graph.node("n0").op == "cubalif"
    np.testing.assert_array_equal(out, euler("IF", x, **p))


LIF_CASES = {
    "snntorch convention (R = tau/dt) -> lif": (dict(tau=full(4, 1e-2), r=full(4, 10.0), v_leak=full(4, 0.0)),
                                                "lif", False),
    "norse convention (R = 1) -> lif with decay_input": (dict(tau=full(4, 4e-3), r=full(4, 1.0), v_leak=full(4, 0.0)),
                                                         "lif", True),
    "leak voltage -> cubalif": (dict(tau=full(4, 5e-3), r=full(4, 5.0), v_leak=full(4, 0.3)), "cubalif", None),
    "per-neuron tau -> cubalif": (dict(tau=np.array([2e-3, 5e-3, 1e-2, 1e-3]), r=full(4, 2.0), v_leak=full(4, 0.0)),
                                  "cubalif", None),
}


@pytest.mark.parametrize("case", LIF_CASES)
def test_lif_is_forward_euler(case):
    params, op, decay_input = LIF_CASES[case]
    params = dict(params, v_threshold=full(4, 0.8), v_reset=full(4, -0.1))
    x = RNG.uniform(-0.5, 1.5, size=(40, 4))
    graph, out = run(chain([4], nir.LIF(**params)), x, dt=DT)
    node = graph.node("n0")
    assert node.op == op and (decay_input is None or node.decay_input == decay_input)
    np.testing.assert_array_equal(out, euler("LIF", x, **params))


def test_li_and_i_output_the_membrane():
    li = dict(tau=np.array([2e-3, 1e-2]), r=np.array([1.0, 3.0]), v_leak=np.array([0.0, -0.2]))
    x = RNG.normal(size=(15, 2))
    graph, out = run(chain([2], nir.LI(**li)), x, dt=DT)
    assert graph.node("n0").op == "li" and graph.kinds["n0"] == "analog"
    np.testing.assert_allclose(out, euler("LI", x, **li), rtol=ANALOG_RTOL, atol=ANALOG_ATOL)
    graph, out = run(chain([2], nir.I(r=np.array([0.5, 2.0]))), x)
    np.testing.assert_allclose(out, euler("I", x, r=np.array([0.5, 2.0])), rtol=1e-12)


def test_cuba_li_and_lif():
    cuba = dict(tau_syn=np.array([2e-3, 5e-3, 4e-3]), tau_mem=np.array([5e-3, 1e-2, 2e-3]), r=np.array([2.0, 1.0, 4.0]),
                v_leak=np.array([0.0, 0.1, 0.0]), w_in=np.array([1.0, 3.0, 0.5]))
    x = RNG.uniform(-0.5, 2.0, size=(40, 3))
    if hasattr(nir, "CubaLI"):
        graph, out = run(chain([3], nir.CubaLI(**cuba)), x, dt=DT)
        assert graph.node("n0").op == "cubali"
        np.testing.assert_allclose(out, euler("CubaLI", x, **cuba), rtol=ANALOG_RTOL, atol=ANALOG_ATOL)
    spiking = dict(cuba, v_threshold=np.array([0.3, 0.5, 0.2]), v_reset=np.array([0.0, -0.1, 0.05]))
    graph, out = run(chain([3], nir.CubaLIF(**spiking)), x, dt=DT)
    assert graph.node("n0").op == "cubalif"
    np.testing.assert_array_equal(out, euler("CubaLIF", x, **spiking))
    assert out.sum() > 5  # the case exercises spikes and resets


def test_neuron_parameters_on_maps_keep_the_layout():
    thr = RNG.uniform(0.2, 1.0, size=(2, 3, 3))
    node = nir.IF(r=full((2, 3, 3), 1.0), v_threshold=thr, v_reset=full((2, 3, 3), 0.0))
    x = RNG.uniform(0, 0.5, size=(10, 2, 3, 3))
    _, out = run(chain([2, 3, 3], node), x)
    np.testing.assert_array_equal(out, euler("IF", x, r=1.0, v_threshold=thr))


def test_sequence_neurons_after_conv1d_take_c_by_n_parameters():
    w = RNG.normal(size=(2, 1, 3))
    conv = nir.Conv1d(input_shape=5, weight=w, stride=1, padding=1, dilation=1, groups=1, bias=np.zeros(2))
    thr = np.array([[0.1, 0.2, 0.3, 0.4, 0.5], [0.5, 0.4, 0.3, 0.2, 0.1]])
    node = nir.IF(r=full((2, 5), 1.0), v_threshold=thr, v_reset=full((2, 5), 0.0))
    graph, out = run(chain([1, 5], conv, node), RNG.uniform(0, 1, size=(6, 1, 1, 5)))
    assert graph.shapes["n1"] == (2, 1, 5)
    np.testing.assert_array_equal(graph.node("n1").threshold, np.float32(thr)[:, None, :])
