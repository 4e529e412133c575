"""The CLI contract for the model: train → evaluate --model-dir → recommend, on ML-100K."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

ML = Path(__file__).resolve().parents[1] / ".." / "shared" / "datasets" / "ml-100k"


def _cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "recolab", *args], capture_output=True, text=True, timeout=600
    )


@pytest.fixture(scope="module")
def files(tmp_path_factory) -> dict[str, Path]:
    d = tmp_path_factory.mktemp("ml")
    cols = ["user_id", "item_id", "rating", "timestamp"]
    out = {}
    for name in ("u1.base", "u1.test"):
        df = pd.read_csv(ML / name, sep="\t", names=cols)
        out[name] = d / f"{name}.csv"
        df.to_csv(out[name], index=False)
    return out


@pytest.mark.slow
def test_train_evaluate_recommend(files, tmp_path):
    """The λ-conditioned network (``--model weighted``): attributes, ratings, λ range."""
    bundle = tmp_path / "model.zip"
    r = _cli(
        "train",
        "--model",
        "weighted",
        "--train",
        str(files["u1.base"]),
        "--users",
        str(ML / "u.user"),
        "--out",
        str(bundle),
        "--no-text",
    )
    assert r.returncode == 0, r.stderr
    assert bundle.is_file() and "bundle:" in r.stdout
    assert "user attributes: 4 columns for 943 of 943 users" in r.stdout
    out = tmp_path / "m.json"
    r = _cli(
        "evaluate",
        "--model-dir",
        str(bundle),
        "--train",
        str(files["u1.base"]),
        "--test",
        str(files["u1.test"]),
        "--lambdas",
        "0",
        "0.1",
        "0.2",
        "--json",
        str(out),
    )
    assert r.returncode == 0, r.stderr
    result = json.loads(out.read_text())
    assert [e["lambda"] for e in result["lambdas"]] == [0.0, 0.1, 0.2]
    first = result["lambdas"][0]
    for key in ("sparsity", "model_bytes", "train_seconds", "device"):
        assert key in first
    for key in ("precision@10", "recall@20", "ndcg@10", "coverage@20", "novelty@20"):
        assert key in first["metrics"]
    # the default 40 epochs (about 3 s) on ML-100K: far better than popularity (≈ 0.148)
    assert first["metrics"]["recall@20"] > 0.2
    # the top of the trained λ range trades accuracy for wider, less popular lists (a few
    # epochs are not enough for this: λ's network learns it over the run)
    top = result["lambdas"][-1]["metrics"]
    assert top["coverage@20"] > 1.5 * first["metrics"]["coverage@20"]
    assert top["novelty@20"] > first["metrics"]["novelty@20"]
    assert top["recall@20"] < first["metrics"]["recall@20"]
    # explicit ratings: the rating head (baseline μ + b_u + b_i plus a learned residual) beats
    # the global mean (test RMSE ≈ 1.154) and the baseline predictor alone (≈ 0.957)
    train_df = pd.read_csv(files["u1.base"])
    test_df = pd.read_csv(files["u1.test"])
    mean_rmse = ((test_df["rating"] - train_df["rating"].mean()) ** 2).mean() ** 0.5
    assert first["metrics"]["rmse"] < 0.955 < mean_rmse
    assert 0 < first["metrics"]["mae"] < first["metrics"]["rmse"]
    r = _cli("recommend", "--bundle", str(bundle), "--user", "1", "-k", "5", "--lambda", "0.1")
    assert r.returncode == 0, r.stderr
    assert len([ln for ln in r.stdout.splitlines() if ln.strip().startswith("1 ")]) == 5
    r = _cli("recommend", "--bundle", str(bundle), "--user", "no-such-user")
    assert r.returncode == 2 and "unknown user" in r.stderr
    # a new user known only by attributes gets a list, and other attributes change it
    lists = []
    for who in (["age=22", "gender=F", "occupation=student"], ["age=66", "occupation=retired"]):
        r = _cli("recommend", "--bundle", str(bundle), "--attributes", *who, "-k", "10")
        assert r.returncode == 0, r.stderr
        rows = [ln.split() for ln in r.stdout.splitlines() if ln.startswith("(new user)")]
        assert len(rows) == 10
        lists.append([row[3] for row in rows])  # (new, user) rank item …
    assert lists[0] != lists[1]
    r = _cli("recommend", "--bundle", str(bundle))
    assert r.returncode == 2 and "--user" in r.stderr


def test_bad_bundle_exits_with_clear_error(tmp_path):
    bad = tmp_path / "bad.zip"
    bad.write_bytes(b"not a zip at all")
    r = _cli("recommend", "--bundle", str(bad), "--user", "1")
    assert r.returncode == 2
    assert "not a readable zip" in r.stderr


def test_train_users_id_column(tmp_path):
    log = tmp_path / "log.csv"
    log.write_text(
        "user,item\n" + "".join(f"u{u},i{(u * 7 + j) % 12}\n" for u in range(20) for j in range(4))
    )
    users = tmp_path / "people.csv"
    users.write_text("member,age\n" + "".join(f"u{u},{20 + u}\n" for u in range(15)))
    args = ["train", "--model", "weighted", "--train", str(log), "--users", str(users)]
    args += ["--epochs", "1", "--no-text"]
    r = _cli(*args, "--out", str(tmp_path / "a.zip"))
    assert r.returncode == 2 and "no user id column found; columns found: member, age" in r.stderr
    r = _cli(*args, "--users-id-column", "member", "--out", str(tmp_path / "b.zip"))
    assert r.returncode == 0, r.stderr
    assert "user attributes: 1 columns for 15 of 20 users (0 unknown ids ignored)" in r.stdout
    r = _cli("train", "--train", str(log), "--users-id-column", "member", "--out", "x.zip")
    assert r.returncode == 2 and "--users-id-column needs --users" in r.stderr


@pytest.mark.slow
def test_default_model_train_evaluate_recommend(files, tmp_path):
    """The default model: tuned on validation carved from --train, front on --test."""
    bundle = tmp_path / "model.zip"
    r = _cli(
        "train",
        "--train",
        str(files["u1.base"]),
        "--test",
        str(files["u1.test"]),
        "--items",
        str(ML / "u.item"),
        "--trials",
        "5",
        "--out",
        str(bundle),
        "--no-text",
    )
    assert r.returncode == 0, r.stderr
    assert "tuned 5 trials on validation (per-user random 20%" in r.stdout
    assert "trade-off mechanism" in r.stdout and "λ=0" in r.stdout  # the test front's table
    assert (tmp_path / "model.study.sqlite").is_file()
    out = tmp_path / "m.json"
    r = _cli(
        "evaluate",
        *("--model-dir", str(bundle), "--train", str(files["u1.base"])),
        *("--test", str(files["u1.test"]), "--json", str(out)),
    )
    assert r.returncode == 0, r.stderr
    assert "model chosen on: per-user random 20% of training interactions" in r.stdout
    result = json.loads(out.read_text())
    assert result["model"] == "recolab linear-rerank"
    first, top = result["lambdas"][0]["metrics"], result["lambdas"][-1]["metrics"]
    assert first["recall@20"] > 0.29  # EASE (l2 = 400): 0.307; popularity 0.148
    assert top["coverage@20"] > 1.5 * first["coverage@20"]
    assert top["novelty@20"] > first["novelty@20"]
    hi = result["lambda_range"][1]
    r = _cli("recommend", "--bundle", str(bundle), "--user", "1", "-k", "5", "--lambda", str(hi))
    assert r.returncode == 0, r.stderr
    assert len([ln for ln in r.stdout.splitlines() if ln.strip().startswith("1 ")]) == 5
    r = _cli("recommend", "--bundle", str(bundle), "--history", "50,181,172", "-k", "5")
    assert r.returncode == 0, r.stderr
    assert len([ln for ln in r.stdout.splitlines() if ln.startswith("(new user)")]) == 5
