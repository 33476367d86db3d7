"""`python -m fleet demo`: the Chiba scenario on the built-in simulator, and its report.

See `fleet.demo.runner` for the two modes. `make demo` runs the default: wire mode, a few
simulated hours in a couple of minutes.
"""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import json
from pathlib import Path


def run_demo(args: argparse.Namespace) -> int:
    from fleet.demo.runner import run
    from sim.scenario.model import ScenarioError, load_scenario

    try:
        scenario = load_scenario(args.scenario)
    except ScenarioError as exc:
        print(f"error: {exc}")
        return 2
    if args.seed is not None:
        scenario = dataclasses.replace(scenario, seed=args.seed)
    hours = args.hours if args.hours is not None else scenario.hours
    if not 0 < hours <= 24:
        print("error: --hours must be in (0, 24]")
        return 2
    if not args.speed > 0:
        print("error: --speed must be positive")
        return 2
    report_dir = Path(args.report)
    mode = "fast (virtual clock, in-memory)" if args.fast else f"wire (sockets, {args.speed:g}x)"
    print(f"kaiteki demo: {scenario.name}, seed {scenario.seed}, {hours:g} h, {mode}", flush=True)
    report = asyncio.run(
        run(
            scenario,
            fast=args.fast,
            hours=hours,
            speed=args.speed,
            report_dir=report_dir,
            drones=args.drones,
        )
    )
    orders, trips, safety = report["orders"], report["trips"], report["safety"]
    print(
        f"\nparcels: {orders['total']} ordered, {orders['completed']} delivered "
        f"({orders['on_time']} on time), {orders['rejected']} rejected, {orders['failed']} failed, "
        f"{orders['open']} still open"
    )
    print(
        f"trips:   {trips['total']} requested, {trips['completed']} completed "
        f"({trips['on_time']} on time), {trips['rejected']} rejected, {trips['failed']} failed, "
        f"{trips['open']} still open"
    )
    print(f"safety:  {json.dumps(safety)}")
    print(f"report:  {report_dir / 'report.html'}  and  {report_dir / 'report.json'}")
    return 0
