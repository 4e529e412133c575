"""The trade-off layer chosen on validation: each re-ranker's λ range and front, and the
mechanism whose front dominates most.

For every mechanism the λ range is calibrated on validation so that the slider spans the
whole front on any data: from λ = 0 (the base) to the λ at which validation ndcg@10 has
fallen by ``max_loss`` (default 20 %) below the base's. The default λ is the front's most
accurate point on validation, which is not always λ = 0. The front over that range is
measured on validation, and the mechanism with the largest hypervolume of
(ndcg@10, coverage@20) becomes the default.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from recolab.data.interactions import InteractionData
from recolab.data.prices import item_prices
from recolab.evaluation import Protocol, evaluate
from recolab.models.base import Recommender
from recolab.pareto import hypervolume
from recolab.rerank import CandidateCache, ReRankedRecommender, make_reranker
from recolab.tuning.study import tune_score

logger = logging.getLogger(__name__)

#: The share of validation ndcg@10 the top of the λ range gives up.
MAX_LOSS = 0.2
#: Largest λ tried when calibrating (re-rankers standardise scores, so λ is unit-free).
LAM_CEILING = 64.0
#: Points of a front (including λ = 0 and the top of the range).
FRONT_POINTS = 11
#: The objective pairs whose hypervolumes are reported (the first one chooses).
#: (ndcg@10, revenue@20) is reported only where the data have prices (evaluate reports
#: revenue@k only then).
HV_PAIRS = (("ndcg@10", "coverage@20"), ("ndcg@10", "novelty@20"), ("ndcg@10", "revenue@20"))
#: Cut-offs evaluated along a front.
KS = (10, 20)
#: Candidate-list lengths tried per mechanism: longer lists let the slider reach further,
#: up to what the re-ranker serves for every ML-100K user in under 50 ms at a new λ
#: (benchmarks/relambda.py: popularity 29 ms and exposure 41 ms at 400, calibration 61 ms
#: at 200, so it keeps 100; MMR's cost grows with the width of the item vectors). The
#: trained residual serves like popularity (one sort) but trains once per length, so it
#: gets only 400, the length its validation front was largest at on ML-100K and retail.
CANDIDATE_GRID = {
    "popularity": (100, 200, 400),
    "popularity-exposure": (200, 400),
    "exposure": (100, 200, 400),
    "mmr": (100,),
    "calibration": (100,),
    "revenue": (100, 200, 400),
    "conditioned": (400,),
    "conditioned-revenue": (400,),
}


@dataclass
class MechanismFront:
    """One trade-off mechanism measured over its calibrated λ range.

    Attributes
    ----------
    name, objective:
        The re-ranker's registry name and the secondary objective it serves.
    lam_high:
        Top of the calibrated λ range.
    n_candidates:
        How many of the base's top items the re-ranker chooses from.
    rows:
        One row per λ (column ``lam``) with the metrics at ``KS``.
    hypervolumes:
        ``"ndcg@10|coverage@20"`` → hypervolume (reference at the origin).
    lam_default:
        The most accurate λ of the front on validation (:func:`most_accurate_lam`): where
        the slider starts and what the model serves unless asked for another λ.
    """

    name: str
    objective: str
    lam_high: float
    n_candidates: int
    rows: pd.DataFrame
    hypervolumes: dict[str, float] = field(default_factory=dict)
    lam_default: float = 0.0

    @property
    def hypervolume(self) -> float:
        """The hypervolume that chooses between mechanisms: (ndcg@10, coverage@20)."""
        return self.hypervolumes["|".join(HV_PAIRS[0])]

    def summary(self) -> dict[str, Any]:
        """JSON-ready description (λ range, hypervolumes, the front's rows)."""
        rows = self.rows.astype(object).where(pd.notna(self.rows), None)
        return {
            "name": self.name,
            "objective": self.objective,
            "lambda_range": [0.0, float(self.lam_high)],
            "lambda_default": float(self.lam_default),
            "n_candidates": int(self.n_candidates),
            "hypervolumes": {k: float(v) for k, v in self.hypervolumes.items()},
            "front": rows.to_dict("records"),
        }


def front_hypervolumes(rows: pd.DataFrame) -> dict[str, float]:
    """Hypervolume of each pair of :data:`HV_PAIRS` over ``rows`` (reference at 0)."""
    out = {}
    for x, y in HV_PAIRS:
        if x in rows.columns and y in rows.columns:
            out[f"{x}|{y}"] = hypervolume(rows[[x, y]].to_numpy(float), reference=[0.0, 0.0])
    return out


def most_accurate_lam(rows: pd.DataFrame) -> float:
    """The λ of the row with the highest tuning score (the geometric mean of recall@20 and
    ndcg@10, :func:`~recolab.tuning.study.tune_score`), the smallest such λ on a tie.

    A mechanism can raise accuracy before it lowers it: a light popularity penalty lifted
    validation ndcg@10 on ML-100K and the retail log, so serving λ = 0 would give away
    accuracy and the novelty it comes with.
    """
    scores = [tune_score(row) for row in rows.to_dict("records")]
    return float(rows["lam"].iloc[int(np.argmax(scores))])


def _ndcg_at(
    model: ReRankedRecommender,
    fit: InteractionData,
    valid: InteractionData,
    lam: float,
    protocol: Protocol | None = None,
) -> float:
    """Validation ndcg@10 at ``lam`` (accuracy only: all the calibration reads)."""
    result = evaluate(model, fit, valid, ks=(10,), lam=lam, accuracy_only=True, protocol=protocol)
    return result.metrics["ndcg@10"]


def calibrate_lam_high(
    model: ReRankedRecommender,
    fit: InteractionData,
    valid: InteractionData,
    *,
    max_loss: float = MAX_LOSS,
    steps: int = 5,
    protocol: Protocol | None = None,
    base_ndcg: float | None = None,
) -> float:
    """The λ at which validation ndcg@10 (under ``protocol``) first falls ``max_loss`` below
    its λ = 0 value (``base_ndcg`` when measured already): doubling from 1/8 until it does
    (or :data:`LAM_CEILING`), then ``steps`` bisections."""
    if base_ndcg is None:
        base_ndcg = _ndcg_at(model, fit, valid, 0.0, protocol)
    floor = (1.0 - max_loss) * base_ndcg
    lo, hi = 0.0, 0.125
    while hi < LAM_CEILING and _ndcg_at(model, fit, valid, hi, protocol) > floor:
        lo, hi = hi, hi * 2
    if hi >= LAM_CEILING:
        name = model.reranker.name
        logger.info("%s: ndcg@10 never fell %.0f %% up to λ=%g", name, 100 * max_loss, hi)
        return LAM_CEILING
    for _ in range(steps):
        mid = 0.5 * (lo + hi)
        if _ndcg_at(model, fit, valid, mid, protocol) > floor:
            lo = mid
        else:
            hi = mid
    return hi


def measure_front(
    model: Recommender,
    train: InteractionData,
    test: InteractionData,
    lambdas: Sequence[float],
    vectors: np.ndarray | None = None,
    protocol: Protocol | None = None,
) -> pd.DataFrame:
    """Metrics of a (re-ranked) model at each λ: one row per λ, column ``lam`` (under
    ``protocol``, default :class:`~recolab.evaluation.Protocol`'s)."""
    rows = []
    for lam in lambdas:
        metrics = evaluate(
            model, train, test, ks=KS, lam=float(lam), item_vectors=vectors, protocol=protocol
        ).metrics
        rows.append({"lam": float(lam), **metrics})
    return pd.DataFrame(rows)


class ZeroRow:
    """The validation row at λ = 0 of the fronts over one base, measured by the first front
    that asks for it: every re-ranker serves the base's own lists there
    (:class:`~recolab.rerank.ReRanker`), so the fronts over one base (and protocol) share
    it instead of each measuring it twice (for the calibration's floor and as the front's
    first point). The calibration's ndcg@10 is the row's: ndcg@10 reads only the first 10
    items, the same on a list of 20."""

    def __init__(self) -> None:
        self._rows: pd.DataFrame | None = None

    def rows(
        self,
        model: ReRankedRecommender,
        fit: InteractionData,
        valid: InteractionData,
        vectors: np.ndarray | None,
        protocol: Protocol | None,
    ) -> pd.DataFrame:
        """The one-row front of ``model`` at λ = 0 (:func:`measure_front`), measured once."""
        if self._rows is None:
            self._rows = measure_front(model, fit, valid, [0.0], vectors, protocol)
        return self._rows


def mechanism_front(
    base: Recommender,
    name: str,
    fit: InteractionData,
    valid: InteractionData,
    *,
    vectors: np.ndarray | None = None,
    categories: np.ndarray | None = None,
    max_loss: float = MAX_LOSS,
    n_points: int = FRONT_POINTS,
    protocol: Protocol | None = None,
    cache: CandidateCache | None = None,
    zero: ZeroRow | None = None,
) -> MechanismFront:
    """One re-ranker over ``base`` (fitted on ``fit``): for each candidate-list length of
    :data:`CANDIDATE_GRID`, calibrate λ and measure the front on ``valid``; keep the length
    with the largest hypervolume. MMR uses ``vectors``; calibration uses ``categories``.
    ``protocol`` is how lists are served (repeat purchases: the users' own items kept).
    ``cache`` holds ``base``'s candidate lists across fronts (default: one for these
    lengths), so that the base scores the validation users once; ``zero`` their row at
    λ = 0 (default: one for these lengths)."""
    cache = cache if cache is not None else CandidateCache(base, max(CANDIDATE_GRID[name]))
    zero = zero if zero is not None else ZeroRow()
    sides = (vectors, categories)
    fronts = [
        _front_at(base, name, n, fit, valid, sides, max_loss, n_points, protocol, (cache, zero))
        for n in CANDIDATE_GRID[name]
    ]
    best = max(fronts, key=lambda f: f.hypervolume)
    logger.info(
        "%s: %d candidates, λ in [0, %.3g], validation hypervolume %.4f",
        name,
        best.n_candidates,
        best.lam_high,
        best.hypervolume,
    )
    return best


def _front_at(
    base: Recommender,
    name: str,
    n_candidates: int,
    fit: InteractionData,
    valid: InteractionData,
    sides: tuple[np.ndarray | None, np.ndarray | None],
    max_loss: float,
    n_points: int,
    protocol: Protocol | None,
    shared: tuple[CandidateCache, ZeroRow],
) -> MechanismFront:
    """The front of re-ranker ``name`` over ``base`` with ``n_candidates`` candidates
    (``sides``: the item vectors and categories; ``shared``: the base's candidate lists
    and row at λ = 0)."""
    vectors, categories = sides
    cache, zero = shared
    reranker = make_reranker(name)
    side = categories if name == "calibration" else vectors
    model = ReRankedRecommender(
        base, reranker, n_candidates=n_candidates, item_vectors=side, candidate_cache=cache
    )
    model.fit(fit)
    first = zero.rows(model, fit, valid, vectors, protocol)
    base_ndcg = float(first["ndcg@10"].iloc[0])
    lam_high = calibrate_lam_high(
        model, fit, valid, max_loss=max_loss, protocol=protocol, base_ndcg=base_ndcg
    )
    lambdas = np.round(np.linspace(0.0, lam_high, n_points), 6)
    rows = first
    if lambdas.size > 1:
        rest = measure_front(model, fit, valid, lambdas[1:], vectors, protocol)
        rows = pd.concat([first, rest], ignore_index=True)
    hypervolumes = front_hypervolumes(rows)
    return MechanismFront(
        name,
        reranker.objective,
        lam_high,
        n_candidates,
        rows,
        hypervolumes,
        lam_default=most_accurate_lam(rows),
    )


def available_mechanisms(
    vectors: np.ndarray | None, categories: np.ndarray | None, prices: bool = False
) -> list[str]:
    """The mechanisms the data allow: MMR needs item vectors, calibration categories, the
    revenue boost item prices (``prices``: whether any item has one, see
    :func:`has_prices`); the popularity penalties, exposure and the trained residual need
    nothing more."""
    names = ["popularity", "popularity-exposure", "exposure", "conditioned"]
    if vectors is not None:
        names.append("mmr")
    if categories is not None:
        names.append("calibration")
    if prices:
        names.append("revenue")
    return names


def has_prices(data: InteractionData) -> bool:
    """Whether at least one item of ``data`` has a price (log or catalogue)."""
    prices = item_prices(data)
    return prices is not None and bool(prices.known.any())


def choose_mechanism(
    base: Recommender,
    fit: InteractionData,
    valid: InteractionData,
    *,
    vectors: np.ndarray | None = None,
    categories: np.ndarray | None = None,
    names: Sequence[str] | None = None,
    max_loss: float = MAX_LOSS,
    on_front: Callable[[int, int, str], None] | None = None,
    protocol: Protocol | None = None,
) -> tuple[MechanismFront, list[MechanismFront]]:
    """Every available mechanism's validation front (under ``protocol``), and the one with
    the largest (ndcg@10, coverage@20) hypervolume (first in ``names`` on a tie).
    ``on_front(m, M, name)`` hears the start (m = 0) and each front measured."""
    names = list(names or available_mechanisms(vectors, categories, has_prices(fit)))
    cache = CandidateCache(base, max((max(CANDIDATE_GRID[n]) for n in names), default=1))
    zero = ZeroRow()
    fronts = []
    if on_front is not None and names:
        on_front(0, len(names), names[0])
    for i, n in enumerate(names):
        fronts.append(
            mechanism_front(
                base,
                n,
                fit,
                valid,
                vectors=vectors,
                categories=categories,
                max_loss=max_loss,
                protocol=protocol,
                cache=cache,
                zero=zero,
            )
        )
        if on_front is not None:
            on_front(i + 1, len(names), n)
    best = max(fronts, key=lambda f: f.hypervolume)
    return best, fronts
