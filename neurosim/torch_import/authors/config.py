"""Reading the authors' model YAML files (ultralytics / YOLOv3-style), without their code.

Both repositories describe a network as ``backbone + head``: a list of layers
``[from, repeats, module, args]`` (``from`` is -1, an earlier layer index, or a list of them).
What we follow, from the mirrored sources:

* SpikeYOLO (``ultralytics/nn/tasks.py`` at BICLab/SpikeYOLO 309ef5e5):
  ``scales: {n: [depth, width, max_channels], ...}`` picked by the file name's letter
  (``snn_yolov8s.yaml`` reads ``snn_yolov8.yaml`` at scale ``s``: ``yaml_model_load`` and
  ``guess_model_scale``, tasks.py:776-809; regex ``yolov\\d+([nslmx])``); without ``scales``,
  ``depth_multiple``/``width_multiple`` (tasks.py:669-676). String arguments are a name
  (``nc``) or a Python literal (``ast.literal_eval``; tasks.py:689-692).
* EMS-YOLO (``models/yolo.py`` at BICLab/EMS-YOLO fbfc2cae): ``depth_multiple``,
  ``width_multiple``, ``anchors`` (yolo.py:266); string arguments are ``eval``'d (yolo.py:272-277);
  we accept names (``nc``, ``anchors``) and literals only, never code.
* Both: ``repeats`` becomes ``max(round(n * depth), 1) if n > 1 else n`` and a repeated layer is an
  ``nn.Sequential`` of ``n`` copies (keys ``model.i.j...``), a single one is the module itself
  (keys ``model.i...``) (tasks.py:694 and :762; yolo.py:279 and :301).

Channel inference per module lives with each family's builder (spikeyolo.py / emsyolo.py).
"""
from __future__ import annotations

import ast
import math
import re
from dataclasses import dataclass, field
from pathlib import Path

from neurosim.errors import FormatError, NeurosimError

#: ultralytics reads [nslmx]; any lower-case letter here, so a user's own scale (a file's ``scales`` key) works
_SCALE_RE = re.compile(r"yolov\d+([a-z])")


class ConfigError(FormatError):
    """An authors' model YAML is missing, malformed, or uses something we do not support."""


@dataclass(frozen=True)
class LayerDef:
    """One ``[from, repeats, module, args]`` entry, with ``repeats`` already depth-scaled."""

    index: int
    source: int | tuple          # as written: -1, an index, or a tuple of them
    repeats_written: int
    repeats: int
    module: str
    args: tuple                  # string arguments resolved (names, literals)

    def inputs(self) -> tuple:
        """Absolute indices of the layers this one reads (``-1`` -> the previous layer)."""
        srcs = self.source if isinstance(self.source, tuple) else (self.source,)
        return tuple(s if s >= 0 else self.index + s for s in srcs)


@dataclass(frozen=True)
class AuthorsConfig:
    path: Path
    name: str                    # file name used in messages (e.g. snn_yolov8.yaml)
    scale: str | None
    depth: float
    width: float
    max_channels: float
    nc: int
    layers: tuple
    raw: dict = field(repr=False, default_factory=dict)

    def where(self, index: int) -> str:
        return f"layer {index} of {self.name}"


def make_divisible(x, divisor: int = 8) -> int:
    """``ceil(x / divisor) * divisor`` (ultralytics/utils/torch_utils.py:328; EMS utils/general.py:457)."""
    return int(math.ceil(x / divisor) * divisor)


def resolve_cfg_path(cfg) -> tuple[Path, str | None]:
    """The YAML file and the scale letter named by ``cfg``, as ultralytics does.

    ``dir/snn_yolov8s.yaml``: that file if it exists, else ``dir/snn_yolov8.yaml``; the scale is
    the letter after ``yolov<digits>`` in the given name (``s``), or None.
    """
    path = Path(cfg)
    match = _SCALE_RE.search(path.stem)
    scale = match.group(1) if match else None
    if path.is_file():
        return path, scale
    unified = path.with_name(re.sub(r"(\d+)([a-z])(.+)?$", r"\1\3", path.stem) + path.suffix)
    if unified != path and unified.is_file():
        return unified, scale
    tried = path.name if unified == path else f"{path} and {unified}"
    raise ConfigError(f"model config {cfg} not found (looked for {tried}); pass the path of the authors' YAML "
                      f"(e.g. ultralytics/cfg/models/v8/snn_yolov8.yaml of BICLab/SpikeYOLO, or models/resnet34-cat.yaml "
                      f"of BICLab/EMS-YOLO)")


def _resolve_arg(value, names: dict):
    """A YAML argument: a known name, else a Python literal, else the string itself."""
    if not isinstance(value, str):
        return value
    if value in names:
        return names[value]
    try:
        return ast.literal_eval(value)
    except (ValueError, SyntaxError):
        return value


def _positive(value, what, cfg_name):
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not value > 0:
        raise ConfigError(f"{what} in {cfg_name} must be a positive number, got {value!r}")
    return value


def load_config(cfg, nc: int | None = None, scale: str | None = None, names: tuple = ("nc",)) -> AuthorsConfig:
    """Read an authors' model YAML (see the module docstring); ``nc`` overrides the file's ``nc``.

    ``names``: the bare words a string argument may name (``nc``; EMS-YOLO also ``anchors``).
    """
    import yaml

    path, guessed = resolve_cfg_path(cfg)
    scale = scale or guessed
    cfg_name = path.name
    try:
        doc = yaml.safe_load(path.read_text(encoding="utf-8", errors="replace"))
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        at = f" at line {mark.line + 1}" if mark is not None else ""
        raise ConfigError(f"{cfg_name} is not valid YAML{at}: {getattr(exc, 'problem', None) or exc}") from None
    if not isinstance(doc, dict):
        raise ConfigError(f"{cfg_name} must be a YAML mapping with 'backbone' and 'head' lists")
    for part in ("backbone", "head"):
        if not isinstance(doc.get(part), list) or not doc[part]:
            raise ConfigError(f"{cfg_name} needs a non-empty '{part}' list of [from, repeats, module, args] layers")
    file_nc = doc.get("nc")
    nc = file_nc if nc is None else nc
    if isinstance(nc, bool) or not isinstance(nc, int) or nc < 1:
        raise ConfigError(f"the number of classes (nc) of {cfg_name} must be a positive integer, got {nc!r}")

    max_channels = float("inf")
    scales = doc.get("scales")
    if scales:
        if not isinstance(scales, dict):
            raise ConfigError(f"'scales' in {cfg_name} must map a letter to [depth, width, max_channels]")
        if scale is None:
            raise ConfigError(f"{cfg_name} defines scales {', '.join(map(str, scales))}: name one in the file name "
                              f"as ultralytics does (e.g. {path.stem}{next(iter(scales))}{path.suffix}) or pass scale=")
        if scale not in scales:
            raise ConfigError(f"{cfg_name} has no scale '{scale}' (it defines {', '.join(map(str, scales))})")
        entry = scales[scale]
        if not isinstance(entry, (list, tuple)) or len(entry) != 3:
            raise ConfigError(f"scale '{scale}' of {cfg_name} must be [depth, width, max_channels], got {entry!r}")
        depth, width, max_channels = (_positive(v, f"scale '{scale}'", cfg_name) for v in entry)
    else:
        scale = None
        depth = _positive(doc.get("depth_multiple", 1.0), "depth_multiple", cfg_name)
        width = _positive(doc.get("width_multiple", 1.0), "width_multiple", cfg_name)

    values = {"nc": nc}
    if "anchors" in doc:
        values["anchors"] = doc["anchors"]
    values = {k: v for k, v in values.items() if k in names}
    layers = []
    for i, entry in enumerate(doc["backbone"] + doc["head"]):
        where = f"layer {i} of {cfg_name}"
        if not isinstance(entry, (list, tuple)) or len(entry) != 4:
            raise ConfigError(f"{where} must be [from, repeats, module, args], got {entry!r}")
        source, n, module, args = entry
        if isinstance(source, list):
            if not source or not all(isinstance(s, int) and not isinstance(s, bool) for s in source):
                raise ConfigError(f"{where} reads from {source!r}; 'from' must be an integer or a list of integers")
            source = tuple(source)
        elif isinstance(source, bool) or not isinstance(source, int):
            raise ConfigError(f"{where} reads from {source!r}; 'from' must be an integer or a list of integers")
        for s in (source if isinstance(source, tuple) else (source,)):
            absolute = s if s >= 0 else i + s
            if i > 0 and not 0 <= absolute < i:
                raise ConfigError(f"{where} reads from layer {s}, which is not an earlier layer")
        if isinstance(n, bool) or not isinstance(n, int) or n < 1:
            raise ConfigError(f"{where} has repeats {n!r}; it must be a positive integer")
        if not isinstance(module, str) or not module:
            raise ConfigError(f"{where} names module {module!r}; it must be a class name")
        if not isinstance(args, list):
            raise ConfigError(f"{where} has arguments {args!r}; they must be a list")
        repeats = max(round(n * depth), 1) if n > 1 else n
        layers.append(LayerDef(i, source, n, repeats, module, tuple(_resolve_arg(a, values) for a in args)))
    return AuthorsConfig(path=path, name=cfg_name, scale=scale, depth=float(depth), width=float(width),
                         max_channels=float(max_channels), nc=int(nc), layers=tuple(layers), raw=doc)


def unsupported_module(cfg: AuthorsConfig, layer: LayerDef, supported) -> NeurosimError:
    return ConfigError(f"{cfg.where(layer.index)} uses module '{layer.module}', which is not supported "
                       f"(supported: {', '.join(supported)})")


def bad_args(cfg: AuthorsConfig, layer: LayerDef, expected: str) -> NeurosimError:
    return ConfigError(f"{cfg.where(layer.index)} gives {layer.module} the arguments {list(layer.args)!r}; "
                       f"expected {expected}")
