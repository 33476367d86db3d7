"""Benchmark instances (Solomon VRPTW, Li & Lim PDPTW, Cordeau DARP): readers and conversion.

An `Instance` holds a benchmark exactly as its file states it, in double precision and in the
file's own node numbering. `dispatch.checker` judges plans against an `Instance` (not against
the solver's integer model); `to_problem` scales it into the solver's integer `Problem` with
the same node numbering.
"""

from dispatch.instances.bks import BestKnown, read_bks
from dispatch.instances.convert import DEFAULT_SCALE, to_problem
from dispatch.instances.data import Instance, InstanceFormatError
from dispatch.instances.readers import SETS, read_instance, resolve_instance

__all__ = [
    "DEFAULT_SCALE",
    "SETS",
    "BestKnown",
    "Instance",
    "InstanceFormatError",
    "read_bks",
    "read_instance",
    "resolve_instance",
    "to_problem",
]
