"""Export and load a trained weighted-objective model as one self-contained bundle.

A bundle is a ``.zip`` (or a folder with the same files):

``config.json``
    schema version, model type, training config, objective weights with the chosen λ and α,
    the trained λ range, dimensions, text model name, evaluation protocol, metrics at the
    chosen point and over the front, data fingerprint, library versions, and the SHA-256 of
    every other file (so a tampered or truncated bundle is refused).
``weights.safetensors``
    every tensor of the network (item-item memory, embeddings, FiLM, item text embeddings).
    Matrices that pruning made mostly zero are stored sparse (indices + values).
``history.safetensors``
    the training users' histories (CSR arrays), to leave seen items out and to score known
    users; plus the mask of items a ranking may return.
``users.csv``, ``items.csv``
    id maps: row index → external id (items with their title when known).

No pickle anywhere. Loading reads the archive in memory; nothing is extracted, and member
names that would escape a folder are refused.
"""

from __future__ import annotations

import hashlib
import io
import json
import logging
import zipfile
from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import scipy.sparse as sp
import torch
from safetensors.numpy import load as st_load
from safetensors.numpy import save as st_save

from recolab import __version__
from recolab.data.interactions import InteractionData
from recolab.data.vocab import Vocabulary
from recolab.errors import BundleError
from recolab.fileio import atomic_path
from recolab.models.base import Recommender

log = logging.getLogger(__name__)

FORMAT = "recolab-bundle"
SCHEMA_VERSION = 1
FILES = ("weights.safetensors", "history.safetensors", "users.csv", "items.csv")
#: Refuse archives whose members would unpack to more than this (a zip bomb guard).
MAX_UNPACKED_BYTES = 4 * 1024**3
#: A matrix is stored sparse when at least this share of it is zero.
SPARSE_STORE_THRESHOLD = 0.5
#: ``model_type`` of a tuned linear base with a serve-time trade-off mechanism.
TRADEOFF_TYPE = "linear-rerank"


def _library_versions() -> dict[str, str]:
    import scipy
    import transformers

    return {
        "recolab": __version__,
        "torch": torch.__version__,
        "numpy": np.__version__,
        "scipy": scipy.__version__,
        "pandas": pd.__version__,
        "transformers": transformers.__version__,
    }


def _pack_weights(state: dict[str, np.ndarray]) -> tuple[dict[str, np.ndarray], dict[str, Any]]:
    tensors: dict[str, np.ndarray] = {}
    layout: dict[str, Any] = {}
    for name, a in state.items():
        a = np.ascontiguousarray(a, dtype=np.float32)
        zeros = float((a == 0).mean()) if a.size else 0.0
        if a.ndim == 2 and a.size >= 1000 and zeros >= SPARSE_STORE_THRESHOLD:
            rows, cols = np.nonzero(a)
            tensors[f"{name}.rows"] = rows.astype(np.int32)
            tensors[f"{name}.cols"] = cols.astype(np.int32)
            tensors[f"{name}.values"] = a[rows, cols]
            layout[name] = {"storage": "sparse", "shape": list(a.shape)}
        else:
            tensors[name] = a
            layout[name] = {"storage": "dense", "shape": list(a.shape)}
    return tensors, layout


def _unpack_weights(
    tensors: dict[str, np.ndarray], layout: dict[str, Any]
) -> dict[str, np.ndarray]:
    out: dict[str, np.ndarray] = {}
    for name, info in layout.items():
        shape = tuple(int(s) for s in info["shape"])
        if info["storage"] == "sparse":
            a = np.zeros(shape, dtype=np.float32)
            a[tensors[f"{name}.rows"], tensors[f"{name}.cols"]] = tensors[f"{name}.values"]
        else:
            a = tensors[name]
            if a.shape != shape:
                raise BundleError(
                    f"weights: tensor {name!r} has shape {a.shape}, config says {shape}"
                )
        out[name] = a
    return out


def _weighted_payload(
    model: Any, lam: float | None, alpha: tuple[float, float, float], text_model: str | None
) -> tuple[dict[str, np.ndarray], dict[str, Any]]:
    """Tensors and config entries of a weighted-objective model."""
    cfg = model.config
    state = model.weight_arrays()
    weights = replace(cfg.weights, lam=float(lam or 0.0), alpha=alpha)
    return state, {
        "model_type": "weighted-objective",
        "train_config": cfg.to_dict(),
        "objectives": weights.to_dict(),
        "lambda_range": [0.0, cfg.lam_high],
        "conditioned_objectives": list(model.objectives_),
        "objective_weights": [float(w) for w in model.objective_weights_],
        "dimensions": {
            "dim": cfg.dim,
            "text_dim": int(state["text"].shape[1]) if "text" in state else 0,
            "item_item": "item_item" in state,
        },
        "text_model": text_model,
        "rating_range": list(getattr(model, "rating_range_", None) or []) or None,
    }


def _tradeoff_payload(
    model: Any, lam: float | None, alpha: tuple[float, float, float]
) -> tuple[dict[str, np.ndarray], dict[str, Any]]:
    """Tensors and config entries of a tuned base + trade-off mechanism."""
    state = {"weights": model.base.weights_}
    if model.item_vectors is not None:
        state["item_vectors"] = np.asarray(model.item_vectors, dtype=np.float32)
    return state, {
        "model_type": TRADEOFF_TYPE,
        "base": {"type": "linear-autoencoder", "params": model.base.params.to_dict()},
        "mechanism": model.reranker.to_config(),
        "n_candidates": int(model.n_candidates),
        "objectives": {"lam": float(lam or 0.0), "alpha": [float(a) for a in alpha]},
        "lambda_range": [0.0, float(model.lam_high)],
        "selection": getattr(model, "selection_", None) or {},
        "dimensions": {"text_dim": 0},
        "text_model": None,
        "rating_range": None,
    }


def export_bundle(
    model: Any,
    path: str | Path,
    *,
    lam: float | None = None,
    alpha: tuple[float, float, float] = (0.0, 1.0, 0.0),
    metrics: dict[str, float] | None = None,
    front: list[dict[str, Any]] | None = None,
    protocol: dict[str, Any] | None = None,
    text_model: str | None = None,
    train_seconds: float | None = None,
    device: str | None = None,
    extra_files: dict[str, bytes] | None = None,
) -> Path:
    """Write ``model`` as a bundle.

    Parameters
    ----------
    model:
        A fitted :class:`~recolab.models.tradeoff.TradeoffRecommender` (model type
        ``linear-rerank``: item-item weights, the mechanism and its λ range) or
        :class:`~recolab.models.weighted.WeightedObjectiveRecommender`
        (``weighted-objective``).
    path:
        ``.zip`` file to write (atomically: a temporary name, then renamed), or a folder
        path without the ``.zip`` suffix.
    lam, alpha:
        The chosen point: λ (default: the range's low end, 0) and α. The whole λ range stays
        usable from the bundle.
    metrics, front, protocol:
        Evaluation at the chosen point, the front over λ (one dict per λ) and the protocol.
    text_model:
        Name of the text model whose embeddings the model uses (for scoring new items).
    extra_files:
        More files for the bundle (e.g. ``MODEL_CARD.md``), written in the same atomic write;
        they are not part of the checksummed model.

    Returns
    -------
    Path
        Where the bundle was written.
    """
    from recolab.models.tradeoff import TradeoffRecommender

    if isinstance(model, TradeoffRecommender):
        state, specific = _tradeoff_payload(model, lam, alpha)
    else:
        state, specific = _weighted_payload(model, lam, alpha, text_model)
    tensors, layout = _pack_weights(state)
    train = model.train_
    history = {
        "indptr": train.indptr.astype(np.int64),
        "indices": train.indices.astype(np.int64),
        "candidates": model.candidates_.astype(np.uint8),
    }
    encoder = getattr(model, "user_encoder_", None)
    if encoder is not None:
        history["user_token_indptr"] = model.user_tokens_.indptr.astype(np.int64)
        history["user_token_indices"] = model.user_tokens_.indices.astype(np.int64)
    users_csv = pd.DataFrame(
        {"index": np.arange(len(model.users_)), "id": model.users_.ids}
    ).to_csv(index=False)
    items = pd.DataFrame({"index": np.arange(len(model.items_)), "id": model.items_.ids})
    if model.item_titles_ is not None:
        items["title"] = model.item_titles_
    files = {
        "weights.safetensors": st_save(tensors),
        "history.safetensors": st_save(history),
        "users.csv": users_csv.encode(),
        "items.csv": items.to_csv(index=False).encode(),
    }
    dimensions = {"n_users": int(train.shape[0]), "n_items": int(train.shape[1])}
    config = {
        "format": FORMAT,
        "schema_version": SCHEMA_VERSION,
        "created": datetime.now(UTC).isoformat(timespec="seconds"),
        **specific,
        "dimensions": {**dimensions, **specific.get("dimensions", {})},
        "weights_layout": layout,
        "protocol": protocol or {},
        "metrics": metrics or {},
        "front": front or [],
        "user_attributes": None if encoder is None else encoder.to_dict(),
        "sparsity": model.sparsity(),
        "train_seconds": train_seconds,
        "device": device,
        "data_fingerprint": getattr(model, "data_fingerprint_", None),
        "library_versions": _library_versions(),
        "sha256": {name: hashlib.sha256(data).hexdigest() for name, data in files.items()},
    }
    reserved = sorted(set(extra_files or {}) & {"config.json", *FILES})
    if reserved or not all(_safe_member(n) for n in extra_files or {}):
        raise BundleError(f"extra bundle files may not replace model files: {reserved}")
    files_with_config = {
        "config.json": json.dumps(config, indent=2).encode(),
        **files,
        **(extra_files or {}),
    }
    target = Path(path)
    if target.suffix == ".zip":
        with (
            atomic_path(target) as tmp,
            zipfile.ZipFile(tmp, "w", compression=zipfile.ZIP_DEFLATED) as zf,
        ):
            for name, data in files_with_config.items():
                zf.writestr(name, data)
    else:
        target.mkdir(parents=True, exist_ok=True)
        for name, data in files_with_config.items():
            with atomic_path(target / name) as tmp:
                tmp.write_bytes(data)
    log.info("bundle written to %s", target)
    return target


def bundle_size(path: str | Path) -> int:
    """Bytes a bundle takes on disk: the ``.zip``, or the files of a bundle folder."""
    path = Path(path)
    if path.is_dir():
        return sum(f.stat().st_size for f in path.iterdir() if f.is_file())
    return path.stat().st_size


def _safe_member(name: str) -> bool:
    p = Path(name)
    return not (p.is_absolute() or ".." in p.parts or name.startswith(("/", "\\")) or ":" in name)


def _read_files(path: Path) -> dict[str, bytes]:
    if path.is_dir():
        files = {}
        for name in ("config.json", *FILES):
            f = path / name
            if not f.is_file():
                raise BundleError(f"bundle folder {path} has no {name}")
            files[name] = f.read_bytes()
        return files
    if not path.is_file():
        raise BundleError(f"no bundle at {path}")
    try:
        with zipfile.ZipFile(path) as zf:
            infos = zf.infolist()
            bad = [i.filename for i in infos if not _safe_member(i.filename)]
            if bad:
                raise BundleError(f"bundle {path} has member paths escaping its folder: {bad[:3]}")
            if sum(i.file_size for i in infos) > MAX_UNPACKED_BYTES:
                raise BundleError(f"bundle {path} would unpack to more than 4 GiB: refused")
            names = {i.filename for i in infos}
            missing = [n for n in ("config.json", *FILES) if n not in names]
            if missing:
                raise BundleError(f"{path} is not a recolab bundle: missing {', '.join(missing)}")
            return {n: zf.read(n) for n in ("config.json", *FILES)}
    except zipfile.BadZipFile as exc:
        raise BundleError(
            f"{path} is not a readable zip (truncated or not a bundle): {exc}"
        ) from exc
    except (EOFError, zipfile.LargeZipFile, OSError) as exc:
        raise BundleError(f"{path} could not be read: {exc}") from exc


def _check_config(path: Path, files: dict[str, bytes]) -> dict[str, Any]:
    try:
        config = json.loads(files["config.json"])
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise BundleError(f"{path}: config.json is not valid JSON: {exc}") from exc
    if not isinstance(config, dict) or config.get("format") != FORMAT:
        raise BundleError(f"{path} is not a recolab bundle (config.json format is not {FORMAT!r})")
    version = config.get("schema_version")
    if version != SCHEMA_VERSION:
        raise BundleError(
            f"{path}: bundle schema version {version!r}; "
            f"this recolab reads version {SCHEMA_VERSION}"
        )
    sums = config.get("sha256", {})
    for name in FILES:
        if hashlib.sha256(files[name]).hexdigest() != sums.get(name):
            raise BundleError(f"{path}: {name} does not match its checksum (tampered or corrupt)")
    return config


def load(path: str | Path) -> LoadedModel:
    """Load a bundle (``.zip`` or folder) written by :func:`export_bundle`.

    Raises
    ------
    BundleError
        Missing, truncated, tampered, foreign, wrong schema, or unsafe member paths.
    """
    path = Path(path)
    files = _read_files(path)
    config = _check_config(path, files)
    try:
        state = _unpack_weights(st_load(files["weights.safetensors"]), config["weights_layout"])
        history = st_load(files["history.safetensors"])
        users = pd.read_csv(
            io.BytesIO(files["users.csv"]), dtype={"id": str}, keep_default_na=False
        )
        items = pd.read_csv(
            io.BytesIO(files["items.csv"]), dtype={"id": str}, keep_default_na=False
        )
    except (KeyError, ValueError, pd.errors.ParserError) as exc:
        raise BundleError(f"{path}: bundle content is malformed: {exc}") from exc
    dims = config["dimensions"]
    try:
        train = sp.csr_matrix(
            (np.ones(len(history["indices"]), np.float32), history["indices"], history["indptr"]),
            shape=(dims["n_users"], dims["n_items"]),
        )
    except (KeyError, TypeError, ValueError) as exc:
        raise BundleError(f"{path}: the stored histories are malformed: {exc}") from exc
    users_vocab = Vocabulary(users["id"].to_numpy(dtype=object))
    items_vocab = Vocabulary(items["id"].to_numpy(dtype=object))
    titles = items["title"].tolist() if "title" in items.columns else None
    candidates = history["candidates"].astype(bool)
    if config.get("model_type") == TRADEOFF_TYPE:
        model = _load_tradeoff(path, config, state, train, candidates, users_vocab, items_vocab)
        model.item_titles_ = titles
    else:
        vocab = (users_vocab, items_vocab, titles)
        model = _load_weighted(path, config, state, history, train, candidates, vocab)
    model.data_fingerprint_ = config.get("data_fingerprint")
    return LoadedModel(model=model, config=config, path=path)


def _load_weighted(
    path: Path,
    config: dict[str, Any],
    state: dict[str, np.ndarray],
    history: dict[str, np.ndarray],
    train: sp.csr_matrix,
    candidates: np.ndarray,
    vocab: tuple[Vocabulary, Vocabulary, list[str] | None],
) -> Any:
    """A :class:`~recolab.models.weighted.WeightedObjectiveRecommender` from a bundle."""
    from recolab.models.weighted import WeightedObjectiveRecommender

    dims = config["dimensions"]
    user_attributes = None
    if config.get("user_attributes"):
        from recolab.features.users import UserAttributeEncoder

        try:
            encoder = UserAttributeEncoder.from_dict(config["user_attributes"])
            indices = history["user_token_indices"]
            tokens = sp.csr_matrix(
                (np.ones(len(indices), np.float32), indices, history["user_token_indptr"]),
                shape=(dims["n_users"], encoder.n_tokens),
            )
        except (KeyError, TypeError, ValueError) as exc:
            raise BundleError(f"{path}: user attributes are malformed: {exc}") from exc
        user_attributes = (encoder, tokens)
    model = WeightedObjectiveRecommender.from_state(
        config["train_config"],
        state,
        train=train,
        candidates=candidates,
        users=vocab[0],
        items=vocab[1],
        item_titles=vocab[2],
        objectives=config.get("conditioned_objectives"),
        user_attributes=user_attributes,
    )
    if config.get("rating_range"):
        model.rating_range_ = tuple(config["rating_range"])
    return model


def _load_tradeoff(
    path: Path,
    config: dict[str, Any],
    state: dict[str, np.ndarray],
    train: sp.csr_matrix,
    candidates: np.ndarray,
    users: Vocabulary,
    items: Vocabulary,
) -> Any:
    """A :class:`~recolab.models.tradeoff.TradeoffRecommender` from a bundle's parts; the
    re-ranker is refitted on the stored histories (it keeps only counts and profiles)."""
    from recolab.models.linear import LinearAutoencoder, LinearParams
    from recolab.models.tradeoff import TradeoffRecommender, interactions_from_matrix
    from recolab.rerank import make_reranker

    try:
        params = LinearParams.from_dict(config["base"]["params"])
        data = interactions_from_matrix(users, items, train)
        base = LinearAutoencoder.from_weights(state["weights"], data, params)
        reranker = make_reranker(**config["mechanism"])
        hi = float(config["lambda_range"][1])
        model = TradeoffRecommender(
            base,
            reranker,
            hi,
            n_candidates=int(config.get("n_candidates", 100)),
            item_vectors=state.get("item_vectors"),
        ).fit(data)
    except (KeyError, TypeError, ValueError) as exc:
        raise BundleError(f"{path}: the trade-off model is malformed: {exc}") from exc
    model.candidates_ = candidates
    model.selection_ = config.get("selection") or {}
    return model


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
    """

    model: Any
    config: dict[str, Any]
    path: Path

    @property
    def default_lam(self) -> float:
        """λ chosen at export."""
        return float(self.config["objectives"]["lam"])

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
        k: int = 10,
        lam: float | Mapping[str, float] | None = None,
        exclude_seen: bool = True,
    ) -> pd.DataFrame:
        """Top-``k`` items for known users (columns user, rank, item, score[, title]).

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
        top, scores = self.model.recommend(idx, k, lam=self._lam(lam), exclude_seen=exclude_seen)
        return self._frame(users, top, scores)

    def recommend_for_history(
        self,
        item_ids: list[str],
        k: int = 10,
        lam: float | Mapping[str, float] | None = None,
        exclude_seen: bool = True,
        attributes: Mapping[str, Any] | None = None,
    ) -> pd.DataFrame:
        """Top-``k`` for a new user from the ids of items they interacted with (fold-in; may
        be empty) and, for models trained with user attributes, their attributes (column →
        value, e.g. ``{"age": 31, "occupation": "writer"}``). Unknown item ids are ignored
        with a warning; attributes the model was not trained on are ignored."""
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
            top, scores = self.model.recommend_history(idx, k, self._lam(lam), exclude_seen)
            return self._frame(["(new user)"], top, scores)
        s = self.model.fold_in(idx, lam=self._lam(lam), attributes=attributes)
        s[~self.model.candidates_] = -np.inf
        if exclude_seen:
            s[idx] = -np.inf
        from recolab.models.base import top_k

        top, scores = top_k(s[None, :], k)
        return self._frame(["(new user)"], top, scores)

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
