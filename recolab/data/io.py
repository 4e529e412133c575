"""Reading interaction logs into validated :class:`InteractionData`.

Every row read is accounted for in the :class:`~recolab.data.report.DataReport`: it is kept,
dropped (counted under one reason, with a few example row numbers) or merged into another row
with the same (user, item) pair. Bad input raises one :class:`~recolab.errors.DataError` that
names the file, and the row and column where they apply.

The work is split by concern: :mod:`recolab.data.sources` (what a file is, capped
decompression), :mod:`recolab.data.tables` (text and Parquet into string cells),
:mod:`recolab.data.cells` (ids, numbers, timestamps), :mod:`recolab.data.items` (item
catalogues) and :mod:`recolab.data.users` (user attributes); their public names are
importable from here too.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Mapping
from pathlib import Path

import numpy as np
import pandas as pd

from recolab.data.cells import clean_ids, parse_numbers, parse_timestamps
from recolab.data.columns import (
    ROLE_ALIASES,
    detect_columns,
    list_columns,
    mapped_roles,
)
from recolab.data.interactions import InteractionData, item_titles
from recolab.data.items import (
    ML100K_GENRES,
    load_items,
    read_items,
    titles_from_log,
    with_log_titles,
)
from recolab.data.prices import ITEM_PRICE, add_item_prices, price_report
from recolab.data.report import DataReport
from recolab.data.shilling import detect_shilling
from recolab.data.tables import DELIMITERS, RawTable, read_table
from recolab.data.users import (
    ML100K_USER_COLUMNS,
    USER_ROLE_ALIASES,
    detect_user_id_column,
    load_users,
)
from recolab.data.vocab import Vocabulary
from recolab.errors import DataError

__all__ = [
    "COLD_THRESHOLD",
    "DELIMITERS",
    "DUPLICATE_POLICIES",
    "HEADERLESS_ROLES",
    "MAX_ABS_RATING",
    "MAX_ABS_VALUE",
    "ML100K_GENRES",
    "ML100K_USER_COLUMNS",
    "NON_PRODUCT_CODES",
    "USER_ROLE_ALIASES",
    "RawTable",
    "detect_user_id_column",
    "fill_report_stats",
    "load_interactions",
    "load_items",
    "load_users",
    "parse_timestamps",
    "read_items",
    "read_table",
]

log = logging.getLogger(__name__)

#: Duplicate policies for rows with the same (user, item) pair.
DUPLICATE_POLICIES = ("last", "sum", "mean", "max")

#: Users / items with fewer interactions than this are counted as cold in the report.
COLD_THRESHOLD = 5

#: Ratings beyond ± this are dropped and counted as extreme values.
MAX_ABS_RATING = 1e6

#: Quantities and prices beyond ± this are dropped and counted as extreme values.
MAX_ABS_VALUE = 1e9

#: Ratings mostly within ± this, with some beyond, are flagged as mixed scales.
SMALL_SCALE = 10.0

#: Stock codes of a retail log that are not products (postage, fees, manual adjustments, …).
NON_PRODUCT_CODES = frozenset(
    {
        "POST",
        "DOT",
        "M",
        "D",
        "C2",
        "C3",
        "S",
        "B",
        "BANK CHARGES",
        "PADS",
        "AMAZONFEE",
        "CRUK",
        "ADJUST",
        "ADJUST2",
        "TEST001",
        "TEST002",
    }
)
_NON_PRODUCT_PATTERN = re.compile(r"^gift_\d+_\d+$", re.IGNORECASE)

#: Positional roles of a headerless file, by number of columns.
HEADERLESS_ROLES = {
    2: ("user", "item"),
    3: ("user", "item", "rating"),
    4: ("user", "item", "rating", "timestamp"),
}


def _is_non_product(items: pd.Series) -> pd.Series:
    text = items.astype("string")
    upper = text.str.upper()
    hit = upper.isin(NON_PRODUCT_CODES) | text.str.match(_NON_PRODUCT_PATTERN)
    return hit.fillna(False).astype(bool)


def _assign_roles(raw: RawTable, mapping: Mapping[str, str] | None, name: str) -> dict[str, str]:
    columns = list(raw.frame.columns)
    roles = mapped_roles(mapping, columns, ROLE_ALIASES, name)
    if len(columns) == 1 and raw.fmt == "csv":
        raise DataError(
            "only one column found: no comma, tab, semicolon or | separates the fields "
            "(spaces do not); a log needs at least a user and an item column",
            file=name,
        )
    if raw.header:
        roles.update(detect_columns(columns, taken=roles))
    else:
        positional = HEADERLESS_ROLES.get(len(columns))
        if positional is None and not mapping:
            raise DataError(
                f"no header row and {len(columns)} columns: cannot tell which column is "
                "which; add a header or pass a mapping such as user=col1 item=col2",
                file=name,
            )
        used = set(roles.values())
        for j, role in enumerate(positional or ()):
            col = f"col{j + 1}"
            if role not in roles and col not in used:
                roles[role] = col
    for role in ("user", "item"):
        if role not in roles:
            raise DataError(
                f"no {role} column found; columns found: {list_columns(columns)}. "
                f"Name it (e.g. {ROLE_ALIASES[role][0]}) or pass a mapping {role}=COLUMN",
                file=name,
            )
    return roles


class _Rows:
    """The rows still alive, and the drop reasons checked so far (in order)."""

    def __init__(self, n: int, report: DataReport) -> None:
        self.rows = np.arange(1, n + 1, dtype=np.int64)
        self.alive = np.ones(n, dtype=bool)
        self.checked: list[str] = []
        self.report = report

    def drop(self, reason: str, bad: np.ndarray | pd.Series) -> None:
        """Drop the alive rows where ``bad`` holds, counted under ``reason``."""
        self.checked.append(reason)
        hit = self.alive & np.asarray(bad, dtype=bool)
        count = int(hit.sum())
        if count:
            self.report.drop(reason, count, [int(r) for r in self.rows[hit][:5]])
            self.alive[hit] = False

    def examples(self, mask: np.ndarray) -> str:
        """A few row numbers where ``mask`` holds among alive rows."""
        return ", ".join(str(int(r)) for r in self.rows[self.alive & mask][:5])


def _describe_source(raw: RawTable, report: DataReport) -> None:
    if raw.fmt != "csv":
        report.notes.append("read as Parquet")
        return
    encoding = "utf-8" if raw.encoding in ("utf-8", "utf-8-sig") else raw.encoding
    report.notes.append(
        f"read as text: delimiter {raw.delimiter!r}, encoding {encoding}, "
        + ("header row" if raw.header else "no header row")
        + (f", {raw.compression}-compressed" if raw.compression else "")
    )
    if raw.latin1_bytes:
        report.warnings.append(
            f"{raw.latin1_bytes} bytes were not valid UTF-8 and were read as latin-1 "
            "(a file mixing encodings?); check the ids that hold accented letters"
        )
    if not raw.header:
        report.rules.append(
            "no header: columns taken by position as "
            + ", ".join(f"{r}={c}" for r, c in report.columns.items())
        )


def _repeated_header(df: pd.DataFrame, roles: dict[str, str]) -> np.ndarray:
    """Rows that repeat the header in the user and item columns (concatenated files)."""
    hit = np.ones(len(df), dtype=bool)
    for role in ("user", "item"):
        col = roles[role]
        hit &= (df[col].astype("string").str.strip() == col.strip()).fillna(False).to_numpy()
    return hit


def _ids(df: pd.DataFrame, roles: dict[str, str], rows: _Rows) -> pd.DataFrame:
    """Clean user and item ids; drop and count missing ones and the non-product rows."""
    report = rows.report
    cleaned = {role: clean_ids(df[roles[role]]) for role in ("user", "item")}
    for role, c in cleaned.items():
        report.rules += c.rules(role)
    for role, c in cleaned.items():
        rows.drop(f"missing {role} id", c.empty)
        rows.drop(f"{role} id is an NA marker (NA, null, …) in a numeric column", c.na_marker)
    out = pd.DataFrame({"user": cleaned["user"].ids, "item": cleaned["item"].ids})
    if any(r in roles for r in ("quantity", "invoice", "price")):
        rows.drop("non-product row (postage, fees, adjustments)", _is_non_product(out["item"]))
        report.rules.append(
            "non-product stock codes (postage, carriage, bank charges, fees, manual "
            "adjustments, discounts, gift vouchers: "
            + ", ".join(sorted(NON_PRODUCT_CODES))
            + ", gift_*) are not items: dropped and counted"
        )
    return out


def _number_column(values: pd.Series, what: str, bound: float, rows: _Rows) -> pd.Series:
    """Drop and count missing, non-finite and extreme values of a numeric column."""
    rows.drop(f"missing or unparsable {what}", values.isna().to_numpy())
    rows.drop(f"non-finite {what} (inf)", np.isinf(values.to_numpy()))
    rows.drop(
        f"{what} beyond ±{bound:,.0f} (extreme value)",
        (np.abs(values.fillna(0).to_numpy()) > bound),
    )
    return values


def _log_columns(df: pd.DataFrame, roles: dict[str, str], out: pd.DataFrame, rows: _Rows) -> None:
    """Quantity, returns and price of a purchase log, into ``out``."""
    quantity = None
    if "quantity" in roles:
        quantity = _number_column(
            parse_numbers(df[roles["quantity"]]), "quantity", MAX_ABS_VALUE, rows
        )
    if "quantity" in roles or "invoice" in roles:
        is_return = np.zeros(len(df), dtype=bool)
        if quantity is not None:
            is_return |= (quantity < 0).to_numpy()
        if "invoice" in roles:
            inv = df[roles["invoice"]].astype("string").str.strip().str.upper()
            is_return |= inv.str.startswith("C").fillna(False).to_numpy(dtype=bool)
        rows.drop(
            "return or cancellation (negative quantity or invoice starting with C)", is_return
        )
        rows.report.rules.append(
            "returns (negative quantity, or an invoice number starting with C) are not "
            "positive feedback: dropped and counted; the purchases they cancel are kept"
        )
    if quantity is not None:
        rows.drop("zero quantity", (quantity == 0).to_numpy())
        out["quantity"] = quantity
    if "price" in roles:
        price = _number_column(parse_numbers(df[roles["price"]]), "price", MAX_ABS_VALUE, rows)
        rows.drop("negative price", (price < 0).to_numpy())
        out["price"] = price
        rows.report.rules.append(
            "prices: rows priced below 0 (returns, bad-debt adjustments) are dropped and "
            "counted; rows priced 0 are kept as interactions but not used for the item's "
            "price; an item's price is the median unit price of its rows priced above 0"
        )


def _flag_scales(rating: pd.Series, rows: _Rows) -> None:
    """Warn when most ratings lie on a small scale (within ±10) and some do not."""
    vals = rating.to_numpy()
    alive = rows.alive & np.isfinite(vals)
    if not alive.any():
        return
    small = alive & (np.abs(vals) <= SMALL_SCALE)
    large = alive & ~small
    if large.any() and small.sum() >= 0.5 * alive.sum():
        lo, hi = float(vals[small].min()), float(vals[small].max())
        rows.report.warnings.append(
            f"mixed rating scales in column {rows.report.columns.get('rating')!r}: "
            f"{int(small.sum())} ratings lie in [{lo:g}, {hi:g}] but {int(large.sum())} lie "
            f"beyond ±{SMALL_SCALE:g} (up to {float(np.abs(vals[large]).max()):g}; e.g. rows "
            f"{rows.examples(large)}); put them on one scale, or pass a rating range to "
            "drop the others"
        )


def _rating_column(
    df: pd.DataFrame,
    roles: dict[str, str],
    out: pd.DataFrame,
    rows: _Rows,
    rating_range: tuple[float, float] | None,
) -> None:
    rating = _number_column(parse_numbers(df[roles["rating"]]), "rating", MAX_ABS_RATING, rows)
    if rating_range is not None:
        lo, hi = rating_range
        rows.drop(
            f"rating out of range [{lo:g}, {hi:g}]",
            ((rating < lo) | (rating > hi)).to_numpy(),
        )
    _flag_scales(rating, rows)
    out["rating"] = rating


def _timestamp_column(
    df: pd.DataFrame, roles: dict[str, str], out: pd.DataFrame, rows: _Rows
) -> None:
    ts, rule = parse_timestamps(df[roles["timestamp"]])
    rows.drop("missing or unparsable timestamp", ts.isna().to_numpy())
    out["timestamp"] = ts
    rows.report.rules.append(rule)


def _value_column(out: pd.DataFrame, kind: str, report: DataReport) -> None:
    if kind == "explicit":
        out["value"] = out["rating"].astype("float64")
        report.rules.append("explicit data: value = rating")
    elif "quantity" in out.columns:
        out["value"] = out["quantity"].astype("float64")
        report.rules.append("implicit data: value = quantity bought (summed over repeat rows)")
    else:
        out["value"] = 1.0
        report.rules.append("implicit data: value = number of events for the user-item pair")


def _merge_rule(out: pd.DataFrame, policy: str) -> str:
    extra = []
    if "timestamp" in out.columns:
        extra.append("timestamp = latest")
    if "price" in out.columns:
        extra.append("price = mean unit price")
    if "event" in out.columns:
        extra.append("event = latest")
    return (
        f"rows with the same user and item merged into one: value by policy {policy!r}"
        + (" (latest by timestamp, then file order)" if policy == "last" else "")
        + ("; " + ", ".join(extra) if extra else "")
    )


def _check_options(kind: str | None, duplicate_policy: str | None) -> None:
    if kind not in (None, "explicit", "implicit"):
        raise ValueError(f"kind must be 'explicit' or 'implicit', not {kind!r}")
    if duplicate_policy is not None and duplicate_policy not in DUPLICATE_POLICIES:
        raise ValueError(
            f"duplicate_policy must be one of {', '.join(DUPLICATE_POLICIES)}, "
            f"not {duplicate_policy!r}"
        )


def _clean(
    raw: RawTable,
    roles: dict[str, str],
    report: DataReport,
    rating_range: tuple[float, float] | None,
) -> pd.DataFrame:
    """The cleaned rows (one per kept input row), every dropped row counted in ``report``."""
    df = raw.frame
    rows = _Rows(len(df), report)
    rows.drop("empty line", df.isna().all(axis=1).to_numpy())
    if raw.header:
        rows.drop("repeated header row", _repeated_header(df, roles))
    out = _ids(df, roles, rows)
    _log_columns(df, roles, out, rows)
    if "rating" in roles:
        _rating_column(df, roles, out, rows, rating_range)
    if "timestamp" in roles:
        _timestamp_column(df, roles, out, rows)
    if "event" in roles:
        out["event"] = df[roles["event"]].astype("string").str.strip().fillna("").astype("object")
    if "title" in roles:
        out["title"] = df[roles["title"]]
    report.rules.append(
        "each dropped row is counted once, under the first reason that applies, checked in "
        "this order: " + "; ".join(rows.checked)
    )
    for warning in report.warnings:
        log.warning("%s: %s", report.source, warning)
    return out[rows.alive]


def load_interactions(
    path: str | Path,
    mapping: Mapping[str, str] | None = None,
    *,
    items: str | Path | None = None,
    duplicate_policy: str | None = None,
    kind: str | None = None,
    rating_range: tuple[float, float] | None = None,
    merge: bool = True,
) -> InteractionData:
    """Load an interaction log (ratings, events, purchases) into :class:`InteractionData`.

    Parameters
    ----------
    path:
        CSV, TSV (any of ``,`` ``\\t`` ``;`` ``|``), gzip/bz2/xz-compressed text, or Parquet.
        The header is detected; a headerless file of 2–4 columns is read as user, item
        [, rating [, timestamp]] (MovieLens ``u.data``). Text is UTF-8 (bytes that are not
        are read as latin-1 and counted), UTF-16/32 with a byte-order mark, or latin-1.
    mapping:
        Role → column name (``{"user": "visitor", "item": "sku"}``); overrides detection.
        Roles: user, item, rating, timestamp, quantity, price, event, invoice. Headerless
        columns are called ``col1``, ``col2``, …
    items:
        Optional item catalogue (see :func:`~recolab.data.items.load_items`), attached as
        ``item_meta``; its items join the item vocabulary even without interactions; its
        own counts are on ``report.catalogue``.
    duplicate_policy:
        How rows with the same (user, item) are merged into ``value``: ``"last"`` (latest by
        timestamp, else by file order), ``"sum"``, ``"mean"`` or ``"max"``. Default: ``"last"``
        for explicit data, ``"sum"`` for implicit data (so ``value`` counts events, or sums
        quantities when there is a quantity column).
    kind:
        ``"explicit"`` or ``"implicit"``; default explicit exactly when a rating column exists.
    rating_range:
        ``(low, high)``: ratings outside are dropped and counted.
    merge:
        ``False`` keeps one row per input row (a (user, item) pair bought twice stays two
        rows) so that a time split can cut between them; each half is then merged with
        :func:`~recolab.data.splits.merge_pairs`. Default ``True``.

    Returns
    -------
    InteractionData
        With ``report`` filled; ``report.check_balance()`` holds. Ids are cleaned per
        :func:`~recolab.data.cells.clean_ids` (NA-like words are ids unless the column is
        numeric; ``17.0`` is ``17``); timestamps are parsed per cell; ratings beyond ±1e6
        and quantities or prices beyond ±1e9 are dropped and counted; mixed rating scales
        are flagged in ``report.warnings``.

    Raises
    ------
    DataError
        Not a readable table (see :func:`~recolab.data.tables.read_table`), no user or item
        column, mapping naming a missing column, or no usable rows after cleaning.

    Examples
    --------
    >>> data = load_interactions("sample_data/ml-100k/u.data")  # doctest: +SKIP
    >>> data.n_users, data.n_items, data.kind  # doctest: +SKIP
    (943, 1682, 'explicit')
    """
    name = str(path)
    _check_options(kind, duplicate_policy)
    out, roles, report = _read_clean(name, mapping, kind, rating_range)
    titles, varied = (
        titles_from_log(out["item"], out.pop("title")) if "title" in roles else (None, 0)
    )
    if "price" in out.columns:
        out = add_item_prices(out, report.prices)
    out = _merge_rows(out, report, duplicate_policy, merge)
    meta, listed = _item_meta(items, titles, report)
    data = _build(out, kind=report.kind, item_meta=meta, report=report, name=Path(name).name)
    if titles is not None:
        _note_titles(data, report, roles["title"], varied)
    if listed is not None:  # a catalogue file was given (titles alone are not one)
        _note_catalogue(data, report, items, listed)
    _finish_report(data, report)
    return data


def _item_meta(
    items: str | Path | None, titles: pd.Series | None, report: DataReport
) -> tuple[pd.DataFrame | None, pd.Index | None]:
    """The item catalogue file (its counts on ``report.catalogue``) with the log's titles,
    and the ids the file itself lists (``None`` without a file)."""
    meta, listed = None, None
    if items is not None:
        meta, report.catalogue = read_items(items)
        listed = meta.index
    if titles is not None:
        meta = with_log_titles(meta, titles)
    return meta, listed


def _finish_report(data: InteractionData, report: DataReport) -> None:
    """The report's statistics, prices and suspicious profiles; every row accounted for."""
    fill_report_stats(data, report)
    report.prices.update(price_report(data))
    report.shilling = detect_shilling(data).summary(data)
    report.check_balance()
    log.info("%s: kept %d of %d rows", report.source, report.rows_kept, report.rows_read)


def _read_clean(
    name: str,
    mapping: Mapping[str, str] | None,
    kind: str | None,
    rating_range: tuple[float, float] | None,
) -> tuple[pd.DataFrame, dict[str, str], DataReport]:
    """Read the table, assign column roles, settle the kind and clean every row (drops
    counted on the report); the cleaned rows carry ``value``."""
    raw = read_table(name)
    roles = _assign_roles(raw, mapping, name)
    n = len(raw.frame)
    report = DataReport(source=name, rows_read=n)
    report.columns = {role: roles[role] for role in ROLE_ALIASES if role in roles}
    _describe_source(raw, report)
    if kind is None:
        kind = "explicit" if "rating" in roles else "implicit"
    if kind == "explicit" and "rating" not in roles:
        raise DataError(
            "kind='explicit' needs a rating column; columns found: "
            + list_columns(list(raw.frame.columns)),
            file=name,
        )
    report.kind = kind
    out = _clean(raw, roles, report, rating_range)
    if len(out) == 0:
        reasons = "; ".join(f"{k}: {v}" for k, v in report.dropped.items())
        raise DataError(
            f"no usable rows after cleaning: all {n} rows were dropped ({reasons})", file=name
        )
    _value_column(out, kind, report)
    return out, roles, report


def _merge_rows(
    out: pd.DataFrame, report: DataReport, duplicate_policy: str | None, merge: bool
) -> pd.DataFrame:
    """Merge the rows of each (user, item) pair by the policy (unless ``merge`` is off),
    stating the policy and the count on the report."""
    policy = duplicate_policy or ("last" if report.kind == "explicit" else "sum")
    report.duplicate_policy = policy
    out, merged = _merge_duplicates(out, policy, report.kind) if merge else (out, 0)
    if not merge:
        out = out.reset_index(drop=True)
    report.duplicates_merged = merged
    if merged:
        report.rules.append(_merge_rule(out, policy))
    report.rows_kept = len(out)
    return out


def _note_catalogue(
    data: InteractionData, report: DataReport, items: str | Path | None, listed: pd.Index
) -> None:
    """Note the given item catalogue on the report: its size and the interacted items it
    lacks (whatever titles the log itself gives them)."""
    missing = int((~data.frame["item"].drop_duplicates().isin(listed)).sum())
    report.notes.append(
        f"item catalogue {items}: {len(listed)} items; "
        f"{missing} interacted items have no catalogue entry"
    )


def _note_titles(data: InteractionData, report: DataReport, column: str, varied: int) -> None:
    """Say in the report where titles came from and how many items have none."""
    found = item_titles(data) or []
    missing = sum(1 for t in found if not t.strip()) if found else data.n_items
    report.rules.append(
        f"item titles from column {column!r}: each item's most frequent non-empty value "
        f"({varied} items had more than one)"
    )
    report.notes.append(
        f"items with a title: {data.n_items - missing} of {data.n_items}; "
        f"without one (shown by id): {missing}"
    )


def _build(
    frame: pd.DataFrame,
    *,
    kind: str,
    item_meta: pd.DataFrame | None,
    report: DataReport,
    name: str,
) -> InteractionData:
    """Same result as :func:`build_interactions` (ids in first-seen order, then catalogue
    items without interactions), computed with :func:`pandas.factorize` for speed."""
    frame = frame.reset_index(drop=True)
    frame["user"] = frame["user"].astype("str")
    frame["item"] = frame["item"].astype("str")
    ucodes, uniq_users = pd.factorize(frame["user"])
    icodes, uniq_items = pd.factorize(frame["item"])
    item_ids = np.asarray(uniq_items, dtype=object)
    if item_meta is not None and len(item_meta):
        meta_ids = pd.Index(item_meta.index.astype("str"))
        extra = meta_ids[~meta_ids.isin(item_ids)].unique()
        item_ids = np.concatenate([item_ids, np.asarray(extra, dtype=object)])
    frame["user_idx"] = ucodes.astype(np.int64)
    frame["item_idx"] = icodes.astype(np.int64)
    return InteractionData(
        users=Vocabulary(np.asarray(uniq_users, dtype=object)),
        items=Vocabulary(item_ids),
        frame=frame,
        kind=kind,
        item_meta=item_meta,
        report=report,
        name=name,
    )


def _merge_duplicates(out: pd.DataFrame, policy: str, kind: str) -> tuple[pd.DataFrame, int]:
    """Merge rows with the same (user, item); returns the frame and how many rows merged."""
    ucodes, _ = pd.factorize(out["user"])
    icodes, iuniq = pd.factorize(out["item"])
    key = ucodes.astype(np.int64) * max(len(iuniq), 1) + icodes
    dup = pd.Series(key).duplicated(keep=False).to_numpy()
    if not dup.any():
        return out.reset_index(drop=True), 0
    out = out.reset_index(drop=True)
    out["_key"] = key
    out["_pos"] = np.arange(len(out))
    if "timestamp" in out.columns:
        out = out.sort_values("timestamp", kind="mergesort")
    agg: dict[str, str] = {"user": "first", "item": "first", "value": policy, "_pos": "min"}
    if "rating" in out.columns:
        agg["rating"] = policy if kind == "explicit" else "last"
    if "quantity" in out.columns:
        agg["quantity"] = policy if kind == "implicit" else "sum"
    if "price" in out.columns:
        agg["price"] = "mean"
    if ITEM_PRICE in out.columns:
        agg[ITEM_PRICE] = "first"  # the same on every row of an item
    if "timestamp" in out.columns:
        agg["timestamp"] = "max"
    if "event" in out.columns:
        agg["event"] = "last"
    merged = out.groupby("_key", sort=False).agg(agg)
    # keep pairs in the order of their first appearance in the file
    merged = merged.sort_values("_pos", kind="mergesort").drop(columns="_pos")
    n_merged = len(out) - len(merged)
    return merged.reset_index(drop=True), n_merged


def fill_report_stats(data: InteractionData, report: DataReport) -> None:
    """Fill size, density and cold-start counts of ``report`` from ``data``."""
    report.n_users = data.n_users
    report.n_items = data.n_items
    report.n_interactions = data.n_interactions
    report.density = data.density()
    per_user = np.bincount(data.frame["user_idx"].to_numpy(), minlength=data.n_users)
    per_item = np.bincount(data.frame["item_idx"].to_numpy(), minlength=data.n_items)
    report.cold_users = int((per_user < COLD_THRESHOLD).sum())
    report.cold_items = int((per_item < COLD_THRESHOLD).sum())
