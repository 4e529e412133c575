"""Hostile bundles (issue 13): every crafted bundle is a BundleError naming the bundle and
the member, within 500 MB of peak memory; with a key set, every tampered bundle is refused.

The bundles are generated here from an intact one (tests/bundle/hostile.py); nothing binary
is committed. The loads run in one child process (tests/bundle/_load_child.py), which
reports its peak resident memory (``resource.getrusage(...).ru_maxrss``) after each.
"""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
import zipfile
from pathlib import Path

import numpy as np
import pytest

from recolab.bundle import SIGNED, SIGNED_UNVERIFIED, UNSIGNED, export_bundle, load
from recolab.bundle.signing import KEY_ENV, signature_member
from recolab.data.synthetic import synthetic_interactions
from recolab.errors import BundleError
from recolab.models.linear import LinearAutoencoder, LinearParams
from recolab.models.tradeoff import TradeoffRecommender
from recolab.rerank import make_reranker
from tests.bundle.hostile import (
    CASES,
    config_of,
    consistent_large,
    read_members,
    resum,
    with_config,
    write_zip,
)

KEY = "test-key-0123456789abcdef"
OTHER_KEY = "attacker-key-0123456789abcdef"
PEAK_LIMIT_KIB = 500 * 1024
ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def model() -> TradeoffRecommender:
    data = synthetic_interactions(150, 80, n_interactions=3000, rank=6, seed=2)
    base = LinearAutoencoder(LinearParams(l2=50.0), device="cpu").fit(data)
    return TradeoffRecommender(base, make_reranker("popularity"), 1.0, n_candidates=30).fit(data)


@pytest.fixture(scope="module")
def bundles(model: TradeoffRecommender, tmp_path_factory: pytest.TempPathFactory) -> dict:
    out = tmp_path_factory.mktemp("intact")
    card = {"MODEL_CARD.md": b"# card"}
    return {
        "unsigned": export_bundle(model, out / "unsigned.zip", lam=0.2, extra_files=card),
        "signed": export_bundle(model, out / "signed.zip", lam=0.2, extra_files=card, key=KEY),
    }


def _boost_item(files: dict[str, bytes], item: int) -> dict[str, bytes]:
    """Weights changed so that ``item`` scores far above every other item for every user,
    with the checksum table recomputed: the attack of issue 13."""
    from safetensors.numpy import load as st_load
    from safetensors.numpy import save as st_save

    tensors = dict(st_load(files["weights.safetensors"]))
    w = tensors["weights"].copy()
    w[:, item] = 1e3
    tensors["weights"] = w
    return resum({**files, "weights.safetensors": st_save(tensors)})


def _tampered(signed: Path, out: Path) -> dict[str, Path]:
    """Tampered copies of a signed bundle, by kind."""
    files = read_members(signed)
    cfg = config_of(files)
    cfg["objectives"]["lam"] = 0.9
    unsigned_files = {k: v for k, v in files.items() if k != "signature.json"}
    resigned = {**unsigned_files, "MODEL_CARD.md": b"# evil card"}
    resigned["signature.json"] = signature_member(OTHER_KEY.encode(), resigned)
    manifest = json.loads(files["signature.json"])
    boosted = _boost_item(files, 5)
    new_hash = hashlib.sha256(boosted["weights.safetensors"]).hexdigest()
    manifest["members"]["weights.safetensors"] = new_hash
    kinds = {
        "weight changed, checksums recomputed": boosted,
        "config-only edit of the default λ": with_config(files, cfg, fix_sums=False),
        "member added": {**files, "extra.txt": b"hello"},
        "member removed": {k: v for k, v in files.items() if k != "MODEL_CARD.md"},
        "member renamed": {
            ("README.md" if k == "MODEL_CARD.md" else k): v for k, v in files.items()
        },
        "extra file edited": {**files, "MODEL_CARD.md": b"# changed"},
        "signature stripped": unsigned_files,
        "signed with another key": resigned,
        "manifest updated, old MAC": {
            **boosted,
            "signature.json": json.dumps(manifest).encode(),
        },
        "signature.json garbage": {**files, "signature.json": b"\x00garbage"},
        "signature.json empty object": {**files, "signature.json": b"{}"},
    }
    paths = {kind: write_zip(out / f"t{i}.zip", f) for i, (kind, f) in enumerate(kinds.items())}
    swap = out / "swap.zip"  # another bundle's valid signature (same key)
    other = read_members(signed)
    other["MODEL_CARD.md"] = b"# other card"
    other_sig = signature_member(
        KEY.encode(), {k: v for k, v in other.items() if k != "signature.json"}
    )
    paths["signature from another bundle"] = write_zip(
        swap, {**boosted, "signature.json": other_sig}
    )
    return paths


@pytest.fixture(scope="module")
def child_report(bundles: dict, tmp_path_factory: pytest.TempPathFactory) -> dict:
    """Build every hostile and tampered bundle, load them all in one child process, and
    return its report: (suite, kind) → row; ``"(baseline)"`` → the child's start-up peak."""
    out = tmp_path_factory.mktemp("hostile")
    files = read_members(bundles["unsigned"])
    manifest = []
    for i, (kind, (make, _member)) in enumerate(CASES.items()):
        folder = out / f"c{i}"
        folder.mkdir()
        path = str(make(files, folder))
        manifest.append({"case": f"plain|{kind}", "path": path})
        manifest.append({"case": f"keyed|{kind}", "path": path, "key": KEY})
    for kind, path in _tampered(bundles["signed"], out).items():
        manifest.append({"case": f"tampered|{kind}", "path": str(path), "key": KEY})
    large = consistent_large(read_members(bundles["signed"]), out, 20_000, "k20")
    manifest += [
        {"case": "control|signed, key", "path": str(bundles["signed"]), "key": KEY},
        {"case": "control|unsigned, no key", "path": str(bundles["unsigned"])},
        {"case": "tampered|consistent 20k-item bundle, unsigned", "path": str(large), "key": KEY},
        {
            "case": "budget|consistent 20k-item bundle, 256 MB budget",
            "path": str(large),
            "kwargs": {"max_bytes": 256 << 20},
        },
    ]
    (out / "manifest.json").write_text(json.dumps(manifest))
    env = {k: v for k, v in os.environ.items() if k not in (KEY_ENV, "RECOLAB_BUNDLE_MAX_BYTES")}
    proc = subprocess.run(
        [sys.executable, "-m", "tests.bundle._load_child", str(out / "manifest.json")],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    rows = [json.loads(line) for line in proc.stdout.splitlines() if line.startswith("{")]
    report = {r["case"]: r for r in rows}
    assert len(report) == len(manifest) + 1, "every case reported once"
    return {"rows": report, "paths": {m["case"]: m["path"] for m in manifest}}


def test_the_suite_covers_at_least_30_kinds() -> None:
    assert len(CASES) >= 30


def test_every_hostile_kind_is_a_bundle_error_naming_bundle_and_member(child_report) -> None:
    rows, paths = child_report["rows"], child_report["paths"]
    wrong = []
    for kind, (_make, member) in CASES.items():
        row = rows[f"plain|{kind}"]
        expected_start = f"bundle {paths[f'plain|{kind}']}"
        if member is not None:
            expected_start += f", member {member}:"
        ok = row["type"] == "BundleError" and row["message"].startswith(expected_start)
        if not ok:
            wrong.append((kind, row["type"], row["message"][:200]))
    assert not wrong, wrong


def test_with_a_key_every_hostile_kind_is_refused_too(child_report) -> None:
    rows = child_report["rows"]
    escaped = [
        (k, rows[f"keyed|{k}"]["type"])
        for k in CASES
        if rows[f"keyed|{k}"]["type"] != "BundleError"
    ]
    assert not escaped


def test_with_a_key_every_tampered_bundle_is_refused(child_report) -> None:
    rows = child_report["rows"]
    tampered = {k: r for k, r in rows.items() if k.startswith("tampered|")}
    assert len(tampered) >= 13
    for kind, row in tampered.items():
        assert row["type"] == "BundleError", (kind, row)
        assert row["member"] == "signature.json", (kind, row["message"])
    # the same loader accepts the intact bundles: the refusals are not blanket
    assert rows["control|signed, key"]["type"] is None
    assert rows["control|unsigned, no key"]["type"] is None


def test_a_consistent_but_huge_unsigned_bundle_is_refused_by_its_memory_plan(child_report):
    rows = child_report["rows"]
    budget = rows["budget|consistent 20k-item bundle, 256 MB budget"]
    assert budget["type"] == "BundleError" and "budget" in budget["message"]
    for kind in (
        "sparse 10^6 x 10^6, consistent",
        "sparse 30k x 30k, consistent (3.6 GB unpacked)",
    ):
        assert "bytes" in rows[f"plain|{kind}"]["message"], rows[f"plain|{kind}"]


def test_peak_memory_stays_under_500_mb_for_each(child_report) -> None:
    rows = child_report["rows"]
    baseline = rows["(baseline)"]["peak_kib"]
    assert baseline < PEAK_LIMIT_KIB
    over = {k: r["peak_kib"] // 1024 for k, r in rows.items() if r["peak_kib"] >= PEAK_LIMIT_KIB}
    assert not over, f"peak MB over 500 (baseline {baseline // 1024} MB): {over}"
    # the bombs were stopped by the streaming cap, not read to the end (1 GiB each)
    assert rows["plain|zip bomb in weights (1 GiB)"]["seconds"] < 30


def test_tampering_loads_without_a_key_and_is_refused_with_it(
    model: TradeoffRecommender, bundles: dict, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The attack is real: checksums recomputed, the boosted item is #1 for every user when
    nothing checks the signature, and the key refuses it."""
    item = 5
    assert model.candidates_[item]
    users = [u for i, u in enumerate(model.users_.ids) if item not in model.train_[i].indices]
    before = load(bundles["signed"]).recommend(users, k=1, lam=0.0)
    assert set(before["item"]) != {model.items_.ids[item]}
    path = write_zip(tmp_path / "boost.zip", _boost_item(read_members(bundles["signed"]), item))
    loaded = load(path)
    assert loaded.signature == SIGNED_UNVERIFIED
    top = loaded.recommend(users, k=1, lam=0.0)
    assert len(top) == len(users) > 50
    assert set(top["item"]) == {model.items_.ids[item]}
    monkeypatch.setenv(KEY_ENV, KEY)
    with pytest.raises(
        BundleError,
        match=r"signature\.json: member\(s\) \['config\.json', 'weights\.safetensors'\] changed",
    ):
        load(path)


def test_config_only_edit_moves_lambda_unless_signed(bundles: dict, tmp_path: Path) -> None:
    files = read_members(bundles["signed"])
    cfg = config_of(files)
    cfg["objectives"]["lam"] = 0.9
    path = write_zip(tmp_path / "lam.zip", with_config(files, cfg, fix_sums=False))
    assert load(path).default_lam == pytest.approx(0.9)
    with pytest.raises(
        BundleError, match=r"member signature\.json: member\(s\) \['config\.json'\] changed after"
    ):
        load(path, key=KEY)


def test_require_signature(model: TradeoffRecommender, bundles: dict) -> None:
    with pytest.raises(BundleError, match="not signed"):
        load(bundles["unsigned"], require_signature=True)
    with pytest.raises(BundleError, match=f"{KEY_ENV} is not set"):
        load(bundles["signed"], require_signature=True)
    loaded = load(bundles["signed"], require_signature=True, key=KEY)
    assert loaded.signature == SIGNED and loaded.signed
    assert load(bundles["unsigned"]).signature == UNSIGNED
    users = model.users_.ids[:10].tolist()
    got = loaded.recommend(users, k=5, lam=0.5)["item"].tolist()
    idx, _ = model.recommend(model.users_.index(users), 5, lam=0.5)
    assert got == [model.items_.ids[i] for row in idx for i in row if i >= 0]


def test_the_key_comes_from_the_environment(
    model: TradeoffRecommender, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(KEY_ENV, KEY)
    path = export_bundle(model, tmp_path / "env.zip")
    with zipfile.ZipFile(path) as zf:
        assert "signature.json" in zf.namelist()
    assert load(path).signature == SIGNED
    monkeypatch.setenv(KEY_ENV, OTHER_KEY)
    with pytest.raises(BundleError, match="does not match"):
        load(path)
    monkeypatch.setenv(KEY_ENV, "short")
    with pytest.raises(BundleError, match="at least 16"):
        load(path)
    with pytest.raises(BundleError, match="at least 16"):
        export_bundle(model, tmp_path / "short.zip")


def test_signed_folder_bundle_and_its_refusals(model: TradeoffRecommender, tmp_path: Path) -> None:
    folder = export_bundle(model, tmp_path / "folder", key=KEY)
    assert load(folder, key=KEY).signed
    (folder / "notes.txt").write_text("added")
    with pytest.raises(
        BundleError, match=r"member signature\.json: .*not signed: \['notes\.txt'\]"
    ):
        load(folder, key=KEY)
    (folder / "notes.txt").unlink()
    export_bundle(model, folder)  # unsigned re-export removes the stale signature
    assert not (folder / "signature.json").exists()
    assert load(folder).signature == UNSIGNED


def test_memory_plan_refuses_with_numbers_and_budget_is_adjustable(bundles: dict) -> None:
    with pytest.raises(BundleError, match=r"about [\d,]+ bytes .* budget of 1,000"):
        load(bundles["unsigned"], max_bytes=1000)
    assert load(bundles["unsigned"], max_bytes=1 << 30).signature == UNSIGNED


def test_a_trusted_large_bundle_is_bound_by_the_budget_only(bundles: dict, tmp_path: Path) -> None:
    """A signed bundle verified with the key skips the expansion limit (it is trusted)
    but not the memory budget."""
    files = read_members(bundles["unsigned"])
    files.pop("signature.json", None)
    large = consistent_large(files, tmp_path, 5_000, "k5")
    members = read_members(large)
    members["signature.json"] = signature_member(KEY.encode(), members)
    signed = write_zip(tmp_path / "k5s.zip", members)
    with pytest.raises(BundleError, match="more than 64x"):
        load(large)  # 200 MB unpacked from a few kB: refused unverified
    with pytest.raises(BundleError, match="budget"):
        load(signed, key=KEY, max_bytes=64 << 20)
    loaded = load(signed, key=KEY)
    assert loaded.model.n_items == 5_000
    assert np.count_nonzero(loaded.model.base.weights_) == 10


@pytest.fixture(scope="module")
def weighted_bundle(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from recolab.models.weighted import WeightedObjectiveRecommender
    from recolab.training import TrainConfig

    data = synthetic_interactions(120, 60, n_interactions=2000, rank=4, seed=3)
    model = WeightedObjectiveRecommender(TrainConfig(epochs=2, dim=8, seed=0)).fit(data)
    return export_bundle(model, tmp_path_factory.mktemp("w") / "weighted.zip", lam=0.1)


def _set_path(cfg: dict, dotted: str, value: object) -> None:
    *parents, last = dotted.split(".")
    for p in parents:
        cfg = cfg[p]
    cfg[last] = value


@pytest.mark.parametrize(
    ("dotted", "value", "message"),
    [
        ("train_config.dim", 10**6, "train_config.dim"),
        ("train_config.dim", "8", "train_config.dim"),
        ("dimensions.dim", 9, "differs from train_config.dim"),
        ("dimensions.item_item", False, "unexpected|item_item"),
        ("dimensions.text_dim", 16, "'text'"),
        ("user_attributes", {"columns": [{"kind": "numeric"}]}, "user"),
        ("conditioned_objectives", ["novelty"] * 40, "conditioned_objectives"),
        ("weights_layout.item_embedding.shape", [10**6, 8], "item_embedding"),
    ],
)
def test_weighted_bundle_config_edits_are_bundle_errors(
    weighted_bundle: Path, tmp_path: Path, dotted: str, value: object, message: str
) -> None:
    files = read_members(weighted_bundle)
    cfg = config_of(files)
    _set_path(cfg, dotted, value)
    path = write_zip(tmp_path / "w.zip", with_config(files, cfg))
    with pytest.raises(BundleError, match=message) as info:
        load(path)
    assert str(info.value).startswith(f"bundle {path}, member ")


def test_weighted_bundle_signed_round_trip(weighted_bundle: Path, tmp_path: Path) -> None:
    files = read_members(weighted_bundle)
    files["signature.json"] = signature_member(KEY.encode(), files)
    path = write_zip(tmp_path / "ws.zip", files)
    signed = load(path, key=KEY, require_signature=True)
    plain = load(weighted_bundle)
    users = plain.model.users_.ids[:10].tolist()
    assert signed.signed and signed.default_lam == pytest.approx(0.1)
    pd_a = signed.recommend(users, k=5, lam=0.1)
    pd_b = plain.recommend(users, k=5, lam=0.1)
    assert pd_a["item"].tolist() == pd_b["item"].tolist()


def test_cli_recommend_require_signature(
    model: TradeoffRecommender,
    bundles: dict,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    caplog: pytest.LogCaptureFixture,
) -> None:
    from recolab.cli import main

    user = str(model.users_.ids[0])
    args = ["recommend", "--user", user, "-k", "3", "--require-signature"]
    assert main([*args, "--bundle", str(bundles["unsigned"])]) == 2
    assert "not signed and a signature is required" in caplog.text
    monkeypatch.setenv(KEY_ENV, KEY)
    assert main([*args, "--bundle", str(bundles["signed"])]) == 0
    out = capsys.readouterr().out
    assert out.count("\n") >= 4 and user in out
    assert main(["recommend", "--user", user, "--bundle", str(bundles["unsigned"])]) == 2
    assert "not signed and RECOLAB_BUNDLE_KEY is set" in caplog.text
