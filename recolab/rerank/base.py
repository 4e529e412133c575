"""Serve-time re-ranking: candidate lists, the re-ranker interface and a re-ranked recommender.

A re-ranker takes a base model's top ``C`` candidates per user and orders them to maximise
``f + λ·g`` per list, where ``f`` is the base relevance and ``g`` a secondary objective
(novelty, diversity, coverage, calibration). ``λ = 0`` returns the base order exactly.

Base scores have an arbitrary scale per user and data set, so every re-ranker standardises
them within each user's candidate list (see :func:`standardised_relevance`) and puts its
penalty on a unit scale too: one λ range (say 0 … 2) means roughly the same on any data.

Examples
--------
>>> import numpy as np
>>> cand = Candidates(
...     users=np.array([0]),
...     items=np.array([[3, 1, -1]]),
...     scores=np.array([[2.0, 1.0, -np.inf]], dtype=np.float32),
... )
>>> cand.valid.tolist()
[[True, True, False]]
>>> standardised_relevance(cand).tolist()
[[1.0, -1.0, 0.0]]
"""

from __future__ import annotations

import logging
import math
import time
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from functools import cached_property
from typing import Any, ClassVar, Self

import numpy as np

from recolab.data.interactions import InteractionData
from recolab.errors import DataError
from recolab.models.base import Recommender

logger = logging.getLogger(__name__)

#: Floor of the per-user standard deviation of the base scores.
SD_FLOOR = 1e-12

#: Length of the base's lists a re-ranker may observe at fit time (see
#: :meth:`recolab.rerank.ExposureGreedy.observe_base`).
BASE_LIST_K = 20

#: Training users whose candidates a trained re-ranker learns from at fit time (a seeded
#: sample beyond this; 20,000 × 400 candidates is 96 MB).
LEARN_USERS = 20_000

#: Elements (users × candidates × vector width) a re-ranker gathers at once.
GATHER_ELEMENTS = 1 << 23

#: ``penalty(last)`` of a greedy re-ranker: the candidate columns picked at the previous
#: position (``None`` before the first pick, ``-1`` for users who picked nothing) in, the
#: penalty of every candidate (users × candidates, or a scalar) out.
PenaltyFn = Callable[[np.ndarray | None], np.ndarray | float]


@dataclass(frozen=True)
class Candidates:
    """A base model's candidate lists, best first.

    Parameters
    ----------
    users:
        int64 ``(n,)`` user indices.
    items:
        int64 ``(n, C)`` candidate item indices per user in the base order (best first);
        ``-1`` is padding and may only appear at the end of a row.
    scores:
        float32 ``(n, C)`` base scores, finite for real candidates; set to ``-inf`` at padding.

    Raises
    ------
    ValueError
        On mismatched shapes, padding before a real candidate or a non-finite base score.
    """

    users: np.ndarray
    items: np.ndarray
    scores: np.ndarray

    def __post_init__(self) -> None:
        users = np.asarray(self.users, dtype=np.int64).reshape(-1)
        items = np.asarray(self.items, dtype=np.int64)
        scores = np.asarray(self.scores, dtype=np.float32)
        if items.ndim != 2 or scores.shape != items.shape or users.shape[0] != items.shape[0]:
            raise ValueError(
                "Candidates: items and scores must both be (n, C) with n = len(users); got "
                f"users {users.shape}, items {items.shape}, scores {scores.shape}"
            )
        valid = items >= 0
        if items.shape[1] > 1 and np.any(valid[:, 1:] & ~valid[:, :-1]):
            raise ValueError("Candidates: padding (-1) may only appear at the end of a row")
        if not np.all(np.isfinite(scores[valid])):
            raise ValueError("Candidates: every real candidate needs a finite base score")
        object.__setattr__(self, "users", users)
        object.__setattr__(self, "items", items)
        object.__setattr__(self, "scores", np.where(valid, scores, np.float32(-np.inf)))

    @classmethod
    def from_model(
        cls,
        model: Recommender,
        users: np.ndarray | list[int],
        n_candidates: int,
        exclude_seen: bool = True,
    ) -> Candidates:
        """The top ``n_candidates`` of a fitted model, at its default λ.

        Parameters
        ----------
        model:
            A fitted recommender; its ``recommend(users, n_candidates, lam=None,
            exclude_seen=exclude_seen)`` gives the lists.
        users:
            User indices (unknown users get all-padding rows).
        n_candidates:
            ``C``, the candidates per user (≥ 1).
        exclude_seen:
            Leave out each user's training items.

        Returns
        -------
        Candidates
        """
        if n_candidates < 1:
            raise ValueError(f"n_candidates must be ≥ 1, got {n_candidates}")
        users = np.asarray(users, dtype=np.int64)
        items, scores = model.recommend(users, n_candidates, lam=None, exclude_seen=exclude_seen)
        return cls(users=users, items=items, scores=scores)

    @property
    def valid(self) -> np.ndarray:
        """bool ``(n, C)``: real candidates (not padding)."""
        return self.items >= 0

    @property
    def n_candidates(self) -> int:
        """``C``, the width of the lists."""
        return int(self.items.shape[1])

    def rows(self, index: slice | np.ndarray) -> Candidates:
        """The candidate lists of a subset of the users."""
        return Candidates(self.users[index], self.items[index], self.scores[index])

    @cached_property
    def relevance(self) -> np.ndarray:
        """:func:`standardised_relevance` of these candidates (read-only, computed once)."""
        valid = self.valid
        s = np.where(valid, self.scores.astype(np.float64), 0.0)
        count = np.maximum(valid.sum(axis=1, keepdims=True), 1)
        mean = s.sum(axis=1, keepdims=True) / count
        dev = np.where(valid, s - mean, 0.0)
        sd = np.maximum(np.sqrt((dev**2).sum(axis=1, keepdims=True) / count), SD_FLOOR)
        rel = dev / sd
        rel.setflags(write=False)
        return rel

    @cached_property
    def item_keys(self) -> tuple[int, np.ndarray, np.ndarray]:
        """``(span, order, keys)``: every candidate keyed ``row · span + item + 1``, ``keys``
        sorted and ``order`` their flat positions; built once per candidate set, so that
        :func:`scores_of` at each new λ is a search, not a sort."""
        n = self.items.shape[0]
        span = max(int(self.items.max(initial=-1)), 0) + 2
        flat = (self.items + 1 + np.arange(n, dtype=np.int64)[:, None] * span).ravel()
        order = np.argsort(flat, kind="stable")
        return span, order, flat[order]


def check_lam(lam: float) -> float:
    """``lam`` as a float; ``ValueError`` unless it is finite and ≥ 0."""
    try:
        value = float(lam)
    except (TypeError, ValueError) as exc:
        raise ValueError(f"lam must be a finite number ≥ 0, got {lam!r}") from exc
    if not math.isfinite(value) or value < 0:
        raise ValueError(f"lam must be a finite number ≥ 0, got {lam!r}")
    return value


def standardised_relevance(cand: Candidates) -> np.ndarray:
    """Base scores z-scored within each user's real candidates.

    ``rel = (s − mean_u) / sd_u`` over the user's real candidates, ``sd_u`` (population)
    floored at :data:`SD_FLOOR`; a user with one real candidate gets 0. Padding gets 0.
    Computed once per candidate set (a new λ over the same candidates reuses it).

    Returns
    -------
    numpy.ndarray
        float64 ``(n, C)``, read-only.
    """
    return cand.relevance


def base_order(cand: Candidates, k: int) -> np.ndarray:
    """The first ``k`` candidates as they are (padded with ``-1`` when ``C < k``)."""
    out = np.full((cand.items.shape[0], k), -1, dtype=np.int64)
    width = min(k, cand.n_candidates)
    out[:, :width] = cand.items[:, :width]
    return out


def order_by(cand: Candidates, objective: np.ndarray, k: int) -> np.ndarray:
    """The ``k`` real candidates with the largest ``objective`` (users × candidates, float,
    written over: padding is set to ``-inf`` in place), best first, ties in the base order;
    ``-1`` padding where a user has fewer than ``k``."""
    valid = cand.valid
    np.copyto(objective, -np.inf, where=~valid)
    cols = top_columns(objective, k)
    picked = np.take_along_axis(cand.items, cols, axis=1)
    picked = np.where(np.take_along_axis(valid, cols, axis=1), picked, -1)
    out = np.full((cand.items.shape[0], k), -1, dtype=np.int64)
    out[:, : picked.shape[1]] = picked
    return out


def top_columns(values: np.ndarray, k: int) -> np.ndarray:
    """Columns of each row's ``k`` largest ``values``, largest first, ties by column: the
    same as ``np.argsort(-values, axis=1, kind="stable")[:, :k]``, but a selection and a
    sort of ``k`` per row instead of a sort of the whole row. Rows where the ``k``-th value
    is tied across the cut (``-inf`` padding included) take the full stable sort.

    >>> top_columns(np.array([[1.0, 3.0, 2.0, 3.0], [0.0, -np.inf, 5.0, 1.0]]), 2).tolist()
    [[1, 3], [2, 3]]
    """
    n, width = values.shape
    if n == 0 or not 0 < k < width:
        return np.argsort(-values, axis=1, kind="stable")[:, :k]
    part, top, tied = _largest(values, k)
    cols = np.take_along_axis(part, np.lexsort((part, -top), axis=1), axis=1)
    if tied.size:
        cols[tied] = np.argsort(-values[tied], axis=1, kind="stable")[:, :k]
    return cols


def _largest(values: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """For ``0 < k <`` columns: each row's ``k`` largest values' columns (in no order,
    arbitrary among values tied at the cut), those values, and the rows where a value left
    out equals the ``k``-th (whose cut is then arbitrary).

    Float rows go through ``torch.topk`` of ``k + 1`` (one thread: about 5x faster than
    ``np.argpartition`` on 20,000 × 400 candidates); the ``k + 1``-th value shows the ties.
    ``torch.topk`` ranks NaN first where NumPy's sort ranks it last, so an array holding
    NaN goes through ``np.argpartition`` as before."""
    if values.dtype in (np.float32, np.float64):
        import torch  # only here: the re-rankers are NumPy otherwise

        dense = np.ascontiguousarray(values)
        best = torch.topk(torch.from_numpy(dense), k + 1, dim=1, sorted=True)
        top = best.values.numpy()
        if not np.isnan(top[:, 0]).any():  # NaN would lead a row holding it
            tied = np.flatnonzero(top[:, k] == top[:, k - 1])
            return best.indices.numpy()[:, :k], top[:, :k], tied
    part = np.argpartition(-values, k - 1, axis=1)[:, :k]
    top = np.take_along_axis(values, part, axis=1)
    tied = np.flatnonzero((values >= top.min(axis=1, keepdims=True)).sum(axis=1) > k)
    return part, top, tied


def columns_to_items(cand: Candidates, cols: np.ndarray) -> np.ndarray:
    """Item indices of candidate columns ``cols`` (``-1`` stays ``-1``)."""
    picked = np.take_along_axis(cand.items, np.maximum(cols, 0), axis=1)
    return np.where(cols >= 0, picked, -1).astype(np.int64)


def greedy_columns(
    rel: np.ndarray, valid: np.ndarray, k: int, lam: float, penalty: PenaltyFn
) -> np.ndarray:
    """Fill ``k`` positions, all users at once: each picks argmax ``rel − λ·penalty``.

    Parameters
    ----------
    rel:
        float64 ``(n, C)`` standardised relevance.
    valid:
        bool ``(n, C)`` real candidates.
    k:
        List length.
    lam:
        λ ≥ 0.
    penalty:
        See :data:`PenaltyFn`; called once per position, after the previous picks.

    Returns
    -------
    numpy.ndarray
        int64 ``(n, k)`` candidate columns, ``-1`` once a user has no candidate left. Ties go
        to the earlier (better base) column.
    """
    n, width = rel.shape
    out = np.full((n, k), -1, dtype=np.int64)
    taken = ~valid
    rows = np.arange(n)
    objective = np.empty_like(rel)
    last: np.ndarray | None = None
    for pos in range(min(k, width)):
        # rel − λ·penalty, in place: (−λ·p) + r is exactly r − λ·p
        np.multiply(penalty(last), -lam, out=objective)
        objective += rel
        objective[taken] = -np.inf
        col = objective.argmax(axis=1)
        ok = ~taken[rows, col]
        col = np.where(ok, col, -1)
        taken[rows[ok], col[ok]] = True
        out[:, pos] = col
        last = col
    return out


def greedy_in_batches(
    cand: Candidates,
    k: int,
    lam: float,
    per_user: int,
    penalty_of: Callable[[Candidates, slice], PenaltyFn],
) -> np.ndarray:
    """:func:`greedy_columns` over batches of users that each gather about
    :data:`GATHER_ELEMENTS` elements (``per_user`` each); ``penalty_of(part, batch)`` gives
    the penalty of the users ``cand.rows(batch)``. Returns item indices ``(n, k)``."""
    out = np.full((cand.items.shape[0], k), -1, dtype=np.int64)
    for batch in row_batches(cand.items.shape[0], per_user):
        part = cand.rows(batch)
        penalty = penalty_of(part, batch)
        cols = greedy_columns(standardised_relevance(part), part.valid, k, lam, penalty)
        out[batch] = columns_to_items(part, cols)
    return out


def row_batches(n: int, per_row: int) -> Iterator[slice]:
    """Slices of ``n`` rows, each gathering about :data:`GATHER_ELEMENTS` elements."""
    step = max(1, GATHER_ELEMENTS // max(per_row, 1))
    for start in range(0, n, step):
        yield slice(start, min(start + step, n))


class ReRanker(ABC):
    """Orders a base model's candidates to maximise ``rel + λ·g`` per list.

    Constructors only store options; :meth:`fit` learns from training data (fitted state
    ends in ``_``); :meth:`rerank` orders candidates. ``λ = 0`` gives the base order exactly.

    Attributes
    ----------
    name:
        Registry key (see :data:`recolab.rerank.RERANKERS`).
    objective:
        The secondary metric ``g`` served: ``"novelty"``, ``"diversity"``, ``"coverage"``
        or ``"calibration"``.
    n_items_:
        Items in the training data (set by :meth:`fit`).
    """

    name: ClassVar[str]
    objective: ClassVar[str]
    #: Whether :meth:`fit` needs ``item_vectors``.
    needs_vectors: ClassVar[bool] = False

    n_items_: int

    def fit(self, train: InteractionData, item_vectors: np.ndarray | None = None) -> Self:
        """Learn what the re-ranker needs from the training data only.

        Parameters
        ----------
        train:
            Training interactions (non-empty).
        item_vectors:
            ``n_items × d`` item vectors, for re-rankers that need them.

        Returns
        -------
        ReRanker
            ``self``, fitted.
        """
        if not isinstance(train, InteractionData):
            raise TypeError(f"fit expects InteractionData, got {type(train).__name__}")
        if train.n_interactions == 0:
            raise DataError(f"{type(self).__name__}.fit: the training data hold no interactions")
        if item_vectors is not None:
            item_vectors = np.asarray(item_vectors)
            if item_vectors.ndim != 2 or item_vectors.shape[0] != train.n_items:
                raise ValueError(
                    f"{type(self).__name__}: item_vectors must be (n_items={train.n_items}, d), "
                    f"got shape {item_vectors.shape}"
                )
            if not np.all(np.isfinite(item_vectors)):
                raise ValueError(f"{type(self).__name__}: item_vectors hold NaN or inf")
        elif self.needs_vectors:
            raise ValueError(
                f"{type(self).__name__} ({self.name!r}) needs item_vectors (n_items × d); "
                "pass fit(train, item_vectors=...)"
            )
        self.n_items_ = train.n_items
        return self

    @abstractmethod
    def rerank(self, cand: Candidates, k: int, lam: float) -> np.ndarray:
        """Re-ordered lists of length ``k``.

        Parameters
        ----------
        cand:
            The base model's candidates.
        k:
            List length (≥ 0).
        lam:
            Trade-off weight λ (finite, ≥ 0).

        Returns
        -------
        numpy.ndarray
            int64 ``(n, k)`` item indices, best first, ``-1`` padding where a user has fewer
            than ``k`` real candidates. ``lam == 0`` gives ``cand.items[:, :k]``.
        """

    def to_config(self) -> dict[str, Any]:
        """JSON-ready constructor options plus ``name`` (not fitted state)."""
        return {"name": self.name, **self._options()}

    def _options(self) -> dict[str, Any]:
        return {}

    def _begin(self, cand: Candidates, k: int, lam: float) -> float:
        """Check fitted state and arguments; return λ as a float."""
        if not hasattr(self, "n_items_"):
            raise ValueError(f"{type(self).__name__} is not fitted; call fit(train) first")
        if not isinstance(cand, Candidates):
            raise TypeError(f"rerank expects Candidates, got {type(cand).__name__}")
        if int(k) != k or k < 0:
            raise ValueError(f"k must be an integer ≥ 0, got {k!r}")
        if cand.items.size and cand.items.max() >= self.n_items_:
            raise ValueError(
                f"{type(self).__name__}: candidate item {int(cand.items.max())} is outside the "
                f"{self.n_items_} training items"
            )
        return check_lam(lam)

    def __repr__(self) -> str:
        options = ", ".join(f"{k}={v!r}" for k, v in self._options().items())
        return f"{type(self).__name__}({options})"


class CandidateCache:
    """One fitted base's candidate lists for the last users asked: a new λ for the same
    users costs only the re-ranking. Each :class:`ReRankedRecommender` has one; several
    over one base can share one (a front per mechanism and candidate length,
    :func:`~recolab.tuning.fronts.choose_mechanism`), so that the base scores those users
    once rather than once per re-ranker.

    The lists are computed at least ``width`` long, and a shorter length reads their first
    columns: :func:`~recolab.models.base.top_k` orders by score and breaks ties by the lower
    index, so a base's top ``C`` are exactly the first ``C`` of its top ``C' > C``. Each
    length's lists are one :class:`Candidates` kept while the users stay the same, so that
    their per-set caches (``relevance``, ``item_keys``) are built once. The base must not
    change while the cache is in use.

    Examples
    --------
    >>> import pandas as pd
    >>> from recolab.data import build_interactions
    >>> from recolab.models import PopularityRecommender
    >>> frame = pd.DataFrame({"user": list("aabbcd"), "item": list("xyxzxw"), "value": 1.0})
    >>> base = PopularityRecommender().fit(build_interactions(frame, kind="implicit"))
    >>> cache = CandidateCache(base, width=3)
    >>> cache.get(np.array([3]), 2, exclude_seen=True).items.tolist()
    [[0, 1]]
    >>> cache.get(np.array([3]), 3, exclude_seen=True).items.tolist()  # no new scoring
    [[0, 1, 2]]
    """

    def __init__(self, base: Recommender, width: int = 1) -> None:
        self.base = base
        self.width = max(int(width), 1)
        self._key: tuple[bytes, bool] | None = None
        self._by_width: dict[int, Candidates] = {}
        self._lists: tuple[bytes, np.ndarray] | None = None

    def base_lists(self, users: np.ndarray) -> np.ndarray:
        """The base's top :data:`BASE_LIST_K` items of ``users`` (seen items excluded), kept
        for the last users asked: what a re-ranker observes at fit time
        (``observe_base``), read by every front over this base that has one. Read-only."""
        key = users.tobytes()
        if self._lists is None or self._lists[0] != key:
            lists = self.base.recommend(users, BASE_LIST_K)[0]
            lists.setflags(write=False)
            self._lists = (key, lists)
        return self._lists[1]

    def get(self, users: np.ndarray, width: int, exclude_seen: bool) -> Candidates:
        """The base's top ``width`` candidates of ``users`` (int64 indices)."""
        key = (users.tobytes(), bool(exclude_seen))
        widest = max(self._by_width, default=0) if key == self._key else 0
        if width > widest:
            widest = max(width, self.width, widest)
            lists = Candidates.from_model(self.base, users, widest, exclude_seen)
            self._key, self._by_width = key, {widest: lists}
        if width not in self._by_width:
            lists = self._by_width[widest]
            self._by_width[width] = Candidates(
                lists.users, lists.items[:, :width], lists.scores[:, :width]
            )
        return self._by_width[width]


class ReRankedRecommender(Recommender):
    """A base recommender whose lists are re-ordered by a :class:`ReRanker`.

    Scores (:meth:`score`) are the base's: re-rankers act on lists, not on scores.
    :meth:`recommend` re-ranks the base's top ``max(n_candidates, k)`` and caches the last
    candidate set, so a new λ for the same users costs only the re-ranking.

    Parameters
    ----------
    base:
        The relevance model. Fitted by :meth:`fit` only if not fitted already.
    reranker:
        The re-ranker (fitted by :meth:`fit`).
    n_candidates:
        ``C``, base candidates per user.
    item_vectors:
        ``n_items × d`` item vectors passed to the re-ranker's ``fit``.
    candidate_cache:
        A :class:`CandidateCache` of ``base`` shared with other re-rankers over it (``None``:
        one of this model's own).

    Attributes
    ----------
    last_candidates_:
        The cached :class:`Candidates` of the last :meth:`recommend` call (``None`` before).

    Examples
    --------
    >>> import pandas as pd
    >>> from recolab.data import build_interactions
    >>> from recolab.models import PopularityRecommender
    >>> from recolab.rerank import PopularityPenalty
    >>> frame = pd.DataFrame({"user": list("aabbcd"), "item": list("xyxzxw"), "value": 1.0})
    >>> model = ReRankedRecommender(PopularityRecommender(), PopularityPenalty())
    >>> model = model.fit(build_interactions(frame, kind="implicit"))  # items x, y, z, w
    >>> model.recommend([3], 3, lam=0.0)[0].tolist()  # popularity order: x, y, z
    [[0, 1, 2]]
    >>> items, scores = model.recommend([3], 3, lam=2.0)  # the popular x goes last
    >>> items.tolist(), scores.tolist()
    ([[1, 2, 0]], [[1.0, 1.0, 3.0]])
    """

    conditioned = True

    def __init__(
        self,
        base: Recommender,
        reranker: ReRanker,
        n_candidates: int = 100,
        item_vectors: np.ndarray | None = None,
        candidate_cache: CandidateCache | None = None,
    ) -> None:
        self.base = base
        self.reranker = reranker
        self.n_candidates = n_candidates
        self.item_vectors = item_vectors
        self.candidate_cache = candidate_cache

    def fit(self, train: InteractionData) -> Self:
        """Fit the base (unless fitted) and the re-ranker on ``train``.

        Parameters
        ----------
        train:
            Training interactions.

        Returns
        -------
        ReRankedRecommender
            ``self``, fitted.
        """
        self._check_train(train)
        if int(self.n_candidates) != self.n_candidates or self.n_candidates < 1:
            raise ValueError(f"n_candidates must be an integer ≥ 1, got {self.n_candidates!r}")
        if self.candidate_cache is not None and self.candidate_cache.base is not self.base:
            raise ValueError("ReRankedRecommender: the candidate cache holds another base's lists")
        if not hasattr(self.base, "train_"):
            self.base.fit(train)
        if self.base.n_items != train.n_items:
            raise ValueError(
                f"ReRankedRecommender: the base scores {self.base.n_items} items but the data "
                f"have {train.n_items}; was it fitted on this training set?"
            )
        self.reranker.fit(train, item_vectors=self.item_vectors)
        self.train_ = self.base.train_
        self.candidates_ = self.base.candidates_
        own = CandidateCache(self.base, int(self.n_candidates))
        self._candidates = own if self.candidate_cache is None else self.candidate_cache
        users = np.flatnonzero(self.train_.getnnz(axis=1) > 0)
        observe = getattr(self.reranker, "observe_base", None)
        if observe is not None:  # re-rankers that need the base's lists of every user
            observe(self._candidates.base_lists(users))
        learn = getattr(self.reranker, "observe_model", None)
        if learn is not None:  # re-rankers trained against the base (on held-out items)
            learn(self.base, train, int(self.n_candidates))
        self.last_candidates_: Candidates | None = None
        logger.info("re-ranked recommender fitted: %r on %s", self.reranker, type(self.base))
        return self

    def _score_known(self, users: np.ndarray, lam: float | None) -> np.ndarray:
        """The base's scores: re-rankers act on lists, so scores do not depend on λ."""
        return self.base._score_known(users, None)

    def resolve_lam(self, lam: float | Mapping[str, float] | None) -> float:
        """λ of this re-ranker: ``None`` → 0; a mapping → its entry for the objective."""
        if lam is None:
            return 0.0
        if isinstance(lam, Mapping):
            return check_lam(lam.get(self.reranker.objective, 0.0))
        return check_lam(lam)

    def candidates(self, users: np.ndarray, k: int, exclude_seen: bool) -> Candidates:
        """The base's top ``max(n_candidates, k)`` of ``users``, cached for the last users."""
        width = max(int(self.n_candidates), k)
        self.last_candidates_ = self._candidates.get(users, width, exclude_seen)
        return self.last_candidates_

    def recommend(
        self,
        users: np.ndarray | list[int],
        k: int,
        lam: float | Mapping[str, float] | None = None,
        exclude_seen: bool = True,
    ) -> tuple[np.ndarray, np.ndarray]:
        """Re-ranked top-``k`` items and their base scores, best first.

        Parameters
        ----------
        users:
            User indices; unknown ones get ``-1`` / ``-inf`` throughout.
        k:
            List length.
        lam:
            λ, or per-objective λs (this re-ranker uses the entry of its ``objective``,
            default 0). ``None`` means 0: the base's lists.
        exclude_seen:
            Leave out each user's training items.

        Returns
        -------
        tuple of numpy.ndarray
            int64 ``(n, k)`` items and float32 ``(n, k)`` base scores (``-inf`` at padding).
        """
        cand, items = self._reranked(users, k, lam, exclude_seen)
        return items, scores_of(cand, items)

    def recommend_items(
        self,
        users: np.ndarray | list[int],
        k: int,
        lam: float | Mapping[str, float] | None = None,
        exclude_seen: bool = True,
    ) -> np.ndarray:
        """The items of :meth:`recommend` without looking up their base scores (a search
        among the candidates: about a tenth of a front's evaluation at 10⁶ interactions)."""
        return self._reranked(users, k, lam, exclude_seen)[1]

    def _reranked(
        self,
        users: np.ndarray | list[int],
        k: int,
        lam: float | Mapping[str, float] | None,
        exclude_seen: bool,
    ) -> tuple[Candidates, np.ndarray]:
        """The candidates of ``users`` and the re-ranked top-``k`` items among them."""
        if not hasattr(self, "train_"):
            raise ValueError("ReRankedRecommender is not fitted; call fit(train) first")
        users = np.asarray(users, dtype=np.int64).reshape(-1)
        value = self.resolve_lam(lam)
        cand = self.candidates(users, k, exclude_seen)
        start = time.perf_counter()
        items = self.reranker.rerank(cand, k, value)
        logger.debug(
            "%s re-ranked %d users at λ=%g in %.1f ms",
            self.reranker.name,
            users.size,
            value,
            1000 * (time.perf_counter() - start),
        )
        return cand, items


def scores_of(cand: Candidates, items: np.ndarray) -> np.ndarray:
    """Base scores of chosen ``items`` (each a candidate of its row); ``-inf`` at padding."""
    n, width = cand.items.shape
    if n == 0 or width == 0:
        return np.full(items.shape, -np.inf, dtype=np.float32)
    span, order, keys = cand.item_keys
    if int(items.max(initial=-1)) + 2 > span:
        raise ValueError("scores_of: an item is not among its row's candidates")
    # Row-offset keys make one sorted array; searchsorted finds every chosen item's column.
    row_key = np.arange(n, dtype=np.int64)[:, None] * span
    pos = np.searchsorted(keys, (items + 1 + row_key).ravel())
    flat = order[np.minimum(pos, order.size - 1)]
    scores = cand.scores.ravel()[flat].reshape(items.shape)
    return np.where(items >= 0, scores, np.float32(-np.inf)).astype(np.float32)
