"""Loading a bundle: every check before any allocation, and every failure a BundleError.

The order is fixed (see :func:`load`): list the members, measure them by streaming,
verify the signature, validate ``config.json``, match the checksums, read the safetensors
headers and match them with the config, plan the memory, and only then read the members and
build the model. Whatever still goes wrong while decoding or building becomes a
:class:`~recolab.errors.BundleError` naming the bundle and the member.
"""

from __future__ import annotations

import io
import logging
import os
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import scipy.sparse as sp

from recolab.bundle import schema, signing
from recolab.bundle.archive import MemberInfo, bundle_error, open_archive, scan
from recolab.bundle.schema import TradeoffConfig, WeightedConfig
from recolab.bundle.serving import LoadedModel
from recolab.data.vocab import Vocabulary
from recolab.errors import BundleError

log = logging.getLogger(__name__)

#: The model's members (besides ``config.json``), each listed in its checksum table.
FILES = ("weights.safetensors", "history.safetensors", "users.csv", "items.csv")
Config = TradeoffConfig | WeightedConfig


def _key(path: Path, key: bytes | str | None) -> bytes | None:
    try:
        if key is None:
            return signing.key_from_env()
        return signing.check_key(key.encode("utf-8") if isinstance(key, str) else key)
    except BundleError as exc:
        raise bundle_error(path, None, str(exc)) from exc


def _verify(path: Path, infos: dict[str, MemberInfo], key: bytes | None, require: bool) -> str:
    sig = infos.get(signing.SIGNATURE_MEMBER)
    hashes = {n: i.sha256 for n, i in infos.items() if n != signing.SIGNATURE_MEMBER}
    try:
        status = signing.verify(None if sig is None else sig.data, hashes, key, require)
    except ValueError as exc:
        raise bundle_error(path, signing.SIGNATURE_MEMBER, str(exc)) from exc
    log.info("bundle %s: %s", path, status)
    return status


def _config(path: Path, infos: dict[str, MemberInfo]) -> tuple[dict[str, Any], Config]:
    try:
        raw, cfg = schema.parse_config(infos["config.json"].data or b"")
    except ValueError as exc:
        raise bundle_error(path, "config.json", str(exc)) from exc
    if set(cfg.sha256) != set(FILES):
        raise bundle_error(
            path, "config.json", f"the checksum table must list exactly {', '.join(FILES)}"
        )
    for name in FILES:
        if infos[name].sha256 != cfg.sha256[name]:
            raise bundle_error(
                path,
                name,
                "does not match its checksum: the bundle is corrupt (checksums detect "
                "corruption only; a signature detects tampering)",
            )
    return raw, cfg


def _headers(path: Path, cfg: Config, infos: dict[str, MemberInfo]) -> int:
    """Check both safetensors headers; return the number of stored interactions."""
    tokens = isinstance(cfg, WeightedConfig) and bool(cfg.user_attributes)
    name = "weights.safetensors"
    try:
        schema.check_weights(cfg, schema.parse_header(infos[name].head, infos[name].size))
        name = "history.safetensors"
        history = schema.parse_header(infos[name].head, infos[name].size)
        schema.check_history(cfg, history, tokens)
    except ValueError as exc:
        raise bundle_error(path, name, str(exc)) from exc
    return history["indices"].shape[0]


def _plan(
    path: Path, cfg: Config, infos: dict[str, MemberInfo], nnz: int, limits: tuple[int, int | None]
) -> None:
    """Refuse a load that would need more than the budget; an unverified bundle also more
    than :data:`schema.MAX_EXPANSION` times its stored size (see there)."""
    budget, expansion_cap = limits
    sizes = {n: infos[n].size for n in FILES}
    need = schema.memory_plan(cfg, sizes, nnz)
    if need > budget:
        raise bundle_error(
            path,
            "config.json",
            f"loading would need about {need:,} bytes of memory, over the budget of "
            f"{budget:,} (set {schema.BUDGET_ENV} or max_bytes to change it)",
        )
    if expansion_cap is not None and need > expansion_cap:
        raise bundle_error(
            path,
            "config.json",
            f"loading would need about {need:,} bytes, more than {schema.MAX_EXPANSION}x "
            f"what the bundle stores; refused for an unverified bundle (sign it with "
            f"{signing.KEY_ENV}, or set {schema.BUDGET_ENV} or max_bytes to trust it)",
        )


def _limits(
    archive: Any, infos: dict[str, MemberInfo], status: str, max_bytes: int | None
) -> tuple[int, int | None]:
    explicit = max_bytes is not None or bool(os.environ.get(schema.BUDGET_ENV, "").strip())
    budget = schema.default_budget() if max_bytes is None else int(max_bytes)
    if explicit or status == signing.SIGNED:
        return budget, None
    stored = archive.stored_bytes({n: infos[n] for n in ("config.json", *FILES)})
    return budget, max(schema.PLAN_FLOOR_BYTES, schema.MAX_EXPANSION * stored)


def load(
    path: str | Path,
    *,
    require_signature: bool = False,
    key: bytes | str | None = None,
    max_bytes: int | None = None,
) -> LoadedModel:
    """Load a bundle (``.zip`` or folder) written by :func:`export_bundle`.

    Parameters
    ----------
    path:
        The ``.zip`` or the bundle folder.
    require_signature:
        Refuse a bundle that is unsigned or whose signature cannot be verified.
    key:
        Verification key; default ``RECOLAB_BUNDLE_KEY``. When there is a key, a bundle
        whose signature does not verify (tampered, stripped, another key) is always refused.
    max_bytes:
        Most memory the load may allocate; default :func:`schema.default_budget`. Without
        it, a bundle not verified by a signature may also need at most
        :data:`schema.MAX_EXPANSION` times the bytes it stores.

    Raises
    ------
    BundleError
        For anything wrong with the bundle, naming the bundle and the member: missing,
        truncated, corrupt (checksums), unsigned or tampered (signature), foreign, another
        schema, out-of-bounds config, tensors inconsistent with the config, too large to
        load, unsafe member paths, symbolic links.
    """
    path = Path(path)
    secret = _key(path, key)
    with open_archive(path) as archive:
        missing = [n for n in ("config.json", *FILES) if n not in archive.names]
        if missing:
            raise bundle_error(path, missing[0], f"not a recolab bundle: missing {missing}")
        infos = scan(archive)
        status = _verify(path, infos, secret, require_signature)
        raw, cfg = _config(path, infos)
        nnz = _headers(path, cfg, infos)
        _plan(path, cfg, infos, nnz, _limits(archive, infos, status, max_bytes))
        files = {name: archive.read(infos[name]) for name in FILES}
    model = _build(path, raw, cfg, files)
    return LoadedModel(model=model, config=raw, path=path, signature=status)


def _tensors(path: Path, name: str, data: bytes) -> dict[str, np.ndarray]:
    from safetensors.numpy import load as st_load

    try:
        return dict(st_load(data))
    except Exception as exc:  # SafetensorError and friends, after our own header checks
        raise bundle_error(path, name, f"unreadable tensors: {exc}") from exc


def _unpack(path: Path, cfg: Config, tensors: dict[str, np.ndarray]) -> dict[str, Any]:
    """Float32 matrices from the stored (dense or sparse) ones, all finite: dense, except the
    weights of a sparse base (:func:`~recolab.bundle.schema.kept_sparse`): a CSC matrix."""
    out: dict[str, Any] = {}
    for name, lay in cfg.weights_layout.items():
        shape = tuple(lay.shape)
        if lay.storage == "sparse":
            rows, cols = tensors[f"{name}.rows"], tensors[f"{name}.cols"]
            values = tensors[f"{name}.values"]
            if rows.size and (
                rows.min() < 0 or cols.min() < 0 or rows.max() >= shape[0] or cols.max() >= shape[1]
            ):
                raise bundle_error(path, "weights.safetensors", f"{name}: indices out of range")
            if name in schema.kept_sparse(cfg):
                a = sp.csc_matrix((values, (rows, cols)), shape=shape, dtype=np.float32)
            else:
                a = np.zeros(shape, dtype=np.float32)
                a[rows, cols] = values
        else:
            a = tensors[name]
        finite = a.data if sp.issparse(a) else a
        if not np.isfinite(finite).all():
            raise bundle_error(path, "weights.safetensors", f"{name}: non-finite values")
        out[name] = a
    return out


def _csr(
    path: Path, indptr: np.ndarray, indices: np.ndarray, shape: tuple[int, int], what: str
) -> sp.csr_matrix:
    ok = (
        indptr[0] == 0
        and indptr[-1] == len(indices)
        and bool((np.diff(indptr) >= 0).all())
        and (indices.size == 0 or (indices.min() >= 0 and indices.max() < shape[1]))
    )
    if not ok:
        raise bundle_error(path, "history.safetensors", f"{what}: not a valid CSR matrix")
    return sp.csr_matrix((np.ones(len(indices), np.float32), indices, indptr), shape=shape)


def _purchases(path: Path, history: dict[str, np.ndarray], train: sp.csr_matrix) -> sp.csr_matrix:
    """The stored purchase counts on the histories' pairs (repeat purchases)."""
    counts = history["purchases"]
    if not (np.isfinite(counts).all() and (counts >= 1).all()):
        raise bundle_error(path, "history.safetensors", "purchases must be finite counts ≥ 1")
    return sp.csr_matrix((counts, train.indices, train.indptr), shape=train.shape)


def _vocab(path: Path, name: str, data: bytes, n: int) -> tuple[Vocabulary, list[str] | None]:
    try:
        frame = pd.read_csv(io.BytesIO(data), dtype=str, keep_default_na=False, na_filter=False)
    except Exception as exc:  # ParserError, EmptyDataError, UnicodeDecodeError, ...
        raise bundle_error(path, name, f"not a readable CSV: {exc}") from exc
    if "index" not in frame.columns or "id" not in frame.columns:
        raise bundle_error(path, name, f"needs columns index and id, has {list(frame.columns)}")
    if len(frame) != n or frame["index"].tolist() != [str(i) for i in range(n)]:
        raise bundle_error(path, name, f"must list indices 0..{n - 1} in order ({len(frame)} rows)")
    if not frame["id"].is_unique:
        raise bundle_error(path, name, "ids are not unique")
    titles = frame["title"].tolist() if "title" in frame.columns else None
    return Vocabulary(frame["id"].to_numpy(dtype=object)), titles


def _build(path: Path, raw: dict[str, Any], cfg: Config, files: dict[str, bytes]) -> Any:
    dims = cfg.dimensions
    state = _unpack(path, cfg, _tensors(path, "weights.safetensors", files["weights.safetensors"]))
    history = _tensors(path, "history.safetensors", files["history.safetensors"])
    shape = (dims.n_users, dims.n_items)
    train = _csr(path, history["indptr"], history["indices"], shape, "histories")
    if not np.isin(history["candidates"], (0, 1)).all():
        raise bundle_error(path, "history.safetensors", "candidates must be 0 or 1")
    candidates = history["candidates"].astype(bool)
    users, _ = _vocab(path, "users.csv", files["users.csv"], dims.n_users)
    items, titles = _vocab(path, "items.csv", files["items.csv"], dims.n_items)
    try:
        if isinstance(cfg, TradeoffConfig):
            counts = _purchases(path, history, train) if "purchases" in history else None
            model = _load_tradeoff(raw, state, train, candidates, users, items, counts)
            model.item_titles_ = titles
        else:
            tokens = _user_tokens(path, raw, history, dims.n_users)
            model = _load_weighted(raw, state, train, candidates, (users, items, titles), tokens)
    except BundleError:
        raise
    except Exception as exc:  # the config's options rejected by the model's own checks
        raise bundle_error(path, "config.json", f"the model could not be built: {exc}") from exc
    model.data_fingerprint_ = raw.get("data_fingerprint")
    model.repeat_ = cfg.repeat  # absent in older bundles: False (seen items left out)
    return model


def _user_tokens(
    path: Path, raw: dict[str, Any], history: dict[str, np.ndarray], n_users: int
) -> Any:
    if not raw.get("user_attributes"):
        return None
    from recolab.features.users import UserAttributeEncoder

    try:
        encoder = UserAttributeEncoder.from_dict(raw["user_attributes"])
    except Exception as exc:
        raise bundle_error(path, "config.json", f"user attributes are malformed: {exc}") from exc
    shape = (n_users, int(encoder.n_tokens))
    tokens = _csr(
        path, history["user_token_indptr"], history["user_token_indices"], shape, "user tokens"
    )
    return encoder, tokens


def _load_weighted(
    config: dict[str, Any],
    state: dict[str, np.ndarray],
    train: sp.csr_matrix,
    candidates: np.ndarray,
    vocab: tuple[Vocabulary, Vocabulary, list[str] | None],
    user_attributes: Any,
) -> Any:
    """A :class:`~recolab.models.weighted.WeightedObjectiveRecommender` from a bundle."""
    from recolab.models.weighted import WeightedObjectiveRecommender

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
    config: dict[str, Any],
    state: dict[str, np.ndarray],
    train: sp.csr_matrix,
    candidates: np.ndarray,
    users: Vocabulary,
    items: Vocabulary,
    purchases: sp.csr_matrix | None = None,
) -> Any:
    """A :class:`~recolab.models.tradeoff.TradeoffRecommender` from a bundle's parts (with
    the users' purchase counts for repeat purchases); the re-ranker is refitted on the
    stored histories (it keeps only counts and profiles)."""
    from recolab.models.averaged_linear import AveragedLinearAutoencoder
    from recolab.models.linear import LinearAutoencoder, LinearParams
    from recolab.models.sparse_linear import SparseLinearAutoencoder
    from recolab.models.tradeoff import TradeoffRecommender, interactions_from_matrix
    from recolab.rerank import make_reranker

    params = LinearParams.from_dict(config["base"]["params"])
    data = interactions_from_matrix(users, items, train)
    base: LinearAutoencoder
    members = [LinearParams.from_dict(m) for m in config["base"].get("members") or []]
    if config["base"].get("solver") == "dual":
        kind = AveragedLinearAutoencoder if members else LinearAutoencoder
        matrix = sp.csr_matrix(state["solve_matrix"])
        base = kind.from_solve_matrix(matrix, data, params, tuple(members))
        if 4 * data.n_items**2 <= schema.FORM_WEIGHTS_BYTES:  # served from W: 4x faster on ML-100K
            base.form_weights()
    elif config["base"]["type"] == "sparse-linear-autoencoder":
        base = SparseLinearAutoencoder.from_weights(state["weights"], data, params)
        base.neighbours = int(config["base"]["neighbours"])
    elif members:
        base = AveragedLinearAutoencoder.from_weights(state["weights"], data, params, members)
    else:
        base = LinearAutoencoder.from_weights(state["weights"], data, params)
    base = base.with_purchases(purchases)
    reranker = make_reranker(**config["mechanism"])
    if "mechanism_weights" in state:  # a trained mechanism: its weights, not a retraining
        load_state = getattr(reranker, "load_state", None)
        if load_state is None:
            raise ValueError(f"mechanism {reranker.name!r} takes no stored weights")
        load_state({"weights": state["mechanism_weights"]})
    model = TradeoffRecommender(
        base,
        reranker,
        float(config["lambda_range"][1]),
        n_candidates=int(config.get("n_candidates", 100)),
        item_vectors=state.get("item_vectors"),
        lam_default=float(config["objectives"]["lam"]),
    ).fit(data)
    model.candidates_ = candidates
    model.selection_ = config.get("selection") or {}
    return model


def signature_status(path: str | Path, *, key: bytes | str | None = None) -> str:
    """Whether a bundle is signed, without loading its model: ``"signed"`` (verified),
    ``"unsigned"`` or ``"signed, not verified (no key)"``.

    Raises
    ------
    BundleError
        When the bundle cannot be read, or a key is set and the signature does not verify.
    """
    path = Path(path)
    secret = _key(path, key)
    with open_archive(path) as archive:
        infos = scan(archive)
    return _verify(path, infos, secret, require=False)
