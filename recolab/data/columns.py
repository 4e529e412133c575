"""Column roles and their detection from header names.

A *role* is what a column means to recolab (``user``, ``item``, ``rating``, …); the source
file may call it anything. Detection compares names after normalisation (lower case, only
letters and digits kept), so ``userId``, ``user_id``, ``User ID`` and ``USERID`` all match the
alias ``userid``.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence

from recolab.errors import DataError

#: Header names of an item's title or name, most specific first (after :func:`normalise`).
TITLE_ALIASES: tuple[str, ...] = (
    "title",
    "name",
    "movietitle",
    "productname",
    "producttitle",
    "itemname",
    "itemtitle",
    "booktitle",
    "articlename",
)

#: Header names of an item's description, most specific first (after :func:`normalise`).
DESCRIPTION_ALIASES: tuple[str, ...] = (
    "description",
    "productdescription",
    "itemdescription",
    "stockdescription",
    "desc",
    "summary",
    "overview",
    "text",
    "plot",
    "details",
)

#: Aliases per interaction-file role, most specific first. Compared after :func:`normalise`.
ROLE_ALIASES: dict[str, tuple[str, ...]] = {
    "user": (
        "userid",
        "user",
        "customerid",
        "customer",
        "visitorid",
        "visitor",
        "reviewerid",
        "reviewer",
        "uid",
        "clientid",
        "client",
        "memberid",
        "accountid",
        "username",
    ),
    "item": (
        "movieid",
        "itemid",
        "item",
        "stockcode",
        "asin",
        "productid",
        "product",
        "sku",
        "articleid",
        "bookid",
        "isbn",
        "trackid",
        "songid",
        "contentid",
        "iid",
        "movie",
    ),
    "rating": ("rating", "score", "stars", "overall", "ratingvalue", "bookrating"),
    "timestamp": (
        "timestamp",
        "time",
        "date",
        "invoicedate",
        "eventtime",
        "datetime",
        "unixreviewtime",
        "ts",
        "createdat",
        "eventdate",
        "orderdate",
    ),
    "quantity": ("quantity", "qty"),
    "price": ("unitprice", "price"),
    "event": ("event", "eventtype", "action", "interaction", "behavior", "behaviour"),
    "invoice": ("invoiceno", "invoice", "invoiceid", "orderid", "order", "transactionid"),
    # the item's name, repeated on each row of a log (the Online Retail log's Description):
    # each item's most frequent non-empty value becomes its title
    "title": TITLE_ALIASES + DESCRIPTION_ALIASES[:4],
}

#: Aliases per item-catalogue role (used by :func:`recolab.data.io.load_items`).
ITEM_ROLE_ALIASES: dict[str, tuple[str, ...]] = {
    "item": ROLE_ALIASES["item"],
    "title": TITLE_ALIASES,
    "description": DESCRIPTION_ALIASES,
    "genres": ("genres", "genre", "category", "categories", "tags", "categoryid"),
    "price": ("unitprice", "price"),
}

#: Roles a mapping may name for interaction files.
ROLES = tuple(ROLE_ALIASES)


def normalise(name: object) -> str:
    """Lower-case ``name`` and keep only letters and digits (``"User ID"`` → ``"userid"``)."""
    return re.sub(r"[^0-9a-z]", "", str(name).lower())


def detect_columns(
    names: Sequence[str],
    aliases: Mapping[str, Sequence[str]] = ROLE_ALIASES,
    *,
    taken: Mapping[str, str] | None = None,
) -> dict[str, str]:
    """Map roles to the columns of ``names`` that look like them.

    Parameters
    ----------
    names:
        Column names as found in the file.
    aliases:
        Role → aliases, most specific first.
    taken:
        Roles already assigned (role → column); those roles and columns are skipped.

    Returns
    -------
    dict
        Role → column name, for the roles found. Each column takes at most one role; roles
        are filled in the order of ``aliases``, and for each role the earliest alias wins.

    Examples
    --------
    >>> detect_columns(["UserId", "movie_id", "Rating", "ts"])
    {'user': 'UserId', 'item': 'movie_id', 'rating': 'Rating', 'timestamp': 'ts'}
    """
    taken = dict(taken or {})
    used = set(taken.values())
    by_norm: dict[str, str] = {}
    for n in names:
        by_norm.setdefault(normalise(n), n)
    found: dict[str, str] = {}
    for role, role_aliases in aliases.items():
        if role in taken:
            continue
        for alias in role_aliases:
            col = by_norm.get(alias)
            if col is not None and col not in used:
                found[role] = col
                used.add(col)
                break
    return found


def resolve_column(name: str, names: Sequence[str]) -> str | None:
    """The column of ``names`` that ``name`` refers to: exact match, else case-insensitive."""
    if name in names:
        return name
    lowered = [n for n in names if str(n).lower() == name.lower()]
    return lowered[0] if len(lowered) == 1 else None


def list_columns(names: Sequence[str], *, limit: int = 30, width: int = 40) -> str:
    """Column names for a message: each cut to ``width`` characters, at most ``limit``."""
    shown = [n if len(n) <= width else n[: width - 1] + "…" for n in map(str, names[:limit])]
    more = len(names) - limit
    return ", ".join(shown) + (f", … ({more} more)" if more > 0 else "")


def mapped_roles(
    mapping: Mapping[str, str] | None,
    columns: list[str],
    aliases: Mapping[str, object],
    name: str,
) -> dict[str, str]:
    """Resolve an explicit role → column mapping against a file's columns.

    Raises
    ------
    DataError
        An unknown role, or a column the file lacks (naming the file and the column).
    """
    roles: dict[str, str] = {}
    for role, col in (mapping or {}).items():
        if role not in aliases:
            raise DataError(
                f"unknown role {role!r} in the column mapping; roles are " + ", ".join(aliases),
                file=name,
            )
        resolved = resolve_column(str(col), columns)
        if resolved is None:
            raise DataError(
                f"the mapping names column {col!r} for {role}, but the file has no such "
                f"column; columns found: {list_columns(columns)}",
                file=name,
                column=str(col),
            )
        roles[role] = resolved
    return roles
