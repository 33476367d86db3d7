"""Command line of the harness; see `docs/dispatch-bench.md`.

    python -m dispatch.bench --set lilim --time-limit 10 --json out/lilim.json \\
        --solvers ours,ortools,vroom,pyvrp

Instances: `--instances` takes names (looked up in the set's folders) or paths to any file in
the set's format; default is the set's representative selection. Benchmarks root: `--root`,
else `$KAITEKI_BENCHMARKS`, else `../shared/benchmarks` next to the repository.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

from dispatch.bench.report import Row, format_summary, format_table, gap, summarise, write_json
from dispatch.bench.runners import RUNNERS, Plan
from dispatch.checker import check_plan
from dispatch.instances import (
    DEFAULT_SCALE,
    SETS,
    BestKnown,
    read_bks,
    read_instance,
    resolve_instance,
    to_problem,
)

REPO_ROOT = Path(__file__).resolve().parents[2]
DEFAULT_TIME_LIMIT_S = {"solomon": 10.0, "lilim": 10.0, "darp": 30.0}


def default_root() -> Path:
    """`$KAITEKI_BENCHMARKS`, else `../shared/benchmarks` relative to the repository."""
    env = os.environ.get("KAITEKI_BENCHMARKS")
    return Path(env) if env else (REPO_ROOT.parent / "shared" / "benchmarks")


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    """Parse the command line."""
    ap = argparse.ArgumentParser(prog="python -m dispatch.bench", description=__doc__)
    ap.add_argument("--set", required=True, choices=sorted(SETS), dest="set_name")
    ap.add_argument(
        "--instances",
        help="comma-separated names or paths (default: the set's "
        "representative selection; 'all' for every file of the set)",
    )
    ap.add_argument("--bks", type=Path, help="BKS CSV (default: the set's bks.csv)")
    ap.add_argument("--root", type=Path, help="benchmarks root folder")
    ap.add_argument(
        "--time-limit",
        type=float,
        help="seconds per instance and solver (default 10 for solomon/lilim, 30 for darp)",
    )
    ap.add_argument("--json", type=Path, help="write results here")
    ap.add_argument("--solvers", default="ours", help=f"comma list of {','.join(RUNNERS)}")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--jobs", type=int, default=1, help="instances solved in parallel (1)")
    return ap.parse_args(argv)


def instance_paths(set_name: str, spec: str | None, root: Path) -> list[Path]:
    """Resolve `--instances` into files."""
    bench = SETS[set_name]
    if spec == "all":
        files: list[Path] = []
        for folder in bench.folders:
            directory = root / folder
            if directory.is_dir():
                files.extend(sorted(p for p in directory.glob("*.txt")))
        return files
    names = bench.representative if spec is None else [s for s in spec.split(",") if s]
    return [resolve_instance(set_name, name, root) for name in names]


def run_one(task: tuple[str, str, str, float, int, BestKnown | None]) -> Row:
    """Solve one instance with one solver and judge the plan (runs in a worker process)."""
    set_name, path, solver, time_limit_s, seed, bks = task
    kind = SETS[set_name].kind
    instance = read_instance(kind, path)
    problem = to_problem(instance, DEFAULT_SCALE)
    try:
        plan = RUNNERS[solver](problem, kind, time_limit_s, seed)
    except Exception as exc:  # a peer's failure is a result to report, not a crash
        plan = Plan((), None, 0.0, f"error: {type(exc).__name__}: {exc}"[:200])
    if plan.routes:
        report = check_plan(
            instance,
            [list(r) for r in plan.routes],
            None if plan.schedules is None else [list(s) for s in plan.schedules],
        )
        vehicles, distance, feasible = report.vehicles, report.distance, report.feasible
        violations = report.violations
    else:
        vehicles, distance, feasible, violations = 0, 0.0, False, ("no plan",)
    ref = None if bks is None else (bks.vehicles, bks.distance)
    gap_pct, fleet_delta = gap(kind, vehicles, distance, ref) if feasible else (None, None)
    return Row(
        instance=instance.name,
        solver=solver,
        vehicles=vehicles,
        distance=distance,
        feasible=feasible,
        wall_s=plan.wall_s,
        bks_vehicles=None if bks is None else bks.vehicles,
        bks_distance=None if bks is None else bks.distance,
        gap_pct=gap_pct,
        fleet_delta=fleet_delta,
        violations=violations,
        note=plan.note,
    )


def main(argv: Sequence[str] | None = None) -> int:
    """Run the harness; returns the process exit code (1 if any plan is infeasible)."""
    args = parse_args(argv)
    root = args.root or default_root()
    bench = SETS[args.set_name]
    solvers = [s for s in args.solvers.split(",") if s]
    unknown = [s for s in solvers if s not in RUNNERS]
    if unknown:
        print(f"unknown solver(s) {unknown}; choose from {sorted(RUNNERS)}", file=sys.stderr)
        return 2
    try:
        paths = instance_paths(args.set_name, args.instances, root)
    except FileNotFoundError as exc:
        print(exc, file=sys.stderr)
        return 2
    bks_path = args.bks or root / bench.bks_file
    bks_table = read_bks(bks_path) if bks_path.is_file() else {}
    time_limit_s = args.time_limit or DEFAULT_TIME_LIMIT_S[args.set_name]
    tasks = [
        (args.set_name, str(p), s, time_limit_s, args.seed, bks_table.get(p.stem.lower()))
        for p in paths
        for s in solvers
    ]
    print(
        f"{args.set_name}: {len(paths)} instances x {solvers}, {time_limit_s:g} s each, "
        f"jobs {args.jobs}, root {root}",
        flush=True,
    )
    rows: list[Row] = []
    if args.jobs <= 1:
        for task in tasks:
            rows.append(run_one(task))
            print(format_table(rows[-1:], bench.kind).splitlines()[2], flush=True)
    else:
        with ProcessPoolExecutor(max_workers=args.jobs) as pool:
            rows = list(pool.map(run_one, tasks))
    print()
    print(format_table(rows, bench.kind))
    summary = summarise(rows, bench.kind)
    print(format_summary(summary, bench.kind))
    if args.json:
        meta = {
            "set": args.set_name,
            "time_limit_s": time_limit_s,
            "solvers": solvers,
            "seed": args.seed,
            "jobs": args.jobs,
            "instances": [str(p) for p in paths],
            "objective": "hierarchical (vehicles, then distance)"
            if bench.kind != "darp"
            else "distance",
        }
        write_json(args.json, meta, rows, summary)
    return 0 if all(r.feasible for r in rows) else 1
