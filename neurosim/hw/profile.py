"""Chip profiles: YAML files in ``hwmodels/``, validated against their family's schema.

A profile file::

    name: loihi
    family: neuromorphic-mesh
    description: Intel Loihi (Davies et al. 2018), pre-silicon energies and times.
    parameters:
      e_syn_op: {value: 23.6, unit: pJ, label: simulated, source: "Davies 2018, Table 2"}
      ...
    settings:                      # non-numeric choices, each with its source
      synapse_memory: {value: per-axon-lists, source: "nengo-loihi synapse block rule"}

Every number carries ``value``, ``unit``, ``label`` (measured | simulated | derived | estimated)
and ``source``. Values are converted to SI base units on load (J, s, W, bit, count); see
:mod:`neurosim.hw.units`. Any problem is a :class:`ProfileError` whose message names the file
and the key.
"""
from __future__ import annotations

import math
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Mapping

import yaml

from ..errors import ProfileError
from .units import accepted_units, to_si

LABELS = ("measured", "simulated", "derived", "estimated")
TOP_LEVEL_KEYS = ("name", "family", "description", "parameters", "settings")
QUANTITY_KEYS = ("value", "unit", "label", "source")
SETTING_KEYS = ("value", "source")
ENV_DIR = "NEUROSIM_HWMODELS"


# --------------------------------------------------------------------------- schema specs


@dataclass(frozen=True)
class ParamSpec:
    """What a family expects of one numeric parameter.

    ``dimension`` is a key of :data:`neurosim.hw.units.UNITS` (or ``a/b``); ``integer``
    requires whole numbers; ``minimum`` is the smallest allowed value (in written units,
    0 unless stated); ``is_list`` asks for a list of numbers (one per core, say).
    """

    dimension: str
    doc: str = ""
    required: bool = True
    integer: bool = False
    minimum: float = 0.0
    is_list: bool = False


@dataclass(frozen=True)
class SettingSpec:
    """A non-numeric profile setting: a string among ``choices``, a bool, or a string."""

    doc: str = ""
    choices: tuple[str, ...] | None = None
    kind: type = str
    required: bool = True


# --------------------------------------------------------------------------- profile objects


@dataclass(frozen=True)
class Quantity:
    """One profile number: ``value`` in SI base units, as written (``raw``, ``unit``), with provenance."""

    value: float | tuple[float, ...]
    raw: float | tuple[float, ...]
    unit: str
    label: str
    source: str


@dataclass(frozen=True)
class Setting:
    value: Any
    source: str


@dataclass(frozen=True)
class Profile:
    """A validated chip profile. ``value(key)`` returns a parameter in SI base units."""

    name: str
    family: str
    description: str
    parameters: Mapping[str, Quantity]
    settings: Mapping[str, Setting] = field(default_factory=dict)
    path: Path | None = None

    def has(self, key: str) -> bool:
        return key in self.parameters

    def value(self, key: str):
        try:
            return self.parameters[key].value
        except KeyError:
            raise ProfileError(f"{self.where}: parameters.{key} is missing") from None

    def get(self, key: str, default=None):
        return self.parameters[key].value if key in self.parameters else default

    def setting(self, key: str, default=None):
        return self.settings[key].value if key in self.settings else default

    @property
    def where(self) -> str:
        return str(self.path) if self.path is not None else f"profile '{self.name}'"

    def sources(self) -> list[str]:
        """Distinct sources of the profile's numbers and settings, in order of appearance."""
        seen: list[str] = []
        for item in list(self.parameters.values()) + list(self.settings.values()):
            if item.source not in seen:
                seen.append(item.source)
        return seen

    def summary(self) -> dict:
        """JSON-ready description with every number and its provenance (stored in reports)."""
        return {
            "name": self.name,
            "family": self.family,
            "description": self.description,
            "sources": self.sources(),
            "parameters": {k: {"value": list(q.raw) if isinstance(q.raw, tuple) else q.raw,
                               "unit": q.unit, "label": q.label, "source": q.source}
                           for k, q in self.parameters.items()},
            "settings": {k: {"value": s.value, "source": s.source} for k, s in self.settings.items()},
        }


# --------------------------------------------------------------------------- locating files


def builtin_dir() -> Path:
    """The shipped profiles: package data of an installed neurosim, else the checkout's ``hwmodels/``."""
    from ..shipped import hwmodels_dir

    return hwmodels_dir()


def profile_dirs() -> list[Path]:
    """Directories searched for profiles by name: ``$NEUROSIM_HWMODELS`` (os.pathsep-separated) first."""
    dirs = [Path(p) for p in os.environ.get(ENV_DIR, "").split(os.pathsep) if p]
    dirs.append(builtin_dir())
    return dirs


def _profile_files() -> dict[str, Path]:
    """Profile name (file stem) -> file; earlier directories win. The result is kept while the
    directories hold the same file names (listing a directory is cheaper than globbing it)."""
    dirs = profile_dirs()
    key = tuple((str(d), _names(d)) for d in dirs)
    found = _LISTINGS.get(key)
    if found is None:
        found = {}
        for d in dirs:
            if not d.is_dir():
                continue
            for path in sorted(list(d.glob("*.yaml")) + list(d.glob("*.yml"))):
                found.setdefault(path.stem, path)
        _LISTINGS.clear()
        _LISTINGS[key] = found
    return dict(found)


_LISTINGS: dict[tuple, dict[str, Path]] = {}


def _names(d: Path) -> tuple[str, ...] | None:
    try:
        return tuple(sorted(os.listdir(d)))
    except OSError:
        return None


def available_profiles() -> list[str]:
    return sorted(_profile_files())


def load_profile(name_or_path) -> Profile:
    """Load a profile by built-in name (``"loihi"``) or by path; validate it.

    Raises ProfileError for an unknown name (listing the available ones), an unreadable
    file, or any schema problem (naming the file and the key).
    """
    if isinstance(name_or_path, Profile):
        return name_or_path
    text = str(name_or_path)
    path = Path(text)
    looks_like_path = path.suffix in (".yaml", ".yml") or os.sep in text or "/" in text
    if not looks_like_path:
        files = _profile_files()
        if text not in files:
            names = ", ".join(sorted(files)) or "none"
            raise ProfileError(f"unknown hardware profile '{text}'; available profiles: {names}")
        path = files[text]
    return _load_cached(str(path.resolve()) if path.exists() else str(path),
                        path.stat().st_mtime_ns if path.exists() else 0)


_CACHE: dict[tuple[str, int], Profile] = {}


def _load_cached(path: str, mtime: int) -> Profile:
    key = (path, mtime)
    if key not in _CACHE:
        _CACHE[key] = load_profile_file(path)
    return _CACHE[key]


def load_profile_file(path) -> Profile:
    """Read and validate one profile file (no cache)."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ProfileError(f"{path}: hardware profile file not found") from None
    except OSError as exc:
        raise ProfileError(f"{path}: cannot read the profile ({exc.strerror})") from None
    try:
        doc = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        at = f" at line {mark.line + 1}" if mark is not None else ""
        raise ProfileError(f"{path}: not valid YAML{at}") from None
    return profile_from_dict(doc, path)


def list_profiles() -> list[dict]:
    """Every available profile: name, family, description, sources and path (and ``error``
    for a file that does not validate)."""
    out = []
    for name, path in sorted(_profile_files().items()):
        try:
            p = load_profile(path)
        except ProfileError as exc:  # one broken user profile must not hide the others
            out.append({"name": name, "family": None, "description": None, "sources": [],
                        "path": str(path), "error": str(exc)})
            continue
        out.append({"name": name, "family": p.family, "description": p.description,
                    "sources": p.sources(), "path": str(path)})
    return out


# --------------------------------------------------------------------------- validation


def profile_from_dict(doc, path=None) -> Profile:
    """Validate a parsed profile document against the generic schema and its family's specs."""
    from .registry import get_family

    where = str(path) if path is not None else "<profile>"

    def fail(msg: str) -> ProfileError:
        return ProfileError(f"{where}: {msg}")

    if not isinstance(doc, dict):
        raise fail("a profile must be a mapping with keys name, family, description, parameters")
    for key in doc:
        if key not in TOP_LEVEL_KEYS:
            raise fail(f"unknown key '{key}' (allowed: {', '.join(TOP_LEVEL_KEYS)})")
    for key in ("name", "family", "description", "parameters"):
        if key not in doc:
            raise fail(f"missing key '{key}'")
    for key in ("name", "family", "description"):
        if not isinstance(doc[key], str) or not doc[key].strip():
            raise fail(f"'{key}' must be a non-empty string")
    if "\n" in doc["description"].strip():
        raise fail("'description' must be one line")
    try:
        family_cls = get_family(doc["family"])
    except ProfileError as exc:
        raise fail(str(exc)) from None
    params_doc = doc["parameters"]
    if not isinstance(params_doc, dict):
        raise fail("'parameters' must be a mapping of name -> {value, unit, label, source}")
    specs: Mapping[str, ParamSpec] = family_cls.parameters
    parameters: dict[str, Quantity] = {}
    for key, entry in params_doc.items():
        if key not in specs:
            raise fail(f"parameters.{key} is not a parameter of family '{doc['family']}' "
                       f"(known: {', '.join(specs)})")
        parameters[key] = _quantity(entry, specs[key], f"parameters.{key}", fail)
    for key, spec in specs.items():
        if spec.required and key not in parameters:
            raise fail(f"parameters.{key} is missing (family '{doc['family']}' requires it: {spec.doc})")
    settings_doc = doc.get("settings") or {}
    if not isinstance(settings_doc, dict):
        raise fail("'settings' must be a mapping of name -> {value, source}")
    setting_specs: Mapping[str, SettingSpec] = getattr(family_cls, "settings", {}) or {}
    settings: dict[str, Setting] = {}
    for key, entry in settings_doc.items():
        if key not in setting_specs:
            known = ", ".join(setting_specs) or "none"
            raise fail(f"settings.{key} is not a setting of family '{doc['family']}' (known: {known})")
        settings[key] = _setting(entry, setting_specs[key], f"settings.{key}", fail)
    for key, spec in setting_specs.items():
        if spec.required and key not in settings:
            raise fail(f"settings.{key} is missing (family '{doc['family']}' requires it: {spec.doc})")
    profile = Profile(name=doc["name"].strip(), family=doc["family"], description=doc["description"].strip(),
                      parameters=parameters, settings=settings, path=Path(path) if path is not None else None)
    check = getattr(family_cls, "check_profile", None)
    if check is not None:
        check(profile)
    return profile


def _is_number(value) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _check_fields(entry, allowed, key: str, fail, described: str) -> None:
    """``entry`` is a mapping holding exactly the ``allowed`` fields."""
    if not isinstance(entry, dict):
        raise fail(f"{key} must be a mapping with {described}")
    for field_name in entry:
        if field_name not in allowed:
            raise fail(f"{key}: unknown field '{field_name}' (allowed: {', '.join(allowed)})")
    for field_name in allowed:
        if field_name not in entry:
            raise fail(f"{key}: missing field '{field_name}'")


def _quantity(entry, spec: ParamSpec, key: str, fail) -> Quantity:
    _check_fields(entry, QUANTITY_KEYS, key, fail, "value, unit, label and source")
    raw = entry["value"]
    values = raw if isinstance(raw, list) else [raw]
    if spec.is_list and not isinstance(raw, list):
        raise fail(f"{key}.value must be a list of numbers")
    if not spec.is_list and isinstance(raw, list):
        raise fail(f"{key}.value must be a single number, got a list")
    if spec.is_list and not values:
        raise fail(f"{key}.value must be a non-empty list of numbers")
    for v in values:
        if not _is_number(v):
            raise fail(f"{key}.value must be a number, got {v!r}")
        if not math.isfinite(v):
            raise fail(f"{key}.value must be finite, got {v!r}")
        if v < 0:
            raise fail(f"{key}.value must not be negative, got {v!r}")
        if v < spec.minimum:
            raise fail(f"{key}.value must be at least {spec.minimum:g}, got {v!r}")
        if spec.integer and float(v) != int(v):
            raise fail(f"{key}.value must be a whole number, got {v!r}")
    unit = entry["unit"]
    factor = to_si(unit, spec.dimension)
    if factor is None:
        raise fail(f"{key}.unit {unit!r} is not a unit of {spec.dimension} "
                   f"(use one of: {', '.join(accepted_units(spec.dimension)[:12])})")
    label = entry["label"]
    if label not in LABELS:
        raise fail(f"{key}.label must be one of {', '.join(LABELS)}, got {label!r}")
    source = entry["source"]
    if not isinstance(source, str) or not source.strip():
        raise fail(f"{key}.source must be a non-empty citation string")
    si = tuple(float(v) * factor for v in values)
    raw_t = tuple(values)
    return Quantity(value=si if spec.is_list else si[0], raw=raw_t if spec.is_list else raw_t[0],
                    unit=unit, label=label, source=source.strip())


def _setting(entry, spec: SettingSpec, key: str, fail) -> Setting:
    _check_fields(entry, SETTING_KEYS, key, fail, "value and source")
    value = entry["value"]
    if spec.choices is not None:
        if value not in spec.choices:
            raise fail(f"{key}.value must be one of {', '.join(spec.choices)}, got {value!r}")
    elif not isinstance(value, spec.kind) or (spec.kind is not bool and isinstance(value, bool)):
        raise fail(f"{key}.value must be a {spec.kind.__name__}, got {value!r}")
    source = entry["source"]
    if not isinstance(source, str) or not source.strip():
        raise fail(f"{key}.source must be a non-empty citation string")
    return Setting(value=value, source=source.strip())
