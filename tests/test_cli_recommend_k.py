"""``recommend`` without -k serves the bundle's k* (10 for a bundle without one)."""

from __future__ import annotations

import subprocess
import sys

from recolab.bundle import export_bundle
from recolab.data.synthetic import synthetic_interactions
from recolab.models.weighted import WeightedObjectiveRecommender
from recolab.training import TrainConfig


def test_default_k_comes_from_the_bundle(tmp_path) -> None:
    data = synthetic_interactions(50, 40, n_interactions=600, rank=4, seed=1)
    model = WeightedObjectiveRecommender(TrainConfig(epochs=1, dim=4, seed=0)).fit(data)
    user = str(model.users_.ids[0])
    with_k = export_bundle(model, tmp_path / "k.zip", k=4)
    without = export_bundle(model, tmp_path / "old.zip")

    def ranks(bundle, *extra: str) -> tuple[list[int], str]:
        r = subprocess.run(
            [
                sys.executable,
                "-m",
                "recolab",
                "recommend",
                "--bundle",
                str(bundle),
                "--user",
                user,
                *extra,
            ],
            capture_output=True,
            text=True,
            timeout=300,
        )
        assert r.returncode == 0, r.stderr
        rows = [ln.split() for ln in r.stdout.splitlines() if ln.split()[:1] == [user]]
        return [int(row[1]) for row in rows], r.stdout

    got, out = ranks(with_k)
    assert got == [1, 2, 3, 4] and "k = 4" in out
    got, out = ranks(with_k, "-k", "6")
    assert got == [1, 2, 3, 4, 5, 6] and "k = 4" not in out
    got, out = ranks(without)
    assert got == list(range(1, 11)) and "k = 10" in out
