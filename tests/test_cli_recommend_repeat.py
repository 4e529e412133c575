"""``recommend`` follows the bundle's repeat choice; --exclude-seen / --include-seen
override it."""

from __future__ import annotations

from pathlib import Path

import pytest

from recolab.bundle import export_bundle
from recolab.cli import main
from tests.bundle.test_repeat import tiny_model


@pytest.fixture(scope="module")
def bundles(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    model = tiny_model()
    out = tmp_path_factory.mktemp("cli-repeat")
    return {
        "repeat": export_bundle(model, out / "repeat.zip", lam=0.0, repeat=True),
        "default": export_bundle(model, out / "default.zip", lam=0.0),
    }


def _served(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[list[str], str]:
    assert main(["recommend", *argv]) == 0
    out = capsys.readouterr().out
    rows = [ln.split() for ln in out.splitlines() if ln.split()[:1] in (["u0"], ["(new"])]
    return [row[2] if row[0] == "u0" else row[3] for row in rows], out


@pytest.mark.parametrize(
    ("kind", "extra", "expected", "said"),
    [
        ("repeat", (), ["a", "b"], "kept (repeat purchases), as the bundle says"),
        ("repeat", ("--exclude-seen",), ["b", "c"], "left out (asked for"),
        ("default", (), ["b", "c"], "left out, as the bundle says"),
        ("default", ("--include-seen",), ["a", "b"], "kept (repeat purchases) (asked for"),
    ],
)
def test_recommend_follows_the_bundle_unless_told(
    bundles, capsys, kind: str, extra: tuple[str, ...], expected: list[str], said: str
) -> None:
    bundle = str(bundles[kind])
    got, out = _served(capsys, "--bundle", bundle, "--user", "u0", "-k", "2", *extra)
    assert got == expected and f"seen items: {said}" in out
    got, _ = _served(capsys, "--bundle", bundle, "--history", "a", "-k", "2", *extra)
    assert got == expected


def test_both_flags_at_once_are_refused(bundles, capsys) -> None:
    argv = ["recommend", "--bundle", str(bundles["repeat"]), "--user", "u0"]
    with pytest.raises(SystemExit) as exc:
        main([*argv, "--exclude-seen", "--include-seen"])
    assert exc.value.code == 2
    assert "not allowed with argument" in capsys.readouterr().err
