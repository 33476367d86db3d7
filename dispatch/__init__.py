"""Dispatch: which vehicle does what, in which order, when.

Pure (no I/O). Domain objects are turned into one immutable, integer problem (metres, seconds)
that the OR-Tools adapter solves; insertion heuristics answer new requests at once.
May import `geofences` only.
"""
