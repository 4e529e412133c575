"""The evaluation protocol in one place: which users, which candidates, which metrics.

Every number recolab reports comes from :func:`evaluate`, and every result carries the
protocol it was measured under (:meth:`Protocol.describe`), so that a table can always be read
with its rules beside it.

Examples
--------
>>> import pandas as pd
>>> from recolab.data import Vocabulary, build_interactions
>>> from recolab.models import PopularityRecommender
>>> users, items = Vocabulary.from_ids("abc"), Vocabulary.from_ids("xyz")
>>> train = build_interactions(pd.DataFrame({"user": list("aab"), "item": list("xyx"),
...     "value": 1.0}), kind="implicit", users=users, items=items)
>>> test = build_interactions(pd.DataFrame({"user": ["b"], "item": ["y"], "value": 1.0}),
...     kind="implicit", users=users, items=items)
>>> result = evaluate(PopularityRecommender().fit(train), train, test, ks=(1,))
>>> result.metrics["recall@1"], result.n_users
(1.0, 1)
"""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np
import pandas as pd

from recolab.data.interactions import InteractionData
from recolab.data.prices import item_prices
from recolab.errors import DataError
from recolab.features.tabular import genre_vectors
from recolab.metrics import mae, ranking_metrics, recent_share, revenue_metrics, rmse
from recolab.models.base import Recommender

logger = logging.getLogger(__name__)

UNSEEN_NOTE = (
    "Test items never seen in training still count as relevant (in |test_u|); only "
    "content-aware models can recommend them, so they cap what collaborative models can reach."
)

DEFAULT_CANDIDATES = (
    "all items seen in training (the model's candidates), minus the user's own training items"
)
#: Recency window of ``recent_share@k``, in days before the last training interaction.
RECENT_DAYS = 30


@dataclass(frozen=True)
class Protocol:
    """The rules a result was measured under.

    Parameters
    ----------
    ks:
        Cut-offs of the top-k metrics.
    exclude_seen:
        Whether a user's own training items are removed from their ranking.
    candidates:
        Which items are ranked, in words.
    users:
        Which users are evaluated, in words.
    relevance:
        What counts as relevant, in words.
    """

    ks: tuple[int, ...] = (10, 20)
    exclude_seen: bool = True
    candidates: str = DEFAULT_CANDIDATES
    users: str = "users with at least one test interaction"
    relevance: str = "binary: every test interaction is relevant, whatever its rating"

    def __post_init__(self) -> None:
        ks = tuple(int(k) for k in self.ks)
        if not ks or min(ks) < 1:
            raise ValueError(f"Protocol.ks must be positive cut-offs, got {self.ks!r}")
        object.__setattr__(self, "ks", tuple(sorted(set(ks))))

    def rules(self) -> list[str]:
        """The protocol in sentences, as printed beside every result."""
        seen = (
            "minus the user's own training items"
            if self.exclude_seen
            else "the user's own training items included"
        )
        repeat = (
            []
            if self.exclude_seen
            else [
                "Repeat purchases allowed: a test item the user already had in training "
                "counts as a hit."
            ]
        )
        return [
            f"Rank all items seen in training, {seen}.",
            *repeat,
            f"Evaluate {self.users}.",
            f"Relevance is {self.relevance}.",
            UNSEEN_NOTE,
            "precision@k = hits/k; recall@k = hits/|test_u|; F1@k = 2PR/(P+R) per user; "
            "NDCG@k with log2 discount, ideal DCG over min(|test_u|, k); hit rate@k; "
            "MAP@k normalised by min(|test_u|, k); all averaged over evaluated users.",
            "coverage@k = distinct recommended items / items in training; novelty@k = mean "
            "-log2(n_users_i / n_users) over recommended items (n_users_i ≥ 1); diversity@k = "
            "mean over users of 1 - mean pairwise cosine of the list's item vectors; "
            "exposure_equality@k = 1 - Gini of exposure over training items.",
        ]

    def describe(
        self, train: InteractionData | None = None, test: InteractionData | None = None
    ) -> dict[str, Any]:
        """The protocol as a JSON-ready dict; with data, also the counts that frame a result.

        Parameters
        ----------
        train, test:
            When both are given, adds ``n_eval_users``, ``n_train_users``,
            ``n_train_items``, ``n_test_interactions`` and
            ``n_test_interactions_unseen_items`` (test rows whose item has no training
            interaction).

        Returns
        -------
        dict
        """
        candidates = self.candidates
        if not self.exclude_seen and candidates == DEFAULT_CANDIDATES:
            candidates = "all items seen in training, the user's own training items included"
        out: dict[str, Any] = {
            "ks": list(self.ks),
            "exclude_seen": self.exclude_seen,
            "candidates": candidates,
            "users": self.users,
            "relevance": self.relevance,
            "unseen_items_note": UNSEEN_NOTE,
            "rules": self.rules(),
        }
        if train is not None and test is not None:
            out["split"] = test.name
            out.update(_data_counts(train, test))
        return out


def _data_counts(train: InteractionData, test: InteractionData) -> dict[str, int]:
    """Sizes of the split, with the test users, items and interactions training lacks
    (cold users and items: counted, never dropped) and the repeats of training pairs."""
    tr = train.matrix(binary=True)
    te = test.matrix(binary=True)
    train_items = tr.getnnz(axis=0) > 0
    train_users = tr.getnnz(axis=1) > 0
    test_users = te.getnnz(axis=1) > 0
    test_items = te.getnnz(axis=0) > 0
    rows = np.repeat(np.arange(te.shape[0]), np.diff(te.indptr))
    unseen = int((~train_items[te.indices]).sum()) if te.nnz else 0
    return {
        "n_test_users": int(test_users.sum()),
        "n_test_items": int(test_items.sum()),
        "n_test_users_unseen": int((test_users & ~train_users).sum()),
        "n_test_items_unseen": int((test_items & ~train_items).sum()),
        "n_test_interactions_unseen_users": int((~train_users[rows]).sum()),
        "n_test_interactions_repeat": int(te.multiply(tr).nnz),
        "n_eval_users": int((te.getnnz(axis=1) > 0).sum()),
        "n_train_users": int((tr.getnnz(axis=1) > 0).sum()),
        "n_train_items": int(train_items.sum()),
        "n_items": int(tr.shape[1]),
        "n_train_interactions": int(tr.nnz),
        "n_test_interactions": int(te.nnz),
        "n_test_interactions_unseen_items": unseen,
    }


@dataclass
class EvalResult:
    """Metrics of one model under one protocol.

    Attributes
    ----------
    metrics:
        Flat ``{"recall@20": 0.31, ...}``.
    protocol:
        :meth:`Protocol.describe` with the data counts.
    n_users:
        Users evaluated.
    seconds:
        Wall time of ranking plus metrics.
    """

    metrics: dict[str, float]
    protocol: dict[str, Any]
    n_users: int
    seconds: float = 0.0
    extra: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form (NaN metrics become ``None``)."""
        return {
            "metrics": {
                k: (None if isinstance(v, float) and math.isnan(v) else v)
                for k, v in self.metrics.items()
            },
            "protocol": self.protocol,
            "n_users": self.n_users,
            "seconds": self.seconds,
            **({"extra": self.extra} if self.extra else {}),
        }


def _same_vocab(a: Any, b: Any) -> bool:
    return a is b or (len(a) == len(b) and bool(np.array_equal(a.ids, b.ids)))


def evaluate(
    model: Recommender,
    train: InteractionData,
    test: InteractionData,
    *,
    ks: Sequence[int] | None = None,
    lam: float | Mapping[str, float] | None = None,
    item_vectors: np.ndarray | None = None,
    protocol: Protocol | None = None,
    accuracy_only: bool = False,
) -> EvalResult:
    """Measure a fitted model on held-out interactions under the protocol.

    Parameters
    ----------
    model:
        A fitted :class:`~recolab.models.base.Recommender` (fitted on ``train``).
    train, test:
        The split; both must share the same user and item vocabularies.
    ks:
        Cut-offs; default the protocol's (10, 20). Given, they override the protocol's.
    lam:
        Trade-off weight passed to conditioned models: a λ, or per-objective λs.
    item_vectors:
        ``n_items × d`` vectors for diversity; default a genre one-hot from
        ``train.item_meta`` when it has genres, else diversity is omitted.
    protocol:
        The rules; default :class:`Protocol`.
    accuracy_only:
        Only the accuracy metrics (precision, recall, F1, ndcg, hit rate, MAP at each k):
        what tuning and the calibration of a λ range read, in about half the time on the
        retail log. Coverage, novelty, diversity, revenue, recency and rating errors are
        left out, and the protocol says so.

    Returns
    -------
    EvalResult
        Ranking metrics at every k (see :func:`recolab.metrics.ranking_metrics`), plus
        ``rmse``/``mae`` for explicit data when the model has ``predict_ratings``.
    """
    start = time.perf_counter()
    protocol = protocol or Protocol()
    if ks is not None:
        protocol = replace(protocol, ks=tuple(ks))
    _check_inputs(model, train, test)
    test_m = test.matrix(binary=True)
    eval_users = np.flatnonzero(test_m.getnnz(axis=1) > 0)
    if eval_users.size == 0:
        raise DataError("evaluate: no user has a test interaction")
    topk = model.recommend_items(
        eval_users, max(protocol.ks), lam=lam, exclude_seen=protocol.exclude_seen
    )
    if accuracy_only:
        metrics = ranking_metrics(topk, test_m[eval_users], protocol.ks)
        described = protocol.describe(train, test)
        described["metrics"] = "accuracy only (coverage, novelty, diversity, revenue left out)"
        extra: dict[str, Any] = {}
    else:
        metrics, described = _all_metrics(
            topk, train, test, test_m, eval_users, protocol, item_vectors
        )
        errors, extra = _rating_errors(model, train, test)
        metrics.update(errors)
    described.update(_lam_described(lam))
    seconds = time.perf_counter() - start
    logger.info("evaluated %s on %d users in %.3fs", type(model).__name__, eval_users.size, seconds)
    return EvalResult(
        metrics=metrics,
        protocol=described,
        n_users=int(eval_users.size),
        seconds=seconds,
        extra=extra,
    )


def _all_metrics(
    topk: np.ndarray,
    train: InteractionData,
    test: InteractionData,
    test_m: Any,
    eval_users: np.ndarray,
    protocol: Protocol,
    item_vectors: np.ndarray | None,
) -> tuple[dict[str, float], dict[str, Any]]:
    """:func:`evaluate`'s ranking, beyond-accuracy, revenue and recency metrics of the lists
    ``topk`` of ``eval_users``, and the protocol they were measured under (without λ)."""
    train_m = train.matrix(binary=True)
    item_users = np.asarray(train_m.getnnz(axis=0), dtype=np.float64)
    n_train_users = int((train_m.getnnz(axis=1) > 0).sum())
    if item_vectors is None:
        genres = genre_vectors(train.item_meta, train.items)
        item_vectors = genres if genres.shape[1] > 0 else None
    metrics = ranking_metrics(
        topk,
        test_m[eval_users],
        protocol.ks,
        item_users=item_users,
        n_train_users=n_train_users,
        item_vectors=item_vectors,
    )
    revenue, priced = _revenue(topk, test_m[eval_users], train, test, eval_users, protocol.ks)
    metrics.update(revenue)
    recency, recent_rule = _recency(topk, train, protocol.ks)
    metrics.update(recency)
    described = protocol.describe(train, test)
    described.update(priced)
    described.update(recent_rule)
    described["diversity_vectors"] = (
        "none (diversity omitted)" if item_vectors is None else f"{item_vectors.shape[1]} dims"
    )
    return metrics, described


def _check_inputs(model: Recommender, train: InteractionData, test: InteractionData) -> None:
    """Refuse a split with different vocabularies and a model unfitted or fitted elsewhere."""
    if not _same_vocab(train.users, test.users) or not _same_vocab(train.items, test.items):
        raise DataError("evaluate: train and test must share the same user and item vocabularies")
    if not hasattr(model, "train_"):
        raise ValueError(f"evaluate: {type(model).__name__} is not fitted")
    if model.n_items != train.n_items:
        raise ValueError(
            f"evaluate: the model scores {model.n_items} items but the data have "
            f"{train.n_items}; was it fitted on this training set?"
        )


def _rating_errors(
    model: Recommender, train: InteractionData, test: InteractionData
) -> tuple[dict[str, float], dict[str, Any]]:
    """RMSE and MAE of the predicted test ratings, for explicit data and a model with
    ``predict_ratings`` (else nothing), and how many pairs could not be predicted."""
    predict = getattr(model, "predict_ratings", None)
    if train.kind != "explicit" or not callable(predict):
        return {}, {}
    column = "rating" if "rating" in test.frame.columns else "value"
    actual = test.frame[column].to_numpy(dtype=np.float64)
    pred = np.asarray(
        predict(test.frame["user_idx"].to_numpy(), test.frame["item_idx"].to_numpy()),
        dtype=np.float64,
    )
    ok = np.isfinite(pred)
    if (~ok).any():
        logger.warning("evaluate: %d test ratings could not be predicted", int((~ok).sum()))
    extra = {"n_rating_pairs_unpredicted": int((~ok).sum())}
    if not ok.any():
        return {}, extra
    return {"rmse": rmse(pred[ok], actual[ok]), "mae": mae(pred[ok], actual[ok])}, extra


def _lam_described(lam: float | Mapping[str, float] | None) -> dict[str, Any]:
    """The protocol's ``lam`` entry: a λ, per-objective λs, or nothing for ``None``."""
    if isinstance(lam, Mapping):
        return {"lam": {str(k): float(v) for k, v in lam.items()}}
    return {} if lam is None else {"lam": float(lam)}


REVENUE_RULE = (
    "revenue@k = Σ price × quantity over the hits in the top k (quantity held out; 1 without "
    "a quantity column), averaged over evaluated users; price_recall@k = Σ price of the hits "
    "/ Σ price of the user's test items. An item's price is its catalogue price, else the "
    "median unit price of its log rows priced above 0; hits on items without a price add 0 "
    "(counted in n_test_interactions_unpriced)."
)


def _revenue(
    topk: np.ndarray,
    test_rows: Any,
    train: InteractionData,
    test: InteractionData,
    eval_users: np.ndarray,
    ks: Sequence[int],
) -> tuple[dict[str, float], dict[str, Any]]:
    """revenue@k and price_recall@k, and the rule and price counts for the protocol, when
    the data have prices; two empty dicts otherwise."""
    prices = item_prices(train, test)
    if prices is None:
        return {}, {}
    quantities, n_unknown = None, 0
    if "quantity" in test.frame.columns:
        # a test row without a quantity above 0 (a log mixing sources, injected profiles)
        # counts once, and says so in the protocol, rather than stopping the evaluation
        q = pd.to_numeric(test.frame["quantity"], errors="coerce")
        unknown = ~(q > 0)
        n_unknown = int(unknown.sum())
        filled = test.with_frame(test.frame.assign(quantity=q.where(~unknown, 1.0)))
        quantities = filled.matrix("quantity")[eval_users]
    metrics = revenue_metrics(topk, test_rows, prices.filled(), ks, quantities=quantities)
    return metrics, {
        "revenue": REVENUE_RULE,
        "price_source": prices.source,
        "prices": prices.counts,
        "n_test_interactions_unpriced": int((~prices.known[test_rows.indices]).sum()),
        "n_test_interactions_without_quantity": n_unknown,
    }


def _recency(
    topk: np.ndarray, train: InteractionData, ks: Sequence[int]
) -> tuple[dict[str, float], dict[str, Any]]:
    """recent_share@k (:func:`recolab.metrics.recent_share`) over the items bought in the
    last :data:`RECENT_DAYS` days of training, and its rule for the protocol, when every
    training interaction is timed; two empty dicts otherwise."""
    frame = train.frame
    if "timestamp" not in frame.columns or len(frame) == 0 or frame["timestamp"].isna().any():
        return {}, {}
    ts = frame["timestamp"].to_numpy(dtype="datetime64[ns]")
    since = ts.max() - np.timedelta64(RECENT_DAYS, "D")
    recent = np.zeros(train.n_items, dtype=bool)
    recent[frame["item_idx"].to_numpy()[ts >= since]] = True
    train_items = train.matrix(binary=True).getnnz(axis=0) > 0
    rule = {
        "recency": (
            f"recent_share@k = share of the top k bought by anyone in the last {RECENT_DAYS} "
            f"days of training (since {pd.Timestamp(since)}), averaged over evaluated users"
        ),
        "n_recent_items": int(recent.sum()),
        "recent_items_share_of_training_items": float(recent.sum() / max(train_items.sum(), 1)),
    }
    return recent_share(topk, recent, ks), rule


DEFAULT_TABLE_KEYS = (
    "precision@10",
    "recall@10",
    "recall@20",
    "ndcg@10",
    "ndcg@20",
    "map@20",
    "coverage@20",
    "novelty@20",
    "diversity@20",
    "exposure_equality@20",
    "revenue@20",
)


def format_table(
    results: Mapping[str, Mapping[str, float]],
    keys: Sequence[str] | None = None,
    digits: int = 4,
) -> str:
    """Fixed-width text table: one row per model, one column per metric.

    Parameters
    ----------
    results:
        ``{model name: {metric: value}}`` (e.g. ``EvalResult.metrics``).
    keys:
        Columns, in order. Default: those of :data:`DEFAULT_TABLE_KEYS` present in any
        result, else every metric seen, in first-seen order.
    digits:
        Decimals shown. Missing or NaN values print as ``-``.

    Returns
    -------
    str
        The table, lines joined by ``\\n`` (no trailing newline).
    """
    if keys is None:
        seen: list[str] = []
        for metrics in results.values():
            seen.extend(k for k in metrics if k not in seen)
        keys = [k for k in DEFAULT_TABLE_KEYS if k in seen] or seen
    keys = list(keys)

    def cell(v: object) -> str:
        if v is None or (isinstance(v, float) and math.isnan(v)):
            return "-"
        if isinstance(v, int | float | np.floating | np.integer):
            return f"{float(v):.{digits}f}"
        return str(v)

    header = ["model", *keys]
    rows = [[str(name), *(cell(m.get(k)) for k in keys)] for name, m in results.items()]
    widths = [max(len(r[j]) for r in [header, *rows]) for j in range(len(header))]
    lines = [
        "  ".join(
            h.ljust(w) if j == 0 else h.rjust(w)
            for j, (h, w) in enumerate(zip(header, widths, strict=True))
        )
    ]
    lines.append("  ".join("-" * w for w in widths))
    for r in rows:
        lines.append(
            "  ".join(
                c.ljust(w) if j == 0 else c.rjust(w)
                for j, (c, w) in enumerate(zip(r, widths, strict=True))
            )
        )
    return "\n".join(lines)
