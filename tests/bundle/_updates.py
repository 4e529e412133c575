"""A small update of a bundle, shared by the tests of each base's update."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pandas as pd

from recolab.bundle import load


def update_known_and_new_user(path: Path) -> tuple[Any, Any]:
    """The loaded bundle and its update by three events of its first user and two of a new
    user on its first items (CPU)."""
    loaded = load(path)
    user = str(loaded.model.users_.ids[0])
    items = [str(i) for i in loaded.model.items_.ids[:3]]
    events = pd.DataFrame({"user": [user] * 3 + ["newcomer"] * 2, "item": items + items[:2]})
    return loaded, loaded.update(events, device="cpu")
