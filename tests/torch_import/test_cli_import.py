"""``neurosim import-torch``: a factory file and a state_dict in, a model directory out; bad input
is one sentence, exit 2, nothing written."""
import json

import pytest
import torch

from neurosim.cli import main
from neurosim.ir import load_graph

pytest.importorskip("spikingjelly.activation_based")

FACTORY = '''
import torch
from torch import nn
from spikingjelly.activation_based import functional, layer, neuron


def build():
    net = nn.Sequential(layer.Conv2d(2, 8, 3, padding=1, bias=False), layer.BatchNorm2d(8),
                        neuron.LIFNode(tau=2.0), layer.MaxPool2d(2), layer.Conv2d(8, 4, 1))
    functional.set_step_mode(net, "m")
    return net


def gelu():
    net = nn.Sequential(layer.Conv2d(2, 8, 3, padding=1), layer.SeqToANNContainer(nn.GELU()))
    functional.set_step_mode(net, "m")
    return net
'''


@pytest.fixture
def user_files(tmp_path):
    factory = tmp_path / "mynet.py"
    factory.write_text(FACTORY)
    namespace = {}
    exec(compile(FACTORY, str(factory), "exec"), namespace)
    torch.manual_seed(0)
    net = namespace["build"]()
    with torch.no_grad():
        net[0].weight.mul_(4)
    torch.save(net.state_dict(), tmp_path / "w.pt")
    torch.save({"epoch": 3, "model": net.state_dict()}, tmp_path / "nested.pt")
    torch.save(net, tmp_path / "full.pt")
    return tmp_path, f"{factory}:build", net


def test_import_then_simulate(user_files, capsys):
    tmp, factory, net = user_files
    out = tmp / "model"
    assert main(["import-torch", factory, str(out), "--weights", str(tmp / "w.pt"), "--input-shape", "2,16,16",
                 "--T", "3", "--input-kind", "binary"]) == 0
    text = capsys.readouterr().out
    assert "folded into" in text and "(equal)" in text and "mAP is not computed" in text
    graph = load_graph(out)
    meta = graph.metadata["import"]
    assert meta["check"]["spikes_equal"] and meta["check"]["max_relative_difference"] < 1e-5
    assert meta["source"]["spikingjelly"] == "2.0.0" and graph.metadata["T"] == 3
    assert [n.op for n in graph] == ["input", "conv2d", "lif", "maxpool2d", "conv2d"]
    assert main(["simulate", str(out), "--chip", "loihi", "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report


def test_nested_state_dict_with_key(user_files, capsys):
    tmp, factory, _ = user_files
    assert main(["import-torch", factory, str(tmp / "m2"), "--weights", str(tmp / "nested.pt"), "--key", "model",
                 "--input-shape", "2,16,16", "--T", "2"]) == 0


@pytest.mark.parametrize("extra, fragment", [
    (["--weights", "full.pt"], "pass --trust-pickle"),
    (["--weights", "nested.pt"], "--key"),
    (["--weights", "nested.pt", "--key", "optimizer"], "no entry 'optimizer'"),
    (["--weights", "missing.pt"], "does not exist"),
    (["--weights", "w.pt", "--input-shape", "2,x,16"], "--input-shape"),
    (["--weights", "w.pt", "--T", "0"], "argument --T: must be an integer of at least 1, got '0'"),
])
def test_bad_input_is_one_sentence(user_files, capsys, extra, fragment):
    tmp, factory, _ = user_files
    args = ["import-torch", factory, str(tmp / "bad")] + [str(tmp / a) if a.endswith(".pt") else a for a in extra]
    if "--input-shape" not in extra:
        args += ["--input-shape", "2,16,16"]
    assert main(args) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("neurosim: error:") and fragment in err[0]
    assert not (tmp / "bad").exists()


def test_trusted_pickle_loads(user_files, capsys):
    tmp, factory, _ = user_files
    assert main(["import-torch", factory, str(tmp / "m3"), "--weights", str(tmp / "full.pt"), "--trust-pickle",
                 "--input-shape", "2,16,16", "--T", "2"]) == 0


def test_unsupported_module_names_path_and_class(user_files, capsys):
    tmp, factory, _ = user_files
    assert main(["import-torch", factory.replace(":build", ":gelu"), str(tmp / "g"), "--input-shape", "2,8,8",
                 "--T", "2"]) == 2
    err = capsys.readouterr().err
    assert "module '1.module.0' (GELU) calls torch 'gelu'" in err or "(GELU) calls torch 'gelu'" in err
    assert not (tmp / "g").exists()


def test_bad_factory(tmp_path, capsys):
    assert main(["import-torch", "nosuchmodule_xyz:build", str(tmp_path / "o"), "--input-shape", "3"]) == 2
    assert "cannot import module 'nosuchmodule_xyz'" in capsys.readouterr().err
    assert main(["import-torch", "justaname", str(tmp_path / "o"), "--input-shape", "3"]) == 2
