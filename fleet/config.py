"""The service configuration: one TOML file, validated at start, errors naming the key.

See `kaiteki.example.toml` for every key with its meaning. Everything has a sensible default
except what only the operator can know: tokens, the vehicle registry and the sites.
"""

from __future__ import annotations

import dataclasses
import math
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROLES = ("admin", "logistics", "mobility", "viewer")
VEHICLE_KINDS = ("drone", "bus", "mobility")
SITE_KINDS = ("warehouse", "drone_port", "stop", "depot", "home")


class ConfigError(ValueError):
    """The configuration is invalid; the message names the key."""


@dataclass(frozen=True, slots=True)
class Endpoint:
    host: str
    port: int

    def __str__(self) -> str:
        return f"{self.host}:{self.port}"


@dataclass(frozen=True, slots=True)
class Operator:
    name: str
    token: str
    role: str


@dataclass(frozen=True, slots=True)
class Site:
    id: str
    kind: str
    name: str
    name_ja: str
    lat_deg: float
    lon_deg: float
    capacity: int = 1  # pads at a drone port, riders waiting at a stop (informational)


@dataclass(frozen=True, slots=True)
class VehicleEntry:
    id: str
    kind: str
    home: str
    token: str = ""  # ground vehicles: the websocket token
    sysid: int = 0  # drones: MAVLink system id
    signing_key: str = ""  # drones: 32-byte MAVLink signing secret, hex
    capacity: int = 1  # riders (ground) or payload grams (drones)


@dataclass(frozen=True, slots=True)
class DroneFigures:
    cruise_speed_m_s: float = 11.0
    cruise_alt_m: float = 60.0
    climb_speed_m_s: float = 3.0
    descent_speed_m_s: float = 2.0
    max_payload_kg: float = 5.0
    battery_wh: float = 700.0
    hover_power_w: float = 1100.0
    cruise_power_w: float = 950.0
    power_per_kg_w: float = 90.0
    reserve_fraction: float = 0.20
    battery_swap_s: float = 240.0
    loading_s: float = 60.0
    landing_service_s: float = 90.0


@dataclass(frozen=True, slots=True)
class SupervisorConfig:
    link_degraded_s: float = 3.0
    link_lost_s: float = 10.0
    drone_link_lost_action: str = "wait"  # wait (trust the drone's failsafe) | rtl | land
    ground_lost_s: float = 15.0
    lateness_margin_s: float = 300.0
    off_path_m: float = 150.0
    battery_margin_fraction: float = 0.05


@dataclass(frozen=True, slots=True)
class DispatchConfig:
    seed: int = 1
    improve_every_s: float = 60.0
    improve_solution_limit: int = 200
    bus_max_ride_factor: float = 2.0
    walk_speed_m_s: float = 1.2


@dataclass(frozen=True)
class Config:
    http: Endpoint
    vehicle_ws: Endpoint
    mavlink_udp: Endpoint
    journal: Path
    airspace: Path | None
    operators: tuple[Operator, ...]
    sites: tuple[Site, ...]
    vehicles: tuple[VehicleEntry, ...]
    drone: DroneFigures = field(default_factory=DroneFigures)
    supervisor: SupervisorConfig = field(default_factory=SupervisorConfig)
    dispatch: DispatchConfig = field(default_factory=DispatchConfig)
    name: str = "kaiteki"
    clock_speed: float = 1.0  # 1: real time; >1: a sped-up service clock (demos and tests)

    def site(self, site_id: str) -> Site:
        for s in self.sites:
            if s.id == site_id:
                return s
        raise KeyError(site_id)


def _endpoint(value: Any, key: str) -> Endpoint:
    if not isinstance(value, str) or value.count(":") != 1:
        raise ConfigError(f"{key}: expected 'HOST:PORT', got {value!r}")
    host, port = value.split(":")
    if not port.isdigit() or not 0 <= int(port) <= 65535:
        raise ConfigError(f"{key}: port must be 0..65535, got {port!r}")
    return Endpoint(host or "127.0.0.1", int(port))


def _get(
    table: Mapping[str, Any], key: str, path: str, kind: type | tuple[type, ...], default: Any = ...
) -> Any:
    if key not in table:
        if default is ...:
            raise ConfigError(f"{path}{key}: missing")
        return default
    value = table[key]
    if (isinstance(value, bool) and kind is not bool) or not isinstance(value, kind):
        names = kind.__name__ if isinstance(kind, type) else " or ".join(k.__name__ for k in kind)
        raise ConfigError(f"{path}{key}: expected {names}, got {value!r}")
    if isinstance(value, float) and not math.isfinite(value):
        raise ConfigError(f"{path}{key}: must be finite")
    return value


def _dataclass_from(cls: type, table: Any, path: str) -> Any:
    if table is None:
        return cls()
    if not isinstance(table, Mapping):
        raise ConfigError(f"{path.rstrip('.')}: expected a table")
    defaults = cls()
    values = {}
    names = [f.name for f in dataclasses.fields(cls)]
    for name in names:
        default = getattr(defaults, name)
        kind: tuple[type, ...] = (int, float) if isinstance(default, float) else (type(default),)
        values[name] = _get(table, name, path, kind, default)
        if isinstance(default, float):
            values[name] = float(values[name])
            if values[name] < 0:
                raise ConfigError(f"{path}{name}: must be >= 0")
    unknown = sorted(set(table) - set(names))
    if unknown:
        raise ConfigError(f"{path}{unknown[0]}: unknown key")
    return cls(**values)


TOP_KEYS = ("service", "listen", "operators", "sites", "vehicles", "drone", "supervisor", "dispatch")
SECTION_KEYS = {
    "service": ("name", "journal", "airspace", "clock_speed"),
    "listen": ("http", "vehicle_ws", "mavlink_udp"),
    "operators": ("name", "token", "role"),
    "sites": ("id", "kind", "name", "name_ja", "lat_deg", "lon_deg", "capacity"),
    "vehicles": ("id", "kind", "home", "token", "sysid", "signing_key", "capacity"),
}


def _known(table: Mapping[str, Any], section: str, path: str) -> None:
    unknown = sorted(set(table) - set(SECTION_KEYS[section]))
    if unknown:
        raise ConfigError(f"{path}{unknown[0]}: unknown key")


def _section(data: Mapping[str, Any], name: str) -> Mapping[str, Any]:
    table = data.get(name, {})
    if not isinstance(table, Mapping):
        raise ConfigError(f"{name}: expected a table [{name}]")
    _known(table, name, f"{name}.")
    return table


def _rows(data: Mapping[str, Any], name: str) -> list[tuple[str, Mapping[str, Any]]]:
    rows = data.get(name, [])
    if not isinstance(rows, list) or not all(isinstance(r, Mapping) for r in rows):
        raise ConfigError(f"{name}: expected an array of tables [[{name}]]")
    out = []
    for i, row in enumerate(rows):
        _known(row, name, f"{name}[{i}].")
        out.append((f"{name}[{i}].", row))
    return out


def parse_config(data: Mapping[str, Any], base: Path = Path()) -> Config:
    unknown = sorted(set(data) - set(TOP_KEYS))
    if unknown:
        raise ConfigError(f"{unknown[0]}: unknown key")
    listen = _section(data, "listen")
    service = _section(data, "service")
    operators = []
    for p, op in _rows(data, "operators"):
        role = _get(op, "role", p, str)
        if role not in ROLES:
            raise ConfigError(f"{p}role: must be one of {', '.join(ROLES)}, got {role!r}")
        token = _get(op, "token", p, str)
        if len(token) < 8:
            raise ConfigError(f"{p}token: must be at least 8 characters")
        operators.append(Operator(_get(op, "name", p, str), token, role))
    if len({o.token for o in operators}) != len(operators):
        raise ConfigError("operators: two operators share a token")
    sites = []
    for p, s in _rows(data, "sites"):
        kind = _get(s, "kind", p, str)
        if kind not in SITE_KINDS:
            raise ConfigError(f"{p}kind: must be one of {', '.join(SITE_KINDS)}, got {kind!r}")
        lat, lon = (
            float(_get(s, "lat_deg", p, (int, float))),
            float(_get(s, "lon_deg", p, (int, float))),
        )
        if not (-90 <= lat <= 90 and -180 <= lon <= 180):
            raise ConfigError(f"{p}lat_deg/lon_deg: {lat}, {lon} is not a valid position")
        sid = _get(s, "id", p, str)
        sites.append(
            Site(
                sid,
                kind,
                _get(s, "name", p, str, sid),
                _get(s, "name_ja", p, str, ""),
                lat,
                lon,
                int(_get(s, "capacity", p, int, 1)),
            )
        )
    site_ids = [s.id for s in sites]
    if len(set(site_ids)) != len(site_ids):
        dup = next(x for x in site_ids if site_ids.count(x) > 1)
        raise ConfigError(f"sites: duplicate site id {dup!r}")
    vehicles = []
    for p, v in _rows(data, "vehicles"):
        kind = _get(v, "kind", p, str)
        if kind not in VEHICLE_KINDS:
            raise ConfigError(f"{p}kind: must be one of {', '.join(VEHICLE_KINDS)}, got {kind!r}")
        home = _get(v, "home", p, str)
        if home not in site_ids:
            raise ConfigError(f"{p}home: unknown site {home!r}")
        entry = VehicleEntry(
            id=_get(v, "id", p, str),
            kind=kind,
            home=home,
            token=_get(v, "token", p, str, ""),
            sysid=int(_get(v, "sysid", p, int, 0)),
            signing_key=_get(v, "signing_key", p, str, ""),
            capacity=int(_get(v, "capacity", p, int, 1)),
        )
        if kind == "drone" and not 1 <= entry.sysid <= 250:
            raise ConfigError(f"{p}sysid: a drone needs a MAVLink system id 1..250")
        if kind != "drone" and len(entry.token) < 8:
            raise ConfigError(f"{p}token: a ground vehicle needs a token of at least 8 characters")
        if entry.signing_key and (
            len(entry.signing_key) != 64
            or any(c not in "0123456789abcdefABCDEF" for c in entry.signing_key)
        ):
            raise ConfigError(f"{p}signing_key: must be 64 hex digits (32 bytes)")
        vehicles.append(entry)
    ids = [v.id for v in vehicles]
    if len(set(ids)) != len(ids):
        dup = next(x for x in ids if ids.count(x) > 1)
        raise ConfigError(f"vehicles: duplicate vehicle id {dup!r}")
    if not operators:
        raise ConfigError("operators: at least one operator is needed (nobody could use the API)")
    sysids = [v.sysid for v in vehicles if v.kind == "drone"]
    if len(set(sysids)) != len(sysids):
        raise ConfigError("vehicles: two drones share a MAVLink system id")
    airspace = _get(service, "airspace", "service.", str, "")
    supervisor = _dataclass_from(SupervisorConfig, data.get("supervisor"), "supervisor.")
    if supervisor.drone_link_lost_action not in ("wait", "rtl", "land"):
        raise ConfigError("supervisor.drone_link_lost_action: must be wait, rtl or land")
    return Config(
        http=_endpoint(listen.get("http", "127.0.0.1:8080"), "listen.http"),
        vehicle_ws=_endpoint(listen.get("vehicle_ws", "127.0.0.1:8765"), "listen.vehicle_ws"),
        mavlink_udp=_endpoint(listen.get("mavlink_udp", "127.0.0.1:14550"), "listen.mavlink_udp"),
        journal=base / _get(service, "journal", "service.", str, "kaiteki.sqlite"),
        airspace=(base / airspace) if airspace else None,
        operators=tuple(operators),
        sites=tuple(sites),
        vehicles=tuple(vehicles),
        drone=_dataclass_from(DroneFigures, data.get("drone"), "drone."),
        supervisor=supervisor,
        dispatch=_dataclass_from(DispatchConfig, data.get("dispatch"), "dispatch."),
        name=_get(service, "name", "service.", str, "kaiteki"),
        clock_speed=_clock_speed(service),
    )


def _clock_speed(service: Mapping[str, Any]) -> float:
    speed = float(_get(service, "clock_speed", "service.", (int, float), 1.0))
    if not 0.0 < speed <= 10_000.0:
        raise ConfigError(f"service.clock_speed: must be in (0, 10000], got {speed}")
    return speed


def load_config(path: str | Path) -> Config:
    path = Path(path)
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read ({exc.strerror})") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: not valid TOML ({exc})") from None
    try:
        return parse_config(data, path.parent)
    except ConfigError as exc:
        raise ConfigError(f"{path}: {exc}") from None
