"""`python -m fleet` (console script `kaiteki`): the service's command line.

This is the composition root: the only place outside `sim/` that may import `sim`, to run the
built-in simulator for `demo`.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m fleet", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    serve = sub.add_parser("serve", help="run the fleet service (operator API, vehicle servers)")
    serve.add_argument("--config", required=True, help="service configuration TOML file")
    demo = sub.add_parser("demo", help="run the Chiba scenario on the built-in simulator")
    demo.add_argument(
        "--hours", type=float, default=None, help="simulated hours (default: the scenario's)"
    )
    demo.add_argument("--speed", type=float, default=60.0, help="clock speed-up in wire mode")
    demo.add_argument(
        "--seed", type=int, default=None, help="random seed (default: the scenario's)"
    )
    demo.add_argument("--scenario", default=None, help="scenario TOML file (default: Chiba)")
    demo.add_argument("--fast", action="store_true", help="fast mode: virtual clock, in-memory")
    demo.add_argument(
        "--drones",
        action=argparse.BooleanOptionalAction,
        default=True,
        help="fly the 14 simulated copters over MAVLink (default: on; --no-drones: ground only)",
    )
    demo.add_argument("--report", default="reports/demo", help="directory for the report")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    if args.command == "serve":
        from fleet.config import ConfigError, load_config
        from fleet.serve import run

        try:
            config = load_config(args.config)
        except ConfigError as exc:
            print(f"error: {exc}", file=sys.stderr)
            return 2
        return run(config)
    if args.command == "demo":
        from fleet.demo import run_demo

        return run_demo(args)
    raise AssertionError(args.command)  # argparse rejects unknown commands


if __name__ == "__main__":
    sys.exit(main())
