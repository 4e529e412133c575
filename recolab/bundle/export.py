"""Writing a bundle: :func:`export_bundle` (atomic; signed when a key is set)."""

from __future__ import annotations

import hashlib
import json
import logging
import zipfile
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import scipy.sparse as sp
import torch

from recolab._version import __version__
from recolab.bundle import card, signing
from recolab.bundle.archive import safe_member_name
from recolab.bundle.schema import FORMAT, MAX_K, SCHEMA_VERSION, TRADEOFF_TYPE
from recolab.errors import BundleError
from recolab.fileio import atomic_path

log = logging.getLogger(__name__)

#: The model's members (besides ``config.json``), each listed in its checksum table.
FILES = ("weights.safetensors", "history.safetensors", "users.csv", "items.csv")
#: A matrix is stored sparse when at least this share of it is zero.
SPARSE_STORE_THRESHOLD = 0.5


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


def _pack_weights(state: dict[str, Any]) -> tuple[dict[str, np.ndarray], dict[str, Any]]:
    """Safetensors-ready arrays and their layout: a scipy sparse matrix (the neighbourhood
    base's weights) is stored sparse as it is, never made dense; a dense matrix mostly of
    zeros (a pruned base) is stored sparse too."""
    tensors: dict[str, np.ndarray] = {}
    layout: dict[str, Any] = {}
    for name, a in state.items():
        if sp.issparse(a):
            coo = a.tocoo()
            tensors[f"{name}.rows"] = coo.row.astype(np.int32)
            tensors[f"{name}.cols"] = coo.col.astype(np.int32)
            tensors[f"{name}.values"] = coo.data.astype(np.float32)
            layout[name] = {"storage": "sparse", "shape": list(a.shape)}
            continue
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


def base_config(base: Any) -> dict[str, Any]:
    """The ``base`` entry of a trade-off bundle's config: the base's type and options (the
    neighbourhood size too for the sparse base of large catalogues, every member's options
    for the mean of several trials)."""
    from recolab.models.averaged_linear import AveragedLinearAutoencoder
    from recolab.models.sparse_linear import SparseLinearAutoencoder

    solver = {"solver": "dual"} if base.dual_ is not None else {}
    if isinstance(base, AveragedLinearAutoencoder):
        return {
            "type": "linear-autoencoder",
            "params": base.params.to_dict(),
            "members": [m.to_dict() for m in base.members],
            **solver,
        }
    if isinstance(base, SparseLinearAutoencoder):
        return {
            "type": "sparse-linear-autoencoder",
            "params": base.params.to_dict(),
            "neighbours": int(base.neighbours),
        }
    return {"type": "linear-autoencoder", "params": base.params.to_dict(), **solver}


def _tradeoff_payload(
    model: Any, lam: float | None, alpha: tuple[float, float, float]
) -> tuple[dict[str, np.ndarray], dict[str, Any]]:
    """Tensors and config entries of a tuned base + trade-off mechanism."""
    if model.base.dual_ is not None:  # solved again at load: the matrix, not items² weights
        state = {"solve_matrix": model.base.solve_matrix_}
    else:
        state = {"weights": model.base.weights_}
    if model.item_vectors is not None:
        state["item_vectors"] = np.asarray(model.item_vectors, dtype=np.float32)
    learned = getattr(model.reranker, "state_arrays", None)
    if learned is not None:  # a trained mechanism keeps its weights (n_items × width)
        state["mechanism_weights"] = np.asarray(learned()["weights"], dtype=np.float32)
    return state, {
        "model_type": TRADEOFF_TYPE,
        "base": base_config(model.base),
        "mechanism": model.reranker.to_config(),
        "n_candidates": int(model.n_candidates),
        "objectives": {"lam": float(lam or 0.0), "alpha": [float(a) for a in alpha]},
        "lambda_range": [0.0, float(model.lam_high)],
        "selection": getattr(model, "selection_", None) or {},
        "dimensions": {"text_dim": 0},
        "text_model": None,
        "rating_range": None,
    }


def _aligned(counts: Any, train: Any) -> np.ndarray:
    """float32 purchase counts at ``train``'s stored (row, index) pairs, in their order."""
    rows = np.repeat(np.arange(train.shape[0]), np.diff(train.indptr))
    return np.asarray(counts.tocsr()[rows, train.indices], dtype=np.float32).ravel()


def _model_files(model: Any, tensors: dict[str, np.ndarray]) -> dict[str, bytes]:
    """The four model members: weights, histories and the two id maps."""
    from safetensors.numpy import save as st_save

    train = model.train_
    history = {
        "indptr": train.indptr.astype(np.int64),
        "indices": train.indices.astype(np.int64),
        "candidates": model.candidates_.astype(np.uint8),
    }
    purchases = getattr(getattr(model, "base", None), "purchases_", None)
    if purchases is not None:  # repeat purchases: counts on the histories' pairs, in order
        history["purchases"] = _aligned(purchases, train)
    if getattr(model, "user_encoder_", None) is not None:
        history["user_token_indptr"] = model.user_tokens_.indptr.astype(np.int64)
        history["user_token_indices"] = model.user_tokens_.indices.astype(np.int64)
    users = pd.DataFrame({"index": np.arange(len(model.users_)), "id": model.users_.ids})
    items = pd.DataFrame({"index": np.arange(len(model.items_)), "id": model.items_.ids})
    if model.item_titles_ is not None:
        items["title"] = model.item_titles_
    return {
        "weights.safetensors": st_save(tensors),
        "history.safetensors": st_save(history),
        "users.csv": users.to_csv(index=False).encode(),
        "items.csv": items.to_csv(index=False).encode(),
    }


def _config(
    model: Any,
    specific: dict[str, Any],
    layout: dict[str, Any],
    files: dict[str, bytes],
    **info: Any,
) -> dict[str, Any]:
    """``config.json``: format, the model's entries, layout, ``info`` and checksums."""
    train = model.train_
    encoder = getattr(model, "user_encoder_", None)
    dimensions = {"n_users": int(train.shape[0]), "n_items": int(train.shape[1])}
    return {
        "format": FORMAT,
        "schema_version": SCHEMA_VERSION,
        "created": datetime.now(UTC).isoformat(timespec="seconds"),
        **specific,
        "dimensions": {**dimensions, **specific.get("dimensions", {})},
        "weights_layout": layout,
        "protocol": info["protocol"],
        "metrics": info["metrics"],
        "front": info["front"],
        "cutoffs": info.get("cutoffs"),
        "user_attributes": None if encoder is None else encoder.to_dict(),
        "sparsity": model.sparsity(),
        "train_seconds": info["train_seconds"],
        "device": info["device"],
        "data_fingerprint": getattr(model, "data_fingerprint_", None),
        "library_versions": _library_versions(),
        "sha256": {name: hashlib.sha256(data).hexdigest() for name, data in files.items()},
    }


def _write(target: Path, members: dict[str, bytes]) -> None:
    """A ``.zip`` written atomically, or a folder whose files are each written atomically
    (a stale ``signature.json`` from an earlier export is removed)."""
    if target.suffix == ".zip":
        with (
            atomic_path(target) as tmp,
            zipfile.ZipFile(tmp, "w", compression=zipfile.ZIP_DEFLATED) as zf,
        ):
            for name, data in members.items():
                zf.writestr(name, data)
        return
    target.mkdir(parents=True, exist_ok=True)
    stale = target / signing.SIGNATURE_MEMBER
    if signing.SIGNATURE_MEMBER not in members and (stale.is_file() or stale.is_symlink()):
        stale.unlink()
    for name, data in members.items():
        with atomic_path(target / name) as tmp:
            tmp.write_bytes(data)


def repeat_of(model: Any, repeat: bool | None = None) -> bool:
    """Whether a bundle of ``model`` serves repeat purchases: ``repeat`` when given, else
    the model's ``repeat_`` (set on a model loaded from a bundle, so a re-export keeps it),
    else its training config's ``repeat`` (the weighted-objective network), else ``False``.

    Raises
    ------
    BundleError
        When ``repeat`` (or what the model holds) is not a bool.
    """
    if repeat is None:
        repeat = getattr(model, "repeat_", None)
    if repeat is None:
        repeat = getattr(getattr(model, "config", None), "repeat", False)
    if not isinstance(repeat, bool | np.bool_):
        raise BundleError(f"repeat must be True or False, got {repeat!r}")
    return bool(repeat)


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
    key: bytes | str | None = None,
    k: int | None = None,
    cutoffs: dict[str, Any] | None = None,
    updates: list[dict[str, Any]] | None = None,
    repeat: bool | None = None,
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
        More files for the bundle, written in the same atomic write. They are not in the
        checksum table, but a signature covers them. Without a ``MODEL_CARD.md`` among them
        the bundle gets its own card (:func:`recolab.bundle.card.card_of`, from its
        ``config.json``).
    key:
        Signing key (default: ``RECOLAB_BUNDLE_KEY``). With a key, the bundle gets a
        ``signature.json`` (HMAC-SHA256 over every member, ``config.json`` included); see
        :mod:`recolab.bundle.signing`.
    k:
        The list length α chose on validation (k*, stored as ``objectives.k``): what
        ``recommend`` serves when no k is asked for. ``None``: not chosen (10 is served).
    cutoffs:
        The validation cut-off curves α chooses k* from
        (:func:`recolab.tuning.cutoff.validation_cutoffs`).
    updates:
        The incremental updates made since training (:mod:`recolab.update`), oldest first,
        stored as ``updates``; ``None`` for a freshly trained model.
    repeat:
        Repeat purchases (consumables): the model was trained and evaluated with each
        user's own items among the candidates, and serving keeps them by default (stored
        as ``repeat``). ``None``: as the model says (:func:`repeat_of`).

    Returns
    -------
    Path
        Where the bundle was written.
    """
    extra = _checked_extra(extra_files)
    secret = (
        signing.key_from_env()
        if key is None
        else signing.check_key(key.encode("utf-8") if isinstance(key, str) else key)
    )
    state, specific = _payload(model, lam, alpha, text_model, k)
    tensors, layout = _pack_weights(state)
    files = _model_files(model, tensors)
    config = _config(
        model,
        specific,
        layout,
        files,
        protocol=protocol or {},
        metrics=metrics or {},
        front=front or [],
        cutoffs=cutoffs,
        train_seconds=train_seconds,
        device=device,
    )
    config["repeat"] = repeat_of(model, repeat)
    if updates:
        config["updates"] = updates
    extra.setdefault(card.CARD_MEMBER, card.card_of(config).encode())
    members = {"config.json": json.dumps(config, indent=2).encode(), **files, **extra}
    if secret is not None:
        members[signing.SIGNATURE_MEMBER] = signing.signature_member(secret, members)
    target = Path(path)
    _write(target, members)
    log.info("bundle written to %s (%s)", target, "signed" if secret else "unsigned")
    return target


def _checked_extra(extra_files: dict[str, bytes] | None) -> dict[str, bytes]:
    """The extra members, refused when one would replace a model file or has an unsafe name."""
    extra = dict(extra_files or {})
    reserved = sorted(set(extra) & {"config.json", signing.SIGNATURE_MEMBER, *FILES})
    if reserved or not all(safe_member_name(n) for n in extra):
        raise BundleError(f"extra bundle files may not replace model files: {reserved}")
    return extra


def _payload(
    model: Any,
    lam: float | None,
    alpha: tuple[float, float, float],
    text_model: str | None,
    k: int | None,
) -> tuple[dict[str, Any], dict[str, Any]]:
    """The model's weights and its type's config entries, with k* (checked) among the
    objectives when α chose one."""
    from recolab.models.tradeoff import TradeoffRecommender

    if isinstance(model, TradeoffRecommender):
        state, specific = _tradeoff_payload(model, lam, alpha)
    else:
        state, specific = _weighted_payload(model, lam, alpha, text_model)
    if k is not None:
        if isinstance(k, bool) or int(k) != k or not 1 <= int(k) <= MAX_K:
            raise BundleError(f"k must be a whole number in 1-{MAX_K}, got {k!r}")
        specific["objectives"]["k"] = int(k)
    return state, specific


def bundle_size(path: str | Path) -> int:
    """Bytes a bundle takes on disk: the ``.zip``, or the files of a bundle folder."""
    path = Path(path)
    if path.is_dir():
        return sum(f.stat().st_size for f in path.iterdir() if f.is_file())
    return path.stat().st_size
