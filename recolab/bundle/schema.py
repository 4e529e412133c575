"""What a bundle may contain, checked before anything is allocated.

* :func:`parse_config`: ``config.json`` against a pydantic schema with bounds (strict types,
  no NaN or infinity, counts and widths within limits).
* :func:`parse_header`: a safetensors header read by hand (8-byte little-endian length +
  JSON): known dtypes, shapes of at most two sides, contiguous ``data_offsets`` whose sizes
  equal shape × dtype width, and a total equal to the member's measured size.
* :func:`check_layout`: the weights header against the config's layout and dimensions, and
  the histories header against the dimensions.
* :func:`memory_plan`: the bytes the load will allocate, compared with a budget.
"""

from __future__ import annotations

import json
import math
import os
import struct
from dataclasses import dataclass
from typing import Annotated, Any, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    TypeAdapter,
    ValidationError,
    model_validator,
)

FORMAT = "recolab-bundle"
SCHEMA_VERSION = 1
TRADEOFF_TYPE = "linear-rerank"
WEIGHTED_TYPE = "weighted-objective"

MAX_USERS = 100_000_000
MAX_ITEMS = 10_000_000
MAX_WIDTH = 16_384
MAX_TENSORS = 256
MAX_LAMBDA = 1e6
MAX_CANDIDATES = 100_000
MAX_HEADER_BYTES = 1 << 20
#: Longest list a bundle may name as its default cut-off k*.
MAX_K = 10_000
#: Longest stored validation cut-off curve, and most curves (one per λ).
MAX_CURVE_K = 1_000
MAX_CURVES = 64
#: Default ceiling of what one load may allocate (also capped by available memory).
MAX_MODEL_BYTES = 4 * 1024**3
#: An unverified bundle may need at most this many times the bytes it takes in the archive
#: (or :data:`PLAN_FLOOR_BYTES`, whichever is larger): a small crafted bundle cannot make a
#: load allocate gigabytes. Dense models need about 3-4x; a model pruned to ~97 % zeros
#: about 60x. A signed bundle verified with the key, or an explicit budget, lifts this.
MAX_EXPANSION = 64
PLAN_FLOOR_BYTES = 64 << 20
#: Environment variable that sets the budget (bytes) and lifts the expansion limit.
BUDGET_ENV = "RECOLAB_BUNDLE_MAX_BYTES"
DTYPES = {"F32": 4, "F64": 8, "I32": 4, "I64": 8, "U8": 1, "BOOL": 1}

_STRICT = ConfigDict(allow_inf_nan=False, extra="allow", strict=True)
Name = Annotated[str, StringConstraints(min_length=1, max_length=128, pattern=r"^[\w.\-]+$")]
Sha = Annotated[str, StringConstraints(pattern=r"^[0-9a-f]{64}$")]
Side = Annotated[int, Field(ge=0, le=MAX_ITEMS)]
Weight = Annotated[float, Field(ge=0.0, le=MAX_LAMBDA)]


class Layout(BaseModel):
    """How one weight matrix is stored: dense, or sparse (rows, cols, values)."""

    model_config = ConfigDict(allow_inf_nan=False, extra="forbid", strict=True)
    storage: Literal["dense", "sparse"]
    shape: Annotated[list[Side], Field(min_length=0, max_length=2)]


class Dimensions(BaseModel):
    """Counts that size the model."""

    model_config = _STRICT
    n_users: Annotated[int, Field(ge=1, le=MAX_USERS)]
    n_items: Annotated[int, Field(ge=1, le=MAX_ITEMS)]
    dim: Annotated[int, Field(ge=1, le=MAX_WIDTH)] | None = None
    text_dim: Annotated[int, Field(ge=0, le=MAX_WIDTH)] = 0
    item_item: bool | None = None


class Objectives(BaseModel):
    """The chosen point: λ and α (other objective weights are kept as they are)."""

    model_config = ConfigDict(allow_inf_nan=False, extra="allow")
    lam: Weight
    alpha: Annotated[list[Weight], Field(min_length=3, max_length=3)]
    #: The list length α chose on validation (k*); absent in older bundles (then 10).
    k: Annotated[int, Field(strict=True, ge=1, le=MAX_K)] | None = None


Share = Annotated[float, Field(ge=0.0, le=1.0)]


class _CutoffCurve(BaseModel):
    """Mean precision, recall and F1 on validation at k = 1 … n, at one λ."""

    model_config = ConfigDict(allow_inf_nan=False, extra="forbid")
    lam: Weight
    precision: Annotated[list[Share], Field(min_length=1, max_length=MAX_CURVE_K)]
    recall: Annotated[list[Share], Field(min_length=1, max_length=MAX_CURVE_K)]
    f1: Annotated[list[Share], Field(min_length=1, max_length=MAX_CURVE_K)]


class _Cutoffs(BaseModel):
    """The validation curves α chooses k* from (:mod:`recolab.tuning.cutoff`)."""

    model_config = ConfigDict(allow_inf_nan=False, extra="forbid")
    validation: Annotated[str, StringConstraints(max_length=1024)] = ""
    max_k: Annotated[int, Field(strict=True, ge=1, le=MAX_CURVE_K)]
    curves: Annotated[list[_CutoffCurve], Field(max_length=MAX_CURVES)]


class _Common(BaseModel):
    model_config = ConfigDict(allow_inf_nan=False, extra="allow")
    format: Literal["recolab-bundle"]
    schema_version: Literal[1]
    objectives: Objectives
    lambda_range: Annotated[list[Weight], Field(min_length=2, max_length=2)]
    dimensions: Dimensions
    weights_layout: Annotated[dict[Name, Layout], Field(min_length=1, max_length=MAX_TENSORS)]
    sha256: dict[Name, Sha]
    rating_range: Annotated[list[float], Field(min_length=2, max_length=2)] | None = None
    front: Annotated[list[dict[str, Any]], Field(max_length=100_000)] = []
    metrics: dict[str, Any] = {}
    protocol: dict[str, Any] = {}
    cutoffs: _Cutoffs | None = None
    #: Repeat purchases (consumables): serving keeps each user's own items among the
    #: candidates by default. Absent in older bundles (then ``False``: seen items left out).
    repeat: Annotated[bool, Field(strict=True)] = False


class _Base(BaseModel):
    model_config = ConfigDict(allow_inf_nan=False, extra="forbid")
    #: The dense closed-form base, or the neighbourhood-restricted one of large catalogues
    #: (:class:`~recolab.models.sparse_linear.SparseLinearAutoencoder`, weights kept sparse).
    type: Literal["linear-autoencoder", "sparse-linear-autoencoder"]
    params: dict[Name, float | bool]
    neighbours: Annotated[int, Field(strict=True, ge=1)] | None = None
    #: The options of each trial a dense base averages (absent: a single trial).
    members: Annotated[list[dict[Name, float | bool]], Field(min_length=2)] | None = None
    #: ``dual``: the dense base is stored as the binary matrix it was solved on and solved
    #: again at load in dual form (:mod:`recolab.models.dual`; fewer users than items).
    solver: Literal["primal", "dual"] = "primal"

    @model_validator(mode="after")
    def _neighbours_for_sparse(self) -> _Base:
        if (self.type == "sparse-linear-autoencoder") != (self.neighbours is not None):
            raise ValueError("neighbours is given for the sparse base, and only for it")
        if self.members is not None and self.type != "linear-autoencoder":
            raise ValueError("members are given for the dense linear base only")
        if self.solver == "dual" and self.type != "linear-autoencoder":
            raise ValueError("the dual solver is for the dense linear base only")
        return self


class _Mechanism(BaseModel):
    model_config = ConfigDict(allow_inf_nan=False, extra="allow")
    name: Name


class TradeoffConfig(_Common):
    """``config.json`` of a tuned linear base with a serve-time trade-off mechanism."""

    model_type: Literal["linear-rerank"]
    base: _Base
    mechanism: _Mechanism
    n_candidates: Annotated[int, Field(strict=True, ge=1, le=MAX_CANDIDATES)] = 100
    selection: dict[str, Any] | None = None


class _TrainConfig(BaseModel):
    model_config = ConfigDict(allow_inf_nan=False, extra="allow")
    dim: Annotated[int, Field(strict=True, ge=1, le=MAX_WIDTH)]


class _UserAttributes(BaseModel):
    model_config = ConfigDict(allow_inf_nan=False, extra="forbid")
    columns: Annotated[list[dict[str, Any]], Field(max_length=1024)]


class WeightedConfig(_Common):
    """``config.json`` of the λ-conditioned weighted-objective network."""

    model_type: Literal["weighted-objective"]
    train_config: _TrainConfig
    conditioned_objectives: Annotated[list[Name], Field(max_length=16)] | None = None
    user_attributes: _UserAttributes | None = None


_CONFIG = TypeAdapter(Annotated[TradeoffConfig | WeightedConfig, Field(discriminator="model_type")])


def _short(exc: ValidationError) -> str:
    parts = []
    for err in exc.errors()[:3]:
        loc = ".".join(str(p) for p in err["loc"] if not str(p).startswith(("linear", "weig")))
        parts.append(f"{loc or '(top)'}: {err['msg']}")
    more = exc.error_count() - len(parts)
    return "; ".join(parts) + (f" (+{more} more)" if more > 0 else "")


def parse_config(data: bytes) -> tuple[dict[str, Any], TradeoffConfig | WeightedConfig]:
    """``config.json`` as a dict and as its validated schema.

    Raises
    ------
    ValueError
        With a short account of what is wrong (not JSON, foreign, another schema version,
        a value of the wrong type or out of bounds).
    """
    try:
        raw = json.loads(data)
    except (UnicodeDecodeError, RecursionError, ValueError) as exc:
        raise ValueError(f"not valid JSON: {exc}") from exc
    if not isinstance(raw, dict) or raw.get("format") != FORMAT:
        raise ValueError(f"not a recolab bundle (format is not {FORMAT!r})")
    if raw.get("schema_version") != SCHEMA_VERSION:
        raise ValueError(
            f"bundle schema version {raw.get('schema_version')!r}; "
            f"this recolab reads version {SCHEMA_VERSION}"
        )
    try:
        cfg = _CONFIG.validate_python(raw)
    except ValidationError as exc:
        raise ValueError(f"invalid config: {_short(exc)}") from exc
    except RecursionError as exc:
        raise ValueError("invalid config: nested too deeply") from exc
    if isinstance(cfg, WeightedConfig) and cfg.dimensions.dim not in (None, cfg.train_config.dim):
        raise ValueError(
            f"dimensions.dim {cfg.dimensions.dim} differs from train_config.dim "
            f"{cfg.train_config.dim}"
        )
    lo, hi = cfg.lambda_range
    if lo > hi:
        raise ValueError(f"lambda_range {cfg.lambda_range} is not increasing")
    _check_cutoffs(cfg.cutoffs)
    return raw, cfg


def _check_cutoffs(cutoffs: _Cutoffs | None) -> None:
    """Every stored curve spans exactly ``max_k`` cut-offs."""
    if cutoffs is None:
        return
    for curve in cutoffs.curves:
        lengths = {len(curve.precision), len(curve.recall), len(curve.f1)}
        if lengths != {cutoffs.max_k}:
            raise ValueError(
                f"cutoffs: the curve at λ={curve.lam} has {sorted(lengths)} points, "
                f"max_k is {cutoffs.max_k}"
            )


@dataclass(frozen=True)
class Tensor:
    """One entry of a safetensors header."""

    dtype: str
    shape: tuple[int, ...]
    nbytes: int


def _header_json(head: bytes, size: int) -> tuple[dict[str, Any], int]:
    if size < 8 or len(head) < 8:
        raise ValueError("shorter than a safetensors header")
    (n,) = struct.unpack("<Q", head[:8])
    if n < 2 or n > MAX_HEADER_BYTES or 8 + n > size:
        raise ValueError(f"header length {n} is out of bounds (member has {size} bytes)")
    if len(head) < 8 + n:
        raise ValueError("header is cut short")
    try:
        header = json.loads(head[8 : 8 + n])
    except (UnicodeDecodeError, RecursionError, ValueError) as exc:
        raise ValueError(f"header is not valid JSON: {exc}") from exc
    if not isinstance(header, dict):
        raise ValueError("header is not a JSON object")
    return header, 8 + n


def _tensor(name: str, entry: Any) -> tuple[Tensor, int, int]:
    if not isinstance(entry, dict) or set(entry) != {"dtype", "shape", "data_offsets"}:
        raise ValueError(f"tensor {name!r}: entry must hold dtype, shape and data_offsets")
    dtype, shape, offsets = entry["dtype"], entry["shape"], entry["data_offsets"]
    if dtype not in DTYPES:
        raise ValueError(f"tensor {name!r}: dtype {dtype!r} is not one of {sorted(DTYPES)}")
    ints = isinstance(shape, list) and all(type(s) is int and 0 <= s <= MAX_USERS for s in shape)
    if not ints or len(shape) > 2:
        raise ValueError(f"tensor {name!r}: shape {shape!r} is not 0-2 sizes in bounds")
    two = isinstance(offsets, list) and len(offsets) == 2
    if not two or not all(type(o) is int and o >= 0 for o in offsets):
        raise ValueError(f"tensor {name!r}: data_offsets {offsets!r} are not two sizes")
    nbytes = math.prod(shape) * DTYPES[dtype]
    if offsets[1] - offsets[0] != nbytes:
        raise ValueError(
            f"tensor {name!r}: data_offsets span {offsets[1] - offsets[0]} bytes, "
            f"shape {shape} × {dtype} needs {nbytes}"
        )
    return Tensor(dtype, tuple(shape), nbytes), offsets[0], offsets[1]


def parse_header(head: bytes, size: int) -> dict[str, Tensor]:
    """Tensors of a safetensors member from its first bytes and measured ``size``.

    Raises
    ------
    ValueError
        When the header is malformed or does not describe exactly ``size`` bytes.
    """
    header, start = _header_json(head, size)
    meta = header.pop("__metadata__", None)
    if meta is not None and not (
        isinstance(meta, dict) and all(isinstance(v, str) for v in meta.values())
    ):
        raise ValueError("__metadata__ must map names to strings")
    if len(header) > MAX_TENSORS * 3:
        raise ValueError(f"{len(header)} tensors (at most {MAX_TENSORS * 3})")
    spans = []
    tensors: dict[str, Tensor] = {}
    for name, entry in header.items():
        tensor, begin, end = _tensor(name, entry)
        tensors[name] = tensor
        spans.append((begin, end, name))
    at = 0
    for begin, end, name in sorted(spans):
        if begin != at:
            raise ValueError(f"tensor {name!r}: data starts at {begin}, expected {at}")
        at = end
    if start + at != size:
        raise ValueError(f"header describes {start + at} bytes, the member has {size}")
    return tensors


def _expect(
    tensors: dict[str, Tensor], name: str, dtype: str, shape: tuple[int, ...] | None
) -> Tensor:
    t = tensors.get(name)
    if t is None:
        raise ValueError(f"tensor {name!r} is missing")
    if t.dtype != dtype or (shape is not None and t.shape != shape):
        raise ValueError(f"tensor {name!r} is {t.dtype}{list(t.shape)}, expected {dtype}{shape}")
    return t


def check_weights(cfg: TradeoffConfig | WeightedConfig, tensors: dict[str, Tensor]) -> None:
    """The weights header matches the layout, and the layout matches the dimensions."""
    expected: set[str] = set()
    for name, lay in cfg.weights_layout.items():
        shape = tuple(lay.shape)
        if lay.storage == "dense":
            _expect(tensors, name, "F32", shape)
            expected.add(name)
            continue
        if len(shape) != 2:
            raise ValueError(f"sparse tensor {name!r} must be a matrix, layout says {shape}")
        nnz = _expect(tensors, f"{name}.values", "F32", None).shape
        if len(nnz) != 1 or nnz[0] > math.prod(shape):
            raise ValueError(f"sparse tensor {name!r}: {nnz} values for shape {shape}")
        _expect(tensors, f"{name}.rows", "I32", nnz)
        _expect(tensors, f"{name}.cols", "I32", nnz)
        expected |= {f"{name}.values", f"{name}.rows", f"{name}.cols"}
    extra = sorted(set(tensors) - expected)
    if extra:
        raise ValueError(f"tensors not in the config's layout: {extra[:5]}")
    _check_dimensions(cfg)


def _check_dimensions(cfg: TradeoffConfig | WeightedConfig) -> None:
    dims = cfg.dimensions
    n = dims.n_items
    layout = {k: tuple(v.shape) for k, v in cfg.weights_layout.items()}
    if isinstance(cfg, TradeoffConfig):
        want: dict[str, tuple[int, ...] | None] = {"weights": (n, n)}
        allowed = {"weights", "item_vectors", "mechanism_weights"}
        if cfg.base.solver == "dual":
            rows = _solve_rows(layout.get("solve_matrix"), n)
            want, allowed = {"solve_matrix": (rows, n)}, allowed - {"weights"} | {"solve_matrix"}
        for name in ("item_vectors", "mechanism_weights"):
            if name in layout:
                rows, *width = layout[name]
                if rows != n or len(width) != 1 or not 1 <= width[0] <= MAX_WIDTH:
                    raise ValueError(f"{name} shape {layout[name]} for {n} items")
    else:
        d = cfg.train_config.dim
        want = {"item_embedding": (n, d), "encoder.weight": (n, d), "log_popularity": (n,)}
        if dims.item_item:
            want["item_item"] = (n, n)
        if dims.text_dim:
            want["text"] = (n, dims.text_dim)
        allowed = set(layout) - {k for k in ("item_item", "text") if k not in want}
        for name, shape in layout.items():
            if name not in want and any(s > max(n, MAX_WIDTH) for s in shape):
                raise ValueError(f"tensor {name!r} of shape {list(shape)} is out of bounds")
    for name, shape in want.items():
        if layout.get(name) != shape:
            raise ValueError(
                f"tensor {name!r} has shape {layout.get(name)}, dimensions say {shape}"
            )
    if set(layout) - allowed:
        raise ValueError(f"unexpected tensors for this model type: {sorted(set(layout) - allowed)}")


def check_history(
    cfg: TradeoffConfig | WeightedConfig, tensors: dict[str, Tensor], user_tokens: bool
) -> None:
    """The histories header matches the dimensions (CSR arrays, candidate mask)."""
    dims = cfg.dimensions
    _expect(tensors, "indptr", "I64", (dims.n_users + 1,))
    nnz = _expect(tensors, "indices", "I64", None).shape
    if len(nnz) != 1 or nnz[0] > dims.n_users * dims.n_items:
        raise ValueError(f"indices of shape {list(nnz)} for {dims.n_users} users")
    _expect(tensors, "candidates", "U8", (dims.n_items,))
    expected = {"indptr", "indices", "candidates"}
    if "purchases" in tensors:  # repeat purchases: a count per history entry
        _expect(tensors, "purchases", "F32", tuple(nnz))
        expected.add("purchases")
    if user_tokens:
        _expect(tensors, "user_token_indptr", "I64", (dims.n_users + 1,))
        if len(_expect(tensors, "user_token_indices", "I64", None).shape) != 1:
            raise ValueError("user_token_indices must be a vector")
        expected |= {"user_token_indptr", "user_token_indices"}
    extra = sorted(set(tensors) - expected)
    if extra:
        raise ValueError(f"unexpected arrays: {extra[:5]}")


#: A base solved in dual form at load forms its item × item ``W`` when it is at most this
#: large (4,096 items): scoring all ML-100K users then takes 27 ms instead of 122 ms.
FORM_WEIGHTS_BYTES = 64 * 2**20


def _solve_rows(shape: tuple[int, ...] | None, n_items: int) -> int:
    """Users of a dual base's solve matrix: fewer than the items (the dual form's case)."""
    if shape is None or len(shape) != 2 or not 1 <= shape[0] < n_items:
        raise ValueError(f"the dual base needs a solve_matrix of fewer users than {n_items} items")
    return shape[0]


def kept_sparse(cfg: TradeoffConfig | WeightedConfig) -> set[str]:
    """Stored matrices served sparse: the item-item weights of the sparse base, whose dense
    form (items² floats) is what that base exists to avoid, and a dual base's solve
    matrix."""
    if not isinstance(cfg, TradeoffConfig):
        return set()
    if cfg.base.solver == "dual":
        return {"solve_matrix"}
    return {"weights"} if cfg.base.type == "sparse-linear-autoencoder" else set()


def _dual_bytes(cfg: TradeoffConfig | WeightedConfig) -> int:
    """Bytes a dual base's solve at load keeps (each member's float64 users × users
    matrices, three at the peak) beside one float64 users × items block."""
    if not isinstance(cfg, TradeoffConfig) or cfg.base.solver != "dual":
        return 0
    users, items = cfg.weights_layout["solve_matrix"].shape
    members = len(cfg.base.members or [None])
    formed = 4 * items * items if 4 * items * items <= FORM_WEIGHTS_BYTES else 0
    return 8 * users * users * (members + 3) + 8 * users * items + formed


def dense_bytes(cfg: TradeoffConfig | WeightedConfig) -> int:
    """Bytes of the weight matrices once unpacked to dense float32 (those kept sparse are
    counted by :func:`memory_plan` from their stored size)."""
    skip = kept_sparse(cfg)
    return sum(
        4 * math.prod(lay.shape) for name, lay in cfg.weights_layout.items() if name not in skip
    )


def memory_plan(
    cfg: TradeoffConfig | WeightedConfig, sizes: dict[str, int], history_nnz: int
) -> int:
    """Bytes the load will allocate: the members read, the unpacked matrices (twice for
    the copy the model keeps, three times for the network's own parameters), the CSR
    histories and the id maps once parsed."""
    copies = 2 if isinstance(cfg, TradeoffConfig) else 3
    dims = cfg.dimensions
    csv = sizes.get("users.csv", 0) + sizes.get("items.csv", 0)
    sparse_copy = sizes.get("weights.safetensors", 0) if kept_sparse(cfg) else 0
    return (
        sum(sizes.values())
        + sparse_copy
        + copies * dense_bytes(cfg)
        + 16 * history_nnz
        + _dual_bytes(cfg)
        + 8 * csv
        + 200 * (dims.n_users + dims.n_items)
    )


def default_budget() -> int:
    """The most one load may allocate: ``RECOLAB_BUNDLE_MAX_BYTES`` when set, else the
    smaller of :data:`MAX_MODEL_BYTES` and 80 % of the memory available now."""
    text = os.environ.get(BUDGET_ENV, "").strip()
    if text:
        try:
            return max(0, int(float(text)))
        except ValueError:
            pass
    from recolab.memory import available_memory_bytes

    return min(MAX_MODEL_BYTES, int(0.8 * available_memory_bytes()))
