"""Shilling detection, the attack injector and the defence (issue 15 point 4)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import scipy.sparse as sp

from recolab.data.attacks import choose_targets, inject_attack
from recolab.data.interactions import build_interactions
from recolab.data.shilling import (
    ShillingOptions,
    burstiness_statistic,
    defend,
    detect_shilling,
    max_jaccard,
    rating_statistics,
    robust_threshold,
    suspect_items,
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
    # counts are read as binary, and the caller's float32 matrix (a cached one) is untouched
    counts = sp.csr_matrix(np.array([[3, 1, 1, 0], [1, 2, 0, 0], [0, 0, 0, 5]], np.float32))
    assert max_jaccard(counts).tolist() == pytest.approx([2 / 3, 2 / 3, 0.0])
    assert counts.data.tolist() == [3, 1, 1, 1, 2, 5]


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


#: Reasons the detector had before the implicit-log statistics.
OLD_REASONS = {"rdma", "wdma", "extreme", "rare_items", "burst", "near_duplicate"}


def _baskets(n_users: int = 400, n_items: int = 300, seed: int = 0):
    """Genuine shoppers on an implicit log: 1-6 invoices over a year, each a basket of 3-12
    items met by popularity (Zipf) at one instant; one row per (user, item)."""
    rng = np.random.default_rng(seed)
    pop = 1.0 / np.arange(1, n_items + 1) ** 0.9
    pop /= pop.sum()
    start = pd.Timestamp("2024-01-01")
    rows = []
    for u in range(n_users):
        for _ in range(rng.integers(1, 7)):
            when = start + pd.Timedelta(minutes=int(rng.integers(0, 365 * 24 * 60)))
            for i in rng.choice(n_items, size=rng.integers(3, 13), replace=False, p=pop):
                rows.append((f"u{u}", f"i{i}", 1.0, when))
    frame = pd.DataFrame(rows, columns=["user", "item", "value", "timestamp"])
    frame = frame.sort_values("timestamp").drop_duplicates(["user", "item"])
    return build_interactions(frame, kind="implicit")


def test_burstiness_known_answers() -> None:
    day = 86_400 * 10**9
    rng = np.random.default_rng(0)
    users = np.repeat([0, 1, 2], 40)
    periodic = np.arange(40) * day  # one interaction a day: A_n = -1
    poisson = np.sort(rng.uniform(0, 365, size=40)) * day  # independent stamps: A_n ≈ 0
    baskets = np.repeat([0, 90, 200, 330], 10) * day  # 4 baskets of 10: bursty
    times = np.concatenate([periodic, poisson, baskets]).astype("datetime64[ns]")
    a = burstiness_statistic(users, times, 4)
    assert a[0] == pytest.approx(-1.0)
    assert abs(a[1]) < 0.25  # 99 % of simulated 40-event Poisson profiles: |A_n| < 0.2
    assert a[2] > 0.5
    assert np.isnan(a[3])  # no interactions


def test_suspect_items_known_answer() -> None:
    # 60 users; users 0-9 flagged. Item 0: the 10 flagged + 2 others; item 1: 12 genuine
    # + 1 flagged; item 2: 4 flagged only (below min_group = 5).
    users = np.r_[np.arange(12), np.arange(10, 22), 0, np.arange(4), np.arange(22, 60)]
    items = np.r_[np.zeros(12), np.ones(13), np.full(4, 2), np.full(38, 3)].astype(np.int64)
    flagged = np.zeros(60, dtype=bool)
    flagged[:10] = True
    found = suspect_items(users, items, flagged, 4, ShillingOptions())
    # item 0: 10 of 12 flagged at a 1/6 base share: P(X ≥ 10) ≈ 1e-7 < 0.001 / 4
    assert found.tolist() == [0]


def test_implicit_average_attack_caught_by_timing() -> None:
    data = _baskets()
    attack = inject_attack(data, "average", 0.05, seed=1)  # popularity filler, spread stamps
    report = detect_shilling(attack.data)
    fakes = set(attack.fake_users.tolist())
    flagged = set(report.flagged.tolist())
    old = {u for u, rs in report.flags.items() if {str(r["reason"]) for r in rs} & OLD_REASONS}
    # Construction: fake filler follows popularity like the genuine baskets (rare_items
    # blind), profiles share only the 5 targets (Jaccard ~0.1), and stamps are spread so no
    # hour holds 10 of them (burst blind): the old statistics miss nearly every fake. Each
    # fake's ~20 rows at independent instants give A_n ≈ 0, genuine baskets A_n ≫ 0.
    assert len(fakes & old) <= 2, report.reason_counts()
    assert len(fakes & flagged) == len(fakes) == 20, report.reason_counts()
    assert len(flagged - fakes) <= 8, report.reason_counts()  # 2 % of 400 genuine users
    reasons = {str(r["reason"]) for r in report.flags[int(attack.fake_users[0])]}
    assert "no_sessions" in reasons
    summary = report.summary(attack.data)
    assert "no_sessions" in summary["meaning"]


def test_target_items_catch_fakes_that_look_like_shoppers() -> None:
    data = _baskets()
    # 10 careless fakes (spread stamps) and 10 careful ones (baskets like real shoppers),
    # all pushing the same 5 targets
    first = inject_attack(data, "average", 0.025, seed=1, timing="spread")
    second = inject_attack(
        first.data, "average", 0.024, targets=first.targets, seed=2, timing="sessions"
    )
    careful = set(second.fake_users.tolist())
    report = detect_shilling(second.data)
    flagged = set(report.flagged.tolist())
    assert set(first.fake_users.tolist()) <= flagged
    assert set(report.suspect_items.tolist()) >= set(first.targets.tolist())
    assert careful <= flagged, report.reason_counts()
    # careful fakes in one or two big baskets still trip the burst statistic; the others
    # escape every profile statistic and are caught only because they hold the targets
    only_targets = {
        u for u in careful if {str(r["reason"]) for r in report.flags[u]} == {"target_items"}
    }
    assert len(only_targets) >= 3, report.reason_counts()
    from recolab.data.report import shilling_lines

    lines = shilling_lines(report.summary(second.data))
    target_ids = {str(second.data.items.ids[i]) for i in first.targets}
    shown = next(line for line in lines if "suspect items (far" in line)
    assert all(t in shown for t in target_ids)
    genuine = flagged - careful - set(first.fake_users.tolist())
    assert len(genuine) <= 8, report.reason_counts()


@pytest.mark.parametrize("timing", ["burst", "sessions"])
def test_injector_timing(timing: str) -> None:
    data = _baskets(100, 120)
    attack = inject_attack(data, "random", 0.05, seed=0, timing=timing)
    f = attack.data.frame
    stamps = f[f["user_idx"].isin(attack.fake_users)].groupby("user_idx")["timestamp"].nunique()
    real = data.frame.groupby("user_idx")["timestamp"].nunique()
    if timing == "burst":
        assert (stamps == 1).all()
    else:
        assert stamps.max() <= real.max() and stamps.min() >= 1
    with pytest.raises(ValueError, match="timing"):
        inject_attack(data, "random", 0.05, timing="weekly")
