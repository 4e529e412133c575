"""Reading an item catalogue (titles, descriptions, genres, prices), every row accounted for."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from pathlib import Path

import numpy as np
import pandas as pd

from recolab.data.cells import clean_ids, finite_numbers
from recolab.data.columns import ITEM_ROLE_ALIASES, detect_columns, list_columns, mapped_roles
from recolab.data.report import CatalogueReport
from recolab.data.tables import RawTable, read_table
from recolab.errors import DataError

log = logging.getLogger(__name__)

#: ML-100K genre names in flag order (used when ``u.genre`` is not beside ``u.item``).
ML100K_GENRES = (
    "unknown",
    "Action",
    "Adventure",
    "Animation",
    "Children's",
    "Comedy",
    "Crime",
    "Documentary",
    "Drama",
    "Fantasy",
    "Film-Noir",
    "Horror",
    "Musical",
    "Mystery",
    "Romance",
    "Sci-Fi",
    "Thriller",
    "War",
    "Western",
)


def _join_text(parts: list[pd.Series]) -> pd.Series:
    cleaned = [p.fillna("").astype("str").str.strip() for p in parts]
    stacked = pd.concat(cleaned, axis=1)
    return stacked.apply(lambda r: ". ".join(x for x in r if x), axis=1).astype("str")


def _is_ml100k_items(raw: RawTable) -> bool:
    return not raw.header and raw.delimiter == "|" and raw.frame.shape[1] == 5 + len(ML100K_GENRES)


def _ml100k_genre_names(path: Path) -> list[str]:
    genre_file = path.with_name("u.genre")
    if genre_file.is_file():
        try:
            g = pd.read_csv(
                genre_file,
                sep="|",
                header=None,
                names=["name", "idx"],
                encoding="latin-1",
                dtype={"name": str, "idx": "Int64"},
            ).dropna()
        except (ValueError, OSError):
            g = pd.DataFrame()
        if len(g) == len(ML100K_GENRES):
            return list(g.sort_values("idx")["name"])
    return list(ML100K_GENRES)


def _ml100k_columns(path: Path, df: pd.DataFrame) -> pd.DataFrame:
    """Title, release date, URL and ``|``-joined genres of ML-100K ``u.item`` rows."""
    genre_names = np.asarray(_ml100k_genre_names(path))
    flags = df.iloc[:, 5:].apply(pd.to_numeric, errors="coerce").fillna(0).to_numpy() > 0
    out = pd.DataFrame(
        {
            "title": df["col2"].fillna("").astype("str").to_numpy(),
            "release_date": df["col3"].fillna("").astype("str").to_numpy(),
            "url": df["col5"].fillna("").astype("str").to_numpy(),
            "genres": ["|".join(genre_names[f]) for f in flags],
        },
    )
    out["text"] = _join_text([out["title"], out["genres"].str.replace("|", ", ")])
    return out


def _item_roles(raw: RawTable, mapping: Mapping[str, str] | None, name: str) -> dict[str, str]:
    columns = list(raw.frame.columns)
    roles: dict[str, str] = mapped_roles(mapping, columns, ITEM_ROLE_ALIASES, name)
    if raw.header:
        roles.update(detect_columns(columns, ITEM_ROLE_ALIASES, taken=roles))
    elif "item" not in roles:
        roles["item"] = "col1"
        if len(columns) >= 2 and "title" not in roles:
            roles["title"] = "col2"
    if "item" not in roles:
        raise DataError(
            "no item id column found; columns found: " + list_columns(columns), file=name
        )
    return roles


def _keep_rows(
    df: pd.DataFrame, id_col: str, report: CatalogueReport
) -> tuple[pd.Series, np.ndarray]:
    """Clean ids; drop (and count) empty lines, missing ids and repeated ids."""
    rows = np.arange(1, len(df) + 1, dtype=np.int64)
    alive = np.ones(len(df), dtype=bool)

    def drop(reason: str, bad: np.ndarray) -> None:
        hit = alive & bad
        report.drop(reason, int(hit.sum()), [int(r) for r in rows[hit][:5]])
        alive[hit] = False

    drop("empty line", df.isna().all(axis=1).to_numpy())
    cleaned = clean_ids(df[id_col])
    report.rules += cleaned.rules("item")
    drop("missing item id", cleaned.empty)
    drop("item id is an NA marker (NA, null, …) in a numeric column", cleaned.na_marker)
    ids = cleaned.ids
    repeat = ids.duplicated(keep="first").to_numpy() & ids.notna().to_numpy()
    drop("item id repeated (the first row is kept)", repeat)
    return ids, alive


def read_items(
    path: str | Path, mapping: Mapping[str, str] | None = None
) -> tuple[pd.DataFrame, CatalogueReport]:
    """Load an item catalogue and say what was kept and dropped.

    As :func:`load_items`, also returning a :class:`~recolab.data.report.CatalogueReport`
    whose counts add up (rows read = kept + dropped: empty lines, missing or repeated ids).
    """
    path = Path(path)
    name = str(path)
    raw = read_table(path)
    df = raw.frame
    report = CatalogueReport(source=name, rows_read=len(df))
    ml100k = not mapping and _is_ml100k_items(raw)
    roles = {"item": "col1"} if ml100k else _item_roles(raw, mapping, name)
    ids, keep = _keep_rows(df, roles["item"], report)
    if ml100k:
        out = _ml100k_columns(path, df[keep])
        out.index = pd.Index(ids[keep].astype("str").to_numpy(), name="item")
    else:
        out = pd.DataFrame(index=pd.Index(ids[keep].astype("str").to_numpy(), name="item"))
        for role in ("title", "description", "genres"):
            if role in roles:
                col = df.loc[keep, roles[role]].fillna("").astype("str").str.strip()
                out[role] = col.to_numpy()
        if "price" in roles:
            out["price"] = finite_numbers(df.loc[keep, roles["price"]]).to_numpy()
        parts = [out[r] for r in ("title", "description", "genres") if r in out.columns]
        out["text"] = _join_text(parts) if parts else ""
    report.rows_kept = len(out)
    report.check_balance()
    if report.dropped:
        log.info("%s: catalogue rows dropped: %s", name, report.dropped)
    return out, report


def load_items(path: str | Path, mapping: Mapping[str, str] | None = None) -> pd.DataFrame:
    """Load an item catalogue, indexed by item id (str).

    Parameters
    ----------
    path:
        CSV/TSV/Parquet with an item id column and any of title, description, genres (or
        category/tags), price; or MovieLens-100K ``u.item`` (latin-1, ``|``-separated, no
        header, 19 genre flags; genre names from ``u.genre`` beside it).
    mapping:
        Role → column (roles: item, title, description, genres, price); overrides detection.

    Returns
    -------
    pandas.DataFrame
        Index ``item``; columns found among ``title``, ``description``, ``genres``, ``price``
        (ML-100K adds ``release_date``, ``url``; genres ``|``-separated), and ``text`` = the
        non-empty of title, description and genres joined by ``". "`` — what the text encoder
        embeds. Duplicate ids keep their first row. :func:`read_items` also says what was
        dropped.

    Raises
    ------
    DataError
        As :func:`~recolab.data.tables.read_table`, or no item id column.
    """
    return read_items(path, mapping)[0]


def titles_from_log(items: pd.Series, titles: pd.Series) -> tuple[pd.Series, int]:
    """Each item's title from a log that repeats it on every row (the Online Retail log's
    Description): the item's most frequent non-empty value, the first seen on a tie.

    Parameters
    ----------
    items, titles:
        The item id and the title cell of each kept row (aligned).

    Returns
    -------
    (titles, varied)
        Title per item id (str index ``item``; items whose rows are all empty are absent)
        and how many items had more than one distinct non-empty title.
    """
    text = titles.astype("string").str.strip()
    pairs = pd.DataFrame(
        {"item": items.astype("str").to_numpy(), "title": text.to_numpy()}
    ).dropna()
    pairs = pairs[pairs["title"] != ""]
    if pairs.empty:
        return pd.Series([], index=pd.Index([], name="item"), dtype=object), 0
    counts = pairs.groupby(["item", "title"], sort=False).size().reset_index(name="n")
    varied = int((counts["item"].value_counts() > 1).sum())
    best = counts.sort_values("n", ascending=False, kind="stable").drop_duplicates("item")
    out = pd.Series(
        best["title"].astype(str).to_numpy(),
        index=pd.Index(best["item"].to_numpy(), name="item"),
        dtype=object,
    )
    return out, varied


def with_log_titles(item_meta: pd.DataFrame | None, titles: pd.Series) -> pd.DataFrame | None:
    """Item metadata with the titles read from the log (see :func:`titles_from_log`).

    Without a catalogue: a table of ``title`` and ``text`` (= the title, what the text
    encoder embeds). With one: its own titles (or descriptions) win; the log's fill the
    items it leaves without one, and items it lacks get a row.
    """
    if titles.empty:
        return item_meta
    if item_meta is None:
        return pd.DataFrame({"title": titles, "text": titles}, index=titles.index)
    meta = item_meta.copy()
    meta.index = meta.index.astype(str)
    own = next((c for c in ("title", "description") if c in meta.columns), None)
    current = meta[own].fillna("").astype(str).str.strip() if own else pd.Series("", meta.index)
    meta["title"] = current.where(current != "", titles.reindex(meta.index)).fillna("")
    extra = titles[~titles.index.isin(meta.index)]
    if len(extra):
        rows = pd.DataFrame({"title": extra, "text": extra}, index=extra.index)
        meta = pd.concat([meta, rows])
    text = meta["text"].fillna("").astype(str) if "text" in meta.columns else meta["title"]
    meta["text"] = text.where(text.str.strip() != "", meta["title"])
    meta.index.name = "item"
    return meta
