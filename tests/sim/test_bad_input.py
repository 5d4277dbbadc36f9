"""Inputs of the wrong shape or content get a clear error naming the problem."""
import numpy as np
import pytest

from neurosim.errors import InputShapeError
from neurosim.ir import GraphBuilder
from neurosim.sim import simulate


def _graph():
    b = GraphBuilder()
    x = b.input((2, 4, 4), name="image")
    return b.build([b.lif(b.conv2d(x, weight=np.ones((1, 2, 1, 1), np.float32)))])


@pytest.mark.parametrize("shape", [(2, 4, 4), (3, 2, 5, 4), (1, 2, 3, 2, 4, 4)])
def test_wrong_shape(shape):
    with pytest.raises(InputShapeError, match="input 'image' must have shape"):
        simulate(_graph(), np.zeros(shape, np.float32))


def test_nan_and_unknown_names():
    x = np.zeros((1, 2, 4, 4), np.float32)
    x[0, 0, 0, 0] = np.nan
    with pytest.raises(InputShapeError, match="NaN"):
        simulate(_graph(), x)
    with pytest.raises(InputShapeError, match="unknown input"):
        simulate(_graph(), {"photo": np.zeros((1, 2, 4, 4))})
