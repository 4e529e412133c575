"""Export and load a trained model as one self-contained bundle.

A bundle is a ``.zip`` (or a folder with the same files):

``config.json``
    schema version, model type, training config, objective weights with the chosen λ and α,
    the trained λ range, dimensions, text model name, evaluation protocol, metrics at the
    chosen point and over the front, data fingerprint, library versions, and the SHA-256 of
    the four model files. The checksums detect **corruption only** (a truncated or damaged
    file): anyone who edits a bundle can recompute them.
``weights.safetensors``
    every tensor of the model (item-item weights, embeddings, FiLM, item text embeddings).
    Matrices that pruning made mostly zero are stored sparse (indices + values).
``history.safetensors``
    the training users' histories (CSR arrays), to leave seen items out and to score known
    users; plus the mask of items a ranking may return.
``users.csv``, ``items.csv``
    id maps: row index → external id (items with their title when known).
``MODEL_CARD.md``
    the model card (:mod:`recolab.bundle.card`): the model, the validation split its choices
    were made on, the options, the metrics at the chosen λ and the evaluation protocol;
    written from ``config.json`` unless the exporter gives its own (the dashboard's export).
``signature.json`` (when ``RECOLAB_BUNDLE_KEY`` is set at export)
    HMAC-SHA256 over the name and SHA-256 of every other member, ``config.json`` and extra
    files included: this is what detects **tampering** (:mod:`recolab.bundle.signing`).
    ``load(..., require_signature=True)`` refuses unsigned bundles, and with a key set a
    bundle whose signature does not verify is always refused.

Loading is bounded by construction (:mod:`recolab.bundle.loader`): members are streamed and
counted (never trusting declared sizes), ``config.json`` is validated against a schema with
bounds (:mod:`recolab.bundle.schema`), the safetensors headers are read by hand and matched
with the config, and the memory the load needs is planned and compared with a budget before
anything is allocated. Every failure is a :class:`~recolab.errors.BundleError` naming the
bundle and the member. No pickle anywhere; nothing is extracted; folder bundles refuse
symbolic links.
"""

from __future__ import annotations

from recolab.bundle.archive import MAX_UNPACKED_BYTES
from recolab.bundle.export import FILES, SPARSE_STORE_THRESHOLD, bundle_size, export_bundle
from recolab.bundle.loader import load, signature_status
from recolab.bundle.schema import FORMAT, SCHEMA_VERSION, TRADEOFF_TYPE
from recolab.bundle.serving import AlignedModel, LoadedModel
from recolab.bundle.signing import KEY_ENV, SIGNED, SIGNED_UNVERIFIED, UNSIGNED, describe

__all__ = [
    "FILES",
    "FORMAT",
    "KEY_ENV",
    "MAX_UNPACKED_BYTES",
    "SCHEMA_VERSION",
    "SIGNED",
    "SIGNED_UNVERIFIED",
    "SPARSE_STORE_THRESHOLD",
    "TRADEOFF_TYPE",
    "UNSIGNED",
    "AlignedModel",
    "LoadedModel",
    "bundle_size",
    "describe",
    "export_bundle",
    "load",
    "signature_status",
]
