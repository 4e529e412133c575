"""Bench-only adapters and measuring helpers.

* :class:`ImplicitAdapter` wraps a model of the peer library ``implicit`` (ALS, BPR) as a
  :class:`recolab.models.base.Recommender`, so that its top-k lists come from the very same
  ``recommend`` → :func:`recolab.evaluation.evaluate` code as recolab's own models.
* :class:`RandomRecommender` and :class:`TextCentroidRecommender` are honest references for
  the cold-start check (items never seen in training).
* :class:`MemoryMeter` and :func:`machine_load` measure cost.

``implicit`` is a benchmark requirement only (``benchmarks/requirements.txt``), never a
runtime one of recolab.
"""

from __future__ import annotations

import logging
import os
import threading
import time
from types import TracebackType
from typing import Any, Self

import numpy as np
import scipy.sparse as sp

from recolab.data.interactions import InteractionData
from recolab.models.base import Recommender, score_newcomers

log = logging.getLogger(__name__)

_PAGE = os.sysconf("SC_PAGE_SIZE") if hasattr(os, "sysconf") else 4096


def rss_bytes() -> int:
    """Resident set size of this process now (Linux ``/proc/self/statm``; 0 elsewhere)."""
    try:
        with open("/proc/self/statm") as fh:
            return int(fh.read().split()[1]) * _PAGE
    except (OSError, ValueError, IndexError):  # pragma: no cover - non-Linux
        return 0


class MemoryMeter:
    """Peak resident memory during a ``with`` block, sampled by a background thread.

    ``peak_bytes`` is the highest RSS seen, ``delta_bytes`` that peak minus the RSS at entry
    (what the block added). It sees every allocator (NumPy, torch, OpenMP/C++ code), unlike
    ``tracemalloc``; it can miss a spike shorter than the sampling interval, and it
    under-counts when the block reuses heap that an earlier step freed but did not return to
    the OS — so read it as "about", not to the byte.

    Examples
    --------
    >>> with MemoryMeter() as m:
    ...     _ = bytearray(10_000_000)
    >>> m.peak_bytes >= m.start_bytes
    True
    """

    def __init__(self, interval_s: float = 0.002) -> None:
        self.interval_s = interval_s
        self.start_bytes = 0
        self.peak_bytes = 0
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    @property
    def delta_bytes(self) -> int:
        """Peak RSS minus RSS at entry (≥ 0)."""
        return max(self.peak_bytes - self.start_bytes, 0)

    def _watch(self) -> None:
        while not self._stop.is_set():
            self.peak_bytes = max(self.peak_bytes, rss_bytes())
            time.sleep(self.interval_s)

    def __enter__(self) -> Self:
        self.start_bytes = rss_bytes()
        self.peak_bytes = self.start_bytes
        self._stop.clear()
        self._thread = threading.Thread(target=self._watch, daemon=True)
        self._thread.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join()
        self.peak_bytes = max(self.peak_bytes, rss_bytes())


def machine_load() -> str:
    """1/5/15-minute load averages and the CPU count, as one line for a report."""
    try:
        one, five, fifteen = os.getloadavg()
    except OSError:  # pragma: no cover
        return "load average unavailable"
    return f"load average {one:.2f} / {five:.2f} / {fifteen:.2f} on {os.cpu_count()} CPUs"


#: Device for recolab's training and text embedding in every benchmark script: "auto" (CUDA
#: when torch sees a GPU, else the CPU), "cpu" or "cuda". The peers (implicit, EASE in numpy)
#: always run on the CPU.
DEVICE = os.environ.get("RECOLAB_BENCH_DEVICE", "auto")


def device_summary() -> str:
    """One markdown line on where recolab ran: the GPU's name, or that there was none."""
    import torch

    if DEVICE != "cpu" and torch.cuda.is_available():
        name = torch.cuda.get_device_name(0)
        mem = torch.cuda.get_device_properties(0).total_memory / 2**30
        return (
            f"GPU: **{name}** ({mem:.0f} GiB; torch {torch.__version__}, CUDA "
            f"{torch.version.cuda}). recolab's training, scoring and text embedding ran on it "
            "(bf16 autocast in training); EASE, popularity, item-kNN and `implicit` ran on the CPU."
        )
    return (
        f"No GPU in this session (torch {torch.__version__}, CUDA available: "
        f"{torch.cuda.is_available()}); everything ran on CPU."
    )


def cpu_name() -> str:
    """The CPU model name from ``/proc/cpuinfo`` (or ``unknown``)."""
    try:
        with open("/proc/cpuinfo") as fh:
            for line in fh:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:  # pragma: no cover
        pass
    return "unknown"


class ImplicitAdapter(Recommender):
    """A model of the ``implicit`` library behind recolab's :class:`Recommender` interface.

    ``fit`` trains the wrapped model on the binary users × items training matrix (times
    ``confidence``, the usual ALS weighting of implicit feedback) and keeps its factors;
    ``_score_known`` returns ``user_factors @ item_factors.T``. Candidates, exclusion of seen
    items, tie breaking and metrics are all recolab's.

    Parameters
    ----------
    factory:
        Called with no argument, returns an unfitted ``implicit`` CPU model, e.g.
        ``lambda: AlternatingLeastSquares(factors=64, random_state=0)``.
    name:
        Label for tables.
    confidence:
        Value given to every observed (user, item) pair.

    Examples
    --------
    >>> from implicit.cpu.als import AlternatingLeastSquares  # doctest: +SKIP
    >>> m = ImplicitAdapter(lambda: AlternatingLeastSquares(factors=8), "als")  # doctest: +SKIP
    >>> ids, _ = m.fit(train).recommend([0, 1], k=10)  # doctest: +SKIP
    """

    def __init__(self, factory: Any, name: str, confidence: float = 1.0) -> None:
        self.factory = factory
        self.name = name
        self.confidence = confidence

    def fit(self, train: InteractionData) -> Self:
        """Train the wrapped model and keep ``user_factors_`` / ``item_factors_``."""
        self._check_train(train)
        self._remember(train)
        x = sp.csr_matrix(self.train_, dtype=np.float32, copy=True)
        x.data[:] = self.confidence
        model = self.factory()
        model.fit(x, show_progress=False)
        self.user_factors_ = np.asarray(model.user_factors, dtype=np.float32)
        self.item_factors_ = np.asarray(model.item_factors, dtype=np.float32)
        if not (np.isfinite(self.user_factors_).all() and np.isfinite(self.item_factors_).all()):
            raise FloatingPointError(f"{self.name}: factors are not finite after fit")
        return self

    def _score_known(self, users: np.ndarray, lam: float | None) -> np.ndarray:
        return self.user_factors_[users] @ self.item_factors_.T


class WithNewcomers(Recommender):
    """A fitted peer whose users without history are scored by popularity, as recolab's
    linear base scores them (:func:`recolab.models.base.score_newcomers`), so a comparison
    on a log split in time (where some test users are new) weighs the models, not the
    fallback. Everything else is the wrapped model's.

    Parameters
    ----------
    inner:
        An unfitted :class:`Recommender` (EASE, an :class:`ImplicitAdapter`, ...).
    """

    def __init__(self, inner: Recommender) -> None:
        self.inner = inner

    def fit(self, train: InteractionData) -> Self:
        """Fit the wrapped model and remember the training data."""
        self.inner.fit(train)
        self._remember(train)
        return self

    def _score_known(self, users: np.ndarray, lam: float | None) -> np.ndarray:
        scores = np.asarray(self.inner.score(users, lam), dtype=np.float32)
        return score_newcomers(self.train_, self.train_[users], scores)


class RandomRecommender(Recommender):
    """Scores are i.i.d. uniform noise: an arbitrary order of the candidates (seeded).

    What any model without information about the candidates can do at best in expectation
    (e.g. popularity, item-kNN or EASE among items that have no training interaction, whose
    scores all tie). Average it over several seeds.
    """

    def __init__(self, seed: int = 0) -> None:
        self.seed = seed

    def fit(self, train: InteractionData) -> Self:
        """Remember the training matrix (no learning)."""
        self._check_train(train)
        self._remember(train)
        self._rng = np.random.default_rng(self.seed)
        return self

    def _score_known(self, users: np.ndarray, lam: float | None) -> np.ndarray:
        return self._rng.random((len(users), self.n_items), dtype=np.float32)


class TextCentroidRecommender(Recommender):
    """Content-only reference: cosine of an item's text embedding with the mean text
    embedding of the user's training history (no training, no collaborative signal).

    Parameters
    ----------
    text:
        Item text embeddings (n_items × d, unit rows or zero).
    """

    def __init__(self, text: np.ndarray) -> None:
        self.text = np.asarray(text, dtype=np.float32)

    def fit(self, train: InteractionData) -> Self:
        """Build the users' mean history embeddings."""
        self._check_train(train)
        self._remember(train)
        if self.text.shape[0] != self.n_items:
            raise ValueError(f"text has {self.text.shape[0]} rows, data {self.n_items} items")
        counts = np.maximum(np.asarray(self.train_.getnnz(axis=1)), 1)[:, None]
        centroid = np.asarray(self.train_ @ self.text) / counts
        norms = np.linalg.norm(centroid, axis=1, keepdims=True)
        self.user_vectors_ = (centroid / np.maximum(norms, 1e-12)).astype(np.float32)
        return self

    def _score_known(self, users: np.ndarray, lam: float | None) -> np.ndarray:
        return self.user_vectors_[users] @ self.text.T
