"""The error contract, command by command: a bad value is one sentence on stderr starting
``neurosim: error:``, exit code 2, no traceback, and nothing written where output was asked for.

One table, grown with every new option: (command line, a fragment the sentence must hold). In
the command lines ``{model}`` is a saved tiny model, ``{binary}`` one whose input is a spike
raster, ``{dir}`` an existing directory, ``{file}`` an existing file, ``{out}`` the output path
(which must not appear), ``{missing}`` a path that does not exist, ``{*.npy}`` input files.
"""
import os
import re

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from neurosim.cli import main, values
from neurosim.examples import tiny_snn
from neurosim.ir import GraphBuilder, save_graph

INT = "must be an integer of at least 1"

CASES = [
    # the three holes of the issue
    ("simulate {model} --T 0", f"argument --T: {INT}, got '0'"),
    ("compare {model} --chips ", "argument --chips: must be a comma-separated list of hardware profiles, got an empty value"),
    ("sweep {model} --T  --chip memory-45nm --out {out}", "argument --T: must be a comma-separated list of integers"),
    # counts, seeds and numbers
    ("simulate {model} --T -3", f"argument --T: {INT}, got '-3'"),
    ("simulate {model} --T four", "argument --T: must be an integer, got 'four'"),
    ("simulate {model} --images 0", f"argument --images: {INT}"),
    ("simulate {model} --D 0", f"argument --D: {INT}"),
    ("simulate {model} --seed -1", "argument --seed: must be an integer of at least 0"),
    ("simulate {model} --chip ", "argument --chip: must be a name, got an empty value"),
    ("simulate {model} --chip nonesuch", "unknown hardware profile 'nonesuch'"),
    ("sparsity {model} --images 0 --out {out}", f"argument --images: {INT}"),
    ("compare {model} --T 0 --out {out}", f"argument --T: {INT}"),
    # lists
    ("compare {model} --chips loihi,,speck --out {out}", "without empty items, got 'loihi,,speck'"),
    ("compare {model} --chips loihi,loihi --out {out}", "lists 'loihi' twice"),
    ("compare {model} --chips loihi,nonesuch --out {out}", "unknown hardware profile 'nonesuch'"),
    ("sweep {model} --T 1,,2 --out {out}", "without empty items, got '1,,2'"),
    ("sweep {model} --T a --out {out}", "item 'a' of 'a' must be an integer"),
    ("sweep {model} --T 0,2 --out {out}", f"item '0' of '0,2' {INT}"),
    ("sweep {model} --T 2,2 --out {out}", "lists '2' twice"),
    ("sweep {model} {model} --out {out}", "is listed twice; each model is swept once"),
    ("sweep {model} --T 65 --out {out}", "must be an integer of at most 64"),
    ("sweep {binary} --D 2 --out {out}", "has none; sweep it without --D"),
    ("sweep {model} --images 0 --out {out}", f"argument --images: {INT}"),
    ("sweep {model} --workers 0 --out {out}", f"argument --workers: {INT}"),
    ("sweep {model} --chip nonesuch --out {out}", "unknown hardware profile 'nonesuch'"),
    ("sweep {model} --scheduler nowhere --out {out}", "cannot reach the Dask scheduler at 'nowhere'"),
    ("sweep {model} --twin , --out {out}", "argument --twin: must be a comma-separated list of model directories"),
    ("data shapes {out} --counts 1,2", "--counts must be three integers"),
    ("data shapes {out} --counts 0,1,1", "--counts must be positive"),
    ("data shapes {out} --seed -2", "argument --seed: must be an integer of at least 0"),
    # paths: a directory where a file is expected, and the reverse
    ("simulate {file}", "is a file; a model is a directory holding graph.json"),
    ("simulate {missing}", "does not exist"),
    ("simulate no-such-model", "model no-such-model is neither a folder nor a shipped model"),
    ("sweep no-such-model --chip loihi --out {out}", "model no-such-model is neither a folder nor a shipped model"),
    ("simulate {model} --input {dir}", "argument --input: '{dir}' is a directory, not a file"),
    ("simulate {model} --input {missing}", "argument --input: '{missing}' does not exist"),
    ("simulate {model} --data {file}", "argument --data: '{file}' is a file, not a directory"),
    ("import-nir {dir} {out}", "argument file: '{dir}' is a directory, not a file"),
    ("export-nir {model} {dir}", "argument out_file: '{dir}' is a directory, not a file"),
    ("export {dir} {out}", "argument checkpoint: '{dir}' is a directory, not a file"),
    ("eval {file}", "argument model_dir: '{file}' is a file, not a directory"),
    ("eval {model} --checkpoint {dir}", "argument --checkpoint: '{dir}' is a directory, not a file"),
    ("eval {model} --images 0", f"argument --images: {INT}"),
    ("train {missing} --out {out}", "argument config: '{missing}' does not exist"),
    ("train {file} --out {out} --epochs 0", f"argument --epochs: {INT}"),
    ("run {dir}", "argument scenario: '{dir}' is a directory, not a file"),
    ("claims --images 0 --out {out}", f"argument --images: {INT}"),
    ("claims --trained {missing} --out {out}", "argument --trained: '{missing}' does not exist"),
    ("import-torch m.py:build {out} --input-shape 2,8,8 --weights {dir}", "argument --weights: '{dir}' is a directory"),
    ("import-torch m.py:build {out} --input-shape 2,8,8 --nc 0", f"argument --nc: {INT}"),
    ("import-spikeyolo {dir} {out} --cfg snn_yolov8s.yaml", "argument CKPT: '{dir}' is a directory, not a file"),
    ("import-spikeyolo {file} {out} --cfg snn_yolov8s.yaml --D 0", f"argument --D: {INT}"),
    ("import-emsyolo {file} {out} --cfg resnet10.yaml --T 0", f"argument --T: {INT}"),
    # numbers that must be finite and positive
    ("import-nir {file} {out} --dt 0", "argument --dt: must be a finite number greater than 0, got '0'"),
    ("import-nir {file} {out} --dt nan", "argument --dt: must be a finite number greater than 0, got 'nan'"),
    ("import-nir {file} {out} --dt inf", "got 'inf'"),
    ("export-nir {model} {out}.nir --dt=-1e-3", "argument --dt: must be a finite number greater than 0"),
    # outputs that cannot be written
    ("simulate {model} --chip loihi --out {file}", "argument --out: '{file}' is an existing file, not a directory"),
    ("calibrate {model} {file} --rate 0.1", "argument out: '{file}' is an existing file, not a directory"),
    ("simulate {model} --workers 2 --out {out}", "is not a trained detector: a dataset run needs the model card's dataset"),
    ("simulate example:tiny-snn --workers 2 --out {out}", "--workers simulates a trained detector's test split; example:tiny-snn has none"),
    ("simulate spikeyolo-shapes --workers 2", "--workers keeps its finished shards under --out"),
    ("simulate spikeyolo-shapes --workers 0 --out {out}", f"argument --workers: {INT}"),
    ("simulate spikeyolo-shapes --workers 2 --shard-size 0 --out {out}", f"argument --shard-size: {INT}"),
    ("simulate spikeyolo-shapes --scheduler  --out {out}", "argument --scheduler: must be a name, got an empty value"),
    ("simulate spikeyolo-shapes --workers 2 --input {good.npy} --out {out}", "--workers simulates a dataset's test split, and --input gives other inputs"),
    ("simulate {model} --images all", "--images all takes every sample of a dataset or input file"),
    ("simulate {model} --images some", "argument --images: must be an integer, got 'some'"),
    ("calibrate {model} {out} --rate 0", "argument --rate: must be a finite number greater than 0, got '0'"),
    ("calibrate {model} {out} --rate nan", "argument --rate: must be a finite number greater than 0, got 'nan'"),
    ("calibrate {model} {out} --rate fast", "argument --rate: must be a number, got 'fast'"),
    ("calibrate {model} {out}", "the following arguments are required: --rate"),
    ("calibrate {model} {out} --rate 0.1 --tolerance -1", "argument --tolerance: must be a finite number greater than 0"),
    ("calibrate {model} {out} --rate 0.1 --T 0", f"argument --T: {INT}"),
    ("calibrate no-such-model {out} --rate 0.1", "model no-such-model is neither a folder nor a shipped model"),
    ("simulate {model} --chip loihi --out {file}/sub", "which is a file, not a directory"),
    ("sparsity {model} --out {file}", "is an existing file, not a directory"),
    ("compare {model} --chips loihi --out {file}", "is an existing file, not a directory"),
    ("sweep {model} --out {file}", "is an existing file, not a directory"),
    ("train {file} --out {file}", "is an existing file, not a directory"),
    ("import-nir {file} {file}", "argument out_dir: '{file}' is an existing file, not a directory"),
    ("data shapes {file}", "argument root: '{file}' is an existing file, not a directory"),
    # input arrays
    ("simulate {model} --input {nan.npy}", "contains NaN or infinite values"),
    ("simulate {model} --input {inf.npy}", "contains NaN or infinite values"),
    ("simulate {model} --input {text.npy}", "values, not numbers"),
    ("simulate {model} --input {flat.npy}", "expected [B, T, *shape]"),
    ("simulate {model} --input {good.npy} --T 3", "--T 3 differs from the T = 2 of input file"),
    ("simulate {model} --input {good.npy} --images 5", "--images 5 asks for more samples than input file"),
    ("simulate {model} --input {good.npy} --seed 3", "--seed chooses the inputs, and so does --input"),
    ("simulate {model} --input {good.npy} --data {dir}", "--data chooses the inputs, and so does --input"),
    ("simulate {binary} --input {analog.npy}", "is binary (a spike raster) but holds"),
    ("sparsity {binary} --input {analog.npy} --out {out}", "is binary (a spike raster) but holds"),
]


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    root = tmp_path_factory.mktemp("battery")
    save_graph(tiny_snn(), root / "model")
    b = GraphBuilder()
    x = b.input((2, 8, 8), kind="binary")
    g = b.build([b.lif(b.conv2d(x, weight=np.ones((4, 2, 3, 3), np.float32), padding=1), threshold=2.0)])
    save_graph(g, root / "binary")
    (root / "dir").mkdir()
    (root / "file").write_text("not what any command reads\n")
    rng = np.random.default_rng(0)
    good = rng.random((2, 2, 3, 32, 32)).astype(np.float32)
    np.save(root / "good.npy", good)
    np.save(root / "nan.npy", np.where(good > 0.5, np.nan, good))
    np.save(root / "inf.npy", np.where(good > 0.5, np.inf, good))
    np.save(root / "text.npy", np.array([["a", "b"], ["c", "d"]]))
    np.save(root / "flat.npy", good.reshape(-1))
    np.save(root / "analog.npy", rng.random((1, 2, 2, 8, 8)).astype(np.float32))
    return root


def _argv(template, root, out):
    names = {"model": root / "model", "binary": root / "binary", "dir": root / "dir", "file": root / "file",
             "missing": root / "missing", "out": out}
    names.update({f"{n}.npy": root / f"{n}.npy" for n in ("good", "nan", "inf", "text", "flat", "analog")})
    argv = []
    for word in template.split(" "):
        for key, path in names.items():
            word = word.replace("{" + key + "}", str(path))
        argv.append(word)
    return argv


@pytest.mark.parametrize("template, fragment", CASES, ids=[c[0] for c in CASES])
def test_bad_value_is_one_sentence_exit_2_and_nothing_written(files, tmp_path, capsys, template, fragment):
    out = tmp_path / "out"
    before = (files / "file").read_text()
    assert main(_argv(template, files, out)) == 2
    captured = capsys.readouterr()
    lines = captured.err.strip().splitlines()
    assert len(lines) == 1, captured.err
    assert lines[0].startswith("neurosim: error: ") and "Traceback" not in captured.err
    expected = _argv(fragment, files, out)
    assert " ".join(expected) in lines[0], lines[0]
    assert not out.exists() and not out.with_suffix(".nir").exists() and not (tmp_path / "out.nir").exists()
    assert (files / "file").read_text() == before and not (files / "file").is_dir()


@pytest.mark.skipif(os.name != "posix" or os.geteuid() == 0, reason="needs a user whom permissions bind")
def test_an_unwritable_out_is_refused_before_any_work(tmp_path, capsys):
    locked = tmp_path / "locked"
    locked.mkdir()
    locked.chmod(0o500)
    try:
        assert main(["simulate", "example:tiny-snn", "--chip", "loihi", "--out", str(locked / "o")]) == 2
        assert "is not writable" in capsys.readouterr().err
    finally:
        locked.chmod(0o700)


def test_an_input_file_at_another_T_than_the_model_says_which_is_used(files, capsys):
    assert main(["simulate", str(files / "binary"), "--input", str(files / "analog.npy")]) == 2
    capsys.readouterr()
    save_graph(tiny_snn().replace_nodes(tiny_snn().nodes, metadata={"T": 4}), files / "t4")
    assert main(["simulate", str(files / "t4"), "--input", str(files / "good.npy"), "--quiet"]) == 0
    err = capsys.readouterr().err
    assert "running at the input file's T = 2; the model's own T is 4" in err


def test_help_states_the_error_contract(capsys):
    assert main(["--help"]) == 0
    out = " ".join(capsys.readouterr().out.split())
    assert "one sentence on stderr and exit code 2, before any output file is written" in out


# --------------------------------------------------------------------------- the list parser, on any string

LIST = values.integer_list(1, 64)


@settings(max_examples=300, deadline=None)
@given(st.text(alphabet="0123456789,- a", max_size=12))
def test_integer_list_accepts_exactly_the_well_formed_lists(text):
    items = text.split(",")
    well_formed = text.strip() != "" and all(re.fullmatch(r"\s*-?\d+\s*", i) for i in items)
    numbers = [int(i) for i in items] if well_formed else []
    ok = well_formed and all(1 <= n <= 64 for n in numbers) and len(set(numbers)) == len(numbers)
    try:
        parsed = LIST(text)
    except Exception as exc:  # noqa: BLE001 - any other exception type breaks the contract
        assert type(exc).__name__ == "ArgumentTypeError" and not ok, (text, exc)
    else:
        assert ok and parsed == numbers, (text, parsed)
