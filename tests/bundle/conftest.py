"""Bundle tests run without a signing key or budget from the environment unless they set one
(cleared for the whole directory, module fixtures included)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest


@pytest.fixture(autouse=True, scope="package")
def _no_key() -> Iterator[None]:
    with pytest.MonkeyPatch.context() as mp:
        mp.delenv("RECOLAB_BUNDLE_KEY", raising=False)
        mp.delenv("RECOLAB_BUNDLE_MAX_BYTES", raising=False)
        yield
