"""Serving a loaded bundle: :class:`LoadedModel` (recommend by external ids, fold in new
users, score new items from text) and :class:`AlignedModel` (a model seen through another
data set's vocabularies)."""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from recolab.bundle.schema import TRADEOFF_TYPE
from recolab.bundle.signing import SIGNED, UNSIGNED
from recolab.data.interactions import InteractionData
from recolab.errors import BundleError
from recolab.models.base import Recommender

log = logging.getLogger(__name__)

#: The list length served by a bundle that names no cut-off k* (exported before α chose one).
DEFAULT_K = 10


class AlignedModel(Recommender):
    """A fitted model re-indexed onto another data set's vocabularies (by external id)."""

    conditioned = True

    def __init__(self, inner: Any, train: InteractionData) -> None:
        self.inner = inner
        self._remember(train)
        self.user_map_ = inner.users_.index(train.users.ids)
        self.item_map_ = inner.items_.index(train.items.ids)
        known = self.item_map_ >= 0
        self.candidates_ = known & np.where(
            known, inner.candidates_[np.maximum(self.item_map_, 0)], False
        )

    def fit(self, train: InteractionData) -> AlignedModel:
        """Aligned models are built from a fitted model; fitting again is not supported."""
        raise TypeError("AlignedModel wraps a fitted model; build a new one instead")

    def _score_known(self, users: np.ndarray, lam: float | None) -> np.ndarray:
        inner_users = self.user_map_[users]
        out = np.full((len(users), self.n_items), -np.inf, dtype=np.float32)
        ok = inner_users >= 0
        if ok.any():
            scores = self.inner.score(inner_users[ok], lam)
            cols = self.item_map_ >= 0
            block = np.full((int(ok.sum()), self.n_items), -np.inf, dtype=np.float32)
            block[:, cols] = scores[:, self.item_map_[cols]]
            out[ok] = block
        out[~ok] = np.nan
        return out

    def recommend(
        self,
        users: np.ndarray | list[int],
        k: int,
        lam: float | Mapping[str, float] | None = None,
        exclude_seen: bool = True,
    ) -> tuple[np.ndarray, np.ndarray]:
        """Top-``k`` in this data's indices; a re-ranked inner model re-ranks the aligned
        base's candidates with its own re-ranker (mapped to its item indices and back)."""
        reranker = getattr(self.inner, "reranker", None)
        if reranker is None:
            return super().recommend(users, k, lam=lam, exclude_seen=exclude_seen)
        from recolab.rerank.base import Candidates, scores_of

        users = np.asarray(users, dtype=np.int64)
        width = max(int(self.inner.n_candidates), k)
        items, scores = super().recommend(users, width, lam=None, exclude_seen=exclude_seen)
        inner_items = np.where(items >= 0, self.item_map_[np.maximum(items, 0)], -1)
        inner_users = np.where(users >= 0, self.user_map_[np.maximum(users, 0)], -1)
        cand = Candidates(users=inner_users, items=inner_items, scores=scores)
        order = reranker.rerank(cand, k, self.inner.resolve_lam(lam))
        back = np.full(self.inner.n_items + 1, -1, dtype=np.int64)
        known = self.item_map_ >= 0
        back[self.item_map_[known]] = np.flatnonzero(known)
        picked = back[order]  # order's -1 reads back[-1], which is -1
        return picked, np.where(picked >= 0, scores_of(cand, order), -np.inf).astype(np.float32)

    @property
    def predict_ratings(self) -> Callable[[np.ndarray, np.ndarray], np.ndarray]:
        """Predicted ratings of (user, item) index pairs in this data's vocabularies; NaN for
        users or items the model does not know (see the inner model's ``predict_ratings``).
        Absent (``AttributeError``) when the inner model predicts no ratings."""
        if not hasattr(self.inner, "predict_ratings"):
            raise AttributeError(f"{type(self.inner).__name__} does not predict ratings")
        return self._predict_ratings

    def _predict_ratings(self, users: np.ndarray, items: np.ndarray) -> np.ndarray:

        def inner(idx: np.ndarray, table: np.ndarray) -> np.ndarray:
            idx = np.asarray(idx, dtype=np.int64)
            ok = (idx >= 0) & (idx < len(table))
            return np.where(ok, table[np.where(ok, idx, 0)], -1)

        return self.inner.predict_ratings(
            inner(users, self.user_map_), inner(items, self.item_map_)
        )


@dataclass
class LoadedModel:
    """A model loaded from a bundle: recommend by external ids, fold in new users, score new
    items from their text.

    Attributes
    ----------
    model:
        The underlying :class:`~recolab.models.weighted.WeightedObjectiveRecommender`.
    config:
        The bundle's ``config.json``.
    path:
        Where it was loaded from.
    signature:
        ``"signed"`` (verified with the key), ``"unsigned"``, or
        ``"signed, not verified (no key)"`` (see :mod:`recolab.bundle.signing`).
    """

    model: Any
    config: dict[str, Any]
    path: Path
    signature: str = UNSIGNED

    @property
    def signed(self) -> bool:
        """Whether the bundle's signature was verified with the key."""
        return self.signature == SIGNED

    @property
    def default_lam(self) -> float:
        """λ chosen at export."""
        return float(self.config["objectives"]["lam"])

    @property
    def default_k(self) -> int:
        """The list length served when none is asked for: the cut-off k* α chose on
        validation at export (``objectives.k``), else 10 (bundles without one)."""
        k = self.config["objectives"].get("k")
        return DEFAULT_K if k is None else int(k)

    @property
    def repeat(self) -> bool:
        """Whether the model serves repeat purchases (consumables): trained with ``repeat``,
        it keeps each user's own items among the candidates unless asked otherwise
        (``exclude_seen``). ``False`` for bundles written before the field existed."""
        return bool(self.config.get("repeat", False))

    def resolve_exclude_seen(self, exclude_seen: bool | None = None) -> bool:
        """Whether a list leaves the user's own items out: ``exclude_seen`` when given,
        else the bundle's choice (not :attr:`repeat`)."""
        if exclude_seen is None:
            return not self.repeat
        if not isinstance(exclude_seen, bool | np.bool_):
            raise BundleError(f"exclude_seen must be True, False or None, got {exclude_seen!r}")
        return bool(exclude_seen)

    @property
    def lambda_range(self) -> tuple[float, float]:
        """The λ range the model was trained on."""
        lo, hi = self.config["lambda_range"]
        return float(lo), float(hi)

    def for_data(self, train: InteractionData) -> Recommender:
        """The model seen through ``train``'s vocabularies (matched by id), for evaluating the
        bundle on any split: items it does not know are never recommended, users it does not
        know score NaN, and ``train``'s interactions are the ones left out."""
        return AlignedModel(self.model, train)

    def _lam(self, lam: float | Mapping[str, float] | None) -> float | dict[str, float]:
        """The λ to score at: the exported default, a trade-off λ, or per-objective λs
        (see :meth:`~recolab.models.weighted.WeightedObjectiveRecommender.lambda_vector`)."""
        if isinstance(lam, Mapping):
            return {str(k): float(v) for k, v in lam.items()}
        value = self.default_lam if lam is None else float(lam)
        lo, hi = self.lambda_range
        if not lo <= value <= hi:
            log.warning("λ=%s is outside the trained range [%s, %s]", value, lo, hi)
        return value

    def _k(self, k: int | None) -> int:
        """``k``, or :attr:`default_k` when ``None``; anything but a whole number ≥ 1 is a
        :class:`BundleError`."""
        if k is None:
            return self.default_k
        if isinstance(k, bool) or not isinstance(k, int | np.integer) or k < 1:
            raise BundleError(f"k must be a whole number ≥ 1, got {k!r}")
        return int(k)

    def _frame(self, users: list[str], idx: np.ndarray, scores: np.ndarray) -> pd.DataFrame:
        rows = []
        titles = self.model.item_titles_
        for u, (ii, ss) in zip(users, zip(idx, scores, strict=True), strict=True):
            for rank, (i, s) in enumerate(zip(ii, ss, strict=True), start=1):
                if i < 0:
                    continue
                row = {"user": u, "rank": rank, "item": self.model.items_.ids[i], "score": float(s)}
                if titles is not None:
                    row["title"] = titles[i]
                rows.append(row)
        return pd.DataFrame(
            rows,
            columns=["user", "rank", "item", "score"] + (["title"] if titles is not None else []),
        )

    def recommend(
        self,
        user_ids: list[str] | str,
        k: int | None = None,
        lam: float | Mapping[str, float] | None = None,
        exclude_seen: bool | None = None,
    ) -> pd.DataFrame:
        """Top-``k`` items for known users (columns user, rank, item, score[, title]);
        ``k=None`` serves :attr:`default_k`. ``exclude_seen=None`` follows the bundle:
        each user's own items are left out unless the model serves repeat purchases
        (:attr:`repeat`); ``True`` / ``False`` overrides it.

        Unknown user ids are a :class:`BundleError` that names them (use
        :meth:`recommend_for_history` for a new user).
        """
        users = [user_ids] if isinstance(user_ids, str) else [str(u) for u in user_ids]
        idx = self.model.users_.index(users)
        unknown = [u for u, i in zip(users, idx, strict=True) if i < 0]
        if unknown:
            raise BundleError(
                f"unknown user id(s) {unknown[:5]}: not in the training data; "
                "pass their history instead (recommend_for_history / --history)"
            )
        k = self._k(k)
        exclude = self.resolve_exclude_seen(exclude_seen)
        top, scores = self.model.recommend(idx, k, lam=self._lam(lam), exclude_seen=exclude)
        return self._frame(users, top, scores)

    def recommend_for_history(
        self,
        item_ids: list[str],
        k: int | None = None,
        lam: float | Mapping[str, float] | None = None,
        exclude_seen: bool | None = None,
        attributes: Mapping[str, Any] | None = None,
    ) -> pd.DataFrame:
        """Top-``k`` for a new user from the ids of items they interacted with (fold-in; may
        be empty) and, for models trained with user attributes, their attributes (column →
        value, e.g. ``{"age": 31, "occupation": "writer"}``). Unknown item ids are ignored
        with a warning; attributes the model was not trained on are ignored. ``k=None``
        serves :attr:`default_k`; ``exclude_seen=None`` follows the bundle, as in
        :meth:`recommend`."""
        k = self._k(k)
        exclude = self.resolve_exclude_seen(exclude_seen)
        idx = self.model.items_.index([str(i) for i in item_ids])
        if (idx < 0).any():
            log.warning(
                "ignoring unknown item ids: %s",
                [i for i, j in zip(item_ids, idx, strict=True) if j < 0][:5],
            )
        idx = idx[idx >= 0]
        if hasattr(self.model, "recommend_history"):
            if attributes:
                log.warning("this model has no user-attribute part: attributes are ignored")
            top, scores = self.model.recommend_history(idx, k, self._lam(lam), exclude)
            return self._frame(["(new user)"], top, scores)
        s = self.model.fold_in(idx, lam=self._lam(lam), attributes=attributes)
        s[~self.model.candidates_] = -np.inf
        if exclude:
            s[idx] = -np.inf
        from recolab.models.base import top_k

        top, scores = top_k(s[None, :], k)
        return self._frame(["(new user)"], top, scores)

    def changes(
        self,
        user_id: str | None = None,
        history_ids: list[str] | None = None,
        k: int | None = None,
        lam: float | None = None,
        lam_from: float = 0.0,
    ) -> pd.DataFrame:
        """What λ changed in a list: the list at ``lam`` (default: :attr:`default_lam`)
        against the list at ``lam_from`` (default 0, the base), for a known user or a new
        user's history; each item kept, added or dropped, with the objective that moved it
        (see :func:`recolab.explain.list_changes`)."""
        from recolab.explain import list_changes

        return list_changes(
            self, user_id=user_id, history_ids=history_ids, k=k, lam=lam, lam_from=lam_from
        )

    def update(
        self,
        events: pd.DataFrame | str | Path | InteractionData,
        mapping: Mapping[str, str] | None = None,
        *,
        device: str = "auto",
    ) -> LoadedModel:
        """This model with a new period of behaviour added, without a full retrain.

        New users and items get vocabulary entries (new items their titles, when the
        events carry them); the events are read and cleaned by the training loader; the
        closed-form base is re-solved once from the Gram matrix of the updated histories
        with its tuned options (``l2`` rescaled), and the re-ranker is refitted. That solve
        is exactly a retrain's with the same options on old and new interactions together:
        see :mod:`recolab.update`. An empty frame changes nothing.

        Parameters
        ----------
        events:
            A data frame of events (columns as in a training log), a file path, or events
            already read by :func:`recolab.update.read_events`.
        mapping:
            Role → column (``{"user": "CustomerID"}``); default: detected, as at training.
        device:
            Where the solve runs (``"auto"``, ``"cpu"``, ``"cuda"``).

        Returns
        -------
        LoadedModel
            A new, unsigned model; its ``config["updates"]`` ends with what this update
            read and changed. This one is left as it was. Save it with
            :func:`recolab.update.export_updated`.

        Raises
        ------
        BundleError
            For a model that cannot be updated (the weighted-objective network).
        DataError
            For bad events, naming the file (or frame), row and column.
        """
        from recolab.update import check_updatable, read_events, update_tradeoff

        check_updatable(self.config, str(self.path))
        if isinstance(events, pd.DataFrame) and events.empty:
            log.info("no new events: the model is unchanged")
            return self
        new = read_events(events, dict(mapping) if mapping else None)
        model, summary = update_tradeoff(self.model, self.config, new, device=device)
        model.repeat_ = self.repeat  # so that export_updated keeps the bundle's choice
        dims = {**self.config["dimensions"], "n_users": len(model.users_)}
        config = {
            **self.config,
            "dimensions": {**dims, "n_items": len(model.items_)},
            "updates": [*(self.config.get("updates") or []), summary.to_dict()],
        }
        return LoadedModel(model=model, config=config, path=self.path, signature=UNSIGNED)

    def score_new_items(
        self,
        texts: list[str],
        user_ids: list[str],
        lam: float | Mapping[str, float] | None = None,
        encoder: Any = None,
    ) -> np.ndarray:
        """Scores (users × new items) of items not in the catalogue, from their text alone."""
        from recolab.features.text import TextEncoder

        if self.config.get("model_type") == TRADEOFF_TYPE:
            raise BundleError(
                "this model (a linear base with a trade-off mechanism) scores items from "
                "interactions only: it cannot score new items from their text"
            )
        if self.config["dimensions"]["text_dim"] == 0:
            raise BundleError(
                "this model was trained without item texts: it cannot score new items"
            )
        enc = encoder or TextEncoder()
        vectors = enc.encode(texts)
        idx = self.model.users_.index([str(u) for u in user_ids])
        if (idx < 0).any():
            unknown = [u for u, i in zip(user_ids, idx, strict=True) if i < 0]
            raise BundleError(f"unknown user id(s): {unknown[:5]}")
        return self.model.score_text_items(idx, vectors, lam=self._lam(lam))
