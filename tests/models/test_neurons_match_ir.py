"""Torch neurons compute exactly what their IR nodes compute (same spikes, same state)."""
import numpy as np
import pytest

torch = pytest.importorskip("torch")

from neurosim.ir import GraphBuilder  # noqa: E402
from neurosim.models.neurons import ILIF, LIF, HoyerSpike  # noqa: E402
from neurosim.sim import simulate  # noqa: E402


def simulate_neuron(module, x_np, precision):
    op, params = module.ir_node()
    b = GraphBuilder()
    inp = b.input(x_np.shape[2:])
    out = getattr(b, op)(inp, **params)
    g = b.build([out])
    return simulate(g, x_np.transpose(1, 0, *range(2, x_np.ndim)), precision=precision).outputs[out].transpose(1, 0, *range(2, x_np.ndim))


@pytest.mark.parametrize("module", [LIF(), LIF(threshold=1.0, decay=0.5), ILIF(4), ILIF(2, decay=0.5, decay_input=True), ILIF(1)])
@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_stateful_neurons_match(module, dtype):
    g = torch.Generator().manual_seed(0)
    x = torch.randn(6, 3, 4, 5, 5, generator=g, dtype=dtype) * 1.5 + 0.4  # [T, B, C, H, W]
    ours = simulate_neuron(module, x.numpy(), "float32" if dtype == torch.float32 else "float64")
    np.testing.assert_array_equal(module(x).numpy(), ours)


def test_ilif_rounds_half_even_in_torch_and_ir():
    x = torch.tensor([[[0.5, 1.5, 2.5, 3.5]]])
    np.testing.assert_array_equal(ILIF(4)(x).numpy().ravel(), [0, 2, 2, 4])


def test_hoyer_at_inference_matches():
    m = HoyerSpike()
    x = torch.randn(1, 4, 8, 6, 6, generator=torch.Generator().manual_seed(1))
    m.train()
    m(x)
    m.eval()
    with torch.no_grad():
        m.clip.fill_(-1.7)  # the sign of the trained clip does not matter: |clip|
    ours = simulate_neuron(m, x.numpy(), "float32")
    np.testing.assert_array_equal(m(x).detach().numpy(), ours)


def test_surrogate_gradients_flow():
    x = torch.randn(4, 2, 3, requires_grad=True)
    (LIF()(x).sum() + ILIF(4)(x).sum()).backward()
    assert x.grad is not None and x.grad.abs().sum() > 0
