"""What loading saw and did: nothing is dropped without being counted here."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from typing import Any


@dataclass
class CatalogueReport:
    """What loading an item catalogue saw and did.

    The counts add up: ``rows_read == rows_kept + sum(dropped.values())``.
    """

    source: str
    rows_read: int = 0
    rows_kept: int = 0
    dropped: dict[str, int] = field(default_factory=dict)
    examples: dict[str, list[int]] = field(default_factory=dict)
    rules: list[str] = field(default_factory=list)

    def drop(self, reason: str, count: int, rows: list[int] | None = None) -> None:
        """Count ``count`` rows dropped for ``reason`` (and keep a few example row numbers)."""
        _count(self.dropped, self.examples, reason, count, rows)

    def check_balance(self) -> None:
        """Raise ``AssertionError`` if the counts do not add up."""
        total = self.rows_kept + sum(self.dropped.values())
        if total != self.rows_read:
            raise AssertionError(
                f"catalogue report for {self.source} does not add up: read {self.rows_read}, "
                f"kept {self.rows_kept} + dropped {sum(self.dropped.values())} = {total}"
            )

    def summary_lines(self) -> list[str]:
        """Human-readable lines, as :meth:`DataReport.summary_lines`."""
        lines = [f"item catalogue: {self.source}", f"  catalogue rows read: {self.rows_read}"]
        lines += _drop_lines(self.dropped, self.examples, "    ")
        dropped = sum(self.dropped.values())
        lines.append(
            f"  catalogue check: {self.rows_kept} kept + {dropped} dropped = "
            f"{self.rows_kept + dropped} read"
        )
        lines += [f"  catalogue rule: {r}" for r in self.rules]
        return lines


def _count(
    dropped: dict[str, int],
    examples: dict[str, list[int]],
    reason: str,
    count: int,
    rows: list[int] | None,
) -> None:
    if count <= 0:
        return
    dropped[reason] = dropped.get(reason, 0) + int(count)
    if rows:
        kept = examples.setdefault(reason, [])
        kept.extend(int(r) for r in rows[: max(0, 5 - len(kept))])


def _drop_lines(dropped: dict[str, int], examples: dict[str, list[int]], indent: str) -> list[str]:
    lines = []
    for reason, n in sorted(dropped.items(), key=lambda kv: -kv[1]):
        ex = examples.get(reason)
        suffix = f" (e.g. rows {', '.join(map(str, ex))})" if ex else ""
        lines.append(f"{indent}dropped, {reason}: {n}{suffix}")
    return lines


@dataclass
class DataReport:
    """A record of one load: rows read, rows dropped per reason, merges, rules applied.

    The counts add up: ``rows_read == rows_kept + sum(dropped.values()) + duplicates_merged``,
    where ``duplicates_merged`` counts rows folded into another row with the same
    (user, item) key. :meth:`check_balance` enforces it.
    """

    source: str
    rows_read: int = 0
    rows_kept: int = 0
    dropped: dict[str, int] = field(default_factory=dict)
    duplicates_merged: int = 0
    duplicate_policy: str = "last"
    rules: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    columns: dict[str, str] = field(default_factory=dict)
    kind: str = "implicit"
    n_users: int = 0
    n_items: int = 0
    n_interactions: int = 0
    density: float = 0.0
    cold_users: int = 0
    cold_items: int = 0
    examples: dict[str, list[int]] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)
    catalogue: CatalogueReport | None = None
    #: Item prices: items with and without one, rows priced 0 (see recolab.data.prices).
    prices: dict[str, int] = field(default_factory=dict)
    #: Suspicious (shilling) profiles: flagged count, reasons, thresholds, examples
    #: (:meth:`recolab.data.shilling.SuspicionReport.summary`). Flags never drop data.
    shilling: dict[str, Any] = field(default_factory=dict)

    def drop(self, reason: str, count: int, rows: list[int] | None = None) -> None:
        """Count ``count`` rows dropped for ``reason`` (and keep a few example row numbers)."""
        _count(self.dropped, self.examples, reason, count, rows)

    @property
    def rows_dropped(self) -> int:
        """Rows dropped for any reason."""
        return sum(self.dropped.values())

    def check_balance(self) -> None:
        """Raise ``AssertionError`` if the counts (and the catalogue's) do not add up."""
        if self.catalogue is not None:
            self.catalogue.check_balance()
        total = self.rows_kept + self.rows_dropped + self.duplicates_merged
        if total != self.rows_read:
            raise AssertionError(
                f"DataReport for {self.source} does not add up: read {self.rows_read}, "
                f"kept {self.rows_kept} + dropped {self.rows_dropped} + merged "
                f"{self.duplicates_merged} = {total}"
            )

    def to_dict(self) -> dict[str, Any]:
        """Plain-JSON form."""
        return asdict(self)

    def to_json(self) -> str:
        """JSON text of :meth:`to_dict`."""
        return json.dumps(self.to_dict(), indent=2)

    def summary_lines(self) -> list[str]:
        """Human-readable lines for the CLI and the dashboard."""
        lines = [
            f"source: {self.source}",
            "columns: " + ", ".join(f"{k}={v}" for k, v in self.columns.items()),
            f"kind: {self.kind}",
            f"rows read: {self.rows_read}",
        ]
        lines += _drop_lines(self.dropped, self.examples, "  ")
        lines.append(
            f"  merged into another row (duplicate user-item, policy {self.duplicate_policy}): "
            f"{self.duplicates_merged}"
        )
        lines.append(f"rows kept: {self.rows_kept}")
        lines.append(
            f"check: {self.rows_kept} kept + {self.rows_dropped} dropped + "
            f"{self.duplicates_merged} merged = "
            f"{self.rows_kept + self.rows_dropped + self.duplicates_merged} read"
        )
        lines += [f"rule: {r}" for r in self.rules]
        lines += [
            f"users: {self.n_users}, items: {self.n_items}, interactions: {self.n_interactions}, "
            f"density: {self.density:.5f}",
            f"users with < 5 interactions: {self.cold_users}, "
            f"items with < 5 interactions: {self.cold_items}",
        ]
        lines += [f"prices, {what}: {n}" for what, n in self.prices.items()]
        lines += shilling_lines(self.shilling)
        lines += [f"warning: {w}" for w in self.warnings]
        lines += [f"note: {n}" for n in self.notes]
        if self.catalogue is not None:
            lines += self.catalogue.summary_lines()
        return lines


def shilling_lines(summary: dict[str, Any], examples: int = 3) -> list[str]:
    """Report lines of a shilling check summary (none when no check ran)."""
    if not summary:
        return []
    lines = [
        f"suspicious profiles (flags only, nothing dropped; rule: {summary['rule']}): "
        f"{summary['flagged']} of {summary['users']} users flagged"
    ]
    thresholds = summary.get("thresholds", {})
    for reason, n in summary.get("reasons", {}).items():
        meaning = summary.get("meaning", {}).get(reason, reason)
        lines.append(f"  {meaning} [{reason}]: {n} (threshold {thresholds[reason]:.4g})")
    if summary.get("suspect_items"):
        shown = ", ".join(summary["suspect_items"][:10])
        lines.append(f"  suspect items (far more flagged users than chance): {shown}")
    for ex in summary.get("examples", [])[:examples]:
        why = "; ".join(
            f"{r['reason']} {r['value']:.4g} vs {r['threshold']:.4g}" for r in ex["reasons"]
        )
        lines.append(f"  e.g. user {ex['user']}: {why}")
    return lines
