"""Random IR graphs covering every node type and option, for property-based tests.

``dyadic=True`` draws every weight, input, threshold and decay from dyadic rationals with
few bits, so float32 sums are exact whatever the summation order: the engine's float32 mode
must then match a float64 reference exactly (spikes bit for bit).
"""
from __future__ import annotations

import numpy as np

from neurosim.ir import GraphBuilder


class RandomGraphMaker:
    """``fixed_point_safe=True`` leaves out the node types the fixed-point mode refuses
    (LI, CubaLI, CubaLIF)."""

    def __init__(self, rng: np.random.Generator, dyadic: bool = False, fixed_point_safe: bool = False):
        self.rng = rng
        self.dyadic = dyadic
        self.fixed_point_safe = fixed_point_safe
        self.b = GraphBuilder()
        self.shapes: dict[str, tuple] = {}
        self.kinds: dict[str, str] = {}

    # ------------------------------------------------------------- values
    def real(self, size, scale=1.0):
        x = self.rng.normal(0, scale, size)
        if self.dyadic:
            x = np.round(x * 16) / 16
        return x.astype(np.float32)

    def choice(self, options):
        return options[int(self.rng.integers(len(options)))]

    def _add(self, method, *inputs, **params):
        name = getattr(self.b, method)(*inputs, **params)
        g = self.b.build([name])  # infer shape/kind so far
        self.shapes[name] = g.shapes[name]
        self.kinds[name] = g.kinds[name]
        return name

    # ------------------------------------------------------------- pieces
    def per_neuron(self, x, values):
        """A parameter array for node input ``x``: one value, one per channel or one per neuron."""
        shape = self.shapes[x]
        size = self.choice([(1,), (shape[0],), shape])
        return np.asarray(self.rng.choice(values, size=size), np.float32)

    def neuron(self, x):
        kinds = ["lif", "lif", "if", "ilif", "ilif", "hoyer", "threshold"]
        if not self.fixed_point_safe:
            kinds += ["cubalif", "cubalif"]
        kind = self.choice(kinds)
        if kind == "threshold":
            return self._add("threshold", x, threshold=self.per_neuron(x, [0.25, 0.5, 1.0, -0.5, 0.0]))
        if kind == "cubalif":
            return self._add("cubalif", x, syn_decay=self.per_neuron(x, [0.0, 0.25, 0.5, 0.75]),
                             syn_gain=self.per_neuron(x, [1.0, 0.5, 1.5]),
                             mem_decay=self.per_neuron(x, [0.25, 0.5, 0.75, 1.0]),
                             mem_gain=self.per_neuron(x, [1.0, 0.5, 0.25]),
                             bias=self.per_neuron(x, [0.0, 0.0, 0.125, -0.25]),
                             threshold=self.per_neuron(x, [0.25, 0.5, 1.0, 1.5]),
                             reset_value=self.per_neuron(x, [0.0, 0.0, -0.25]))
        if kind == "lif":
            return self._add("lif", x, threshold=self.threshold(), decay=self.decay(),
                             reset=self.choice(["hard", "soft"]), compare=self.choice([">", ">="]),
                             reset_value=self.choice([0.0, 0.0, -0.25]),
                             decay_input=bool(self.rng.integers(2)))
        if kind == "if":
            return self._add("if", x, threshold=self.threshold(), reset=self.choice(["hard", "soft"]),
                             compare=self.choice([">", ">="]))
        if kind == "ilif":
            return self._add("ilif", x, decay=self.decay(), max_spike=int(self.choice([1, 2, 4])),
                             decay_input=bool(self.rng.integers(2)))
        return self._add("hoyer", x, clip=self.choice([0.5, 1.0, 2.0]), threshold=self.threshold())

    def threshold(self):
        return float(self.choice([0.25, 0.5, 0.75, 1.0, 1.5]))

    def decay(self):
        return float(self.choice([0.25, 0.5, 0.75, 1.0]))

    def conv(self, x, cout=None, k=None, stride=None, padding=None, groups=None):
        c, h, w = self.shapes[x]
        k = k or int(self.rng.integers(1, min(4, h, w) + 1))
        stride = stride or int(self.rng.integers(1, 3))
        padding = int(self.rng.integers(0, k // 2 + 1)) if padding is None else padding
        if groups is None:
            divisors = [d for d in range(1, c + 1) if c % d == 0]
            groups = self.choice(divisors) if self.rng.random() < 0.4 else 1
        cout = cout or groups * int(self.rng.integers(1, 4))
        weight = self.real((cout, c // groups, k, k), scale=0.7)
        bias = self.real(cout, 0.3) if self.rng.random() < 0.6 else None
        return self._add("conv2d", x, weight=weight, bias=bias, stride=stride, padding=padding, groups=groups)

    def readout(self, x):
        """A non-spiking neuron (analog output = membrane): LI or CubaLI."""
        if self.choice(["li", "cubali"]) == "li":
            return self._add("li", x, decay=self.per_neuron(x, [0.25, 0.5, 1.0]),
                             gain=self.per_neuron(x, [1.0, 0.5]), bias=self.per_neuron(x, [0.0, 0.25]))
        return self._add("cubali", x, syn_decay=self.per_neuron(x, [0.0, 0.5, 0.75]),
                         syn_gain=self.per_neuron(x, [1.0, 0.5]), mem_decay=self.per_neuron(x, [0.5, 1.0]),
                         mem_gain=self.per_neuron(x, [1.0, 0.25]), bias=self.per_neuron(x, [0.0, -0.125]))

    def block(self, x, allow_analog):
        c, h, w = self.shapes[x]
        options = ["conv_neuron", "conv_neuron", "residual", "pool", "concat", "scale"]
        if not self.fixed_point_safe:
            options.append("readout")
        if h * w <= 64:
            options.append("upsample")
        if allow_analog:
            options += ["analog", "gate"]
        op = self.choice(options)
        if op == "conv_neuron":
            return self.neuron(self.conv(x))
        if op == "residual":
            k = self.choice([1, 3]) if min(h, w) >= 3 else 1
            cout = int(self.rng.integers(1, 5))
            a = self.conv(x, cout=cout, k=k, stride=1, padding=k // 2, groups=1)
            if self.rng.random() < 0.5:
                other = self.conv(x, cout=cout, k=1, stride=1, padding=0, groups=1)
            else:
                other = self.neuron(self.conv(x, cout=cout, k=1, stride=1, padding=0, groups=1))
            return self.neuron(self._add("add", a, other))
        if op == "pool":
            kind = self.choice(["maxpool2d", "sumpool2d", "avgpool2d"])
            k = int(self.rng.integers(1, min(3, h, w) + 1))
            if self.dyadic and kind == "avgpool2d":
                k = min(2, h, w)
            return self._add(kind, x, kernel=k, stride=int(self.rng.integers(1, k + 1)),
                             padding=int(self.rng.integers(0, k // 2 + 1)))
        if op == "concat":
            other = self.neuron(self.conv(x, k=1, stride=1, padding=0, groups=1))
            return self._add("concat", x, other)
        if op == "upsample":
            return self._add("upsample", x, scale=2)
        if op == "scale":
            return self.neuron(self._add("scale", x, scale=self.per_neuron(x, [0.5, 1.0, 1.5, -0.75])))
        if op == "readout":
            return self.readout(self.conv(x))
        if op == "analog":
            act = self.choice(["relu", "silu", "sigmoid"])
            return self.neuron(self.conv(self._add(act, x)))
        # gate: x * sigmoid(GAP(conv(x))), an attention-style channel gate
        c_gate = self.conv(x, cout=c, k=1, stride=1, padding=0, groups=1)
        gate = self._add("sigmoid", self._add("globalavgpool", c_gate))
        return self._add("mul", x, gate)

    def make(self, allow_analog: bool = True):
        rng = self.rng
        shape = (int(rng.integers(1, 5)), int(rng.integers(3, 10)), int(rng.integers(3, 10)))
        kind = self.choice(["analog", "binary", "integer"])
        x = self._add_input(shape, kind)
        outputs = []
        cur = x
        for _ in range(int(rng.integers(1, 5))):
            cur = self.block(cur, allow_analog and not self.dyadic)
            if rng.random() < 0.3:
                outputs.append(cur)
        if rng.random() < 0.5:
            flat = self._add("flatten", cur)
            n_out = int(rng.integers(1, 6))
            bias = self.real(n_out, 0.1) if rng.random() < 0.5 else None
            cur = self._add("linear", flat, weight=self.real((n_out, self.shapes[flat][0]), 0.5), bias=bias)
            if rng.random() < 0.5:
                cur = self.neuron(cur)
        outputs.append(cur)
        graph = self.b.build(list(dict.fromkeys(outputs)))
        return graph, kind

    def _add_input(self, shape, kind):
        name = self.b.input(shape, kind=kind)
        self.shapes[name] = shape
        self.kinds[name] = kind
        return name

    def inputs(self, graph, kind, batch, steps):
        shape = (batch, steps) + graph.shapes[graph.input_names[0]]
        if kind == "binary":
            return (self.rng.random(shape) < self.rng.uniform(0.05, 0.6)).astype(np.float32)
        if kind == "integer":
            counts = self.rng.integers(0, 4, shape)
            return np.where(self.rng.random(shape) < 0.5, 0, counts).astype(np.float32)
        x = self.rng.uniform(-1, 2, shape)
        if self.dyadic:
            x = np.round(x * 16) / 16
        return x.astype(np.float32)


def random_case(seed: int, dyadic: bool = False, allow_analog: bool = True, batch=2, steps=3,
                fixed_point_safe: bool = False):
    maker = RandomGraphMaker(np.random.default_rng(seed), dyadic=dyadic, fixed_point_safe=fixed_point_safe)
    graph, kind = maker.make(allow_analog=allow_analog)
    return graph, maker.inputs(graph, kind, batch, steps)
