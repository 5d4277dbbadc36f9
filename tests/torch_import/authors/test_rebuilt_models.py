"""The rebuilt SpikeYOLO / EMS-YOLO: the authors' exact key names and shapes, strict loading,
forward shapes, and the same outputs as neurosim's own independently written models."""
import re

import pytest

torch = pytest.importorskip("torch")
yaml = pytest.importorskip("yaml")

from neurosim.errors import NeurosimError  # noqa: E402
from neurosim.torch_import.authors import emsyolo, load_config, spikeyolo  # noqa: E402
from neurosim.torch_import.authors.checkpoint import CheckpointError, load_into  # noqa: E402

from .helpers import DATA, mirror_file, model_keys, random_state, read_keys, tiny_emsyolo_yaml, tiny_spikeyolo_yaml  # noqa: E402

#: the authors' summary line of snn_yolov8 scale s at 80 classes (also in tests/models/test_spikeyolo.py)
SPIKEYOLO_S_PARAMETERS = 23_153_024


def _parameter_count(keys):
    return sum(int(torch.tensor(s).prod()) if s else 1 for k, s in keys
               if not re.search(r"(running_mean|running_var|num_batches_tracked|anchors)$", k))


# --------------------------------------------------------------------------- key lists


def test_spikeyolo_s_key_list_has_the_authors_parameter_count():
    """The key list was written from their module code; its parameters sum to their summary's count."""
    assert _parameter_count(read_keys("snn_yolov8s_keys.txt")) == SPIKEYOLO_S_PARAMETERS


def test_spikeyolo_s_keys_and_shapes_equal_the_authors():
    net = spikeyolo.build(DATA / "snn_yolov8s.yaml")
    assert model_keys(net) == read_keys("snn_yolov8s_keys.txt")   # same keys, shapes and order
    spec = net.head_spec((640, 640))
    assert (spec.type, spec.num_classes, spec.strides, spec.reg_max) == ("yolov8", 80, (8, 16, 32), 16)
    assert net.meta["T_yaml"] == 1 and net.meta["D"] == 4


@pytest.mark.parametrize("name", ["resnet34-cat", "resnet10"])
def test_emsyolo_keys_and_shapes_equal_the_authors(name):
    net = emsyolo.build(DATA / f"{name}.yaml", T=1)
    assert model_keys(net) == read_keys(f"{name}_keys.txt")
    spec = net.head_spec((640, 640))
    assert spec.type == "yolov3" and spec.strides == (16, 32)
    # anchors: the yaml's pixels, stored as the authors do (grid units) and multiplied back
    assert spec.anchors == (((10, 14), (23, 27), (37, 58)), ((81, 82), (135, 169), (344, 319)))


@pytest.mark.parametrize("family,path,ours", [
    ("spikeyolo", "ultralytics/cfg/models/v8/snn_yolov8.yaml", "snn_yolov8.yaml"),
    ("emsyolo", "models/resnet34-cat.yaml", "resnet34-cat.yaml"),
    ("emsyolo", "models/resnet10.yaml", "resnet10.yaml")])
def test_transcribed_configs_equal_the_authors(family, path, ours):
    text = mirror_file(family, path)
    if text is None:
        pytest.skip("the authors' repository is not mirrored here")
    assert yaml.safe_load(text) == yaml.safe_load((DATA / ours).read_text())


def test_gen1_config_builds_with_the_gen1_neuron():
    text = mirror_file("spikeyolo", "SpikeYOLO_for_Gen1/ultralytics/cfg/models/v8/snn_yolov8.yaml")
    if text is None:
        pytest.skip("the authors' repository is not mirrored here")
    import tempfile
    from pathlib import Path

    with tempfile.TemporaryDirectory() as d:
        (Path(d) / "snn_yolov8.yaml").write_text(text)
        net = spikeyolo.build(Path(d) / "snn_yolov8n.yaml", variant="gen1", nc=2)
    neurons = [m for m in net.modules() if hasattr(m, "ir_node")]
    assert neurons and all(m.ir_node() == ("ilif", dict(decay=0.5, max_spike=4, decay_input=True)) for m in neurons)
    assert not any(k.startswith("model.8.0.") for k in net.state_dict())   # Gen1 layer 8 is not repeated
    with torch.no_grad():
        ys = net(torch.rand(2, 1, 3, 64, 64))
    assert [tuple(y.shape) for y in ys] == [(2, 1, 66, 8, 8), (2, 1, 66, 4, 4), (2, 1, 66, 2, 2)]


# --------------------------------------------------------------------------- strict loading and forward


def test_spikeyolo_random_state_dict_loads_strictly_and_runs():
    net = spikeyolo.build(DATA / "snn_yolov8s.yaml")
    load_into(net, random_state(read_keys("snn_yolov8s_keys.txt"), seed=1), "random state")
    with torch.no_grad():
        ys = net(torch.rand(2, 1, 3, 64, 64) * 2)             # [T, B, C, H, W]
    assert [tuple(y.shape) for y in ys] == [(2, 1, 144, 8, 8), (2, 1, 144, 4, 4), (2, 1, 144, 2, 2)]
    assert all(torch.isfinite(y).all() for y in ys)


@pytest.mark.parametrize("name,T", [("resnet10", 2), ("resnet34-cat", 1)])
def test_emsyolo_random_state_dict_loads_strictly_and_runs(name, T):
    net = emsyolo.build(DATA / f"{name}.yaml", T=T)
    load_into(net, random_state(read_keys(f"{name}_keys.txt"), seed=2), "random state")
    with torch.no_grad():
        ys = net(torch.rand(T, 1, 3, 64, 64))
    assert [tuple(y.shape) for y in ys] == [(T, 1, 255, 4, 4), (T, 1, 255, 2, 2)]


def test_emsyolo_conv_layer_is_refused_beyond_one_timestep():
    with pytest.raises(NeurosimError, match=r"^layer 10 of resnet34-cat\.yaml uses the authors' Conv, .*T=1 only \(got T=5\)$"):
        emsyolo.build(DATA / "resnet34-cat.yaml")


def test_unsupported_module_is_one_sentence(tmp_path):
    cfg = tiny_spikeyolo_yaml(tmp_path, edit=lambda d: d["backbone"].__setitem__(7, [-1, 1, "Foo", [1]]))
    with pytest.raises(NeurosimError) as err:
        spikeyolo.build(cfg)
    msg = str(err.value)
    assert msg.startswith("layer 7 of snn_yolov8.yaml uses module 'Foo', which is not supported (supported: MS_GetT, ")
    assert msg.count(". ") == 0 and "\n" not in msg


def test_bad_yaml_and_missing_scale_are_one_sentence(tmp_path):
    (tmp_path / "snn_yolov8.yaml").write_text("backbone: [[-1, 1, MS_GetT, [3, 1]]\nhead: [")
    with pytest.raises(NeurosimError, match=r"^snn_yolov8\.yaml is not valid YAML at line \d+"):
        load_config(tmp_path / "snn_yolov8s.yaml")
    cfg = tiny_spikeyolo_yaml(tmp_path)
    with pytest.raises(NeurosimError, match=r"defines scales n, s, m, l, t: name one in the file name"):
        load_config(cfg.with_name("snn_yolov8.yaml"))
    with pytest.raises(NeurosimError, match=r"has no scale 'x'"):
        load_config(cfg.with_name("snn_yolov8x.yaml"))
    with pytest.raises(NeurosimError, match=r"^model config .*nothing\.yaml not found"):
        load_config(tmp_path / "nothing.yaml")


def test_bad_key_is_one_sentence():
    net = emsyolo.build(DATA / "resnet10.yaml", T=1)
    state = random_state(read_keys("resnet10_keys.txt"))
    state["model.3.shortcut.1.weights"] = state.pop("model.3.shortcut.1.weight")
    state["model.11.m.0.bias"] = torch.zeros(3)
    with pytest.raises(CheckpointError) as err:
        load_into(net, state, "ckpt.pt", hint="check --cfg")
    assert str(err.value) == (
        "ckpt.pt does not match the model built from the config: it lacks 1 key(s) the model needs "
        "(model.3.shortcut.1.weight); it has 1 key(s) the model does not have (model.3.shortcut.1.weights); it has "
        "1 mis-shaped tensor(s) (model.11.m.0.bias [3] (expected [255])); check --cfg")


# --------------------------------------------------------------------------- vs neurosim's own models


def _spikeyolo_to_ours(key):
    """Authors' key -> neurosim.models.spikeyolo.SpikeYOLO key (None: not in ours, the DFL)."""
    i, rest = re.match(r"model\.(\d+)\.(.*)", key).groups()
    i = int(i)

    def std(r):   # MS_StandardConv / SpikeConv: conv, bn -> our ConvBN
        return re.sub(r"^(conv|bn)\.", r"conv.\1.", r)

    def block(r):
        for a, b in [(r"^Conv\.pwconv1\.", "sep.pw1.conv."), (r"^Conv\.bn1\.", "sep.pw1.bn."),
                     (r"^Conv\.dwconv2\.", "sep.dw.conv."), (r"^Conv\.bn2\.", "sep.dw.bn."),
                     (r"^Conv\.pwconv3\.body\.0\.bn\.", "sep.pw3.bn_pad."), (r"^Conv\.pwconv3\.body\.1\.0\.", "sep.pw3.pw."),
                     (r"^Conv\.pwconv3\.body\.1\.1\.", "sep.pw3.dw."), (r"^Conv\.bn3\.", "sep.bn3."),
                     (r"^(conv[12])\.body\.0\.", r"\1.pw1."), (r"^(conv[12])\.body\.1\.bn\.", r"\1.bn_pad."),
                     (r"^(conv[12])\.body\.2\.0\.", r"\1.dw."), (r"^(conv[12])\.body\.2\.1\.", r"\1.pw2."),
                     (r"^(conv[12])\.body\.2\.2\.", r"\1.bn."), (r"^(conv[12])\.conv\.", r"\1.conv.conv."),
                     (r"^(conv[12])\.bn\.", r"\1.conv.bn.")]:
            if re.match(a, r):
                return re.sub(a, b, r)
        return r

    if i in (1, 3, 5, 7):
        return f"backbone.{i - 1}." + rest.replace("encode_conv.", "conv.conv.").replace("encode_bn.", "conv.bn.")
    if i in (2, 4, 6, 8):
        m = re.match(r"(\d+)\.(.*)", rest)
        j, r = (m.group(1), m.group(2)) if m else ("0", rest)
        return f"backbone.{i - 1}.{j}.{block(r)}"
    if i == 9:
        return "backbone.8." + re.sub(r"^(cv[12])\.(.*)", lambda m: f"{m.group(1)}.{std(m.group(2))}", rest)
    if i in (10, 14, 18, 20, 23):
        return f"neck.l{i}.{std(rest)}"
    if i in (12, 16, 19, 22, 25):
        return f"neck.l{i}.{block(rest)}"
    if rest.startswith("dfl."):
        return None
    branch, level, j, r = re.match(r"(cv[23])\.(\d+)\.(\d+)\.(.*)", rest).groups()
    name = "box" if branch == "cv2" else "cls"
    return f"head.{name}.{level}.{j}." + (std(r) if j != "2" else r.replace("conv.", "conv.conv."))


def test_spikeyolo_matches_neurosims_own_spikeyolo(tmp_path):
    """Our SpikeYOLO (neurosim.models.spikeyolo, written earlier from the same sources, with other
    key names and its own RepConv padding code) with the same weights and the authors' BN eps gives
    the same head outputs: an independent check of the rebuilt blocks' wiring and equations."""
    from neurosim.models.spikeyolo import SpikeYOLO

    torch.manual_seed(0)
    net = spikeyolo.build(tiny_spikeyolo_yaml(tmp_path, width=0.125, nc=5)).double()
    state = random_state(model_keys(net), seed=3, dtype=torch.float64)
    load_into(net, state, "random state")
    ours = SpikeYOLO("tiny", num_classes=5, T=2).double().eval()
    mapped = {_spikeyolo_to_ours(k): v for k, v in state.items() if _spikeyolo_to_ours(k) is not None}
    ours.load_state_dict(mapped, strict=True)
    for m in ours.modules():
        if isinstance(m, torch.nn.BatchNorm2d):
            m.eps = spikeyolo.BN_EPS        # ultralytics' initialize_weights; ours defaults to 1e-5
    x = torch.rand(2, 2, 3, 64, 64, dtype=torch.float64, generator=torch.Generator().manual_seed(4)) * 2
    with torch.no_grad():
        a = [y.mean(0) for y in net(x.transpose(0, 1))]
        b = ours(x)
    for ya, yb in zip(a, b):
        assert ya.shape == yb.shape
        assert (ya - yb).abs().max() < 1e-9
        assert ya.abs().max() > 0.1


def _emsyolo_to_ours(key):
    i, rest = re.match(r"model\.(\d+)\.(.*)", key).groups()
    prefix = {0: "stem", 1: "blocks.0", 2: "blocks.1", 3: "blocks.2", 4: "blocks.3", 5: "neck", 6: "p5", 7: "lateral",
              10: "p4"}.get(int(i))
    if int(i) == 11:
        return None if rest == "anchors" else "detect." + rest[2:]
    if prefix == "stem":
        return "stem." + rest.replace("bn.bn.", "bn.")
    for a, b in [(r"^residual_function\.1\.", "residual.c1.conv."), (r"^residual_function\.2\.bn\.", "residual.c1.bn."),
                 (r"^residual_function\.4\.", "residual.c2.conv."), (r"^residual_function\.5\.bn\.", "residual.c2.bn.")]:
        rest = re.sub(a, b, rest)
    if prefix.startswith("blocks") and prefix != "blocks.0":     # Concat_res2 -> EMSConcatBlock
        rest = rest.replace("shortcut.1.", "conv.conv.").replace("shortcut.2.bn.", "conv.bn.")
    else:
        rest = rest.replace("shortcut.2.", "shortcut.conv.conv.").replace("shortcut.3.bn.", "shortcut.conv.bn.")
    return f"{prefix}.{rest}"


def test_emsyolo_matches_neurosims_own_emsyolo():
    """neurosim.models.emsyolo.EMSYOLO('resnet10', 'paper') with the same weights: same outputs."""
    from neurosim.models.emsyolo import EMSYOLO

    net = emsyolo.build(DATA / "resnet10.yaml", T=2).double()
    state = random_state(model_keys(net), seed=5, dtype=torch.float64)
    load_into(net, state, "random state")
    ours = EMSYOLO("resnet10", "paper", num_classes=80, T=2).double().eval()
    ours.load_state_dict({_emsyolo_to_ours(k): v for k, v in state.items() if _emsyolo_to_ours(k)}, strict=True)
    x = torch.rand(1, 2, 3, 64, 64, dtype=torch.float64, generator=torch.Generator().manual_seed(6)) * 2
    with torch.no_grad():
        a = [y.mean(0) for y in net(x.transpose(0, 1))]
        b = ours(x)
    for ya, yb in zip(a, b):
        assert ya.shape == yb.shape and (ya - yb).abs().max() < 1e-9 and ya.abs().max() > 0.1


def test_repeating_a_layer_that_changes_its_shape_is_one_sentence(tmp_path):
    cfg = tiny_emsyolo_yaml(tmp_path, edit=lambda d: d["backbone"].__setitem__(2, [-1, 2, "Concat_res2", [128, 3, 2]]))
    with pytest.raises(NeurosimError, match=r"^layer 2 of resnet10-w0\.125\.yaml repeats Concat_res2 2 times, but it "
                                            r"changes the channels or the stride, so its copies cannot be chained$"):
        emsyolo.build(cfg, T=1)
    cfg = tiny_emsyolo_yaml(tmp_path, edit=lambda d: d["head"].__setitem__(1, [-1, 3, "BasicBlock_2", [256, 3, 1]]))
    net = emsyolo.build(cfg, T=1)
    assert any(k.startswith("model.6.2.") for k in net.state_dict())     # three chained copies, keys model.6.j
