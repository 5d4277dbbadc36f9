"""The dense reference itself agrees with torch's operators (so the engine matches torch too)."""
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tests.reference import conv_ref, pool_ref

torch = pytest.importorskip("torch")
F = torch.nn.functional


@settings(max_examples=40, deadline=None)
@given(seed=st.integers(0, 2**31), k=st.integers(1, 4), s=st.integers(1, 3), groups=st.sampled_from([1, 2, 4]))
def test_conv_reference_matches_torch(seed, k, s, groups):
    rng = np.random.default_rng(seed)
    cin, cout = 4, 4 * int(rng.integers(1, 3))
    x = rng.normal(size=(cin, 9, 8))
    w = rng.normal(size=(cout, cin // groups, k, k))
    p = int(rng.integers(0, k // 2 + 1))
    ours = conv_ref(x, w, (s, s), (p, p), groups)
    theirs = F.conv2d(torch.from_numpy(x)[None], torch.from_numpy(w), stride=s, padding=p, groups=groups)[0].numpy()
    np.testing.assert_allclose(ours, theirs, rtol=1e-10, atol=1e-10)


@settings(max_examples=40, deadline=None)
@given(seed=st.integers(0, 2**31), k=st.integers(1, 3), s=st.integers(1, 3))
def test_pool_reference_matches_torch(seed, k, s):
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(3, 7, 9))
    p = int(rng.integers(0, k // 2 + 1))
    t = torch.from_numpy(x)[None]
    np.testing.assert_allclose(pool_ref(x, (k, k), (s, s), (p, p), "max"), F.max_pool2d(t, k, s, p)[0].numpy())
    np.testing.assert_allclose(pool_ref(x, (k, k), (s, s), (p, p), "avg"), F.avg_pool2d(t, k, s, p)[0].numpy())
