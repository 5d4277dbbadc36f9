"""Load a user's model for import: a factory (``package.module:callable`` or ``file.py:callable``)
and a checkpoint (a state_dict, a dict holding one, or, only when trusted, a pickled model)."""
from __future__ import annotations

import importlib
import importlib.util
import sys
from pathlib import Path

import torch

from ..errors import FormatError, NeurosimError


def load_factory(spec: str):
    """The callable named by ``spec``: ``package.module:callable`` or ``path/to/file.py:callable``."""
    if ":" not in spec:
        raise NeurosimError(f"FACTORY must be 'package.module:callable' or 'path/to/file.py:callable', got {spec!r}")
    where, _, attr = spec.rpartition(":")
    if not where or not attr:
        raise NeurosimError(f"FACTORY must be 'package.module:callable' or 'path/to/file.py:callable', got {spec!r}")
    if where.endswith(".py"):
        path = Path(where)
        if not path.is_file():
            raise NeurosimError(f"factory file {where} does not exist")
        name = f"_neurosim_factory_{abs(hash(str(path.resolve())))}"
        module_spec = importlib.util.spec_from_file_location(name, path)
        module = importlib.util.module_from_spec(module_spec)
        sys.modules[name] = module
        try:
            module_spec.loader.exec_module(module)
        except Exception as exc:
            raise NeurosimError(f"factory file {where} failed to import: {type(exc).__name__}: {exc}") from None
    else:
        try:
            module = importlib.import_module(where)
        except Exception as exc:
            raise NeurosimError(f"cannot import module '{where}' of FACTORY: {type(exc).__name__}: {exc}") from None
    fn = getattr(module, attr, None)
    if not callable(fn):
        raise NeurosimError(f"'{attr}' in {where} is not a callable that returns an nn.Module")
    return fn


def build_model(spec: str) -> torch.nn.Module:
    try:
        model = load_factory(spec)()
    except NeurosimError:
        raise
    except Exception as exc:
        raise NeurosimError(f"FACTORY {spec} failed: {type(exc).__name__}: {exc}") from None
    if not isinstance(model, torch.nn.Module):
        raise NeurosimError(f"FACTORY {spec} returned a {type(model).__name__}, not a torch.nn.Module")
    return model


def load_checkpoint(path: str | Path, key: str | None = None, trust_pickle: bool = False):
    """A state_dict (or a whole ``nn.Module`` when ``trust_pickle``) from ``path``.

    Without ``trust_pickle`` the file is read with ``torch.load(weights_only=True)``, which
    refuses arbitrary objects: unpickling a full model object runs code from the file.
    """
    path = Path(path)
    if not path.is_file():
        raise FormatError(f"checkpoint {path} does not exist or is not a file")
    try:
        obj = torch.load(path, map_location="cpu", weights_only=not trust_pickle)
    except Exception as exc:
        if not trust_pickle and ("weights_only" in str(exc) or "Unsupported global" in str(exc)):
            raise FormatError(f"checkpoint {path} holds pickled Python objects (a whole model?), not just tensors; "
                              "pass --trust-pickle to load it, only if you trust its source (unpickling runs code)") \
                from None
        raise FormatError(f"checkpoint {path} cannot be read: {type(exc).__name__}: "
                          f"{str(exc).splitlines()[0] if str(exc) else ''}") from None
    if key is not None:
        if not isinstance(obj, dict) or key not in obj:
            keys = ", ".join(map(str, list(obj)[:8])) if isinstance(obj, dict) else type(obj).__name__
            raise FormatError(f"checkpoint {path} has no entry '{key}' (it holds: {keys})")
        obj = obj[key]
    if isinstance(obj, torch.nn.Module):
        return obj
    if isinstance(obj, dict) and obj and all(isinstance(v, torch.Tensor) for v in obj.values()):
        return obj
    if isinstance(obj, dict):
        nested = [k for k, v in obj.items() if isinstance(v, (dict, torch.nn.Module))]
        raise FormatError(f"checkpoint {path} is a dict that is not a state_dict; name the entry that holds the "
                          f"weights with --key (candidates: {', '.join(map(str, nested)) or 'none'})")
    raise FormatError(f"checkpoint {path} holds a {type(obj).__name__}, not a state_dict or a model")


def apply_weights(model: torch.nn.Module, state_dict: dict, path) -> None:
    """Load a user's state_dict strictly; a mismatch is one sentence naming the first keys."""
    load_strict(model, state_dict, f"checkpoint {path}")


def _first(items, n=3) -> str:
    items = list(items)
    return ", ".join(items[:n]) + (f" and {len(items) - n} more" if len(items) > n else "")


def load_strict(model: torch.nn.Module, state_dict, what: str, model_name: str = "the model", hint: str = "",
                error: type = FormatError) -> None:
    """Strictly load ``state_dict`` into ``model`` (values cast to the model's dtypes).

    Missing, unexpected or mis-shaped keys raise one ``error`` sentence naming the first few. A
    missing ``num_batches_tracked`` is accepted (older torch did not save it; eval ignores it).
    """
    own = model.state_dict()
    missing = [k for k in own if k not in state_dict and not k.endswith("num_batches_tracked")]
    unexpected = [k for k in state_dict if k not in own]
    shapes = [f"{k} {list(state_dict[k].shape)} (expected {list(own[k].shape)})"
              for k in own if k in state_dict and tuple(state_dict[k].shape) != tuple(own[k].shape)]
    problems = []
    if missing:
        problems.append(f"lacks {len(missing)} key(s) the model needs ({_first(missing)})")
    if unexpected:
        problems.append(f"has {len(unexpected)} key(s) the model does not have ({_first(unexpected)})")
    if shapes:
        problems.append(f"has {len(shapes)} mis-shaped tensor(s) ({_first(shapes)})")
    if problems:
        raise error(f"{what} does not match {model_name}: it " + "; it ".join(problems) + (f"; {hint}" if hint else ""))
    with torch.no_grad():
        for k, t in own.items():
            if k in state_dict:
                src = state_dict[k]
                if not isinstance(src, torch.Tensor) or (not src.dtype.is_floating_point and t.dtype.is_floating_point):
                    raise error(f"{what} holds {k} as {getattr(src, 'dtype', type(src).__name__)}, expected a "
                                f"floating-point tensor")
                t.copy_(src.to(t.dtype))
