"""Serve-time re-rankers: maximise ``f + λ·g`` per list over a base model's top candidates.

Each re-ranker serves one secondary objective ``g``:

=========================  ============  ====================================================
name                       objective     class
=========================  ============  ====================================================
``popularity``             novelty       :class:`PopularityPenalty`
``popularity-exposure``    coverage      :class:`ExposedPopularityPenalty`
``mmr``                    diversity     :class:`MMR` (needs item vectors)
``exposure``               coverage      :class:`ExposureGreedy`
``calibration``            calibration   :class:`Calibration` (needs category vectors)
``revenue``                revenue       :class:`RevenueBoost` (needs item prices)
``conditioned``            coverage      :class:`ConditionedResidual` (trained on the base)
``conditioned-revenue``    revenue       :class:`ConditionedRevenue` (trained; needs prices)
=========================  ============  ====================================================

Wrap a base model with :class:`ReRankedRecommender` to get a recommender whose
``recommend(users, k, lam)`` re-ranks.

Examples
--------
>>> make_reranker("calibration", alpha=0.05).to_config()
{'name': 'calibration', 'alpha': 0.05}
>>> make_reranker(**make_reranker("mmr").to_config())
MMR()
>>> make_reranker("nope")  # doctest: +ELLIPSIS
Traceback (most recent call last):
...
ValueError: unknown re-ranker 'nope'; known re-rankers: calibration, conditioned, ...
"""

from __future__ import annotations

from typing import Any

from recolab.rerank.base import CandidateCache, Candidates, ReRankedRecommender, ReRanker
from recolab.rerank.calibration import Calibration
from recolab.rerank.conditioned import ConditionedResidual, ConditionedRevenue
from recolab.rerank.exposure import ExposureGreedy
from recolab.rerank.mmr import MMR
from recolab.rerank.popularity import ExposedPopularityPenalty, PopularityPenalty
from recolab.rerank.revenue import RevenueBoost

#: Re-ranker classes by :attr:`ReRanker.name`.
RERANKERS: dict[str, type[ReRanker]] = {
    cls.name: cls
    for cls in (
        PopularityPenalty,
        ExposedPopularityPenalty,
        MMR,
        ExposureGreedy,
        Calibration,
        ConditionedResidual,
        RevenueBoost,
        ConditionedRevenue,
    )
}


def make_reranker(name: str, **options: Any) -> ReRanker:
    """A new (unfitted) re-ranker by registry name.

    Parameters
    ----------
    name:
        A key of :data:`RERANKERS`.
    **options:
        Constructor options (``make_reranker(**reranker.to_config())`` round-trips).

    Returns
    -------
    ReRanker

    Raises
    ------
    ValueError
        For an unknown name; the message lists the known ones.
    """
    if name not in RERANKERS:
        raise ValueError(
            f"unknown re-ranker {name!r}; known re-rankers: {', '.join(sorted(RERANKERS))}"
        )
    return RERANKERS[name](**options)


__all__ = [
    "MMR",
    "RERANKERS",
    "Calibration",
    "CandidateCache",
    "Candidates",
    "ConditionedResidual",
    "ConditionedRevenue",
    "ExposedPopularityPenalty",
    "ExposureGreedy",
    "PopularityPenalty",
    "ReRankedRecommender",
    "ReRanker",
    "RevenueBoost",
    "make_reranker",
]
