"""Fixed starting points of the weighted model, in closed form (no training).

* :func:`ease_weights`: the EASE item-item weights B, the model's collaborative memory
  (:func:`recolab.models.linear.ease_weights`: the torch solve every model shares);
* :func:`rating_baseline`: the baseline rating predictor μ + b_u + b_i its rating head
  learns a residual on.
"""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp

from recolab.models.linear import ease_weights

__all__ = ["ITEM_ITEM_MAX_ITEMS", "ease_weights", "rating_baseline"]

#: Item-item memory is used only up to this many items (it costs items² floats).
ITEM_ITEM_MAX_ITEMS = 20_000


def rating_baseline(
    ratings: sp.csr_matrix, *, reg: float = 5.0, iterations: int = 3
) -> tuple[float, np.ndarray, np.ndarray]:
    """The classic baseline predictor r̂ = μ + b_u + b_i of an explicit users × items rating
    matrix (zero = not rated), by a few rounds of shrunk means:
    b_i = Σ_u (r − μ − b_u) / (n_i + reg), then b_u = Σ_i (r − μ − b_i) / (n_u + reg).

    Returns (μ, b_u per user, b_i per item); users and items without ratings get 0.
    """
    coo = ratings.tocoo()
    rows, cols, r = coo.row, coo.col, coo.data.astype(np.float64)
    n_users, n_items = ratings.shape
    if len(r) == 0:
        return 0.0, np.zeros(n_users, np.float32), np.zeros(n_items, np.float32)
    mu = float(r.mean())
    n_u = np.bincount(rows, minlength=n_users)
    n_i = np.bincount(cols, minlength=n_items)
    b_u = np.zeros(n_users)
    b_i = np.zeros(n_items)
    for _ in range(iterations):
        b_i = np.bincount(cols, r - mu - b_u[rows], minlength=n_items) / (n_i + reg)
        b_u = np.bincount(rows, r - mu - b_i[cols], minlength=n_users) / (n_u + reg)
    return mu, b_u.astype(np.float32), b_i.astype(np.float32)
