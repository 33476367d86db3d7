"""The shipped Chiba airspace and land, loaded once."""

from __future__ import annotations

from functools import cache
from pathlib import Path

from geofences.volumes import Airspace, load_land

DATA_DIR = Path(__file__).resolve().parent / "data"
CHIBA_AIRSPACE = DATA_DIR / "chiba_airspace.geojson"
BAY_LAND = DATA_DIR / "bay_land.geojson"


@cache
def load_default() -> Airspace:
    """The Chiba airspace (`data/chiba_airspace.geojson`) with the bay shore's land."""
    return Airspace.load(CHIBA_AIRSPACE, land=load_land(BAY_LAND))


def load_airspace(path: str | Path | None = None) -> Airspace:
    """An airspace file (the shipped Chiba airspace when `path` is None), with the bay land."""
    if path is None:
        return load_default()
    return Airspace.load(path, land=load_land(BAY_LAND))
