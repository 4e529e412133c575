"""Item prices: the median unit price per item from a log's price column, or the catalogue's.

A purchase log (Online Retail: ``UnitPrice``, ``Quantity``) says what each item sold for.
Revenue metrics (:func:`recolab.metrics.revenue_metrics`) and the revenue re-ranker
(:class:`recolab.rerank.RevenueBoost`) need one price per item, so loading computes it
before duplicate rows are merged (:func:`add_item_prices`): the median of the item's
unit prices over the kept rows with a price above zero, put on every row of the item as
column :data:`ITEM_PRICE`. The price is an attribute of the item, not of a user's
behaviour, so every split of the data carries the same value.

Rules, each counted in :attr:`recolab.data.report.DataReport.prices`:

* rows with a negative price are dropped while loading (counted under "negative price";
  in the retail log they are bad-debt adjustments);
* rows with price 0 (free samples, manual fixes) are kept as interactions but give the item
  no price;
* an item with no row priced above 0 and no catalogue price has **no** price: it is
  counted, its price is NaN, and revenue metrics count its hits as 0 (saying how many).

A catalogue price (the item file's price column) above 0 takes precedence over the log's.

Examples
--------
>>> import pandas as pd
>>> rows = pd.DataFrame({"item": ["a", "a", "a", "b"], "price": [1.0, 3.0, 0.0, 0.0]})
>>> counts: dict[str, int] = {}
>>> add_item_prices(rows, counts)["item_price"].tolist()
[2.0, 2.0, 2.0, nan]
>>> counts["log rows with price 0 (kept as interactions, not used for item prices)"]
2
"""

from __future__ import annotations

import functools
import logging
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from recolab.data.interactions import InteractionData

__all__ = ["ITEM_PRICE", "ItemPrices", "add_item_prices", "item_prices", "price_report"]

logger = logging.getLogger(__name__)

#: Frame column holding the item's median unit price (NaN when it has none).
ITEM_PRICE = "item_price"

ZERO_ROWS = "log rows with price 0 (kept as interactions, not used for item prices)"


def add_item_prices(rows: pd.DataFrame, counts: dict[str, int]) -> pd.DataFrame:
    """Add :data:`ITEM_PRICE`, the median of each item's unit prices above 0, to ``rows``.

    Parameters
    ----------
    rows:
        Cleaned log rows with ``item`` and ``price`` (one per input row, before duplicates
        are merged). Negative prices must already be dropped.
    counts:
        Where the rows with price 0 are counted (see the module rules).

    Returns
    -------
    pandas.DataFrame
        ``rows`` with the column added (NaN for items without a price above 0).

    Raises
    ------
    ValueError
        If a negative price is left (loading drops them first).
    """
    price = pd.to_numeric(rows["price"], errors="coerce")
    if (price < 0).any():
        raise ValueError("add_item_prices: negative prices must be dropped (and counted) first")
    positive = price > 0
    counts[ZERO_ROWS] = int((price == 0).sum())
    median = price[positive].groupby(rows.loc[positive, "item"]).median()
    rows = rows.copy()
    rows[ITEM_PRICE] = rows["item"].map(median).astype("float64")
    return rows


@dataclass(frozen=True)
class ItemPrices:
    """One price per item index.

    Attributes
    ----------
    values:
        float64 ``(n_items,)``: the price, NaN where the item has none (never 0 for unknown).
    source:
        Where the prices come from, in words.
    counts:
        ``{"items with a price": …, "items without a price": …, …}``.
    """

    values: np.ndarray
    source: str
    counts: dict[str, int] = field(default_factory=dict)

    @property
    def known(self) -> np.ndarray:
        """bool ``(n_items,)``: items with a price."""
        return np.isfinite(self.values)

    def filled(self) -> np.ndarray:
        """The prices with NaN replaced by 0: what a hit on an unpriced item adds to revenue."""
        return np.where(self.known, self.values, 0.0)


def _log_prices(data: InteractionData) -> np.ndarray | None:
    """Per item index, the log's median unit price (NaN unknown); None without a log price."""
    frame = data.frame
    if ITEM_PRICE not in frame.columns:
        return None
    per_item = frame.groupby("item_idx")[ITEM_PRICE].first()
    out = np.full(data.n_items, np.nan)
    out[per_item.index.to_numpy(dtype=np.int64)] = per_item.to_numpy(dtype=np.float64)
    return out


def _catalogue_prices(data: InteractionData) -> tuple[np.ndarray | None, int]:
    """Per item index, the catalogue price above 0 (NaN otherwise), and how many catalogue
    prices were ≤ 0; None without a catalogue price column."""
    meta = data.item_meta
    if meta is None or "price" not in meta.columns:
        return None, 0
    raw = pd.to_numeric(meta["price"], errors="coerce")
    raw.index = raw.index.astype("str")
    raw = raw[~raw.index.duplicated(keep="first")]
    values = raw.reindex(pd.Index(data.items.ids).astype("str")).to_numpy(dtype=np.float64)
    nonpositive = int((values <= 0).sum())
    return np.where(values > 0, values, np.nan), nonpositive


def item_prices(data: InteractionData, *others: InteractionData) -> ItemPrices | None:
    """The price of every item of ``data`` (and of ``others`` sharing its vocabulary, e.g.
    the test half of a split, whose rows carry the same item prices).

    Catalogue prices above 0 first, then the log's median unit price. Returns ``None`` when
    neither a catalogue price column nor a log price column exists: then nothing about
    revenue can be said, and callers report no revenue metric at all.
    """
    log_parts = [p for p in (_log_prices(d) for d in (data, *others)) if p is not None]
    catalogue, nonpositive = _catalogue_prices(data)
    if not log_parts and catalogue is None:
        return None
    values = np.full(data.n_items, np.nan)
    sources = []
    if catalogue is not None:
        values = catalogue.copy()
        sources.append("catalogue price column (above 0)")
    if log_parts:
        log_values = functools.reduce(np.fmax, log_parts)  # NaN only where all are NaN
        values = np.where(np.isfinite(values), values, log_values)
        sources.append("median unit price of the log's rows priced above 0")
    known = np.isfinite(values)
    counts = {
        "items with a price": int(known.sum()),
        "items without a price (no row priced above 0, no catalogue price)": int((~known).sum()),
    }
    if catalogue is not None:
        counts["catalogue prices ≤ 0 (not used)"] = nonpositive
    return ItemPrices(values=values, source=", then ".join(sources), counts=counts)


def price_report(data: InteractionData) -> dict[str, int]:
    """The price counts for the data report: items with and without a price, and the
    ``counts`` loading left on the report; empty when the data have no prices."""
    prices = item_prices(data)
    if prices is None:
        return {}
    counts = dict(prices.counts)
    interacted = np.zeros(data.n_items, dtype=bool)
    interacted[data.frame["item_idx"].to_numpy(dtype=np.int64)] = True
    counts["interacted items without a price"] = int((interacted & ~prices.known).sum())
    return counts
