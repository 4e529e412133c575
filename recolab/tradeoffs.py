"""What the Trade-offs page reads at any λ without ranking users again.

At the end of training the served mechanism's front is measured on validation at 101 λ
(:func:`recolab.pipeline.validation_fine_front`, stored as ``fine_front`` in the job's
``result.json``). Moving the λ slider then costs an interpolation between two measured
points, not a pass over every user, so the cards, the front and its marker follow the
slider at once and the marker sits at the exact λ.

Nothing here imports streamlit; the page caches :class:`TradeoffView` per job.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class TradeoffView:
    """The λ-independent part of the Trade-offs page for one job.

    Attributes
    ----------
    fine:
        The served mechanism's validation front at many λ (sorted by ``lam``; empty when
        the job stored none, e.g. the λ-conditioned network or an older job).
    curve, refs:
        The test front (the model's rows) and its peers (popularity, EASE…), measured once.
    result:
        The job's ``result.json``.
    key:
        An identity of the job's version for caches keyed by it (the page sets it).
    """

    fine: pd.DataFrame
    curve: pd.DataFrame
    refs: pd.DataFrame
    result: Mapping[str, Any]
    key: str = ""

    @property
    def source(self) -> str:
        """Which split the cards and the front are read from."""
        return "validation" if not self.fine.empty else "test"

    @property
    def front(self) -> pd.DataFrame:
        """The λ curve the page draws: the fine validation front when there is one."""
        return self.fine if not self.fine.empty else self.curve


def fine_front(result: Mapping[str, Any]) -> pd.DataFrame:
    """The ``fine_front`` records of a job's result as a table sorted by λ (empty when
    absent or without a ``lam`` column)."""
    table = pd.DataFrame(list(result.get("fine_front") or []))
    if table.empty or "lam" not in table.columns:
        return pd.DataFrame()
    table = table.apply(pd.to_numeric, errors="coerce")
    table = table.loc[table["lam"].notna()].sort_values("lam", kind="stable")
    return table.drop_duplicates("lam").reset_index(drop=True)


def tradeoff_view(
    result: Mapping[str, Any], curve: pd.DataFrame, refs: pd.DataFrame
) -> TradeoffView:
    """:class:`TradeoffView` of a job from its result and its bundle's test front
    (:func:`recolab.bundle.card.front_frames`)."""
    return TradeoffView(fine_front(result), curve, refs, dict(result))


def metrics_at_lam(front: pd.DataFrame, lam: float) -> dict[str, float]:
    """Every metric of ``front`` at ``lam``, interpolated linearly between the two measured
    λ around it (clamped to the front's range); NaN where a metric was not measured.

    Examples
    --------
    >>> f = pd.DataFrame({"lam": [0.0, 1.0], "recall@20": [0.3, 0.2]})
    >>> round(metrics_at_lam(f, 0.25)["recall@20"], 3)
    0.275
    """
    if front.empty or "lam" not in front.columns:
        return {}
    lams = front["lam"].to_numpy(dtype=float)
    out: dict[str, float] = {"lam": float(np.clip(lam, lams.min(), lams.max()))}
    columns = [str(c) for c in front.columns if c != "lam"]
    try:  # a front of numbers (as fine_front reads it) in one array: a slider move is cheap
        table = front[columns].to_numpy(dtype=float, na_value=np.nan)
    except (TypeError, ValueError):
        table = front[columns].apply(pd.to_numeric, errors="coerce").to_numpy(dtype=float)
    for col, values in zip(columns, table.T, strict=True):
        ok = np.isfinite(values)
        out[col] = float(np.interp(lam, lams[ok], values[ok])) if ok.any() else math.nan
    return out


def baseline_row(front: pd.DataFrame) -> dict[str, float] | None:
    """The front's row at its smallest λ (what the cards' deltas compare with)."""
    if front.empty:
        return None
    return {str(k): float(v) for k, v in front.iloc[0].items() if _is_number(v)}


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float | np.number) and not isinstance(value, bool)
