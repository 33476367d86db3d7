"""Configuration: the shipped example validates; every error names the key at fault."""

from __future__ import annotations

import tomllib
from pathlib import Path
from typing import Any

import pytest

from fleet.config import ConfigError, load_config, parse_config

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = ROOT / "kaiteki.example.toml"


def example() -> dict[str, Any]:
    return tomllib.loads(EXAMPLE.read_text(encoding="utf-8"))


def test_the_example_validates_with_every_section() -> None:
    config = load_config(EXAMPLE)
    assert config.http.port == 8080 and config.vehicle_ws.port == 8765
    assert config.mavlink_udp.port == 14550
    assert {o.role for o in config.operators} >= {"logistics", "mobility", "viewer"}
    kinds = {v.kind for v in config.vehicles}
    assert kinds == {"drone", "bus", "mobility"}
    assert all(config.site(v.home) for v in config.vehicles)
    assert config.journal == EXAMPLE.parent / "kaiteki.sqlite"
    assert config.supervisor.link_lost_s > 0 and config.drone.reserve_fraction == 0.20


@pytest.mark.parametrize(
    ("edit", "message"),
    [
        (lambda d: d["listen"].update(http="localhost"), "listen.http: expected 'HOST:PORT'"),
        (lambda d: d["listen"].update(http="127.0.0.1:99999"), "listen.http: port must be"),
        (lambda d: d["listen"].update(htp="127.0.0.1:1"), "listen.htp: unknown key"),
        (lambda d: d.update(extra={}), "extra: unknown key"),
        (lambda d: d["operators"][1].update(role="boss"), "operators[1].role: must be one of"),
        (lambda d: d["operators"][0].update(token="short"), "operators[0].token: must be at least"),
        (lambda d: d["operators"][0].pop("name"), "operators[0].name: missing"),
        (lambda d: d["sites"][2].update(lat_deg=123.0), "sites[2].lat_deg/lon_deg"),
        (
            lambda d: d["sites"][2].update(lat_deg="north"),
            "sites[2].lat_deg: expected int or float",
        ),
        (lambda d: d["sites"][0].update(kind="castle"), "sites[0].kind: must be one of"),
        (
            lambda d: d["vehicles"][0].update(home="nowhere"),
            "vehicles[0].home: unknown site 'nowhere'",
        ),
        (lambda d: d["vehicles"][0].update(sysid=0), "vehicles[0].sysid: a drone needs"),
        (
            lambda d: d["vehicles"][0].update(signing_key="xyz"),
            "vehicles[0].signing_key: must be 64 hex",
        ),
        (lambda d: d["vehicles"][1].update(sysid=d["vehicles"][0]["sysid"]), "two drones share"),
        (lambda d: d["vehicles"][1].update(id=d["vehicles"][0]["id"]), "duplicate vehicle id"),
        (
            lambda d: d["supervisor"].update(link_lost_s=-1.0),
            "supervisor.link_lost_s: must be >= 0",
        ),
        (lambda d: d["supervisor"].update(link_lost_s=True), "supervisor.link_lost_s: expected"),
        (
            lambda d: d["supervisor"].update(drone_link_lost_action="pray"),
            "supervisor.drone_link_lost_action",
        ),
        (lambda d: d["supervisor"].update(bogus=1), "supervisor.bogus: unknown key"),
        (lambda d: d["drone"].update(battery_wh=float("nan")), "drone.battery_wh: must be finite"),
        (lambda d: d["service"].update(clock_speed=0), "service.clock_speed"),
        (lambda d: d.update(operators=[]), "operators: at least one"),
    ],
)
def test_errors_name_the_key(edit: Any, message: str) -> None:
    data = example()
    edit(data)
    with pytest.raises(ConfigError) as info:
        parse_config(data, ROOT)
    assert message in str(info.value)


def test_ground_vehicles_need_tokens() -> None:
    data = example()
    ground = next(i for i, v in enumerate(data["vehicles"]) if v["kind"] != "drone")
    data["vehicles"][ground].pop("token")
    with pytest.raises(ConfigError, match=rf"vehicles\[{ground}\]\.token"):
        parse_config(data, ROOT)


def test_unreadable_and_invalid_files_name_the_file(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="cannot read"):
        load_config(tmp_path / "missing.toml")
    bad = tmp_path / "bad.toml"
    bad.write_text("[service\nname=1", encoding="utf-8")
    with pytest.raises(ConfigError, match="not valid TOML"):
        load_config(bad)
