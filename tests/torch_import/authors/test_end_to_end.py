"""The authors' checkpoints end to end: state_dict or pickled model -> rebuilt network ->
from_torch -> event-driven simulation equal to the rebuilt network's torch forward (float64
within 1e-9, spike counts exact), and the two CLI commands with their bad-input sentences."""
import json

import pytest

torch = pytest.importorskip("torch")
yaml = pytest.importorskip("yaml")

from neurosim.cli import main  # noqa: E402
from neurosim.ir import load_graph  # noqa: E402
from neurosim.models.neurons import ILIF, LIF  # noqa: E402
from neurosim.torch_import.authors import CheckpointError, emsyolo, import_emsyolo, import_spikeyolo, spikeyolo  # noqa: E402
from neurosim.torch_import.authors import common  # noqa: E402
from neurosim.torch_import.authors.checkpoint import load_into  # noqa: E402

from ..helpers import compare, exact_bn  # noqa: E402
from .helpers import model_keys, random_state, save_like_authors, tiny_emsyolo_yaml, tiny_spikeyolo_yaml  # noqa: E402

YS = "ultralytics.nn.modules.yolo_spikformer"
EMS = "models.common"


def _dyadic(model, bits=8):
    """Round every weight to ``bits`` fractional bits, so weights with BatchNorm folded in (see
    ``exact_bn``) stay exact in the IR's float32 and float64 comparisons can hold to 1e-9."""
    with torch.no_grad():
        for p in model.parameters():
            if p.dim() > 1:
                p.copy_(torch.round(p * 2 ** bits) / 2 ** bits)
    return model


def _exact(model):
    return _dyadic(exact_bn(model.double()))


@pytest.fixture
def spikeyolo_ckpt(tmp_path):
    cfg = tiny_spikeyolo_yaml(tmp_path)
    torch.save(random_state(model_keys(spikeyolo.build(cfg)), seed=3), tmp_path / "sy.pt")
    return cfg, tmp_path / "sy.pt"


def _emsyolo_ckpt(tmp_path, name, T):
    cfg = tiny_emsyolo_yaml(tmp_path, name)
    state = random_state(model_keys(emsyolo.build(cfg, T=T)), seed=4)
    torch.save({"epoch": 3, "model": state}, tmp_path / f"{name}.pt")
    return cfg, tmp_path / f"{name}.pt"


# --------------------------------------------------------------------------- simulation equals torch


def test_spikeyolo_simulation_equals_the_rebuilt_network(spikeyolo_ckpt):
    cfg, ckpt = spikeyolo_ckpt
    result = import_spikeyolo(ckpt, cfg, input_shape=(3, 64, 64), T=2)
    assert result.D == 4 and result.head.type == "yolov8"
    rec, _ = compare(_exact(result.model), result.input_shape, result.T, min_spikes=10_000)
    ops = [n.op for n in rec.graph]
    assert ops.count("ilif") == len(rec.spikes) and "batch_norm" not in ops
    assert rec.graph.metadata["import"]["time_layout"] == "TB"


@pytest.mark.parametrize("name,T", [("resnet10", 2), ("resnet34-cat", 1)])
def test_emsyolo_simulation_equals_the_rebuilt_network(tmp_path, name, T):
    cfg, ckpt = _emsyolo_ckpt(tmp_path, name, T)
    result = import_emsyolo(ckpt, cfg, input_shape=(3, 64, 64), T=T)
    assert result.head.type == "yolov3"
    rec, _ = compare(_exact(result.model), result.input_shape, T, min_spikes=1_000)
    ops = [n.op for n in rec.graph]
    assert ops.count("lif") == len(rec.spikes)
    assert ("silu" in ops) == (name == "resnet34-cat")     # the authors' Conv layer: SiLU(BN(conv)) at T = 1


def test_float32_import_matches_within_1e_5(spikeyolo_ckpt):
    cfg, ckpt = spikeyolo_ckpt
    result = import_spikeyolo(ckpt, cfg, input_shape=(3, 64, 64), T=2)
    compare(exact_bn(result.model), result.input_shape, result.T, precision="float32", min_spikes=10_000)


def test_sep_rep_conv_is_pad_then_bn_then_convs():
    """Our eval-mode SepRepConv (one padded conv with the BN folded in) against the authors'
    order written out: zero-pad, BN (running statistics), 1x1 conv, depthwise conv."""
    for groups in (1, 2):
        m = spikeyolo.SepRepConv(8, 6, 3, group=groups).double().eval()
        bn, (pw, dw) = m.body[0].bn, m.body[1]
        g = torch.Generator().manual_seed(groups)
        bn.running_mean.copy_(torch.randn(8, generator=g, dtype=torch.float64))
        bn.running_var.copy_(torch.rand(8, generator=g, dtype=torch.float64) + 0.5)
        bn.weight.data.copy_(torch.randn(8, generator=g, dtype=torch.float64))
        bn.bias.data.copy_(torch.randn(8, generator=g, dtype=torch.float64))
        x = (torch.rand(3, 8, 7, 7, generator=g, dtype=torch.float64) < 0.3).double()
        a = bn.weight / torch.sqrt(bn.running_var + bn.eps)
        padded = torch.nn.functional.pad(x, [1, 1, 1, 1])
        expected = dw(pw((padded - bn.running_mean.view(1, -1, 1, 1)) * a.view(1, -1, 1, 1) + bn.bias.view(1, -1, 1, 1)))
        with torch.no_grad():
            assert (m(x) - expected).abs().max() < 1e-12
            assert m.train()(x).shape == expected.shape       # training mode keeps the authors' modules


# --------------------------------------------------------------------------- pickled checkpoints


def _spikeyolo_names():
    names = {t: (YS, n[0]) for t, n in spikeyolo.PICKLED_CLASSES.items() if not t.__module__.startswith("torch")}
    names.update({common.LayerNetwork: ("ultralytics.nn.tasks", "DetectionModel"),
                  spikeyolo.TimeSequential: torch.nn.Sequential, common.Concat: ("ultralytics.nn.modules.conv", "Concat")})
    return names


def _spikeyolo_pickle(tmp_path, cfg, D=4, neuron_class="mem_update"):
    net = spikeyolo.build(cfg, D=D)
    load_into(net, random_state(model_keys(net), seed=5), "random state")
    doc = {**yaml.safe_load((cfg.parent / "snn_yolov8.yaml").read_text()), "scale": "t"}

    def neuron(m):
        if isinstance(m, ILIF):
            return YS, neuron_class, {"act": False}, {"qtrick": (YS, f"MultiSpike{D}")}
        return None

    save_like_authors(net, tmp_path / "best.pt", _spikeyolo_names(), neuron, root_attrs={"yaml": doc})
    return net, tmp_path / "best.pt"


def test_pickled_spikeyolo_reads_d_eps_and_fp16_weights(tmp_path):
    cfg = tiny_spikeyolo_yaml(tmp_path)
    net, best = _spikeyolo_pickle(tmp_path, cfg, D=8)
    result = import_spikeyolo(best, cfg, input_shape=(3, 64, 64), T=2, trust_pickle=True)
    assert result.D == 8 and "pickled ultralytics.nn.tasks.DetectionModel" in result.metadata["authors_checkpoint"]["weights"]
    ours = dict(result.model.state_dict())
    for k, v in net.state_dict().items():     # the file holds fp16 weights: ours are them, widened
        assert torch.equal(ours[k], v.half().to(ours[k].dtype)), k
    bns = [m for m in result.model.modules() if isinstance(m, torch.nn.BatchNorm2d)]
    assert bns and all(m.eps == spikeyolo.BN_EPS for m in bns)
    assert all(m.max_spike == 8 for m in result.model.modules() if isinstance(m, ILIF))


def test_pickled_checkpoint_needs_trust_and_names_a_wrong_neuron(tmp_path):
    cfg = tiny_spikeyolo_yaml(tmp_path)
    _, best = _spikeyolo_pickle(tmp_path, cfg)
    with pytest.raises(CheckpointError, match=r"^best\.pt holds pickled Python objects .*pass --trust-pickle"):
        import_spikeyolo(best, cfg, input_shape=(3, 64, 64), T=2)
    _, best = _spikeyolo_pickle(tmp_path, cfg, neuron_class="SomeOtherNeuron")
    with pytest.raises(CheckpointError, match=r"has a .*SomeOtherNeuron at model\.\d+\..*where SpikeYOLO has a neuron"):
        import_spikeyolo(best, cfg, input_shape=(3, 64, 64), T=2, trust_pickle=True)


def test_pickled_emsyolo_loads(tmp_path):
    cfg = tiny_emsyolo_yaml(tmp_path, "resnet10")
    net = emsyolo.build(cfg, T=2)
    load_into(net, random_state(model_keys(net), seed=6), "random state")
    names = {t: (EMS, n[0]) for t, n in emsyolo.PICKLED_CLASSES.items()
             if not t.__module__.startswith("torch") and t not in (LIF, emsyolo.SiLUMemory)}
    names.update({common.LayerNetwork: ("models.yolo", "Model"), common.Concat: (EMS, "Concat")})

    def neuron(m):
        if isinstance(m, (LIF, emsyolo.SiLUMemory)):
            return EMS, "mem_update", {"act": isinstance(m, emsyolo.SiLUMemory)}, {}
        return None

    tdbn = {path for path, m in net.named_modules() if isinstance(m, emsyolo.TdBN)}

    def override(path, m):   # batch_norm_2d holds a BatchNorm3d1, batch_norm_2d1 a BatchNorm3d2 (common.py:162-181)
        parent = path.rsplit(".", 1)[0]
        if isinstance(m, torch.nn.BatchNorm2d) and parent in tdbn:
            return EMS, "BatchNorm3d1"
        if isinstance(m, (torch.nn.MaxPool2d, torch.nn.Identity)):   # nn.MaxPool3d((1, s, s)), also s = 1
            return torch.nn.MaxPool3d
        return None

    save_like_authors(net, tmp_path / "best.pt", names, neuron, override=override)
    result = import_emsyolo(tmp_path / "best.pt", cfg, input_shape=(3, 64, 64), T=2, trust_pickle=True)
    assert "pickled models.yolo.Model" in result.metadata["authors_checkpoint"]["weights"]
    x = torch.rand(2, 1, 3, 64, 64)
    with torch.no_grad():
        for a, b in zip(result.model(x), net.half().float()(x)):
            assert torch.equal(a, b)


# --------------------------------------------------------------------------- the CLI


def test_import_spikeyolo_then_simulate_on_a_chip(spikeyolo_ckpt, tmp_path, capsys):
    cfg, ckpt = spikeyolo_ckpt
    out = tmp_path / "model"
    assert main(["import-spikeyolo", str(ckpt), str(out), "--cfg", str(cfg), "--input-shape", "3,64,64",
                 "--T", "2"]) == 0
    text = capsys.readouterr().out
    assert "head yolov8 (80 classes, strides [8, 16, 32])" in text and "(equal)" in text
    graph = load_graph(out)
    assert graph.metadata["import"]["check"]["spikes_equal"]
    assert graph.metadata["detection"]["outputs"] == list(graph.outputs) and graph.metadata["T"] == 2
    assert main(["simulate", str(out), "--chip", "loihi", "--json", "--quiet"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report


def test_import_emsyolo_nested_checkpoint(tmp_path, capsys):
    cfg, ckpt = _emsyolo_ckpt(tmp_path, "resnet10", 2)
    out = tmp_path / "ems"
    assert main(["import-emsyolo", str(ckpt), str(out), "--cfg", str(cfg), "--input-shape", "3,64,64", "--T", "2",
                 "--no-check"]) == 0
    assert "weights from resnet10.pt['model'] (a state_dict)" in capsys.readouterr().out
    graph = load_graph(out)
    assert graph.metadata["detection"]["type"] == "yolov3" and "check" not in graph.metadata["import"]


@pytest.mark.parametrize("case, fragment", [
    ("missing", "does not exist"),
    ("pickle", "pass --trust-pickle"),
    ("wrong-scale", "check that snn_yolov8.yaml at scale 's'"),
    ("bad-cfg", "not found"),
    ("odd-size", "divisible by its largest stride 32"),
    ("out-is-file", "is an existing file, not a directory"),
])
def test_bad_input_is_one_sentence_and_writes_nothing(spikeyolo_ckpt, tmp_path, capsys, case, fragment):
    cfg, ckpt = spikeyolo_ckpt
    out, shape = tmp_path / "bad", "3,64,64"
    if case == "missing":
        ckpt = tmp_path / "nothing.pt"
    elif case == "pickle":
        _, ckpt = _spikeyolo_pickle(tmp_path, cfg)
    elif case == "wrong-scale":
        cfg = cfg.with_name("snn_yolov8s.yaml")
    elif case == "bad-cfg":
        cfg = tmp_path / "none.yaml"
    elif case == "odd-size":
        shape = "3,48,48"
    elif case == "out-is-file":
        out.write_text("x")
    assert main(["import-spikeyolo", str(ckpt), str(out), "--cfg", str(cfg), "--input-shape", shape, "--T", "2"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("neurosim: error:") and fragment in err[0], err
    assert out.is_file() if case == "out-is-file" else not out.exists()
