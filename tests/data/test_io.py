"""Tests of recolab.data.io: real files, detection variants, cleaning rules, every error."""

from __future__ import annotations

import gzip
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from recolab.data.interactions import build_interactions
from recolab.data.io import load_interactions, load_items, read_table
from recolab.errors import DataError

DATASETS = Path(__file__).resolve().parents[2] / ".." / "shared" / "datasets"
ML = DATASETS / "ml-100k"
RETAIL = DATASETS / "online-retail-sample" / "online_retail_sample.csv"


def write(tmp_path: Path, name: str, text: str, encoding: str = "utf-8") -> Path:
    path = tmp_path / name
    path.write_bytes(text.encode(encoding))
    return path


# ---------------------------------------------------------------------------- real data


def test_ml100k_u_data_headerless_tab_separated() -> None:
    data = load_interactions(ML / "u.data")
    r = data.report
    assert r is not None
    assert (r.rows_read, r.rows_kept, r.rows_dropped, r.duplicates_merged) == (
        100_000,
        100_000,
        0,
        0,
    )
    assert (data.n_users, data.n_items, data.n_interactions) == (943, 1682, 100_000)
    assert data.kind == "explicit" and r.kind == "explicit"
    assert r.columns == {"user": "col1", "item": "col2", "rating": "col3", "timestamp": "col4"}
    # first line of u.data: 196 242 3 881250949
    first = data.frame.iloc[0]
    assert (first["user"], first["item"], first["value"]) == ("196", "242", 3.0)
    assert first["timestamp"] == pd.Timestamp(881250949, unit="s")
    assert data.frame["timestamp"].dtype == "datetime64[ns]"
    assert r.density == pytest.approx(100_000 / (943 * 1682))
    # independently: items with < 5 ratings
    raw = pd.read_csv(ML / "u.data", sep="\t", header=None)
    assert r.cold_items == int((raw[1].value_counts() < 5).sum())
    assert r.cold_users == 0  # every ML-100K user has at least 20 ratings
    r.check_balance()


def test_ml100k_u1_base_headerless() -> None:
    data = load_interactions(ML / "u1.base")
    assert data.n_interactions == 80_000
    assert data.kind == "explicit"
    assert set(np.unique(data.frame["rating"])) == {1.0, 2.0, 3.0, 4.0, 5.0}


def _retail_expected() -> dict[str, object]:
    """Counts worked out with plain pandas, independent of the loader."""
    df = pd.read_csv(RETAIL, dtype={"CustomerID": str, "StockCode": str, "InvoiceNo": str})
    has_user = df["CustomerID"].notna()
    fees = {"POST", "DOT", "M", "D", "C2", "BANK CHARGES", "PADS", "AMAZONFEE", "S", "CRUK"}
    non_product = has_user & df["StockCode"].isin(fees)
    returns = has_user & ~non_product & ((df["Quantity"] < 0) | df["InvoiceNo"].str.startswith("C"))
    keep = df[has_user & ~non_product & ~returns]
    pairs = keep.groupby(["CustomerID", "StockCode"])["Quantity"].sum()
    return {
        "rows": len(df),
        "missing_user": int((~has_user).sum()),
        "non_product": int(non_product.sum()),
        "returns": int(returns.sum()),
        "pairs": pairs,
        "kept_rows": len(keep),
        "users": keep["CustomerID"].nunique(),
        "items": keep["StockCode"].nunique(),
    }


def test_retail_counts_add_up_and_match_pandas() -> None:
    exp = _retail_expected()
    data = load_interactions(RETAIL)
    r = data.report
    assert r is not None
    r.check_balance()
    assert r.rows_read == exp["rows"] == 10_000
    assert r.dropped["missing user id"] == exp["missing_user"] == 2291
    assert r.dropped["non-product row (postage, fees, adjustments)"] == exp["non_product"]
    ret_key = next(k for k in r.dropped if k.startswith("return"))
    assert r.dropped[ret_key] == exp["returns"]
    pairs = exp["pairs"]
    assert isinstance(pairs, pd.Series)
    assert r.rows_kept == data.n_interactions == len(pairs)
    assert r.duplicates_merged == exp["kept_rows"] - len(pairs)
    assert (data.n_users, data.n_items) == (exp["users"], exp["items"])
    assert data.kind == "implicit"
    assert r.columns["user"] == "CustomerID" and r.columns["item"] == "StockCode"
    assert {"quantity", "price", "timestamp"} <= set(data.frame.columns)
    # ids like 17850.0 are read as 17850; value is the summed quantity of the pair
    frame = data.frame.set_index(["user", "item"])
    for (cust, code), qty in pairs.sample(20, random_state=0).items():
        key = (cust.removesuffix(".0"), code)
        assert frame.loc[key, "value"] == pytest.approx(qty)
        assert frame.loc[key, "quantity"] == pytest.approx(qty)
    # example row numbers are 1-based data rows: check one against the raw file
    raw = pd.read_csv(RETAIL, dtype=str)
    row = r.examples["missing user id"][0]
    assert pd.isna(raw.iloc[row - 1]["CustomerID"])
    assert "POST" not in set(data.frame["item"])
    assert any("returns" in rule for rule in r.rules)


def test_retail_with_items_attaches_texts(tmp_path: Path) -> None:
    items = write(tmp_path, "items.csv", "StockCode,Description\n85123A,WHITE HANGING HEART\n")
    data = load_interactions(RETAIL, items=items)
    assert data.item_meta is not None
    assert data.item_meta.loc["85123A", "text"] == "WHITE HANGING HEART"
    texts = data.item_texts
    assert texts is not None and texts[data.items.index(["85123A"])[0]] == "WHITE HANGING HEART"


def test_load_items_ml100k_u_item() -> None:
    items = load_items(ML / "u.item")
    assert len(items) == 1682
    assert items.index.dtype == object or str(items.index.dtype) == "str"
    toy = items.loc["1"]
    assert toy["title"] == "Toy Story (1995)"
    assert toy["genres"] == "Animation|Children's|Comedy"
    assert toy["text"] == "Toy Story (1995). Animation, Children's, Comedy"


def test_load_items_generic_csv(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "items.csv",
        "item_id,name,description,category,price\n"
        "a,Apple,Red fruit,fruit,1.5\nb,Bread,,bakery,2\na,Dup,x,y,9\n",
    )
    items = load_items(path)
    assert list(items.index) == ["a", "b"]  # duplicate id keeps the first row
    assert items.loc["a", "text"] == "Apple. Red fruit. fruit"
    assert items.loc["b", "text"] == "Bread. bakery"
    assert items.loc["b", "price"] == 2.0
    with pytest.raises(DataError, match="no such column"):
        load_items(path, {"title": "nope"})


# ---------------------------------------------------------------------------- detection


@pytest.mark.parametrize(
    ("header", "roles"),
    [
        ("userId,movieId,rating,timestamp", ("userId", "movieId", "rating")),
        ("user_id,item_id,score,time", ("user_id", "item_id", "score")),
        ("CustomerID,StockCode,Stars,InvoiceDate", ("CustomerID", "StockCode", "Stars")),
        ("reviewerID,asin,overall,unixReviewTime", ("reviewerID", "asin", "overall")),
        ("USER,ITEM,RATING,DATE", ("USER", "ITEM", "RATING")),
    ],
)
def test_column_detection_variants(tmp_path: Path, header: str, roles: tuple[str, ...]) -> None:
    path = write(tmp_path, "x.csv", header + "\nu1,i1,4,1000\nu2,i1,5,2000\n")
    data = load_interactions(path)
    r = data.report
    assert r is not None
    assert (r.columns["user"], r.columns["item"], r.columns["rating"]) == roles
    assert data.kind == "explicit"
    assert data.frame["rating"].tolist() == [4.0, 5.0]


@pytest.mark.parametrize("sep", [",", "\t", ";", "|"])
def test_delimiters(tmp_path: Path, sep: str) -> None:
    text = sep.join(["visitorid", "itemid", "event"]) + "\n"
    text += "\n".join(sep.join(["v1", f"i{k}", "view"]) for k in range(3)) + "\n"
    data = load_interactions(write(tmp_path, "x.txt", text))
    assert data.n_interactions == 3 and data.kind == "implicit"
    assert data.report is not None and data.report.columns["event"] == "event"


def test_headerless_two_columns_is_user_item(tmp_path: Path) -> None:
    data = load_interactions(write(tmp_path, "x.csv", "1,10\n1,11\n2,10\n"))
    assert data.report is not None
    assert data.report.columns == {"user": "col1", "item": "col2"}
    assert data.n_interactions == 3 and data.kind == "implicit"


def test_latin1_fallback(tmp_path: Path) -> None:
    path = write(tmp_path, "x.csv", "user,item\nJosé,café\nAna,thé\n", encoding="latin-1")
    data = load_interactions(path)
    assert set(data.frame["item"]) == {"café", "thé"}
    assert read_table(path).encoding == "latin-1"


def test_utf8_bom(tmp_path: Path) -> None:
    path = tmp_path / "x.csv"
    path.write_bytes("user,item\nu,i\n".encode("utf-8-sig"))
    assert load_interactions(path).report.columns["user"] == "user"  # type: ignore[union-attr]


def test_parquet_and_gzip(tmp_path: Path) -> None:
    df = pd.DataFrame(
        {"user_id": [1.0, 2.0, np.nan], "item_id": ["a", "b", "c"], "rating": [3, 4, 5]}
    )
    pq = tmp_path / "x.parquet"
    df.to_parquet(pq)
    data = load_interactions(pq)
    assert data.frame["user"].tolist() == ["1", "2"]
    assert data.report is not None and data.report.dropped == {"missing user id": 1}
    gz = tmp_path / "x.csv.gz"
    with gzip.open(gz, "wt") as fh:
        fh.write("user,item,rating\nu1,i1,5\n")
    assert load_interactions(gz).frame["value"].tolist() == [5.0]


def test_explicit_mapping_overrides_detection(tmp_path: Path) -> None:
    path = write(tmp_path, "x.csv", "a,b,user\nu1,i1,zz\nu2,i2,zz\n")
    data = load_interactions(path, {"user": "a", "item": "B"})  # case-insensitive fallback
    assert data.frame["user"].tolist() == ["u1", "u2"]
    assert data.report is not None and data.report.columns["item"] == "b"


# ---------------------------------------------------------------------------- cleaning


def test_drop_reasons_with_row_numbers(tmp_path: Path) -> None:
    text = (
        "user,item,rating,timestamp\n"
        "u1,i1,4,2020-01-01\n"  # 1 kept
        ",i1,4,2020-01-01\n"  # 2 missing user
        "u2,,4,2020-01-01\n"  # 3 missing item
        "u3,i1,abc,2020-01-01\n"  # 4 unparsable rating
        "u4,i1,9,2020-01-01\n"  # 5 out of range
        "u5,i1,3,not a date\n"  # 6 bad timestamp
        "\n"  # 7 empty line
        "u6,i2,2,2020-01-02\n"  # 8 kept
    )
    data = load_interactions(write(tmp_path, "x.csv", text), rating_range=(1, 5))
    r = data.report
    assert r is not None
    assert r.dropped == {
        "missing user id": 1,
        "missing item id": 1,
        "missing or unparsable rating": 1,
        "rating out of range [1, 5]": 1,
        "missing or unparsable timestamp": 1,
        "empty line": 1,
    }
    assert r.examples["missing user id"] == [2]
    assert r.examples["missing item id"] == [3]
    assert r.examples["missing or unparsable timestamp"] == [6]
    assert r.examples["empty line"] == [7]
    assert r.rows_read == 8 and r.rows_kept == 2
    r.check_balance()


def test_returns_fees_quantity_rule(tmp_path: Path) -> None:
    text = (
        "InvoiceNo,StockCode,Quantity,UnitPrice,CustomerID,InvoiceDate\n"
        "1,A,2,1.0,7,2010-12-01 08:00\n"
        "1,POST,1,18.0,7,2010-12-01 08:00\n"
        "C2,A,-1,1.0,7,2010-12-02 08:00\n"
        "3,A,3,3.0,7,2010-12-03 08:00\n"
        "4,X,x,1.0,7,2010-12-03 08:00\n"
        "5,X,-4,0,,2010-12-03 08:00\n"
    )
    data = load_interactions(write(tmp_path, "log.csv", text))
    r = data.report
    assert r is not None
    assert data.n_interactions == 1
    row = data.frame.iloc[0]
    assert (row["user"], row["item"]) == ("7", "A")
    assert row["value"] == 5.0 and row["quantity"] == 5.0  # returns do not cancel purchases
    assert row["price"] == pytest.approx(2.0)  # mean unit price
    assert row["timestamp"] == pd.Timestamp("2010-12-03 08:00")  # latest
    assert r.dropped["non-product row (postage, fees, adjustments)"] == 1
    assert sum(v for k, v in r.dropped.items() if k.startswith("return")) == 1
    assert r.dropped["missing or unparsable quantity"] == 1
    assert r.dropped["missing user id"] == 1  # the first applicable reason wins
    assert r.duplicates_merged == 1
    r.check_balance()


@pytest.mark.parametrize(
    ("policy", "expected"),
    [("last", 2.0), ("sum", 9.0), ("mean", 3.0), ("max", 4.0)],
)
def test_duplicate_policies_known_answer(tmp_path: Path, policy: str, expected: float) -> None:
    # by time the ratings are 3, 4, 2 (file order 4, 2, 3): "last" is the latest by time
    text = "user,item,rating,timestamp\nu,i,4,200\nu,i,2,300\nu,i,3,100\nv,i,1,100\n"
    data = load_interactions(write(tmp_path, "x.csv", text), duplicate_policy=policy)
    r = data.report
    assert r is not None and r.duplicates_merged == 2 and r.rows_kept == 2
    frame = data.frame.set_index("user")
    assert frame.loc["u", "value"] == expected
    assert frame.loc["u", "rating"] == expected
    assert frame.loc["v", "value"] == 1.0
    assert list(data.frame["user"]) == ["u", "v"]  # order of first appearance
    r.check_balance()


def test_implicit_value_counts_events(tmp_path: Path) -> None:
    text = "user,item\nu,a\nu,a\nu,b\nu,a\n"
    data = load_interactions(write(tmp_path, "x.csv", text))
    assert dict(zip(data.frame["item"], data.frame["value"], strict=True)) == {"a": 3.0, "b": 1.0}
    assert data.report is not None and data.report.duplicate_policy == "sum"


# ---------------------------------------------------------------------------- errors


def test_error_empty_file(tmp_path: Path) -> None:
    path = write(tmp_path, "e.csv", "")
    with pytest.raises(DataError, match="empty") as exc:
        load_interactions(path)
    assert exc.value.file == str(path)


def test_error_header_without_rows(tmp_path: Path) -> None:
    with pytest.raises(DataError, match="header but no data rows"):
        load_interactions(write(tmp_path, "h.csv", "user,item,rating\n"))


def test_error_missing_item_column_lists_columns(tmp_path: Path) -> None:
    with pytest.raises(DataError, match=r"no item column found; columns found: user, colour"):
        load_interactions(write(tmp_path, "m.csv", "user,colour\nu,red\n"))


def test_error_missing_user_column(tmp_path: Path) -> None:
    with pytest.raises(DataError, match="no user column found"):
        load_interactions(write(tmp_path, "m.csv", "item,colour\ni,red\n"))


def test_error_no_usable_rows_says_why(tmp_path: Path) -> None:
    path = write(tmp_path, "n.csv", "user,item,rating\n,a,1\n,b,2\nu,,3\n")
    with pytest.raises(DataError, match=r"all 3 rows were dropped.*missing user id: 2") as exc:
        load_interactions(path)
    assert "missing item id: 1" in str(exc.value)


def test_error_binary_garbage(tmp_path: Path) -> None:
    path = tmp_path / "g.csv"
    path.write_bytes(bytes(range(256)) * 20)
    with pytest.raises(DataError, match="binary") as exc:
        load_interactions(path)
    assert str(path) in str(exc.value)


def test_error_mapping_names_missing_column(tmp_path: Path) -> None:
    path = write(tmp_path, "x.csv", "user,item\nu,i\n")
    with pytest.raises(DataError) as exc:
        load_interactions(path, {"item": "product"})
    assert exc.value.column == "product" and exc.value.file == str(path)
    assert "columns found: user, item" in str(exc.value)
    with pytest.raises(DataError, match="unknown role"):
        load_interactions(path, {"colour": "item"})


def test_error_malformed_row_names_row(tmp_path: Path) -> None:
    path = write(tmp_path, "b.csv", "user,item\nu,i\nv,j\nw,k,extra\n")
    with pytest.raises(DataError, match="malformed") as exc:
        load_interactions(path)
    assert exc.value.row == 3


def test_error_explicit_without_rating(tmp_path: Path) -> None:
    with pytest.raises(DataError, match="needs a rating column"):
        load_interactions(write(tmp_path, "x.csv", "user,item\nu,i\n"), kind="explicit")


def test_error_headerless_too_many_columns(tmp_path: Path) -> None:
    with pytest.raises(DataError, match="no header row and 6 columns"):
        load_interactions(write(tmp_path, "x.csv", "1,2,3,4,5,6\n1,2,3,4,5,6\n"))


def test_vocabularies_match_build_interactions(tmp_path: Path) -> None:
    items = write(tmp_path, "items.csv", "item,title\nz,Zed\nb,Bee\nq,Queue\n")
    path = write(tmp_path, "x.csv", "user,item\nu2,b\nu1,a\nu2,a\n")
    data = load_interactions(path, items=items)
    ref = build_interactions(
        data.frame[["user", "item", "value"]], kind="implicit", item_meta=data.item_meta
    )
    assert list(data.users.ids) == list(ref.users.ids) == ["u2", "u1"]
    assert list(data.items.ids) == list(ref.items.ids) == ["b", "a", "z", "q"]
    assert (data.frame["item_idx"] == ref.frame["item_idx"]).all()
    assert data.report is not None and data.report.cold_items == 4
