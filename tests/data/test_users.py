"""User attributes (:func:`load_users`) and the cold-user split, on tiny files and ML-100K."""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from recolab.data.interactions import InteractionData, build_interactions
from recolab.data.io import detect_user_id_column, load_users
from recolab.data.splits import cold_user_split
from recolab.errors import DataError

ML = Path(__file__).resolve().parents[2] / ".." / "shared" / "datasets" / "ml-100k"


def write(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


# ---------------------------------------------------------------------------- load_users


def test_numeric_and_string_columns_with_missing_cells(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "users.csv",
        "user_id,age,country,score\nu1, 31 ,FR,0.5\nu2,,  DE ,\nu3,40,,1e2\n",
    )
    users = load_users(path)
    assert users.index.name == "user"
    assert list(users.index) == ["u1", "u2", "u3"]
    assert list(users.columns) == ["age", "country", "score"]
    assert users["age"].dtype == np.float64
    assert users["score"].dtype == np.float64
    assert not pd.api.types.is_numeric_dtype(users["country"].dtype)
    assert users.loc["u1", "age"] == 31.0
    assert np.isnan(users.loc["u2", "age"])
    assert users.loc["u3", "score"] == 100.0
    assert np.isnan(users.loc["u2", "score"])
    assert users.loc["u2", "country"] == "DE"  # stripped
    assert pd.isna(users.loc["u3", "country"])


def test_column_with_one_non_number_stays_text(tmp_path: Path) -> None:
    path = write(tmp_path, "users.csv", "customer,zip\n1,01002\n2,T8H1N\n3,\n")
    users = load_users(path)
    assert users["zip"].tolist()[:2] == ["01002", "T8H1N"]
    assert pd.isna(users.loc["3", "zip"])


def test_numeric_ids_are_strings(tmp_path: Path) -> None:
    path = write(tmp_path, "users.tsv", "userId\tage\n7\t20\n10\t30\n")
    users = load_users(path)
    assert list(users.index) == ["7", "10"]
    assert users.index.name == "user"
    assert users["age"].tolist() == [20.0, 30.0]


def test_mapping_names_the_id_column(tmp_path: Path) -> None:
    path = write(tmp_path, "people.csv", "person,age,city\np1,20,Oslo\np2,30,Rome\n")
    users = load_users(path, mapping={"user": "person"})
    assert list(users.index) == ["p1", "p2"]
    assert list(users.columns) == ["age", "city"]
    assert users.loc["p2", "city"] == "Rome"


def test_mapping_overrides_detection(tmp_path: Path) -> None:
    path = write(tmp_path, "u.csv", "user_id,account,plan\n1,a,x\n2,b,y\n")
    users = load_users(path, mapping={"user": "account"})
    assert list(users.index) == ["a", "b"]
    assert list(users.columns) == ["user_id", "plan"]
    assert users["user_id"].tolist() == [1.0, 2.0]


def test_mapping_to_missing_column_is_an_error(tmp_path: Path) -> None:
    path = write(tmp_path, "people.csv", "person,age\np1,20\n")
    with pytest.raises(DataError, match="no such column") as err:
        load_users(path, mapping={"user": "nope"})
    assert str(path) in str(err.value)


def test_missing_id_column_names_file_and_columns(tmp_path: Path) -> None:
    path = write(tmp_path, "people.csv", "person,age,city\np1,20,Oslo\n")
    with pytest.raises(DataError, match="no user id column") as err:
        load_users(path)
    message = str(err.value)
    assert str(path) in message
    assert "person, age, city" in message


def test_empty_id_names_row_and_column(tmp_path: Path) -> None:
    path = write(tmp_path, "users.csv", "user_id,age\na,1\nb,2\n ,3\nd,4\n")
    with pytest.raises(DataError, match="empty user id") as err:
        load_users(path)
    assert (err.value.file, err.value.row, err.value.column) == (str(path), 3, "user_id")
    assert "row 3" in str(err.value) and "'user_id'" in str(err.value)


def test_duplicate_id_names_the_repeat_row(tmp_path: Path) -> None:
    path = write(tmp_path, "users.csv", "user_id,age\na,1\nb,2\nc,3\nb,4\na,5\n")
    with pytest.raises(DataError, match="'b' appears again") as err:
        load_users(path)
    assert err.value.row == 4
    assert err.value.file == str(path)
    assert "first on row 2" in str(err.value)


def test_id_column_only_is_an_error(tmp_path: Path) -> None:
    path = write(tmp_path, "users.csv", "user_id\na\nb\n")
    with pytest.raises(DataError, match="no attribute columns") as err:
        load_users(path)
    assert str(path) in str(err.value)


def test_headerless_generic_file_needs_header_or_mapping(tmp_path: Path) -> None:
    path = write(tmp_path, "users.csv", "1,20\n2,30\n")
    with pytest.raises(DataError, match="no header"):
        load_users(path)
    users = load_users(path, mapping={"user": "col1"})
    assert users["col2"].tolist() == [20.0, 30.0]


def test_ml100k_shape_detected_under_another_name(tmp_path: Path) -> None:
    path = write(tmp_path, "people.txt", "1|24|M|technician|85711\n2|53|F|other|01002\n")
    users = load_users(path)
    assert list(users.columns) == ["age", "gender", "occupation", "zip"]
    assert users.loc["2", "zip"] == "01002"


def test_ml100k_u_user(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.INFO, logger="recolab.data.users"):
        users = load_users(ML / "u.user")
    assert "943 users" in caplog.text and "4 attribute columns" in caplog.text
    assert users.shape == (943, 4)
    assert users.index.name == "user"
    assert users.index.is_unique
    assert list(users.columns) == ["age", "gender", "occupation", "zip"]
    assert users["age"].dtype == np.float64
    assert users.loc["1"].tolist() == [24.0, "M", "technician", "85711"]
    assert users.loc["8", "zip"] == "05201"  # leading zero kept
    raw = pd.read_csv(ML / "u.user", sep="|", header=None, dtype=str)
    assert list(users.index) == list(raw[0])
    assert users["occupation"].tolist() == list(raw[3])
    assert set(users["gender"]) == {"M", "F"}


def test_detect_user_id_column(tmp_path: Path) -> None:
    named = write(tmp_path, "a.csv", "age,customer_id\n30,c1\n")
    assert detect_user_id_column(named) == (["age", "customer_id"], "customer_id")
    unnamed = write(tmp_path, "b.csv", "member,age\nm1,30\n")
    assert detect_user_id_column(unnamed) == (["member", "age"], None)
    headerless = write(tmp_path, "c.csv", "1,20\n2,30\n")
    assert detect_user_id_column(headerless) == (["col1", "col2"], None)
    columns, found = detect_user_id_column(ML / "u.user")
    assert found == "col1" and len(columns) == 5
    # what detection finds is what load_users uses
    assert load_users(named).index.tolist() == ["c1"]


# ---------------------------------------------------------------------------- cold users


@pytest.fixture
def small() -> InteractionData:
    rng = np.random.default_rng(0)
    rows = [(f"u{u}", f"i{i}") for u in range(20) for i in rng.choice(15, size=5, replace=False)]
    frame = pd.DataFrame(rows, columns=["user", "item"])
    frame["value"] = 1.0
    return build_interactions(frame, kind="implicit", name="small")


def pairs(d: InteractionData) -> set[tuple[str, str]]:
    return set(zip(d.frame["user"], d.frame["item"], strict=True))


def test_cold_user_split_partitions_by_user(small: InteractionData) -> None:
    train, test = cold_user_split(small, 0.25, seed=1)
    assert train.users is small.users and test.users is small.users
    assert train.items is small.items and test.items is small.items
    assert train.n_interactions + test.n_interactions == small.n_interactions
    assert pairs(train) | pairs(test) == pairs(small)
    assert not pairs(train) & pairs(test)
    test_users = set(test.frame["user"])
    assert len(test_users) == 5  # round(0.25 * 20)
    assert not test_users & set(train.frame["user"])
    assert test.n_interactions == 5 * 5  # every interaction of a held-out user
    assert test.name == "small[coldUsers0.25/seed1:test]"


def test_cold_user_split_seeded(small: InteractionData) -> None:
    a = set(cold_user_split(small, 0.25, seed=1)[1].frame["user"])
    b = set(cold_user_split(small, 0.25, seed=1)[1].frame["user"])
    c = set(cold_user_split(small, 0.25, seed=2)[1].frame["user"])
    assert a == b
    assert a != c


def test_cold_user_split_holds_out_at_least_one(small: InteractionData) -> None:
    _train, test = cold_user_split(small, 0.01)
    assert len(set(test.frame["user"])) == 1


def test_cold_user_split_refuses_to_hold_out_everyone() -> None:
    frame = pd.DataFrame({"user": ["a", "a", "b"], "item": ["x", "y", "x"], "value": 1.0})
    data = build_interactions(frame, kind="implicit")
    with pytest.raises(ValueError, match="every user"):
        cold_user_split(data, 0.9)
    with pytest.raises(ValueError, match="between 0 and 1"):
        cold_user_split(data, 1.0)
