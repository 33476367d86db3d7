"""The service's MAVLink side on a clock faster than the wall (the demo, tests) and in production.

The link counts in clock seconds. On a clock `speed` times faster than the wall, its heartbeat,
stream rates and timeouts are stretched by `k = speed / 5`, so they keep the wall-clock
behaviour of a 5x run: telemetry a few times per wall second, a link lost after 3 s of wall
silence. The simulated copters stretch their own side by the same `k`
(`sim.copter.flight.CopterConfig.link_time_scale`). A real deployment (speed 1) gets the
defaults.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from vehicles.mavlink import SigningConfig, UdpEndpoint
from vehicles.mavlink.commands import CommandTiming
from vehicles.mavlink.link import DEFAULT_STREAM_RATES_HZ, LinkConfig
from vehicles.mavlink.mission import MissionTiming
from vehicles.mavlink.params import ParamTiming

if TYPE_CHECKING:
    from fleet.service import FleetService


async def open_endpoint(service: FleetService) -> UdpEndpoint:
    """The MAVLink UDP endpoint of the configuration (`listen.mavlink_udp`, signing keys)."""
    cfg = service.config
    signing = {
        v.sysid: SigningConfig(bytes.fromhex(v.signing_key))
        for v in cfg.vehicles
        if v.kind == "drone" and v.signing_key
    }
    return await UdpEndpoint.start(
        host=cfg.mavlink_udp.host,
        port=cfg.mavlink_udp.port,
        clock=service.clock,
        signing=signing,
        config=link_config(cfg.clock_speed),
    )


def sped_up_stream_rates_hz(k: float) -> dict[str, float]:
    """Telemetry asked of a drone on a clock sped up by `5 k`: the defaults at `1 / k`, the
    position at 2 Hz (the supervisor reads it once a second), attitude and HUD off (nobody
    reads them); at k = 1 (a real deployment) the link's defaults."""
    if k <= 1.0:
        return dict(DEFAULT_STREAM_RATES_HZ)
    return {
        **{name: hz / k for name, hz in DEFAULT_STREAM_RATES_HZ.items()},
        "GLOBAL_POSITION_INT": 2.0 / k, "ATTITUDE": 0.0, "VFR_HUD": 0.0,
    }


def link_config(clock_speed: float) -> LinkConfig:
    """The link's timing for a service clock `clock_speed` times faster than the wall.

    Heartbeats, stream rates and the link-state thresholds are clock times: stretched by
    `k = speed / 5` they keep the wall-clock behaviour of a 5x run. Round-trip timeouts (command
    ack, mission item, parameter) are stretched by the whole speed-up by the endpoint itself
    (`LinkConfig.for_clock_speed`), so they are given here in wall seconds: a lost ack is asked
    again after 1.5 s of wall time at any speed (given in clock seconds times k, they came to
    27 s of wall time at 90x, and an upload with a lost item took half an hour of demo time).
    """
    k = max(1.0, clock_speed / 5.0)
    if k == 1.0:
        return LinkConfig()
    return LinkConfig(
        heartbeat_period_s=k,
        degraded_after_s=5.0 * k,
        lost_after_s=15.0 * k,
        stream_rates_hz=sped_up_stream_rates_hz(k),
        command_timing=CommandTiming(ack_timeout_s=1.5, attempts=3,
                                     in_progress_timeout_s=30.0 * k),
        # the copter re-asks for an item after k s of its clock and gives up after 8 k s
        # (`CopterConfig.link_time_scale`): a second of wall time per item is well inside that
        mission_timing=MissionTiming(item_timeout_s=1.0, retries=8),
        param_timing=ParamTiming(timeout_s=2.0, attempts=5),
    )
