"""Reading the authors' checkpoints without their code: state_dicts and pickled model objects.

Accepted files (``torch.load``-able):

* a plain state_dict (``{name: tensor}``);
* a dict holding one under a user-given ``key``, else under ``'ema'``, ``'model'`` or
  ``'state_dict'`` (in that order: both repositories load ``ckpt['ema'] or ckpt['model']``,
  EMS-YOLO models/experimental.py:94, ultralytics ``attempt_load_one_weight``);
* a pickled model object (what both repositories save: ``'model': deepcopy(model)``,
  SpikeYOLO ultralytics/engine/trainer.py:430-431 (in half precision), EMS-YOLO train.py:378-379).

A pickle names the classes of the authors' code (``ultralytics.nn.tasks.DetectionModel``,
``models.yolo.Model``...) and unpickling normally imports them, which can run arbitrary code.
We unpickle with a restricted unpickler: only tensor/storage rebuild functions and a few inert
builtins are real; every other class becomes an inert stub that just stores its pickled state.
The parameters and buffers are then read from the stub module tree (``_parameters``,
``_buffers`` minus ``_non_persistent_buffers_set``, ``_modules``), exactly the keys
``module.state_dict()`` would give. Reading a pickle still needs ``trust_pickle=True``.
"""
from __future__ import annotations

import pickle
import re
from collections import OrderedDict
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from neurosim.errors import FormatError

DEFAULT_KEYS = ("ema", "model", "state_dict")
_SIMPLE = (bool, int, float, str, type(None))


class CheckpointError(FormatError):
    """A checkpoint cannot be read or does not hold the expected weights."""


@dataclass(frozen=True)
class ModuleInfo:
    """What a pickled module tree tells about one module: its class and plain attributes."""

    cls: str                                     # "package.module.ClassName"
    attrs: dict = field(default_factory=dict)    # int/float/bool/str/None (and tuples/lists/dicts of them)

    @property
    def class_name(self) -> str:
        return self.cls.rsplit(".", 1)[-1]


@dataclass(frozen=True)
class Checkpoint:
    state_dict: OrderedDict
    source: str                                  # e.g. "ckpt['ema'] (a pickled ultralytics.nn.tasks.DetectionModel)"
    modules: dict = field(default_factory=dict)  # module path ('' = root) -> ModuleInfo; empty for state_dicts

    @property
    def pickled(self) -> bool:
        return bool(self.modules)


# --------------------------------------------------------------------------- the stub unpickler


class Stub:
    """Stand-in for a class of the authors' code: stores whatever the pickle gives it."""

    _stub_path = "?"

    def __new__(cls, *args, **kwargs):
        obj = object.__new__(cls)
        obj.__dict__["_stub_args"] = args
        return obj

    def __init__(self, *args, **kwargs):
        pass

    def __setstate__(self, state):
        if isinstance(state, tuple) and len(state) == 2 and (state[0] is None or isinstance(state[0], dict)):
            state, slots = state
            if isinstance(slots, dict):
                self.__dict__.update(slots)
        if isinstance(state, dict):
            self.__dict__.update(state)
        elif state is not None:
            self.__dict__["_stub_state"] = state

    # list/dict-like pickles (APPENDS / SETITEMS on a stub) are kept, not interpreted
    def append(self, item):
        self.__dict__.setdefault("_stub_items", []).append(item)

    def extend(self, items):
        self.__dict__.setdefault("_stub_items", []).extend(items)

    def __setitem__(self, key, value):
        self.__dict__.setdefault("_stub_map", {})[key] = value

    def __repr__(self):
        return f"<stub {self._stub_path}>"


_STUBS: dict = {}


def _stub_class(module: str, name: str) -> type:
    path = f"{module}.{name}"
    if path not in _STUBS:
        _STUBS[path] = type(name, (Stub,), {"_stub_path": path, "__module__": "neurosim.torch_import.authors.stubs"})
    return _STUBS[path]


def _allowed_globals() -> dict:
    import collections

    import torch
    import torch._utils

    allowed = {("collections", "OrderedDict"): collections.OrderedDict,
               ("builtins", "set"): set, ("builtins", "frozenset"): frozenset, ("builtins", "slice"): slice,
               ("builtins", "complex"): complex, ("builtins", "bytearray"): bytearray,
               ("_codecs", "encode"): _latin1_bytes,
               ("torch", "Size"): torch.Size, ("torch", "device"): torch.device,
               ("torch", "Tensor"): torch.Tensor, ("torch._tensor", "Tensor"): torch.Tensor,
               ("torch.nn.parameter", "Parameter"): torch.nn.Parameter,
               ("copyreg", "_reconstructor"): _reconstructor,
               ("torch._tensor", "_rebuild_from_type_v2"): _rebuild_from_type_v2}
    for name in ("_rebuild_tensor", "_rebuild_tensor_v2", "_rebuild_tensor_v3", "_rebuild_parameter",
                 "_rebuild_parameter_with_state", "_rebuild_qtensor", "_rebuild_sparse_tensor",
                 "_rebuild_device_tensor_from_numpy", "_rebuild_meta_tensor_no_storage"):
        if hasattr(torch._utils, name):
            allowed[("torch._utils", name)] = getattr(torch._utils, name)
    return allowed


def _latin1_bytes(text, encoding="latin1"):
    """``_codecs.encode`` as protocol-2 pickles use it for bytes (only str -> bytes, latin1)."""
    if not isinstance(text, str) or encoding not in ("latin1", "latin-1"):
        raise pickle.UnpicklingError("refusing _codecs.encode with other than a str and latin1")
    return text.encode("latin1")


def _reconstructor(cls, base, state):
    """copyreg._reconstructor (pickle protocols 0/1) restricted to stubs and builtins."""
    if isinstance(cls, type) and issubclass(cls, Stub):
        obj = cls.__new__(cls)
        if state is not None:
            obj.__dict__["_stub_state"] = state
        return obj
    raise pickle.UnpicklingError(f"refusing to reconstruct {cls!r}")


def _rebuild_from_type_v2(func, new_type, args, state):
    """torch._tensor._rebuild_from_type_v2 without running arbitrary ``func`` or ``__setstate__``."""
    import torch

    if func not in set(_ALLOWED.values()):
        raise pickle.UnpicklingError(f"refusing to call {func!r} while rebuilding a tensor")
    tensor = func(*args)
    if new_type is torch.nn.Parameter and not isinstance(tensor, torch.nn.Parameter):
        tensor = torch.nn.Parameter(tensor, requires_grad=tensor.requires_grad)
    return tensor


class _StubUnpickler(pickle.Unpickler):
    def find_class(self, module, name):
        import _compat_pickle

        import torch

        # protocol-2 pickles name Python 2 modules (``__builtin__ set``): map them as pickle does
        if (module, name) in _compat_pickle.NAME_MAPPING:
            module, name = _compat_pickle.NAME_MAPPING[(module, name)]
        module = _compat_pickle.IMPORT_MAPPING.get(module, module)
        real = _ALLOWED.get((module, name)) if _ALLOWED else None
        if real is not None:
            return real
        if module == "torch" and isinstance(getattr(torch, name, None), torch.dtype):
            return getattr(torch, name)
        return _stub_class(module, name)


_ALLOWED: dict = {}


class _StubPickleModule:
    """The ``pickle_module`` handed to ``torch.load``: our Unpickler, pickle's own ``load`` for
    the legacy format's header records (plain ints/dicts)."""

    Unpickler = _StubUnpickler
    UnpicklingError = pickle.UnpicklingError

    @staticmethod
    def load(file, **kwargs):
        return _StubUnpickler(file, **kwargs).load()


# --------------------------------------------------------------------------- reading


def _is_state_dict(obj) -> bool:
    import torch

    return isinstance(obj, Mapping) and bool(obj) and all(isinstance(k, str) for k in obj) and \
        all(isinstance(v, torch.Tensor) for v in obj.values())


def _is_stub_module(obj) -> bool:
    return isinstance(obj, Stub) and isinstance(obj.__dict__.get("_modules"), Mapping)


def _plain(value):
    if isinstance(value, _SIMPLE):
        return value
    if isinstance(value, (tuple, list)) and all(isinstance(v, _SIMPLE) for v in value):
        return type(value)(value)
    if isinstance(value, dict) and len(value) < 64 and all(isinstance(k, str) for k in value):
        out = {k: _plain(v) for k, v in value.items()}
        return out if all(v is not _SKIP for v in out.values()) else _SKIP
    if isinstance(value, list) and len(value) < 256:  # e.g. the yaml's layer lists
        out = [_plain(v) for v in value]
        return out if all(v is not _SKIP for v in out) else _SKIP
    return _SKIP


_SKIP = object()


def module_tree_state_dict(root) -> tuple[OrderedDict, dict]:
    """``state_dict()`` of a stub module tree (keys in registration order) and per-module info."""
    import torch

    state, modules = OrderedDict(), {}

    def walk(obj, prefix):
        d = obj.__dict__
        attrs = {}
        for k, v in d.items():
            if k.startswith("_"):
                continue
            p = _plain(v)
            if p is not _SKIP:
                attrs[k] = p
        modules[prefix[:-1]] = ModuleInfo(type(obj)._stub_path if isinstance(obj, Stub) else type(obj).__name__, attrs)
        for name, t in (d.get("_parameters") or {}).items():
            if t is not None:
                state[prefix + name] = t.detach() if isinstance(t, torch.Tensor) else t
        skip = d.get("_non_persistent_buffers_set") or set()
        for name, t in (d.get("_buffers") or {}).items():
            if t is not None and name not in skip:
                state[prefix + name] = t
        for name, child in (d.get("_modules") or {}).items():
            if child is not None:
                if not _is_stub_module(child):
                    raise CheckpointError(f"the pickled module tree holds {child!r} at {prefix + name}, "
                                          f"which is not a module")
                walk(child, prefix + name + ".")

    walk(root, "")
    for key, t in state.items():
        if not isinstance(t, torch.Tensor):
            raise CheckpointError(f"the pickled module tree holds a {type(t).__name__} at {key}, not a tensor")
    return state, modules


def _describe(obj) -> str:
    if isinstance(obj, Stub):
        return f"a pickled {obj._stub_path}"
    if isinstance(obj, Mapping):
        return f"a dict with keys {', '.join(map(repr, list(obj)[:6]))}{' ...' if len(obj) > 6 else ''}"
    return f"a {type(obj).__name__}"


def _select(obj, key, name: str):
    """(weights object, where) from what torch.load returned."""
    if key is not None:
        if not isinstance(obj, Mapping):
            raise CheckpointError(f"{name} holds {_describe(obj)}, so it has no key {key!r}")
        if key not in obj:
            raise CheckpointError(f"{name} has no key {key!r} (it has {', '.join(map(repr, list(obj)[:10]))})")
        if obj[key] is None:
            raise CheckpointError(f"{name}[{key!r}] is None")
        return obj[key], f"{name}[{key!r}]"
    if _is_state_dict(obj) or _is_stub_module(obj):
        return obj, name
    if isinstance(obj, Mapping):
        for k in DEFAULT_KEYS:
            if obj.get(k) is not None:
                inner = obj[k]
                if _is_state_dict(inner) or _is_stub_module(inner):
                    return inner, f"{name}[{k!r}]"
                if isinstance(inner, Mapping):
                    for k2 in DEFAULT_KEYS:
                        if _is_state_dict(inner.get(k2)) or _is_stub_module(inner.get(k2)):
                            return inner[k2], f"{name}[{k!r}][{k2!r}]"
    raise CheckpointError(f"{name} holds {_describe(obj)}, not a state_dict or model; name the entry that holds the "
                          f"weights with --key")


def read_checkpoint(path, key: str | None = None, trust_pickle: bool = False) -> Checkpoint:
    """The weights in ``path`` as a state_dict (CPU tensors, dtypes as stored); see the module docstring."""
    import torch

    path = Path(path)
    name = path.name
    if not path.is_file():
        raise CheckpointError(f"checkpoint {path} does not exist")
    try:
        obj = torch.load(path, map_location="cpu", weights_only=True)
    except pickle.UnpicklingError as exc:
        found = re.search(r"GLOBAL ([\w.]+)", str(exc))
        what = f" (class {found.group(1)})" if found else ""
        if not trust_pickle:
            raise CheckpointError(f"{name} holds pickled Python objects{what}, and unpickling can run code; pass "
                                  f"--trust-pickle (trust_pickle=True) if you trust where the file comes from") from None
        obj = _load_pickle(path, name)
    except Exception as exc:  # noqa: BLE001 - any failure to read is a format error
        raise CheckpointError(f"{name} is not a torch checkpoint torch.load can read: "
                              f"{str(exc).splitlines()[0] if str(exc) else type(exc).__name__}") from None
    weights, where = _select(obj, key, name)
    if _is_stub_module(weights):
        state, modules = module_tree_state_dict(weights)
        if not state:
            raise CheckpointError(f"{where} is {_describe(weights)} with no parameters")
        return Checkpoint(state, f"{where} ({_describe(weights)})", modules)
    if not _is_state_dict(weights):
        raise CheckpointError(f"{where} holds {_describe(weights)}, not a state_dict (name -> tensor) or a model")
    return Checkpoint(OrderedDict(weights), f"{where} (a state_dict)", {})


def _load_pickle(path: Path, name: str):
    import torch

    global _ALLOWED
    if not _ALLOWED:
        _ALLOWED = _allowed_globals()
    try:
        return torch.load(path, map_location="cpu", pickle_module=_StubPickleModule, weights_only=False)
    except Exception as exc:  # noqa: BLE001
        raise CheckpointError(f"{name} could not be unpickled without the authors' code: "
                              f"{str(exc).splitlines()[0] if str(exc) else type(exc).__name__}") from None


# --------------------------------------------------------------------------- loading into a model


def load_into(model, state_dict: Mapping, what: str, hint: str = "") -> None:
    """Strictly load ``state_dict`` into the rebuilt ``model`` (see ``loading.load_strict``)."""
    from ..loading import load_strict

    load_strict(model, state_dict, what, "the model built from the config", hint, error=CheckpointError)
