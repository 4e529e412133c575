"""Argument validation: numbers are checked by argparse types, for every command.

A bad ``-k``, λ or weight is one usage line on stderr and exit 2, before anything loads;
a failure after parsing is one line too (exit 2 for bad input, 1 for a bug), never a
traceback unless ``-v`` asks for it.
"""

from __future__ import annotations

import argparse
import logging
import subprocess
import sys
from types import SimpleNamespace

import pytest

from recolab.cli import (
    OBJECTIVE_NAMES,
    check_weights_apply,
    float_in,
    int_in,
    main,
    objective_weight,
    report_error,
    weights_dict,
)
from recolab.errors import RecolabError

REC = ["recommend", "--bundle", "missing.zip", "--user", "1"]
EVAL = ["evaluate", "--model-dir", "missing.zip", "--dataset", "ml-100k"]
TRAIN = ["train", "--train", "t.csv", "--out", "m.zip"]

BAD = [
    ([*REC, "-k", "-1"], "-k", "≥ 1"),
    ([*REC, "-k", "0"], "-k", "≥ 1"),
    ([*REC, "-k", "ten"], "-k", "expected an integer"),
    ([*REC, "-k", "100000"], "-k", "≤ 10000"),
    ([*REC, "--lambda", "nan"], "--lambda", "finite"),
    ([*REC, "--lambda", "inf"], "--lambda", "finite"),
    ([*REC, "--lambda=-inf"], "--lambda", "finite"),
    ([*REC, "--lambda", "-0.5"], "--lambda", "≥ 0"),
    ([*REC, "--lambda", "lots"], "--lambda", "expected a number"),
    ([*REC, "--weights", "bogus=1"], "--weights", "unknown objective 'bogus'"),
    ([*REC, "--weights", "exposure=abc"], "--weights", "weight of exposure: expected a number"),
    ([*REC, "--weights", "exposure=nan"], "--weights", "finite"),
    ([*REC, "--weights", "exposure=-1"], "--weights", "≥ 0"),
    ([*REC, "--weights", "exposure"], "--weights", "OBJECTIVE=WEIGHT"),
    ([*EVAL, "--lambdas", "0", "nan"], "--lambdas", "finite"),
    ([*EVAL, "--weights", "bogus=1"], "--weights", "unknown objective"),
    ([*EVAL, "--k", "0"], "--k", "≥ 1"),
    ([*EVAL, "--l2", "0"], "--l2", "> 0"),
    ([*TRAIN, "--epochs", "0"], "--epochs", "≥ 1"),
    ([*TRAIN, "--trials", "-3"], "--trials", "≥ 1"),
    ([*TRAIN, "--tune-seconds", "inf"], "--tune-seconds", "finite"),
    (["jobs", "submit", "--train", "t.csv", "--epochs", "0"], "--epochs", "≥ 1"),
    (["jobs", "submit", "--train", "t.csv", "--max-parallel", "0"], "--max-parallel", "≥ 1"),
    (["jobs", "submit", "--train", "t.csv", "--idle-exit", "nan"], "--idle-exit", "finite"),
    (["jobs", "list", "--limit", "0"], "--limit", "≥ 1"),
    (["jobs", "show", "x", "--events", "-1"], "--events", "≥ 0"),
    (["jobs", "wait", "x", "--timeout", "nan"], "--timeout", "finite"),
    (["worker", "--max-parallel", "0"], "--max-parallel", "≥ 1"),
    (["worker", "--idle-exit", "-1"], "--idle-exit", "≥ 0"),
    (["worker", "--poll", "0"], "--poll", "> 0"),
]


@pytest.mark.parametrize(("argv", "option", "words"), BAD, ids=[" ".join(b[0][-2:]) for b in BAD])
def test_bad_numbers_are_usage_errors(argv, option, words, capsys):
    with pytest.raises(SystemExit) as info:
        main(argv)
    assert info.value.code == 2
    err = capsys.readouterr().err
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    assert f"argument {option}" in lines[0] and words in lines[0], lines[0]


def test_usage_errors_in_a_real_process_have_no_traceback():
    for extra in (["-k", "-1"], ["--lambda", "nan"], ["--weights", "bogus=1"]):
        r = subprocess.run(
            [sys.executable, "-m", "recolab", *REC, *extra], capture_output=True, text=True
        )
        assert r.returncode == 2 and "Traceback" not in r.stderr
        assert len(r.stderr.strip().splitlines()) == 1, r.stderr


def test_types_accept_good_values():
    assert int_in(1)("5") == 5
    assert float_in(0.0)("0") == 0.0 and float_in(0.0)("1e3") == 1000.0
    assert objective_weight(" novelty = 0.5") == ("novelty", 0.5)
    assert weights_dict([("novelty", 0.5), ("exposure", 0.0)]) == {"novelty": 0.5, "exposure": 0}
    assert weights_dict(None) is None
    with pytest.raises(RecolabError, match="names novelty twice"):
        weights_dict([("novelty", 1.0), ("novelty", 2.0)])
    with pytest.raises(argparse.ArgumentTypeError, match="> 0"):
        float_in(0.0, lo_open=True)("0")


def test_objective_names_match_the_models():
    from recolab.rerank import RERANKERS
    from recolab.training import OBJECTIVES

    rerankers = {cls.objective for cls in RERANKERS.values()}
    assert set(OBJECTIVE_NAMES) == set(OBJECTIVES) | rerankers


def test_weights_must_apply_to_the_loaded_model():
    network = SimpleNamespace(model=SimpleNamespace(objectives_=["novelty", "exposure"]))
    check_weights_apply(network, {"novelty": 1.0}, "m.zip")
    with pytest.raises(RecolabError, match="novelty, exposure only; --weights diversity"):
        check_weights_apply(network, {"diversity": 1.0}, "m.zip")
    rerank = SimpleNamespace(model=SimpleNamespace(reranker=SimpleNamespace(objective="coverage")))
    check_weights_apply(rerank, {"coverage": 2.0}, "m.zip")
    with pytest.raises(RecolabError, match=r"m\.zip: the model trades accuracy against coverage"):
        check_weights_apply(rerank, {"novelty": 1.0}, "m.zip")
    check_weights_apply(object(), {"novelty": 1.0}, "m.zip")  # unknown kind: left to it


@pytest.mark.parametrize(
    ("exc", "code", "words"),
    [
        (RecolabError("bad\ninput"), 2, "bad; input"),
        (PermissionError(13, "Permission denied", "/x/y"), 2, "/x/y: Permission denied"),
        (FileNotFoundError(2, "No such file", "/x/z"), 2, "file not found: /x/z"),
        (__import__("sqlite3").OperationalError("disk I/O error"), 2, "job store: disk I/O error"),
        (MemoryError(), 1, "out of memory"),
        (KeyError("w"), 1, "internal error: KeyError"),
    ],
)
def test_report_error_is_one_line(exc, code, words, caplog):
    with caplog.at_level(logging.ERROR, logger="recolab"):
        assert report_error(exc) == code
    (record,) = caplog.records
    assert words in record.getMessage() and "\n" not in record.getMessage()
    assert record.exc_info is None  # no traceback unless -v


def test_unexpected_error_inside_a_command(monkeypatch, tmp_path, caplog):
    from recolab.jobs import JobStore

    def broken(*args, **kwargs):
        raise TypeError("a bug")

    monkeypatch.setattr(JobStore, "list", broken)
    assert main(["jobs", "list", "--home", str(tmp_path)]) == 1
    assert "internal error: TypeError: a bug (run with -v for the traceback)" in caplog.text
    caplog.clear()
    assert main(["-v", "jobs", "list", "--home", str(tmp_path)]) == 1
    assert caplog.records[-1].exc_info is not None  # -v: the traceback is logged
