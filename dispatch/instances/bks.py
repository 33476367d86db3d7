"""Best-known solutions: `instance,vehicles,distance,source` CSV files as the sets ship them."""

from __future__ import annotations

import csv
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True, slots=True)
class BestKnown:
    """A best-known (or published optimal) solution value."""

    instance: str
    vehicles: int
    distance: float
    source: str


def read_bks(path: str | Path) -> dict[str, BestKnown]:
    """Read a BKS CSV; keys are lower-cased instance names."""
    table: dict[str, BestKnown] = {}
    with Path(path).open(newline="", encoding="utf-8") as fh:
        for lineno, row in enumerate(csv.DictReader(fh), start=2):
            try:
                entry = BestKnown(
                    instance=row["instance"],
                    vehicles=int(row["vehicles"]),
                    distance=float(row["distance"]),
                    source=row.get("source") or "",
                )
            except (KeyError, TypeError, ValueError) as exc:
                raise ValueError(f"{path}:{lineno}: bad BKS row {row!r}: {exc}") from exc
            table[entry.instance.lower()] = entry
    return table
