"""The family registry: family name -> HardwareModel subclass.

Built-in families register themselves when :mod:`neurosim.hw.families` is imported. A third
party adds a family without touching neurosim by declaring an entry point in the group
``neurosim.hw_families`` (name = family name, object = the class)::

    [project.entry-points."neurosim.hw_families"]
    my-chip = "my_package.my_module:MyChipModel"

Entry points are looked up when a name is not (yet) registered, so a distribution installed
after neurosim was imported is still found.
"""
from __future__ import annotations

from importlib import metadata

from ..errors import ProfileError

ENTRY_POINT_GROUP = "neurosim.hw_families"

_FAMILIES: dict[str, type] = {}
_BUILTINS_LOADED = False


def register_family(cls: type, name: str | None = None) -> type:
    """Register ``cls`` under ``name`` (default ``cls.family``); usable as a class decorator."""
    from .base import HardwareModel

    if not (isinstance(cls, type) and issubclass(cls, HardwareModel)):
        raise ProfileError(f"hardware family {cls!r} must be a subclass of neurosim.hw.HardwareModel")
    key = name or cls.family
    if not key:
        raise ProfileError(f"hardware family class {cls.__name__} has no family name")
    _FAMILIES[key] = cls
    return cls


def _load_builtins() -> None:
    global _BUILTINS_LOADED
    if not _BUILTINS_LOADED:
        _BUILTINS_LOADED = True
        from . import families  # noqa: F401  (registers the built-in families)


def _entry_points() -> list:
    try:
        return list(metadata.entry_points(group=ENTRY_POINT_GROUP))
    except TypeError:  # pragma: no cover - Python < 3.10 API
        return list(metadata.entry_points().get(ENTRY_POINT_GROUP, []))


def get_family(name: str) -> type:
    """The class of family ``name``; ProfileError listing the known families if there is none."""
    _load_builtins()
    if name in _FAMILIES:
        return _FAMILIES[name]
    for ep in _entry_points():
        if ep.name != name:
            continue
        try:
            cls = ep.load()
        except Exception as exc:  # a broken plug-in is the user's environment, not our bug
            raise ProfileError(f"hardware family '{name}' from entry point {ep.value!r} "
                               f"failed to load: {exc}") from None
        return register_family(cls, name)
    raise ProfileError(f"unknown hardware family '{name}' (known: {', '.join(available_families())})")


def available_families() -> list[str]:
    """Registered families plus those offered by installed entry points."""
    _load_builtins()
    names = set(_FAMILIES)
    names.update(ep.name for ep in _entry_points())
    return sorted(names)
