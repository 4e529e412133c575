"""Revenue as a metric and an objective: prices from a log, revenue@k, the revenue re-ranker.

Every expected number is computed by hand in the comments beside it.
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import scipy.sparse as sp

from recolab.data import build_interactions, load_interactions
from recolab.data.prices import ITEM_PRICE, item_prices
from recolab.errors import DataError
from recolab.evaluation import evaluate
from recolab.metrics import revenue_metrics
from recolab.models import PopularityRecommender
from recolab.plots import revenue_front_figure
from recolab.rerank import RevenueBoost, make_reranker
from recolab.tuning.fronts import available_mechanisms, front_hypervolumes, has_prices
from tests.rerank._tiny import cand

# A tiny purchase log. Item prices (median of rows priced above 0):
#   X: rows at 2, 4, 3, 3 -> median 3.0;  Y: 10, 10, 10 -> 10.0;
#   Z: only a row priced 0 -> no price;   W: only a row priced -1 -> the row is dropped.
LOG = """InvoiceNo,CustomerID,StockCode,Quantity,UnitPrice
1,u1,X,1,2.0
1,u1,X,1,4.0
2,u2,X,2,3.0
3,u2,Y,1,10.0
4,u3,Z,5,0.0
4,u3,Y,1,10.0
5,u4,W,1,-1.0
5,u4,X,1,3.0
6,u1,Y,3,10.0
"""


@pytest.fixture
def log_path(tmp_path: Path) -> Path:
    path = tmp_path / "tiny_log.csv"
    path.write_text(LOG)
    return path


def test_item_prices_from_log(log_path: Path) -> None:
    data = load_interactions(log_path)
    prices = item_prices(data)
    assert prices is not None
    by_id = dict(zip(data.items.ids, prices.values, strict=True))
    assert by_id["X"] == 3.0
    assert by_id["Y"] == 10.0
    assert math.isnan(by_id["Z"])  # unknown, never 0
    assert "W" not in by_id  # its only row had a negative price
    assert prices.filled()[data.items.index(["Z"])[0]] == 0.0


def test_data_report_counts_prices(log_path: Path) -> None:
    report = load_interactions(log_path).report
    assert report is not None
    assert report.dropped["negative price"] == 1
    assert (
        report.prices["log rows with price 0 (kept as interactions, not used for item prices)"] == 1
    )
    assert report.prices["items with a price"] == 2  # X, Y
    assert report.prices["items without a price (no row priced above 0, no catalogue price)"] == 1
    assert report.prices["interacted items without a price"] == 1  # Z
    assert any(line.startswith("prices, items without a price") for line in report.summary_lines())
    report.check_balance()


def test_catalogue_price_first_then_log(log_path: Path, tmp_path: Path) -> None:
    items = tmp_path / "items.csv"
    items.write_text("StockCode,Description,Price\nX,alpha,0\nZ,gamma,7.5\n")
    data = load_interactions(log_path, items=items)
    prices = item_prices(data)
    assert prices is not None
    by_id = dict(zip(data.items.ids, prices.values, strict=True))
    assert by_id["Z"] == 7.5  # catalogue
    assert by_id["X"] == 3.0  # catalogue price 0 not used: the log's median
    assert prices.counts["catalogue prices ≤ 0 (not used)"] == 1
    assert (
        data.report is not None
        and data.report.prices["items without a price (no row priced above 0, no catalogue price)"]
        == 0
    )


def test_no_price_column_means_no_prices(tmp_path: Path) -> None:
    path = tmp_path / "clicks.csv"
    path.write_text("user,item\na,x\nb,y\n")
    data = load_interactions(path)
    assert item_prices(data) is None
    assert data.report is not None and data.report.prices == {}
    assert not has_prices(data)


def test_revenue_metrics_known_answer() -> None:
    # prices: item0 10, item1 1, item2 4, item3 unknown (given as 0)
    prices = np.array([10.0, 1.0, 4.0, 0.0])
    topk = np.array([[0, 1, 3], [2, 0, -1], [1, 3, 2]])
    test = sp.csr_matrix(np.array([[1, 0, 1, 1], [1, 1, 0, 0], [0, 0, 0, 1]], dtype=np.float32))
    qty = sp.csr_matrix(np.array([[2, 0, 1, 4], [3, 1, 0, 0], [0, 0, 0, 6]], dtype=np.float32))
    m = revenue_metrics(topk, test, prices, (1, 3), quantities=qty)
    # @1: user0 hits item0: 10*2 = 20; user1 misses (item2); user2 misses (item1) -> 20/3
    assert m["revenue@1"] == pytest.approx(20 / 3)
    # @3: user0 hits 0 and 3: 20 + 0*4; user1 hits 0 (pos 2): 10*3 = 30; user2 hits 3: 0
    assert m["revenue@3"] == pytest.approx((20 + 30 + 0) / 3)
    # price recall @3: user0 10/(10+4+0); user1 10/(10+1); user2 total price 0 -> left out
    assert m["price_recall@3"] == pytest.approx((10 / 14 + 10 / 11) / 2)
    assert m["price_recall@1"] == pytest.approx((10 / 14 + 0) / 2)
    # without quantities every hit counts 1: @3 user0 10, user1 10, user2 0
    assert revenue_metrics(topk, test, prices, 3)["revenue@3"] == pytest.approx(20 / 3)


def test_revenue_metrics_refuse_bad_prices() -> None:
    topk = np.array([[0]])
    test = sp.csr_matrix(np.array([[1.0]]))
    with pytest.raises(ValueError, match="finite and ≥ 0"):
        revenue_metrics(topk, test, np.array([np.nan]), 1)
    with pytest.raises(ValueError, match="shape"):
        revenue_metrics(topk, test, np.array([1.0, 2.0]), 1)


def _split(data, test_pairs: set[tuple[str, str]]):
    keys = list(zip(data.frame["user"], data.frame["item"], strict=True))
    in_test = np.array([k in test_pairs for k in keys])
    return data.with_frame(data.frame[~in_test]), data.with_frame(data.frame[in_test])


def test_evaluate_reports_revenue_on_tiny_log(log_path: Path) -> None:
    data = load_interactions(log_path)
    train, test = _split(data, {("u1", "Y"), ("u2", "Y"), ("u3", "Z")})
    # train: u1-X, u2-X, u3-Y, u4-X -> popularity X (3 users) > Y (1); Z unseen in training
    result = evaluate(PopularityRecommender().fit(train), train, test, ks=(1,))
    # top-1 without seen items: u1 -> Y (hit, 10 x qty 3 = 30), u2 -> Y (hit, 10 x 1),
    # u3 -> X (miss; its test item Z has no price)
    assert result.metrics["revenue@1"] == pytest.approx((30 + 10 + 0) / 3)
    # price recall: u1 10/10, u2 10/10, u3 left out (its test items have no price)
    assert result.metrics["price_recall@1"] == pytest.approx(1.0)
    assert result.protocol["n_test_interactions_unpriced"] == 1
    assert "revenue@k" in result.protocol["revenue"]


def test_evaluate_counts_test_rows_without_quantity_once(log_path: Path) -> None:
    data = load_interactions(log_path)
    train, test = _split(data, {("u1", "Y"), ("u2", "Y"), ("u3", "Z")})
    # u1's held-out Y lost its quantity (as an injected or merged row may): it counts once
    frame = test.frame.copy()
    frame.loc[frame["user"] == "u1", "quantity"] = np.nan
    result = evaluate(PopularityRecommender().fit(train), train, test.with_frame(frame), ks=(1,))
    # u1 -> Y hit, 10 x 1 (not 3); u2 -> Y hit, 10 x 1; u3 miss
    assert result.metrics["revenue@1"] == pytest.approx((10 + 10 + 0) / 3)
    assert result.protocol["n_test_interactions_without_quantity"] == 1


def test_evaluate_without_prices_reports_no_revenue() -> None:
    frame = pd.DataFrame({"user": list("aabb"), "item": list("xyxz"), "value": 1.0})
    data = build_interactions(frame, kind="implicit")
    train, test = data.with_frame(data.frame.iloc[[0, 2]]), data.with_frame(data.frame.iloc[[1, 3]])
    result = evaluate(PopularityRecommender().fit(train), train, test, ks=(1,))
    assert not any(k.startswith(("revenue", "price_recall")) for k in result.metrics)
    assert "revenue" not in result.protocol


def _priced(prices: list[float]) -> object:
    """Four items, each bought by one user; ``item_price`` per item (NaN = none)."""
    frame = pd.DataFrame({"user": ["a", "b", "c", "d"], "item": ["i0", "i1", "i2", "i3"]})
    frame["value"] = 1.0
    frame[ITEM_PRICE] = prices
    return build_interactions(frame, kind="implicit")


def test_revenue_reranker_known_answer() -> None:
    data = _priced([1.0, 10.0, 100.0, np.nan])
    reranker = RevenueBoost().fit(data)
    # log prices 0, L, 2L (L = ln 10): mean L, sd L*sqrt(2/3) -> z = -1.2247, 0, 1.2247;
    # item 3 has no price -> 0
    z = math.sqrt(3 / 2)
    np.testing.assert_allclose(reranker.boost_, [-z, 0.0, z, 0.0], atol=1e-12)
    assert reranker.n_unpriced_ == 1
    c = cand([[0, 1, 2, 3]], [[4.0, 3.0, 2.0, 1.0]])
    # standardised relevance: (s - 2.5) / sqrt(1.25) = 1.342, 0.447, -0.447, -1.342
    assert reranker.rerank(c, 4, 0.0).tolist() == [[0, 1, 2, 3]]
    # λ = 0.3: 0.974, 0.447, -0.080, -1.342 -> base order
    assert reranker.rerank(c, 4, 0.3).tolist() == [[0, 1, 2, 3]]
    # λ = 1: 0.117, 0.447, 0.778, -1.342 -> 2, 1, 0, 3
    assert reranker.rerank(c, 4, 1.0).tolist() == [[2, 1, 0, 3]]
    assert reranker.rerank(c, 2, 1.0).tolist() == [[2, 1]]


def test_revenue_reranker_config_round_trip_without_prices_in_data() -> None:
    priced = _priced([1.0, 10.0, 100.0, np.nan])
    fitted = RevenueBoost().fit(priced)
    config = fitted.to_config()
    assert config["prices"] == [1.0, 10.0, 100.0, None]
    plain = build_interactions(priced.frame.drop(columns=[ITEM_PRICE]), kind="implicit")
    again = make_reranker(**config).fit(plain)  # a bundle's history has no prices
    np.testing.assert_allclose(again.boost_, fitted.boost_)


def test_revenue_reranker_refuses_data_without_prices() -> None:
    frame = pd.DataFrame({"user": ["a", "b"], "item": ["x", "y"], "value": 1.0})
    with pytest.raises(DataError, match="needs item prices"):
        RevenueBoost().fit(build_interactions(frame, kind="implicit"))
    with pytest.raises(DataError, match="above 0"):
        RevenueBoost(prices=[1.0, -2.0]).fit(build_interactions(frame, kind="implicit"))
    with pytest.raises(DataError, match="2 items"):
        RevenueBoost(prices=[1.0]).fit(build_interactions(frame, kind="implicit"))


def test_revenue_is_a_mechanism_only_with_prices() -> None:
    assert "revenue" not in available_mechanisms(None, None)
    assert available_mechanisms(None, None, prices=True)[-1] == "revenue"
    assert has_prices(_priced([1.0, np.nan, np.nan, np.nan]))
    assert not has_prices(_priced([np.nan] * 4))


def test_revenue_hypervolume_reported_only_when_present() -> None:
    rows = pd.DataFrame(
        {
            "lam": [0.0, 1.0],
            "ndcg@10": [0.4, 0.2],
            "coverage@20": [0.1, 0.3],
            "novelty@20": [5.0, 6.0],
        }
    )
    assert "ndcg@10|revenue@20" not in front_hypervolumes(rows)
    rows["revenue@20"] = [10.0, 30.0]
    # staircase over (0.4, 10) and (0.2, 30): 0.4*10 + 0.2*(30-10) = 8
    assert front_hypervolumes(rows)["ndcg@10|revenue@20"] == pytest.approx(8.0)
    fig = revenue_front_figure(rows)
    assert fig.layout.xaxis.title.text == "Revenue@20"
    with pytest.raises(ValueError, match="no 'revenue@10'"):
        revenue_front_figure(rows, k=10)


def test_revenue_mechanism_survives_a_bundle(tmp_path: Path) -> None:
    from recolab.bundle import export_bundle, load
    from recolab.data.synthetic import synthetic_interactions
    from recolab.models.linear import LinearAutoencoder, LinearParams
    from recolab.models.tradeoff import TradeoffRecommender

    data = synthetic_interactions(120, 60, n_interactions=2500, rank=5, seed=3)
    price = np.random.default_rng(0).lognormal(1.0, 1.0, data.n_items)
    price[:5] = np.nan  # five items without a price
    data = data.with_frame(data.frame.assign(**{ITEM_PRICE: price[data.frame["item_idx"]]}))
    base = LinearAutoencoder(LinearParams(l2=20.0), device="cpu").fit(data)
    model = TradeoffRecommender(base, RevenueBoost(), 4.0, n_candidates=40).fit(data)
    users = np.arange(data.n_users)
    before, _ = model.recommend(users, 10, lam=1.0)
    assert not np.array_equal(before, model.recommend(users, 10, lam=0.0)[0])
    loaded = load(export_bundle(model, tmp_path / "revenue.zip", lam=1.0))
    np.testing.assert_allclose(loaded.model.reranker.boost_, model.reranker.boost_)
    after, _ = loaded.model.recommend(users, 10, lam=1.0)  # the bundle's history has no prices
    np.testing.assert_array_equal(after, before)
