"""A warm start from PyVRP (hybrid genetic search), for problems that fit PyVRP's model.

Not implemented yet in this commit: `pyvrp_routes` returns None, so the search starts from its
first-solution strategy.
"""

from __future__ import annotations

from dispatch.params import SolverParams
from dispatch.problem import Problem


def pyvrp_routes(problem: Problem, params: SolverParams, share: float) -> list[list[int]] | None:
    """Per-vehicle visit lists from a PyVRP run, or None if not applicable."""
    del problem, params, share
    return None
