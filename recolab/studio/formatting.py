"""How values read on the pages: metric cards, card values, byte sizes, seconds, the
model names of the Train page and the Trade-offs page's example list as HTML.
"""

from __future__ import annotations

import html
import math
from collections.abc import Mapping

import numpy as np
import pandas as pd

from recolab.bundle.card import CARD_METRICS, format_bytes, format_value

__all__ = [
    "CARD_METRICS",
    "MODEL_LABELS",
    "card_value",
    "format_bytes",
    "format_value",
    "list_html",
    "metric_cards",
]

#: The Train page's names of the models ``TrainConfig.model`` can ask for.
MODEL_LABELS = {
    "auto": "Tuned base + trade-off re-ranker (default)",
    "weighted": "λ-conditioned network",
}


def metric_cards(
    metrics: Mapping[str, float],
    k: int,
    *,
    sparsity: float | None,
    size_bytes: int | None,
    train_seconds: float | None,
    baseline: Mapping[str, float] | None = None,
) -> list[tuple[str, str, str | None]]:
    """Cards of the Trade-offs page: (label, value, delta vs ``baseline``, or ``None`` without
    a baseline or when the change rounds to 0 at the shown precision). Values keep three
    significant decimals (:func:`card_value`) so that they fit a card at 1024 px."""
    cards: list[tuple[str, str, str | None]] = []
    for label, template in CARD_METRICS:
        col = template.format(k=k)
        value = metrics.get(col)
        delta = None
        if baseline is not None and value is not None and baseline.get(col) is not None:
            d = float(value) - float(baseline[col])
            # no arrow for a change that rounds to zero (it read "↑ +0.0000")
            delta = card_value(d, signed=True) if abs(d) >= 5e-4 else None
        cards.append((f"{label}@{k}", card_value(value), delta))
    cards.append(("Sparsity", f"{sparsity:.1%}" if sparsity is not None else "–", None))
    cards.append(("Size", format_bytes(size_bytes), None))
    cards.append(("Train time", _seconds(train_seconds), None))
    return cards


def card_value(value: float | None, signed: bool = False) -> str:
    """A metric card's value: 3 decimals below 10 (``0.312``), 2 below 100 (``12.70``),
    none above (``1,234``); ``"–"`` for None/NaN. ``signed`` adds the sign (deltas)."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "–"
    v = float(value)
    digits = 3 if abs(v) < 10 else 2 if abs(v) < 100 else 0
    return f"{v:+,.{digits}f}" if signed else f"{v:,.{digits}f}"


def _seconds(value: float | None) -> str:
    if not value:
        return "–"
    return f"{value:.1f} s" if value < 100 else f"{value:,.0f} s"


#: The look of :func:`list_html`'s tables (Streamlit's light theme; long text wraps).
LIST_STYLE = (
    "<style>table.recolab-list{border-collapse:collapse;width:100%;font-size:0.875rem}"
    "table.recolab-list th,table.recolab-list td{padding:0.3rem 0.5rem;text-align:left;"
    "vertical-align:top;border-bottom:1px solid rgba(49,51,63,0.1)}"
    "table.recolab-list th{font-weight:600;color:rgba(49,51,63,0.6)}</style>"
)


def list_html(frame: pd.DataFrame, digits: int = 4) -> str:
    """``frame`` as one HTML table of class ``recolab-list`` (after :data:`LIST_STYLE`):
    text escaped, floats to ``digits`` decimals, missing values empty.

    The Trade-offs page draws its example list this way: the browser lays it out in one
    piece, where ``st.table`` renders every cell as Markdown of its own (about 20 ms more
    a slider move on ML-100K, ``benchmarks/RESULTS.md``, "Dashboard").

    >>> table = list_html(pd.DataFrame({"title": ["Heat <1995>"], "score": [0.12345]}))
    >>> table[table.index("<tbody>") :]
    '<tbody><tr><td>Heat &lt;1995&gt;</td><td>0.1235</td></tr></tbody></table>'
    """

    def cell(value: object) -> str:
        if value is None or (isinstance(value, float | np.floating) and math.isnan(value)):
            return ""
        if isinstance(value, float | np.floating):
            return f"{value:.{digits}f}"
        return html.escape(str(value))

    head = "".join(f"<th>{html.escape(str(c))}</th>" for c in frame.columns)
    rows = "".join(
        "<tr>" + "".join(f"<td>{cell(v)}</td>" for v in row) + "</tr>"
        for row in frame.itertuples(index=False, name=None)
    )
    return (
        f'{LIST_STYLE}<table class="recolab-list"><thead><tr>{head}</tr></thead>'
        f"<tbody>{rows}</tbody></table>"
    )
