"""Converters of torch functions to IR nodes, one per function name the recorder meets.

Each converter gets the recorder, the call's arguments and its real output, adds the IR node
(or none: reshapes and casts keep the node) and returns the output's tag. The equation each
follows is torch's own (https://pytorch.org/docs/stable/nn.functional.html); the IR node's
docstring (neurosim.ir.nodes) gives the same equation.
"""
from __future__ import annotations

import numbers

import numpy as np
import torch

from .values import BatchFirst, Folded, RowsRepeated, TimeReduced, Value, interpret_shape

OPS: dict = {}


def converts(*names):
    def register(fn):
        for name in names:
            OPS[name] = fn
        return fn
    return register


def _arg(args, kwargs, i, name, default=None):
    if name in kwargs:
        return kwargs[name]
    return args[i] if len(args) > i else default


def _pair(v):
    if isinstance(v, (list, tuple)):
        return (int(v[0]), int(v[1])) if len(v) == 2 else (int(v[0]), int(v[0]))
    return (int(v), int(v))


def _np(t: torch.Tensor) -> np.ndarray:
    return t.detach().cpu().double().numpy()


def _key(*items):
    """A hashable memo key of constants: tensors by identity, numbers and tuples by value."""
    out = []
    for item in items:
        if isinstance(item, torch.Tensor):
            out.append(("tensor", id(item)))
        elif isinstance(item, (list, tuple)):
            out.append(tuple(_key(*item)))
        else:
            out.append(item)
    return tuple(out)


def _map_input(rec, x, ops_layouts=("flat", "step"), what="input"):
    value = rec.value(x, what)
    if value.layout not in ops_layouts:
        raise rec.refuse(f"applies a per-frame operation to a [T, B, ...] sequence; wrap it so it sees [T*B, ...] "
                         "(SpikingJelly SeqToANNContainer / layer.* in multi-step mode) or one timestep")
    return value


def _time_key(value: Value):
    return ()  # nodes are per-timestep: the same op at another timestep is the same node


# --------------------------------------------------------------------------- synaptic layers


@converts("conv2d")
def conv2d(rec, args, kwargs, out):
    x, weight = args[0], _arg(args, kwargs, 1, "weight")
    bias = _arg(args, kwargs, 2, "bias")
    stride, padding = _arg(args, kwargs, 3, "stride", 1), _arg(args, kwargs, 4, "padding", 0)
    dilation, groups = _arg(args, kwargs, 5, "dilation", 1), _arg(args, kwargs, 6, "groups", 1)
    value = _map_input(rec, x)
    if rec.tag_of(weight) is not None or (bias is not None and rec.tag_of(bias) is not None):
        raise rec.refuse("computes convolution weights from the activations, which the importer does not convert")
    if _pair(dilation) != (1, 1):
        raise rec.refuse(f"uses a dilated convolution (dilation {dilation}); supported: dilation 1")
    if isinstance(padding, str):
        if padding == "valid":
            padding = 0
        else:  # 'same' with stride 1 and odd kernels
            kh, kw = weight.shape[2:]
            if kh % 2 == 0 or kw % 2 == 0:
                raise rec.refuse("uses padding='same' with an even kernel; supported: odd kernels")
            padding = (kh // 2, kw // 2)
    w = _np(weight)
    b = _np(bias) if bias is not None else None
    node = rec.add_node("conv2d", [value.node], dict(weight=w, bias=b, stride=_pair(stride),
                                                      padding=_pair(padding), groups=int(groups)),
                        key=_key(weight, bias, stride, padding, groups))
    return Value(node, value.layout, value.t)


@converts("linear")
def linear(rec, args, kwargs, out):
    x, weight, bias = args[0], _arg(args, kwargs, 1, "weight"), _arg(args, kwargs, 2, "bias")
    value = rec.value(x)
    if len(rec.logical_shape(x, value)) != 1:
        raise rec.refuse("applies a Linear layer to a map; flatten it to a vector first (nn.Flatten)")
    node = rec.add_node("linear", [value.node], dict(weight=_np(weight), bias=None if bias is None else _np(bias)),
                        key=_key(weight, bias))
    return Value(node, value.layout, value.t)


@converts("batch_norm")
def batch_norm(rec, args, kwargs, out):
    """Eval BatchNorm ``y = (x - mean) / sqrt(var + eps) * g + beta = a x + c``, folded into the
    convolution or linear layer it follows (``W' = a W``, ``b' = a b + c``), else a depthwise 1x1
    convolution ``(a, c)``."""
    x = args[0]
    mean, var = _arg(args, kwargs, 1, "running_mean"), _arg(args, kwargs, 2, "running_var")
    gamma, beta = _arg(args, kwargs, 3, "weight"), _arg(args, kwargs, 4, "bias")
    training, eps = _arg(args, kwargs, 5, "training", False), _arg(args, kwargs, 7, "eps", 1e-5)
    value = rec.value(x)
    if training or mean is None or var is None:
        raise rec.refuse("runs BatchNorm with batch statistics (training mode, or track_running_stats=False); "
                         "supported: BatchNorm with running statistics in eval mode")
    a = 1.0 / np.sqrt(_np(var) + float(eps))
    if gamma is not None:
        a = a * _np(gamma)
    c = -_np(mean) * a + (_np(beta) if beta is not None else 0.0)
    bn_key = _key(mean, var, gamma, beta, eps)
    folded = rec.folded_at.setdefault(value.node, set()) if value.node in rec.nodes else set()
    if bn_key in folded:  # this BatchNorm, met again at a later timestep of a single-step model
        return Value(value.node, value.layout, value.t)
    src = rec.nodes.get(value.node)
    # a conv / linear output no one has read yet; BNs in a row (conv -> BN -> BN) fold one by one
    if src is not None and src.op in ("conv2d", "linear") and rec.readers.get(value.node, 0) == 0:
        w = src.params["weight"]
        b = src.params["bias"] if src.params.get("bias") is not None else np.zeros(w.shape[0])
        src.params["weight"] = w * a.reshape(-1, *([1] * (w.ndim - 1)))
        src.params["bias"] = b * a + c
        folded.add(bn_key)
        rec.decisions.append(f"BatchNorm at '{rec.path()}' folded into '{value.node}'")
        rec.tag(x, Folded(value.node))
        return Value(value.node, value.layout, value.t)
    shape = rec.logical_shape(x, value)
    if len(shape) != 3:
        raise rec.refuse("applies BatchNorm to a vector that is not a Linear layer's own output; supported: "
                         "BatchNorm right after a convolution or Linear layer, or on a (C, H, W) map")
    C = shape[0]
    node = rec.add_node("conv2d", [value.node], dict(weight=a.reshape(C, 1, 1, 1), bias=c, groups=C),
                        name=f"{rec.path()}.affine" if rec.path() else "affine", key=_key(mean, var, gamma, beta))
    rec.decisions.append(f"BatchNorm at '{rec.path()}' does not follow a convolution: a depthwise 1x1 "
                         f"convolution '{node}' computes it")
    return Value(node, value.layout, value.t)


# --------------------------------------------------------------------------- pooling and resampling


@converts("max_pool2d", "max_pool2d_with_indices")
def max_pool2d(rec, args, kwargs, out):
    x, kernel = args[0], _arg(args, kwargs, 1, "kernel_size")
    stride = _arg(args, kwargs, 2, "stride", None) or kernel
    padding, dilation = _arg(args, kwargs, 3, "padding", 0), _arg(args, kwargs, 4, "dilation", 1)
    ceil, indices = _arg(args, kwargs, 5, "ceil_mode", False), _arg(args, kwargs, 6, "return_indices", False)
    value = _map_input(rec, x)
    if _pair(dilation) != (1, 1) or ceil or indices:
        raise rec.refuse("uses max pooling with dilation, ceil_mode or return_indices; supported: plain max pooling")
    node = rec.add_node("maxpool2d", [value.node], dict(kernel=_pair(kernel), stride=_pair(stride),
                                                         padding=_pair(padding)),
                        key=_key(kernel, stride, padding))
    return Value(node, value.layout, value.t)


@converts("avg_pool2d")
def avg_pool2d(rec, args, kwargs, out):
    x, kernel = args[0], _arg(args, kwargs, 1, "kernel_size")
    stride = _arg(args, kwargs, 2, "stride", None) or kernel
    padding, ceil = _arg(args, kwargs, 3, "padding", 0), _arg(args, kwargs, 4, "ceil_mode", False)
    include_pad, divisor = _arg(args, kwargs, 5, "count_include_pad", True), _arg(args, kwargs, 6, "divisor_override")
    value = _map_input(rec, x)
    if ceil or divisor is not None or (not include_pad and _pair(padding) != (0, 0)):
        raise rec.refuse("uses average pooling with ceil_mode, divisor_override or count_include_pad=False; "
                         "supported: plain average pooling")
    node = rec.add_node("avgpool2d", [value.node], dict(kernel=_pair(kernel), stride=_pair(stride),
                                                         padding=_pair(padding)),
                        key=_key(kernel, stride, padding))
    return Value(node, value.layout, value.t)


@converts("adaptive_avg_pool2d")
def adaptive_avg_pool2d(rec, args, kwargs, out):
    x = args[0]
    value = _map_input(rec, x)
    C, H, W = rec.logical_shape(x, value)
    oh, ow = tuple(out.shape[-2:])
    if (oh, ow) == (1, 1):
        node = rec.add_node("globalavgpool", [value.node], {}, key=())
    elif H % oh == 0 and W % ow == 0:
        k = (H // oh, W // ow)
        node = rec.add_node("avgpool2d", [value.node], dict(kernel=k, stride=k), key=(k,))
    else:
        raise rec.refuse(f"uses adaptive average pooling from {H}x{W} to {oh}x{ow}; supported: output 1x1 or a "
                         "size that divides the input")
    return Value(node, value.layout, value.t)


@converts("interpolate", "upsample", "upsample_nearest2d")
def interpolate(rec, args, kwargs, out):
    x = args[0]
    mode = _arg(args, kwargs, 3, "mode", "nearest")
    value = _map_input(rec, x)
    if mode not in ("nearest", "nearest-exact"):
        raise rec.refuse(f"upsamples with mode '{mode}'; supported: nearest")
    (H, W), (OH, OW) = tuple(x.shape[-2:]), tuple(out.shape[-2:])
    if OH % H or OW % W or OH // H != OW // W:
        raise rec.refuse(f"upsamples {H}x{W} to {OH}x{OW}; supported: one integer factor for both axes")
    scale = OH // H
    node = rec.add_node("upsample", [value.node], dict(scale=scale), key=(scale,))
    return Value(node, value.layout, value.t)


# --------------------------------------------------------------------------- elementwise


def _unary(op):
    def convert(rec, args, kwargs, out):
        if op == "dropout" and _arg(args, kwargs, 2, "training", False):
            raise rec.refuse("runs dropout in training mode; the importer needs eval mode")
        value = rec.value(args[0])
        if op == "dropout":
            return value
        return Value(rec.add_node(op, [value.node], {}, key=()), value.layout, value.t)
    return convert


for _name in ("relu", "relu_"):
    OPS[_name] = _unary("relu")
OPS["silu"] = _unary("silu")
for _name in ("sigmoid", "sigmoid_"):
    OPS[_name] = _unary("sigmoid")
for _name in ("dropout", "dropout2d", "dropout1d", "alpha_dropout", "feature_alpha_dropout"):
    OPS[_name] = _unary("dropout")


def _two(rec, args, kwargs):
    a, b = args[0], _arg(args, kwargs, 1, "other")
    return a, b, rec.tag_of(a), rec.tag_of(b)


@converts("add", "__add__", "__radd__", "__iadd__", "add_")
def add(rec, args, kwargs, out):
    a, b, ta, tb = _two(rec, args, kwargs)
    if _arg(args, kwargs, 2, "alpha", 1) != 1:
        raise rec.refuse("adds with alpha != 1; supported: x + y")
    if ta is None or tb is None:
        raise rec.refuse("adds a constant to the activations; supported: the sum of two layers' outputs")
    va, vb = rec.value(a), rec.value(b)
    if not va.same_time(vb) or tuple(a.shape) != tuple(b.shape):
        raise rec.refuse("adds tensors of different timesteps, layouts or shapes; supported: a residual sum of "
                         "equal shapes")
    return Value(rec.add_node("add", [va.node, vb.node], {}, key=()), va.layout, va.t)


def _constant_scale(rec, value: Value, const, x) -> np.ndarray:
    """A constant multiplier as a scale of one value or one per channel."""
    if isinstance(const, numbers.Real) and not isinstance(const, bool):
        return np.array(float(const))
    if isinstance(const, torch.Tensor):
        arr = _np(const)
        if arr.size == 1:
            return arr.reshape(())
        shape = rec.logical_shape(x, value)
        squeezed = arr.reshape(-1)
        if len(shape) == 3 and squeezed.size == shape[0] and arr.shape[-2:] == (1, 1):
            return squeezed
    raise rec.refuse("multiplies the activations by a constant that is neither one number nor one per channel")


@converts("mul", "__mul__", "__rmul__", "__imul__", "mul_")
def mul(rec, args, kwargs, out):
    a, b, ta, tb = _two(rec, args, kwargs)
    if ta is not None and tb is not None:
        va, vb = rec.value(a), rec.value(b)
        if not va.same_time(vb):
            raise rec.refuse("multiplies tensors of different timesteps or layouts")
        return Value(rec.add_node("mul", [va.node, vb.node], {}, key=()), va.layout, va.t)
    x, const = (a, b) if ta is not None else (b, a)
    value = rec.value(x)
    scale = _constant_scale(rec, value, const, x)
    if scale.ndim == 0 and float(scale) == 1.0:
        return value
    return Value(rec.add_node("scale", [value.node], dict(scale=scale), key=_key(const if isinstance(const, torch.Tensor)
                                                                               else float(const))),
                 value.layout, value.t)


@converts("div", "__truediv__", "div_", "__itruediv__")
def div(rec, args, kwargs, out):
    a, b, ta, tb = _two(rec, args, kwargs)
    if ta is None or tb is not None or _arg(args, kwargs, 2, "rounding_mode") is not None:
        raise rec.refuse("divides by the activations or rounds a division; supported: x / constant")
    value = rec.value(a)
    scale = 1.0 / _constant_scale(rec, value, b, a)
    return Value(rec.add_node("scale", [value.node], dict(scale=scale),
                              key=_key(b if isinstance(b, torch.Tensor) else float(b))), value.layout, value.t)


# --------------------------------------------------------------------------- joining


@converts("cat", "concat", "concatenate")
def cat(rec, args, kwargs, out):
    tensors = list(args[0] if args else kwargs["tensors"])
    dim = _arg(args, kwargs, 1, "dim", 0)
    values = [rec.value(t, "concatenated input") for t in tensors]
    first = values[0]
    if any(not v.same_time(first) for v in values):
        raise rec.refuse("concatenates tensors of different timesteps or layouts")
    lead = len(first.lead(rec.T, rec.B))
    if dim < 0:
        dim += tensors[0].dim()
    if dim != lead:
        raise rec.refuse(f"concatenates along axis {dim}; supported: the channel axis ({lead} for this layout)")
    node = rec.add_node("concat", [v.node for v in values], {}, key=())
    return Value(node, first.layout, first.t)


@converts("stack")
def stack(rec, args, kwargs, out):
    tensors = list(args[0] if args else kwargs["tensors"])
    dim = _arg(args, kwargs, 1, "dim", 0)
    values = [rec.value(t, "stacked input") for t in tensors]
    nodes = {v.node for v in values}
    if dim != 0 or len(values) != rec.T or len(nodes) != 1 or \
            [(v.layout, v.t) for v in values] != [("step", t) for t in range(rec.T)]:
        raise rec.refuse("stacks tensors other than one layer's outputs at timesteps 0 .. T-1 along axis 0")
    return Value(nodes.pop(), "seq")


# --------------------------------------------------------------------------- shapes, casts, indexing


@converts("view", "reshape", "flatten", "unflatten", "squeeze", "unsqueeze", "view_as", "reshape_as")
def reshape(rec, args, kwargs, out):
    """Reshapes merge or split the time and batch axes, or flatten a map to a vector in torch's
    order (IR ``flatten``); any other reshape is refused."""
    x = args[0]
    value = rec.value(x)
    shape = rec.logical_shape(x, value)
    for layout, rest in interpret_shape(value, tuple(out.shape), rec.T, rec.B):
        t = value.t if layout == "step" else None
        if rest == shape:
            return Value(value.node, layout, t)
        if len(rest) == 1 and rest[0] == int(np.prod(shape)) and len(shape) == 3:
            return Value(rec.add_node("flatten", [value.node], {}, key=()), layout, t)
        if len(rest) == 1 and rest == (int(np.prod(shape)),) and len(shape) == 1:
            return Value(value.node, layout, t)
    raise rec.refuse(f"reshapes {tuple(x.shape)} to {tuple(out.shape)}; supported: merging or splitting the time "
                     "and batch axes, and flattening a map to a vector")


def _same(rec, args, kwargs, out):
    return rec.value(args[0])


for _name in ("contiguous", "clone", "detach", "float", "double", "half", "to", "type_as", "type", "cpu",
              "requires_grad_", "detach_"):
    OPS[_name] = _same


@converts("__get__")
def attribute(rec, args, kwargs, out):
    if isinstance(out, torch.Tensor):  # .data
        return rec.value(args[0])
    return None  # .shape, .dtype, .device


def _no_tensor(rec, args, kwargs, out):
    return None


for _name in ("size", "dim", "numel", "__len__", "is_floating_point", "get_device", "__format__", "__repr__"):
    OPS[_name] = _no_tensor


@converts("__getitem__")
def getitem(rec, args, kwargs, out):
    x, index = args[0], args[1]
    value = rec.value(x)
    if value.layout == "seq" and isinstance(index, int) and not isinstance(index, bool):
        t = index % rec.T
        return Value(value.node, "step", t)
    raise rec.refuse("indexes the activations other than x[t] on a [T, B, ...] sequence")


def _time_reduction(how):
    def convert(rec, args, kwargs, out):
        x = args[0]
        dim = _arg(args, kwargs, 1, "dim")
        value = rec.value(x)
        keep = _arg(args, kwargs, 2, "keepdim", False)
        if value.layout == "seq" and dim in (0, (0,), [0]) and not keep:
            return TimeReduced(value.node, how)
        spatial = isinstance(dim, (tuple, list)) and sorted(int(d) % x.dim() for d in dim) == [x.dim() - 2, x.dim() - 1]
        if how == "mean" and spatial and keep and value.layout in ("flat", "step") and x.dim() == 4:
            return Value(rec.add_node("globalavgpool", [value.node], {}, key=()), value.layout, value.t)
        raise rec.refuse("reduces the activations; supported: mean or sum over the time axis (axis 0 of a "
                         "[T, B, ...] output) as the model's readout")
    return convert


OPS["mean"] = _time_reduction("mean")
OPS["sum"] = _time_reduction("sum")


@converts("transpose", "swapaxes", "swapdims")
def transpose(rec, args, kwargs, out):
    tag = rec.tag_of(args[0])
    dims = sorted(int(d) % args[0].dim() for d in args[1:3])
    if isinstance(tag, BatchFirst) and dims == [0, 1]:
        return Value(tag.node, "seq")
    raise rec.refuse("transposes the activations; supported: the [B, T, ...] model input to [T, B, ...]")


@converts("repeat_interleave")
def repeat_interleave(rec, args, kwargs, out):
    """``x.repeat_interleave(k, -2).repeat_interleave(k, -1)`` is nearest upsampling by ``k``."""
    x, k, dim = args[0], _arg(args, kwargs, 1, "repeats"), _arg(args, kwargs, 2, "dim")
    tag = rec.tag_of(x)
    if isinstance(k, int) and dim is not None:
        dim = int(dim) - x.dim() if int(dim) >= 0 else int(dim)
        if isinstance(tag, Value) and dim == -2:
            return RowsRepeated(tag, k)
        if isinstance(tag, RowsRepeated) and dim == -1 and tag.k == k:
            value = tag.value
            return Value(rec.add_node("upsample", [value.node], dict(scale=k), key=(k,)), value.layout, value.t)
    raise rec.refuse("repeats the activations other than x.repeat_interleave(k, -2).repeat_interleave(k, -1) "
                     "(nearest upsampling)")


@converts("select")
def select(rec, args, kwargs, out):
    """``x.select(0, t)`` of a [T, B, ...] sequence is timestep t (as ``x[t]``)."""
    x, dim, index = args[0], _arg(args, kwargs, 1, "dim"), _arg(args, kwargs, 2, "index")
    value = rec.value(x)
    if value.layout == "seq" and int(dim) % x.dim() == 0:
        return Value(value.node, "step", int(index) % rec.T)
    raise rec.refuse("selects from the activations other than timestep t of a [T, B, ...] sequence")


@converts("unbind")
def unbind(rec, args, kwargs, out):
    """``x.unbind(0)`` of a [T, B, ...] sequence: its T timesteps."""
    x, dim = args[0], _arg(args, kwargs, 1, "dim", 0)
    value = rec.value(x)
    if value.layout != "seq" or int(dim) % x.dim() != 0:
        raise rec.refuse("unbinds the activations other than along the time axis of a [T, B, ...] sequence")
    for t, item in enumerate(out):
        rec.tag(item, Value(value.node, "step", t))
    return None
