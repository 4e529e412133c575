"""Incremental update: add a new period of behaviour to a served model without retraining.

What stays and what is recomputed (:func:`update_tradeoff`):

- **Vocabularies.** Old users and items keep their indices; users and items first seen in
  the new events are appended (:meth:`~recolab.data.vocab.Vocabulary.union`). New items get
  the titles the events carry (a title, name or description column), old ones keep theirs.
- **Histories.** The new events are read and cleaned by the same loader as training
  (:func:`~recolab.data.io.load_interactions`: column detection or a mapping, id cleaning,
  returns and non-product rows dropped and counted, duplicates merged) and added to the
  stored binary histories: ``X' = X ∨ ΔX`` (a pair seen again stays 1).
- **Base.** The tuned options are kept (dropout emphasis, user and item normalisation, the
  zero diagonal, the top-k pruning width); ``l2`` is rescaled to the updated data exactly as
  :func:`~recolab.tuning.study.params_from` does, from the tuned ``l2_scale`` stored in the
  bundle's selection (or, for a bundle without one, the scale the stored ``l2`` had on the
  stored histories); a base averaging several trials rescales each. Then the base is solved
  once (each member once, for such a mean), from the Gram matrix of ``X'``.
- **Re-ranker.** Refitted on ``X'`` (counts, profiles, calibrated quantities); a revenue
  re-ranker keeps its stored prices and takes the new items' prices from the events; a
  trained residual (``conditioned``) is trained again on ``X'``. Item vectors (MMR,
  calibration) of new items are zero: such an item is dissimilar to every other one.
- **Kept as is.** λ range and default λ, k*, the mechanism chosen on validation, and the
  metrics measured at training (the bundle's ``updates`` entry says they predate it).

Why the solve is exact and needs nothing beyond the bundle: the base is a function of the
Gram matrix ``G = Xᵀ D_U^{-β} X`` of the binary histories (and of the item counts, its
diagonal). The bundle stores ``X`` itself, so ``G' = Gram(X')`` of the updated binary matrix
is computed directly and the solve is the one a retrain with the same options on the union
of the old and new interactions performs: same matrix, same options, same code. The textbook
shortcut ``XᵀX + ΔXᵀΔX`` is exact only when the new rows belong to new users; for a known
user it misses the cross terms ``xᵀΔx + Δxᵀx``, double-counts repeat purchases of a binary
history, and with ``β > 0`` the user's weight ``n_u^{-β}`` changes too. Recomputing ``G'``
costs one sparse product, small beside the O(n_items³) solve; what the update saves is the
tuning (the study, the mechanism fronts and the pruning search), not the solve.
"""

from __future__ import annotations

import logging
import math
import tempfile
import time
from dataclasses import asdict, dataclass, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import scipy.sparse as sp

from recolab.data.interactions import InteractionData, data_fingerprint, item_titles
from recolab.data.vocab import Vocabulary
from recolab.errors import BundleError, DataError
from recolab.models.averaged_linear import AveragedLinearAutoencoder, make_base
from recolab.models.linear import LinearAutoencoder, LinearParams
from recolab.models.sparse_linear import SparseLinearAutoencoder, make_linear_base
from recolab.models.tradeoff import TradeoffRecommender, interactions_from_matrix
from recolab.tuning.study import mean_gram_diagonal, params_from

log = logging.getLogger(__name__)

#: The bundle model type that can be updated (the tuned linear base + trade-off mechanism).
UPDATABLE_TYPE = "linear-rerank"


@dataclass(frozen=True)
class UpdateSummary:
    """What an update read and changed (stored in the updated bundle's ``updates`` list).

    Attributes
    ----------
    source:
        The events' file name (``"(data frame)"`` for a frame).
    rows_read, rows_kept:
        Rows in the events, and rows left after cleaning and merging duplicates (the
        loader's report accounts for the others).
    new_users, new_items:
        Vocabulary entries added.
    pairs_added:
        (user, item) pairs that were not in the histories before.
    users_updated:
        Users whose history changed.
    l2:
        The base's ``l2`` after rescaling to the updated histories.
    seconds:
        Wall time of the update (reading the events included).
    """

    source: str
    rows_read: int
    rows_kept: int
    new_users: int
    new_items: int
    pairs_added: int
    users_updated: int
    l2: float
    seconds: float

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready, with the time it was made."""
        return {**asdict(self), "at": datetime.now(UTC).isoformat(timespec="seconds")}

    def describe(self) -> str:
        """One line for people."""
        return (
            f"{self.source}: {self.rows_kept:,} of {self.rows_read:,} rows kept; "
            f"{self.new_users:,} new users, {self.new_items:,} new items, "
            f"{self.pairs_added:,} new user-item pairs over {self.users_updated:,} users; "
            f"base re-solved (l2 {self.l2:.4g}) in {self.seconds:.1f} s"
        )


def read_events(
    events: pd.DataFrame | str | Path | InteractionData,
    mapping: dict[str, str] | None = None,
    *,
    name: str = "(data frame)",
) -> InteractionData:
    """New events, read and cleaned by :func:`~recolab.data.io.load_interactions` (the
    loader training uses: detection or ``mapping``, the same cleaning rules and report),
    one row per event: a pair bought twice stays two rows, so a model of repeat purchases
    counts both (the histories are binary either way).

    A data frame is written to a temporary CSV and read like a file, so a bad cell is named
    the same way; its rows are numbered from 1 in frame order, and errors name ``name``
    instead of the temporary file. Events already read are returned as they are.

    Raises
    ------
    DataError
        As the loader: the file, row and column of what is wrong.
    """
    from recolab.data.io import load_interactions

    if isinstance(events, InteractionData):
        return events
    if not isinstance(events, pd.DataFrame):
        return load_interactions(events, mapping, merge=False)
    with tempfile.TemporaryDirectory(prefix="recolab-update-") as folder:
        tmp = Path(folder) / "events.csv"
        events.to_csv(tmp, index=False)
        try:
            data = load_interactions(tmp, mapping, merge=False)
        except DataError as exc:
            message = str(exc).replace(str(tmp), name)
            renamed = DataError(message)
            renamed.file, renamed.row, renamed.column = name, exc.row, exc.column
            raise renamed from None
    data.report.source = name
    return data


def _padded(matrix: sp.csr_matrix, shape: tuple[int, int]) -> sp.csr_matrix:
    """``matrix`` as the top-left block of a larger ``shape`` (new rows empty)."""
    indptr = np.concatenate(
        [matrix.indptr, np.full(shape[0] - matrix.shape[0], matrix.indptr[-1])]
    ).astype(np.int64)
    return sp.csr_matrix((matrix.data, matrix.indices, indptr), shape=shape)


def merge_histories(
    users: Vocabulary, items: Vocabulary, history: sp.csr_matrix, new: InteractionData
) -> tuple[Vocabulary, Vocabulary, sp.csr_matrix]:
    """The vocabularies with the new ids appended, and the binary histories ``X ∨ ΔX``.

    >>> from recolab.data.interactions import build_interactions
    >>> old = sp.csr_matrix(np.array([[1.0, 0.0]]))
    >>> new = build_interactions(pd.DataFrame({"user": ["a", "b"], "item": ["y", "z"],
    ...     "value": 1.0}), kind="implicit")
    >>> u, i, x = merge_histories(Vocabulary.from_ids(["a"]), Vocabulary.from_ids(["x", "y"]),
    ...     old, new)
    >>> list(u.ids), list(i.ids), x.toarray().tolist()
    (['a', 'b'], ['x', 'y', 'z'], [[1.0, 1.0, 0.0], [0.0, 0.0, 1.0]])
    """
    all_users, all_items = users.union(new.users), items.union(new.items)
    shape = (len(all_users), len(all_items))
    delta = _event_counts(all_users, all_items, new)
    merged = (_padded(history.tocsr().astype(np.float32), shape) + delta).tocsr()
    merged.data[:] = 1.0
    merged.sort_indices()
    return all_users, all_items, merged


def updated_purchases(
    old: sp.csr_matrix | None, users: Vocabulary, items: Vocabulary, new: InteractionData
) -> sp.csr_matrix | None:
    """The purchase counts of a repeat-purchase base plus one per new event (``None`` for a
    base without counts), on the extended vocabularies ``users`` × ``items``.

    >>> from recolab.data.interactions import build_interactions
    >>> new = build_interactions(pd.DataFrame({"user": ["a", "a", "b"], "item": ["x", "x", "x"],
    ...     "value": 1.0}), kind="implicit")
    >>> old = sp.csr_matrix(np.array([[2.0]]))
    >>> updated_purchases(old, Vocabulary.from_ids(["a", "b"]), Vocabulary.from_ids(["x"]),
    ...     new).toarray().tolist()
    [[4.0], [1.0]]
    """
    if old is None:
        return None
    delta = _event_counts(users, items, new)
    return (_padded(old.tocsr().astype(np.float32), delta.shape) + delta).tocsr()


def _event_counts(users: Vocabulary, items: Vocabulary, new: InteractionData) -> sp.csr_matrix:
    """How many rows of ``new`` each (user, item) pair has, on ``users`` × ``items``."""
    rows = users.index(new.frame["user"])
    cols = items.index(new.frame["item"])
    shape = (len(users), len(items))
    return sp.csr_matrix((np.ones(rows.size, np.float32), (rows, cols)), shape=shape)


def _base_like(
    old: LinearAutoencoder,
    selection: dict[str, Any],
    old_x: sp.csr_matrix,
    x: sp.csr_matrix,
    device: str,
) -> LinearAutoencoder:
    """An unfitted base of the stored base's kind, its options' ``l2`` rescaled to ``x``
    (:func:`updated_params`, from the tuned values in the bundle's ``selection`` base entry):
    the sparse neighbourhood base keeps its neighbourhood size; the mean of several trials
    rescales each member; a dense base stays dense unless the grown catalogue no longer fits
    (:func:`~recolab.models.averaged_linear.make_base`)."""
    n_users, n_items = x.shape
    if isinstance(old, AveragedLinearAutoencoder):
        values = selection.get("members") or [None] * len(old.members)
        members = [updated_params(m, v, old_x, x) for m, v in zip(old.members, values, strict=True)]
        return make_base(members, n_items, old.params.top_k, device, n_users)
    params = updated_params(old.params, selection.get("trial"), old_x, x)
    if isinstance(old, SparseLinearAutoencoder):
        return SparseLinearAutoencoder(params, neighbours=old.neighbours, device=device)
    return make_linear_base(params, n_items, device, n_users)


def updated_params(
    params: LinearParams, values: dict[str, Any] | None, old: sp.csr_matrix, new: sp.csr_matrix
) -> LinearParams:
    """The served options with ``l2`` rescaled to ``new`` as
    :func:`~recolab.tuning.study.params_from` does: ``l2 = l2_scale × mean diag(Gram)``.

    ``l2_scale`` is the tuned trial's (``values``, from the bundle's selection); without one
    it is the scale the stored ``l2`` had on the stored histories ``old``. Every other
    option, pruning width included, is kept.
    """
    if values and "l2_scale" in values:
        scale = float(values["l2_scale"])
    else:
        scale = params.l2 / max(mean_gram_diagonal(old, params.user_norm), 1e-12)
    rescaled = params_from({**params.to_dict(), "l2_scale": scale}, new)
    return replace(params, l2=rescaled.l2)


def _titles(old: list[str] | None, new: InteractionData, items: Vocabulary) -> list[str] | None:
    """Old titles kept; new items titled from the events (``""`` where none is known)."""
    found = item_titles(new)
    if old is None and found is None:
        return None
    start = 0 if old is None else len(old)
    titles = list(old or []) + [""] * (len(items) - start)
    if found is not None:
        for j, title in zip(items.index(new.items.ids), found, strict=True):
            if j >= start and title:
                titles[j] = title
    return titles


def _mechanism(config: dict[str, Any], new: InteractionData, items: Vocabulary) -> dict[str, Any]:
    """The re-ranker's stored options; stored per-item prices extended to the new items
    (their price from the events, ``None`` when the events have none)."""
    options = dict(config)
    prices = options.get("prices")
    if prices is None:
        return options
    from recolab.data.prices import item_prices

    extra: list[float | None] = [None] * (len(items) - len(prices))
    found = item_prices(new)
    if found is not None:
        where = items.index(new.items.ids) - len(prices)
        for j, p in zip(where, found.values, strict=True):
            if j >= 0 and math.isfinite(p):
                extra[j] = float(p)
    options["prices"] = list(prices) + extra
    return options


def _vectors(vectors: np.ndarray | None, n_items: int) -> np.ndarray | None:
    if vectors is None or vectors.shape[0] == n_items:
        return vectors
    pad = np.zeros((n_items - vectors.shape[0], vectors.shape[1]), dtype=vectors.dtype)
    return np.vstack([vectors, pad])


def update_tradeoff(
    model: TradeoffRecommender,
    config: dict[str, Any],
    new: InteractionData,
    *,
    device: str = "cpu",
) -> tuple[TradeoffRecommender, UpdateSummary]:
    """``model`` with the events ``new`` added: vocabularies extended, the base re-solved
    once on the updated histories with its tuned options (``l2`` rescaled), the re-ranker
    refitted (see the module docstring). ``model`` itself is left as it was.

    Parameters
    ----------
    model:
        A fitted (typically loaded) trade-off model.
    config:
        The bundle's ``config.json`` (mechanism options, tuned values).
    new:
        The new events (:func:`read_events`).
    device:
        Where the solve runs.

    Raises
    ------
    DataError
        When the updated item × item solve does not fit in memory.
    """
    start = time.perf_counter()
    old_x = model.train_
    users, items, x = merge_histories(model.users_, model.items_, old_x, new)
    grown = _padded(old_x.tocsr().astype(np.float32), x.shape)
    changed = (x != grown).tocsr()
    selection = (config.get("selection") or {}).get("base") or {}
    data = interactions_from_matrix(users, items, x)
    base = _base_like(model.base, selection, old_x, x, device).fit(data)
    base = base.with_purchases(updated_purchases(model.base.purchases_, users, items, new))
    updated = TradeoffRecommender(
        base,
        _make_reranker(_mechanism(config["mechanism"], new, items)),
        model.lam_high,
        n_candidates=int(model.n_candidates),
        item_vectors=_vectors(model.item_vectors, len(items)),
        lam_default=model.lam_default,
    ).fit(data)
    stored = np.zeros(len(items), dtype=bool)
    stored[: model.candidates_.size] = model.candidates_
    updated.candidates_ = stored | updated.candidates_
    updated.item_titles_ = _titles(model.item_titles_, new, items)
    updated.selection_ = getattr(model, "selection_", None) or {}
    updated.data_fingerprint_ = data_fingerprint(data)
    summary = UpdateSummary(
        source=new.report.source if new.report is not None else (new.name or ""),
        rows_read=int(new.report.rows_read) if new.report is not None else len(new.frame),
        rows_kept=len(new.frame),
        new_users=len(users) - len(model.users_),
        new_items=len(items) - len(model.items_),
        pairs_added=int(changed.nnz),
        users_updated=int((changed.getnnz(axis=1) > 0).sum()),
        l2=float(base.params.l2),
        seconds=time.perf_counter() - start,
    )
    log.info("model updated: %s", summary.describe())
    return updated, summary


def _make_reranker(options: dict[str, Any]) -> Any:
    from recolab.rerank import make_reranker

    return make_reranker(**options)


def check_updatable(config: dict[str, Any], source: str) -> None:
    """Refuse, with a :class:`BundleError`, a bundle whose model cannot be updated."""
    kind = config.get("model_type")
    if kind != UPDATABLE_TYPE:
        raise BundleError(
            f"{source}: a {kind} model cannot be updated incrementally (only the tuned linear "
            "base with a trade-off mechanism can); retrain it on all the data with recolab train"
        )


def export_updated(
    model: TradeoffRecommender,
    config: dict[str, Any],
    updates: list[dict[str, Any]],
    out: str | Path,
) -> Path:
    """Write an updated model as a bundle with the original bundle's chosen point (λ, α,
    k*), its protocol, metrics, front and cut-off curves (all measured before the update),
    and the list of ``updates`` made since training. Atomic and signed as
    :func:`~recolab.bundle.export.export_bundle`."""
    from recolab.bundle.export import export_bundle

    objectives = config["objectives"]
    return export_bundle(
        model,
        out,
        lam=float(objectives["lam"]),
        alpha=tuple(float(a) for a in objectives["alpha"]),  # type: ignore[arg-type]
        k=objectives.get("k"),
        metrics=config.get("metrics") or {},
        front=config.get("front") or [],
        protocol=config.get("protocol") or {},
        cutoffs=config.get("cutoffs"),
        train_seconds=config.get("train_seconds"),
        device=config.get("device"),
        updates=updates,
    )
