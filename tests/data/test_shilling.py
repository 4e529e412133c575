"""Shilling detection, the attack injector and the defence (issue 15 point 4)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import scipy.sparse as sp

from recolab.data.attacks import choose_targets, inject_attack
from recolab.data.interactions import build_interactions
from recolab.data.shilling import (
    defend,
    detect_shilling,
    max_jaccard,
    rating_statistics,
    robust_threshold,
)


def test_rdma_wdma_known_answer() -> None:
    # item 0: ratings 5, 3, 1 (mean 3, NR 3); item 1: 4, 2 (mean 3, NR 2); item 2: 5 (NR 1)
    users = np.array([0, 0, 0, 1, 1, 2])
    items = np.array([0, 1, 2, 0, 1, 0])
    ratings = np.array([5.0, 4.0, 5.0, 3.0, 2.0, 1.0])
    s = rating_statistics(users, items, ratings, 3, 3)
    # user 0: |5-3|/3 + |4-3|/2 + |5-5|/1 = 2/3 + 1/2 + 0, over 3 items
    assert s["rdma"][0] == pytest.approx((2 / 3 + 1 / 2) / 3)
    # user 1: |3-3|/3 + |2-3|/2 = 1/2, over 2 items; user 2: |1-3|/3 over 1
    assert s["rdma"][1] == pytest.approx(0.25)
    assert s["rdma"][2] == pytest.approx(2 / 3)
    # WDMA: the same deviations over NR²
    assert s["wdma"][0] == pytest.approx((2 / 9 + 1 / 4) / 3)
    assert s["wdma"][1] == pytest.approx(1 / 8)
    assert s["wdma"][2] == pytest.approx(2 / 9)
    # extreme share: user 0 has two 5s of 3 ratings; user 2 one 1 of 1
    assert s["extreme"].tolist() == pytest.approx([2 / 3, 0.0, 1.0])


def test_robust_threshold_and_jaccard() -> None:
    x = np.array([1.0, 2.0, 3.0, 4.0, 100.0])  # median 3, MAD 1
    assert robust_threshold(x, 3.5) == pytest.approx(3 + 3.5 * 1.4826)
    assert robust_threshold(x, 3.5, low=True) == pytest.approx(3 - 3.5 * 1.4826)
    assert robust_threshold(np.ones(5), 3.5) is None  # no spread: flags nobody
    x = sp.csr_matrix(np.array([[1, 1, 1, 0], [1, 1, 0, 0], [0, 0, 0, 1]]))
    # users 0 and 1 share 2 of 3 items; user 2 shares nothing
    assert max_jaccard(x, block_users=1).tolist() == pytest.approx([2 / 3, 2 / 3, 0.0])


def _genuine(n_users: int = 400, n_items: int = 300, seed: int = 0):
    """Genuine raters: items met by popularity (Zipf), each rated its true quality ± 1."""
    rng = np.random.default_rng(seed)
    pop = 1.0 / np.arange(1, n_items + 1) ** 0.9
    pop /= pop.sum()
    quality = rng.integers(2, 5, size=n_items)  # 2..4: no item is loved or hated by all
    rows = []
    start = pd.Timestamp("2024-01-01")
    for u in range(n_users):
        items = rng.choice(n_items, size=rng.integers(20, 40), replace=False, p=pop)
        days = np.sort(rng.uniform(0, 365, size=len(items)))
        for i, d in zip(items, days, strict=True):
            r = float(np.clip(quality[i] + rng.integers(-1, 2), 1, 5))
            rows.append((f"u{u}", f"i{i}", r, start + pd.Timedelta(days=float(d))))
    frame = pd.DataFrame(rows, columns=["user", "item", "rating", "timestamp"])
    frame["value"] = frame["rating"]
    return build_interactions(frame, kind="explicit")


@pytest.mark.parametrize("kind", ["random", "average"])
def test_planted_attack_is_flagged(kind: str) -> None:
    data = _genuine()
    attack = inject_attack(data, kind, 0.05, seed=1)
    assert len(attack.fake_users) == 20
    assert attack.data.n_users == data.n_users + 20
    fakes = attack.data.frame[attack.data.frame["user_idx"].isin(attack.fake_users)]
    # every fake rates all 5 targets at the top of the scale, and has median-size filler
    on_target = fakes[fakes["item_idx"].isin(attack.targets)]
    assert len(on_target) == 100 and (on_target["rating"] == 5.0).all()
    report = detect_shilling(attack.data)
    flagged = set(report.flagged.tolist())
    caught = len(flagged & set(attack.fake_users.tolist()))
    genuine_flagged = len(flagged) - caught
    # Construction: fake filler is drawn uniformly from the catalogue while genuine users
    # meet items by Zipf popularity, so every fake's mean log-popularity sits far below the
    # genuine ones (rare-item reason); random ratings also disagree with item means (RDMA).
    # At k = 3.5 robust z, a normal-ish genuine statistic leaves about 0.02 % per tail; the
    # Zipf sampling is not normal, so allow 2 % of the 400 genuine users.
    assert caught >= 19, (caught, report.reason_counts())
    assert genuine_flagged <= 8, (genuine_flagged, report.reason_counts())
    reasons = report.flags[int(attack.fake_users[0])]
    assert {"reason", "value", "threshold"} <= set(reasons[0])


def test_injector_is_seeded_and_keeps_indices() -> None:
    data = _genuine(100, 120)
    a = inject_attack(data, "random", 0.03, seed=3)
    b = inject_attack(data, "random", 0.03, seed=3)
    pd.testing.assert_frame_equal(a.data.frame, b.data.frame)
    assert (a.data.users.ids[: data.n_users] == data.users.ids).all()
    assert a.data.n_items == data.n_items
    assert len(choose_targets(data, 5, seed=0)) == 5
    with pytest.raises(ValueError):
        inject_attack(data, "bandwagon", 0.03)


def test_defence_counts_what_it_removes() -> None:
    attack = inject_attack(_genuine(), "random", 0.05, seed=1)
    report = detect_shilling(attack.data)
    same, off = defend(attack.data, "off", report)
    assert same is attack.data and off["interactions_removed"] == 0
    removed, summary = defend(attack.data, "remove", report)
    flagged_rows = attack.data.frame["user_idx"].isin(report.flagged).sum()
    assert summary["interactions_removed"] == flagged_rows
    assert removed.n_interactions + flagged_rows == attack.data.n_interactions
    assert removed.n_users == attack.data.n_users  # vocabulary kept
    light, summary = defend(attack.data, "downweight", report, weight=0.25, seed=0)
    assert 0 < summary["interactions_removed"] < flagged_rows
    assert light.n_interactions + summary["interactions_removed"] == attack.data.n_interactions


def test_train_option_defend() -> None:
    from recolab.config import TrainConfig

    assert TrainConfig().defend == "off"
    assert TrainConfig.from_dict({"defend": "remove"}).to_dict()["defend"] == "remove"
    with pytest.raises(ValueError, match="defend"):
        TrainConfig(defend="drop")
    from recolab.cli import build_parser

    args = build_parser().parse_args(
        ["train", "--train", "t.csv", "--out", "m", "--defend", "remove"]
    )
    assert args.defend == "remove"
