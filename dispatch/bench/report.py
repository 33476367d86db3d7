"""Rows, the printed table, the summary against the bar, and the JSON document."""

from __future__ import annotations

import json
import os
import platform
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any


@dataclass(frozen=True, slots=True)
class Row:
    """One (instance, solver) result."""

    instance: str
    solver: str
    vehicles: int
    distance: float
    feasible: bool
    wall_s: float
    bks_vehicles: int | None
    bks_distance: float | None
    gap_pct: float | None
    fleet_delta: int | None
    violations: tuple[str, ...]
    note: str


def gap(
    kind: str, vehicles: int, distance: float, bks: tuple[int, float] | None
) -> tuple[float | None, int | None]:
    """(distance gap in %, vehicles - BKS vehicles); (None, None) without a BKS.

    For DARP the objective is distance only, so the fleet delta is informational.
    """
    del kind
    if bks is None or bks[1] <= 0:
        return None, None
    return 100.0 * (distance / bks[1] - 1.0), vehicles - bks[0]


def format_table(rows: Sequence[Row], kind: str) -> str:
    """A fixed-width table, one line per row."""
    head = (
        f"{'instance':<10} {'solver':<8} {'veh':>4} {'bks':>4} {'distance':>10} "
        f"{'bks dist':>10} {'gap %':>7} {'wall s':>7} {'feasible':>8}  note"
    )
    lines = [head, "-" * len(head)]
    for r in rows:
        bks_v = "-" if r.bks_vehicles is None else str(r.bks_vehicles)
        bks_d = "-" if r.bks_distance is None else f"{r.bks_distance:.2f}"
        g = "-" if r.gap_pct is None else f"{r.gap_pct:+.2f}"
        if kind != "darp" and r.fleet_delta:
            g += "*"
        note = r.note if r.feasible else "; ".join([r.note, *r.violations[:2]]).strip("; ")
        lines.append(
            f"{r.instance:<10} {r.solver:<8} {r.vehicles:>4} {bks_v:>4} {r.distance:>10.2f} "
            f"{bks_d:>10} {g:>7} {r.wall_s:>7.1f} {'yes' if r.feasible else 'NO':>8}  {note}"
        )
    if kind != "darp":
        lines.append(
            "gap: distance gap; * = vehicle count differs from BKS (hierarchical: "
            "vehicles first, then distance; such a gap is not comparable)"
        )
    else:
        lines.append("gap: distance gap to the published optimum (distance-only objective)")
    return "\n".join(lines)


def summarise(rows: Sequence[Row], kind: str) -> dict[str, dict[str, Any]]:
    """Per solver: counts and mean gaps against the bar's measures."""
    out: dict[str, dict[str, Any]] = {}
    for solver in dict.fromkeys(r.solver for r in rows):
        mine = [r for r in rows if r.solver == solver and r.bks_distance is not None]
        ran = [r for r in rows if r.solver == solver]
        feasible = [r for r in mine if r.feasible]
        fleet_ok = [r for r in feasible if r.fleet_delta is not None and r.fleet_delta <= 0]
        gaps = [r.gap_pct for r in fleet_ok if r.gap_pct is not None and r.fleet_delta == 0]
        within_1 = [
            r
            for r in feasible
            if r.gap_pct is not None
            and r.gap_pct <= 1.0
            and (kind == "darp" or (r.fleet_delta is not None and r.fleet_delta <= 0))
        ]
        out[solver] = {
            "instances": len(ran),
            "feasible": sum(1 for r in ran if r.feasible),
            "with_bks": len(mine),
            "bks_fleet_or_better": len(fleet_ok),
            "mean_gap_pct_where_fleet_matched": sum(gaps) / len(gaps) if gaps else None,
            "worst_gap_pct_where_fleet_matched": max(gaps) if gaps else None,
            "within_1pct": len(within_1),
            "mean_wall_s": sum(r.wall_s for r in ran) / len(ran) if ran else 0.0,
        }
        if kind == "darp":
            all_gaps = [r.gap_pct for r in feasible if r.gap_pct is not None]
            out[solver]["mean_gap_pct"] = sum(all_gaps) / len(all_gaps) if all_gaps else None
            out[solver]["worst_gap_pct"] = max(all_gaps) if all_gaps else None
    return out


def format_summary(summary: dict[str, dict[str, Any]], kind: str) -> str:
    """One line per solver."""
    lines = []
    for solver, s in summary.items():
        mean = s["mean_gap_pct_where_fleet_matched"]
        worst = s["worst_gap_pct_where_fleet_matched"]
        text = (
            f"{solver}: feasible {s['feasible']}/{s['instances']}, "
            f"BKS fleet (or fewer) {s['bks_fleet_or_better']}/{s['with_bks']}, "
            f"mean gap where fleet matched "
            f"{'-' if mean is None else f'{mean:.2f} %'}"
            f" (worst {'-' if worst is None else f'{worst:.2f} %'}), "
            f"within 1 % (at BKS fleet or fewer): {s['within_1pct']}/{s['with_bks']}, "
            f"mean wall {s['mean_wall_s']:.1f} s"
        )
        if kind == "darp":
            all_mean, worst = s.get("mean_gap_pct"), s.get("worst_gap_pct")
            text = (
                f"{solver}: feasible {s['feasible']}/{s['instances']}, "
                f"within 1 % of the optimum: {s['within_1pct']}/{s['with_bks']}, "
                f"mean gap {'-' if all_mean is None else f'{all_mean:.2f} %'}"
                f" (worst {'-' if worst is None else f'{worst:.2f} %'}), "
                f"mean wall {s['mean_wall_s']:.1f} s"
            )
        lines.append(text)
    return "\n".join(lines)


def write_json(path: Path, meta: dict[str, Any], rows: Sequence[Row], summary: Any) -> None:
    """Write the run as JSON (meta, rows, summary)."""
    doc = {
        "meta": {
            **meta,
            "python": platform.python_version(),
            "cpus": os.cpu_count(),
            "load_avg_1m": os.getloadavg()[0] if hasattr(os, "getloadavg") else None,
        },
        "rows": [asdict(r) for r in rows],
        "summary": summary,
    }
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(doc, indent=2) + "\n", encoding="utf-8")
