"""recolab: tune recommender systems against several objectives at once.

The library never imports streamlit; the dashboard (``app.py``, ``pages/``) and the CLI
(``python -m recolab``) are thin layers over it.
"""

from __future__ import annotations

import logging

from recolab._version import __version__

logging.getLogger(__name__).addHandler(logging.NullHandler())


def load(path: str, *, require_signature: bool = False) -> object:
    """Load an exported model bundle (``.zip`` or folder); see :func:`recolab.bundle.load`
    (``require_signature`` refuses unsigned bundles; ``RECOLAB_BUNDLE_KEY`` verifies)."""
    from recolab.bundle import load as _load

    return _load(path, require_signature=require_signature)


__all__ = ["__version__", "load"]
