"""Shared by the authors'-checkpoint tests: key lists, small configs, random weights."""
import subprocess
from pathlib import Path

import yaml

DATA = Path(__file__).resolve().parent / "data"
MIRRORS = {"spikeyolo": Path("/work/.mirror/BICLab+SpikeYOLO/repo"), "emsyolo": Path("/work/.mirror/BICLab+EMS-YOLO/repo")}


def read_keys(name):
    """``[(key, shape)]`` from a ``key shape`` list (shape ``a,b,c`` or ``()``)."""
    out = []
    for line in (DATA / name).read_text().splitlines():
        key, shape = line.split()
        out.append((key, [] if shape == "()" else [int(v) for v in shape.split(",")]))
    return out


def model_keys(model):
    return [(k, list(v.shape)) for k, v in model.state_dict().items()]


def mirror_file(family, path):
    """A file of the mirrored authors' repository, or None when the mirror is absent."""
    repo = MIRRORS[family]
    if not repo.is_dir():
        return None
    try:
        return subprocess.run(["git", "-C", str(repo), "show", f"HEAD:{path}"], check=True, capture_output=True,
                              text=True).stdout
    except (OSError, subprocess.CalledProcessError):
        return None


def tiny_spikeyolo_yaml(tmp_path, width=0.0625, depth=0.17, nc=None, edit=None):
    """The transcribed snn_yolov8.yaml with an extra small scale 't'; returns the snn_yolov8t.yaml name."""
    doc = yaml.safe_load((DATA / "snn_yolov8.yaml").read_text())
    doc["scales"]["t"] = [depth, width, 1024]
    if nc is not None:
        doc["nc"] = nc
    if edit:
        edit(doc)
    (tmp_path / "snn_yolov8.yaml").write_text(yaml.safe_dump(doc, sort_keys=False))
    return tmp_path / "snn_yolov8t.yaml"


def tiny_emsyolo_yaml(tmp_path, name="resnet10", width=0.125, nc=None, edit=None):
    doc = yaml.safe_load((DATA / f"{name}.yaml").read_text())
    doc["width_multiple"] = width
    if nc is not None:
        doc["nc"] = nc
    if edit:
        edit(doc)
    path = tmp_path / f"{name}-w{width}.yaml"
    path.write_text(yaml.safe_dump(doc, sort_keys=False))
    return path


def random_state(keys, seed=0, dtype=None):
    """A state_dict with exactly ``keys`` (``[(key, shape)]``): weights ~ N(0, 1/fan_in) scaled so
    the neurons fire, BN statistics and affine parameters random, anchors positive."""
    import torch

    g = torch.Generator().manual_seed(seed)
    state = {}
    for key, shape in keys:
        if key.endswith("num_batches_tracked"):
            state[key] = torch.tensor(7)
        elif key.endswith("running_var"):
            state[key] = torch.rand(shape, generator=g) * 1.5 + 0.5
        elif key.endswith("running_mean"):
            state[key] = torch.rand(shape, generator=g) - 0.5
        elif key.endswith("anchors"):
            state[key] = torch.rand(shape, generator=g) * 4 + 0.5
        elif len(shape) == 1:   # BN weight/bias or conv bias
            state[key] = torch.rand(shape, generator=g) * 0.6 + (0.5 if key.endswith(".weight") else -0.2)
        elif key.endswith("dfl.conv.weight"):
            state[key] = torch.arange(shape[1], dtype=torch.float32).view(shape)
        else:
            fan_in = max(1, int(torch.tensor(shape[1:]).prod()))
            state[key] = torch.randn(shape, generator=g) * (2.0 / fan_in) ** 0.5
    if dtype is not None:
        state = {k: v.to(dtype) if v.dtype.is_floating_point else v for k, v in state.items()}
    return state


def save_like_authors(net, path, names, neuron, root_attrs=None, half=True, override=None):
    """Write ``net`` (a rebuilt LayerNetwork) as the authors' pickled checkpoint: the module tree
    with every neurosim class replaced by a class of the authors' name (``names``: our type ->
    (module, class name), or a torch class; ``neuron(m)`` -> (module, class name, attrs, children) for a neuron),
    torch's own classes kept, in a dict ``{"epoch", "model", "ema", "optimizer"}`` as ultralytics
    and YOLOv3 save it (fp16 weights). The fake classes exist only while saving, so reading the
    file back must go through neurosim's stub unpickler, as it would without the authors' code.
    ``override(path, module)``: (module, class name) or a torch class for a module at ``path`` (e.g. the authors'
    BatchNorm3d subclasses where we use torch's BatchNorm2d), or None."""
    import copy
    import sys
    import types

    import torch

    fake_modules, made = {}, {}

    def cls_for(module, name):
        if (module, name) not in made:
            mod = fake_modules.setdefault(module, types.ModuleType(module))
            made[module, name] = type(name, (torch.nn.Module,), {"__module__": module, "__qualname__": name})
            setattr(mod, name, made[module, name])
        return made[module, name]

    def plain(v):
        return v is None or isinstance(v, (bool, int, float, str)) or (
            isinstance(v, (list, tuple, dict)) and all(plain(x) for x in (v.values() if isinstance(v, dict) else v)))

    def disguise(m, path=""):
        target = override(path, m) if override else None
        if target is not None:
            cls = target if isinstance(target, type) else cls_for(*target)
            out = cls.__new__(cls)
            out.__dict__.update(m.__dict__)
            out._modules = {k: disguise(c, f"{path}.{k}".lstrip(".")) for k, c in m._modules.items()}
            return out
        if type(m).__module__.startswith("torch."):
            out = copy.copy(m)
            out._modules = {k: disguise(c, f"{path}.{k}".lstrip(".")) for k, c in m._modules.items()}
            return out
        spec = neuron(m)
        if spec is not None:
            module, name, attrs, children = spec
            out = cls_for(module, name)()
            out.__dict__.update(attrs)
            for k, (cmod, cname) in children.items():
                out._modules[k] = cls_for(cmod, cname)()
            return out
        target = names.get(type(m), ("ultralytics.nn.modules.block", type(m).__name__))
        cls = target if isinstance(target, type) else cls_for(*target)    # a type: a real torch class
        out = cls.__new__(cls)
        out.__dict__.update({k: v for k, v in m.__dict__.items() if k.startswith("_") or plain(v)})
        out._modules = {k: disguise(c, f"{path}.{k}".lstrip(".")) for k, c in m._modules.items()}
        return out

    model = disguise(copy.deepcopy(net).half() if half else net)
    model.__dict__.update(root_attrs or {})
    parents = {}
    for name in list(fake_modules):
        parts = name.split(".")
        for i in range(1, len(parts)):
            parents.setdefault(".".join(parts[:i]), types.ModuleType(".".join(parts[:i])))
    added = {k: v for k, v in {**parents, **fake_modules}.items() if k not in sys.modules}
    sys.modules.update(added)
    try:
        torch.save({"epoch": 299, "best_fitness": 0.5, "model": model, "ema": model, "updates": 1,
                    "optimizer": None}, path)
    finally:
        for k in added:
            sys.modules.pop(k, None)
