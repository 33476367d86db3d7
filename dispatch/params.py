"""Solver parameters: a validated, frozen dataclass with documented units, loadable from TOML.

Budgets come in two kinds. `time_limit_s` is wall-clock time (production, benchmarks).
`solution_limit` counts improving solutions found by the search: work, not time, so a run with
`time_limit_s=None` and a `solution_limit` is deterministic for a given problem and seed (the
fast-mode simulator uses that). At least one budget must be set.

Example TOML (a `[solver]` table or the top level)::

    [solver]
    time_limit_s = 5.0
    first_solution = "PARALLEL_CHEAPEST_INSERTION"
    metaheuristic = "GUIDED_LOCAL_SEARCH"
    seed = 7
    vehicle_fixed_cost = 1_000_000
"""

from __future__ import annotations

import math
import tomllib
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any

FIRST_SOLUTION_STRATEGIES = (
    "AUTOMATIC",
    "PATH_CHEAPEST_ARC",
    "PATH_MOST_CONSTRAINED_ARC",
    "SAVINGS",
    "PARALLEL_SAVINGS",
    "SWEEP",
    "CHRISTOFIDES",
    "BEST_INSERTION",
    "PARALLEL_CHEAPEST_INSERTION",
    "SEQUENTIAL_CHEAPEST_INSERTION",
    "LOCAL_CHEAPEST_INSERTION",
    "LOCAL_CHEAPEST_COST_INSERTION",
    "GLOBAL_CHEAPEST_ARC",
    "LOCAL_CHEAPEST_ARC",
    "FIRST_UNBOUND_MIN_VALUE",
)
METAHEURISTICS = (
    "AUTOMATIC",
    "GREEDY_DESCENT",
    "GUIDED_LOCAL_SEARCH",
    "SIMULATED_ANNEALING",
    "TABU_SEARCH",
    "GENERIC_TABU_SEARCH",
)
WARM_STARTS = ("none", "pyvrp", "alns")


class ParamsError(ValueError):
    """A parameter is missing, of the wrong type, or out of range; the message names the key."""


@dataclass(frozen=True, slots=True)
class SolverParams:
    """How hard and how to search.

    Attributes:
        time_limit_s: wall-clock budget in seconds; None for a work-only budget.
        solution_limit: budget in improving solutions found (deterministic); None for no limit.
        first_solution: OR-Tools first solution strategy name.
        metaheuristic: OR-Tools local search metaheuristic name.
        gls_lambda: guided local search lambda coefficient.
        seed: seed for every random choice we make (warm start, strategy order).
        vehicle_fixed_cost: added to every vehicle's own fixed cost; set it far above any
            route length to get the hierarchical objective (vehicles first, then distance).
        fallback_drop_penalty: the penalty at which a must-serve request (penalty None) may
            still be dropped, so the search always has a plan; dropped ones are reported in
            `Solution.unserved`. None: a prohibitive penalty larger than any plan's distance.
        strict_must_serve: make must-serve requests hard constraints instead (no plan at all
            when one cannot be served; first solutions are then much harder to find).
        fleet_reduction: run a route-elimination phase (try to empty the smallest route).
        warm_start: "pyvrp" to seed OR-Tools with a PyVRP plan when the problem fits PyVRP
            (no ride-time limits, no extra dimensions, no locks); "alns" to seed it with our
            pickup-and-delivery ALNS (`dispatch.solver.alns`: holds ride times and route
            durations; pairs only, no extra dimensions, locks or fixed costs); "none"
            otherwise. A problem the chosen method cannot hold skips the warm start.
        warm_start_share: share of the budget the warm start may use (0..1).
        alns_fleet_share: with `fleet_reduction`, share of the budget for ALNS route
            elimination from the warm start before OR-Tools (0: none; problems the ALNS
            cannot hold skip it).
        route_min_share: with `fleet_reduction` and the PyVRP warm start, share of the budget
            for ejection-pool route minimisation (`dispatch.solver.route_min`, Nagata and
            Bräysy) after PyVRP's own route elimination; PyVRP then shortens the plan with
            the fleet capped at the count reached (0: none; only problems of single visits,
            e.g. VRPTW, use it).
        lns_share: share of the budget (time, or rounds of `solution_limit` in deterministic
            mode) spent on ruin-and-recreate rounds after the main search (0: none).
        log_search: let OR-Tools print its search log.
    """

    time_limit_s: float | None = 10.0
    solution_limit: int | None = None
    first_solution: str = "PARALLEL_CHEAPEST_INSERTION"
    metaheuristic: str = "GUIDED_LOCAL_SEARCH"
    gls_lambda: float = 0.1
    seed: int = 0
    vehicle_fixed_cost: int = 0
    fallback_drop_penalty: int | None = None
    strict_must_serve: bool = False
    fleet_reduction: bool = False
    warm_start: str = "none"
    warm_start_share: float = 0.3
    alns_fleet_share: float = 0.0
    route_min_share: float = 0.0
    lns_share: float = 0.0
    log_search: bool = False

    def __post_init__(self) -> None:
        _check_types(self)
        if self.time_limit_s is None and self.solution_limit is None:
            raise ParamsError("time_limit_s / solution_limit: set at least one budget")
        if self.time_limit_s is not None and not (
            math.isfinite(self.time_limit_s) and self.time_limit_s > 0
        ):
            raise ParamsError(f"time_limit_s: must be a positive number, got {self.time_limit_s}")
        if self.solution_limit is not None and self.solution_limit < 1:
            raise ParamsError(f"solution_limit: must be >= 1, got {self.solution_limit}")
        if self.first_solution not in FIRST_SOLUTION_STRATEGIES:
            raise ParamsError(
                f"first_solution: unknown {self.first_solution!r}; one of "
                + ", ".join(FIRST_SOLUTION_STRATEGIES)
            )
        if self.metaheuristic not in METAHEURISTICS:
            raise ParamsError(
                f"metaheuristic: unknown {self.metaheuristic!r}; one of "
                + ", ".join(METAHEURISTICS)
            )
        if not (math.isfinite(self.gls_lambda) and self.gls_lambda > 0):
            raise ParamsError(f"gls_lambda: must be a positive number, got {self.gls_lambda}")
        if self.vehicle_fixed_cost < 0:
            raise ParamsError("vehicle_fixed_cost: must be >= 0")
        if self.fallback_drop_penalty is not None and self.fallback_drop_penalty < 0:
            raise ParamsError("fallback_drop_penalty: must be >= 0")
        if self.warm_start not in WARM_STARTS:
            raise ParamsError(f"warm_start: unknown {self.warm_start!r}; one of {WARM_STARTS}")
        if not (math.isfinite(self.warm_start_share) and 0.0 <= self.warm_start_share <= 1.0):
            raise ParamsError("warm_start_share: must be within 0..1")
        if not (math.isfinite(self.alns_fleet_share) and 0.0 <= self.alns_fleet_share < 1.0):
            raise ParamsError("alns_fleet_share: must be within 0..1 (excluding 1)")
        if not (math.isfinite(self.route_min_share) and 0.0 <= self.route_min_share < 1.0):
            raise ParamsError("route_min_share: must be within 0..1 (excluding 1)")
        if not (math.isfinite(self.lns_share) and 0.0 <= self.lns_share < 1.0):
            raise ParamsError("lns_share: must be within 0..1 (excluding 1)")

    @property
    def deterministic(self) -> bool:
        """True when the budget is work only (no wall-clock limit)."""
        return self.time_limit_s is None

    @classmethod
    def from_mapping(cls, data: dict[str, Any]) -> SolverParams:
        """Build from a mapping (e.g. parsed TOML); unknown keys are an error naming the key."""
        known = {f.name for f in fields(cls)}
        for key in data:
            if key not in known:
                raise ParamsError(f"{key}: unknown solver parameter; known: {sorted(known)}")
        return cls(**data)

    @classmethod
    def from_toml(cls, path: str | Path) -> SolverParams:
        """Load from a TOML file: a `[solver]` table if present, else the top level."""
        try:
            with Path(path).open("rb") as fh:
                data = tomllib.load(fh)
        except tomllib.TOMLDecodeError as exc:
            raise ParamsError(f"{path}: not valid TOML: {exc}") from exc
        table = data.get("solver", data)
        if not isinstance(table, dict):
            raise ParamsError("solver: must be a table")
        return cls.from_mapping(table)


_TYPES: dict[str, tuple[type, ...]] = {
    "time_limit_s": (int, float, type(None)),
    "solution_limit": (int, type(None)),
    "first_solution": (str,),
    "metaheuristic": (str,),
    "gls_lambda": (int, float),
    "seed": (int,),
    "vehicle_fixed_cost": (int,),
    "fallback_drop_penalty": (int, type(None)),
    "strict_must_serve": (bool,),
    "fleet_reduction": (bool,),
    "warm_start": (str,),
    "warm_start_share": (int, float),
    "alns_fleet_share": (int, float),
    "route_min_share": (int, float),
    "lns_share": (int, float),
    "log_search": (bool,),
}


def _check_types(params: SolverParams) -> None:
    for f in fields(params):
        value = getattr(params, f.name)
        allowed = _TYPES[f.name]
        is_bool = isinstance(value, bool)
        if (is_bool and bool not in allowed) or not isinstance(value, allowed):
            names = "/".join(t.__name__ for t in allowed)
            raise ParamsError(f"{f.name}: expected {names}, got {type(value).__name__} {value!r}")
