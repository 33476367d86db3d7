"""SolverParams: validation errors name the key; TOML loading."""

from __future__ import annotations

from pathlib import Path

import pytest

from dispatch.params import ParamsError, SolverParams


def test_defaults_are_valid_and_time_bounded() -> None:
    params = SolverParams()
    assert params.time_limit_s == 10.0
    assert not params.deterministic


@pytest.mark.parametrize(
    ("kwargs", "key"),
    [
        ({"time_limit_s": -1.0}, "time_limit_s"),
        ({"time_limit_s": float("nan")}, "time_limit_s"),
        ({"time_limit_s": None}, "time_limit_s / solution_limit"),
        ({"solution_limit": 0}, "solution_limit"),
        ({"first_solution": "MAGIC"}, "first_solution"),
        ({"metaheuristic": "ANNEAL"}, "metaheuristic"),
        ({"seed": "7"}, "seed"),
        ({"fleet_reduction": 1}, "fleet_reduction"),
        ({"warm_start": "vroom"}, "warm_start"),
        ({"warm_start_share": 1.5}, "warm_start_share"),
        ({"vehicle_fixed_cost": -5}, "vehicle_fixed_cost"),
        ({"gls_lambda": 0}, "gls_lambda"),
    ],
)
def test_bad_values_are_rejected_naming_the_key(kwargs: dict[str, object], key: str) -> None:
    with pytest.raises(ParamsError, match=key):
        SolverParams(**kwargs)  # type: ignore[arg-type]


def test_work_only_budget_is_deterministic() -> None:
    params = SolverParams(time_limit_s=None, solution_limit=50)
    assert params.deterministic


def test_toml_solver_table(tmp_path: Path) -> None:
    path = tmp_path / "solver.toml"
    path.write_text(
        '[solver]\ntime_limit_s = 2.5\nseed = 7\nmetaheuristic = "TABU_SEARCH"\n'
        "vehicle_fixed_cost = 1_000_000\n",
        encoding="utf-8",
    )
    params = SolverParams.from_toml(path)
    assert params == SolverParams(
        time_limit_s=2.5, seed=7, metaheuristic="TABU_SEARCH", vehicle_fixed_cost=1_000_000
    )


def test_toml_unknown_key_and_bad_syntax_are_named(tmp_path: Path) -> None:
    path = tmp_path / "solver.toml"
    path.write_text("time_limit = 3\n", encoding="utf-8")
    with pytest.raises(ParamsError, match="time_limit: unknown"):
        SolverParams.from_toml(path)
    path.write_text("time_limit_s = \n", encoding="utf-8")
    with pytest.raises(ParamsError, match="not valid TOML"):
        SolverParams.from_toml(path)
    path.write_text('time_limit_s = "fast"\n', encoding="utf-8")
    with pytest.raises(ParamsError, match="time_limit_s: expected"):
        SolverParams.from_toml(path)
