"""The demo's drone weather and faults: each action once, in time order, on the right copter."""

from __future__ import annotations

import math

import pytest

from fleet.demo.drone_faults import DroneFaultSchedule, FaultCopter
from sim.copter.autopilot import CopterAutopilot
from sim.copter.channel import LinkCut
from sim.copter.flight import CopterConfig
from sim.scenario.model import Fault, Wind


def _copters() -> dict[str, FaultCopter]:
    return {
        f"drone-0{i}": FaultCopter(CopterAutopilot(CopterConfig(), sysid=i), LinkCut())
        for i in (1, 2)
    }


def _is_cut(copter: FaultCopter) -> bool:
    return copter.cut.is_cut


def test_wind_gust_front_sag_and_link_loss_happen_once_in_order() -> None:
    copters = _copters()
    faults = (
        Fault("link_loss", 100.0, {"vehicle": "drone-01", "for_s": 30.0}),
        Fault("battery_sag", 50.0, {"vehicle": "drone-02", "drop_fraction": 0.25}),
        Fault("gust_front", 200.0, {"for_s": 60.0, "speed_m_s": 14.0, "from_deg": 240.0}),
        Fault("ground_fault", 10.0, {"vehicle": "bus-01"}),  # not a drone: ignored here
        Fault("link_loss", 10.0, {"vehicle": "bus-01"}),
    )
    schedule = DroneFaultSchedule(faults, copters, Wind(5.0, 200.0, 2.0))
    schedule.apply(0.0)
    fc1, fc2 = copters["drone-01"].autopilot.fc, copters["drone-02"].autopilot.fc
    base = math.hypot(fc1.config.wind.north_m_s, fc1.config.wind.east_m_s)
    assert base == pytest.approx(5.0)
    assert fc1.config.wind.seed != fc2.config.wind.seed  # gusts differ per copter
    schedule.apply(60.0)
    schedule.apply(60.0)  # twice at one time: still once
    assert fc2.battery.soc == pytest.approx(0.75)
    schedule.apply(110.0)
    assert _is_cut(copters["drone-01"]) and not _is_cut(copters["drone-02"])
    schedule.apply(130.0)
    assert not _is_cut(copters["drone-01"])
    schedule.apply(230.0)
    front = fc1.config.wind
    assert math.hypot(front.north_m_s, front.east_m_s) == pytest.approx(14.0)
    assert front.north_m_s > 0 and front.east_m_s > 0  # from 240 deg (WSW): blowing NE
    schedule.apply(300.0)
    assert math.hypot(fc1.config.wind.north_m_s, fc1.config.wind.east_m_s) == pytest.approx(5.0)
    kinds = [what.split(":")[0] for _, _, what in schedule.log]
    assert kinds == ["wind", "battery sag", "link cut", "link restored", "gust front", "wind"]


def test_bad_fault_figures_are_refused_with_the_fault_named() -> None:
    with pytest.raises(ValueError, match="battery_sag of drone-01"):
        DroneFaultSchedule(
            (Fault("battery_sag", 1.0, {"vehicle": "drone-01", "drop_fraction": 1.5}),),
            _copters(),
            Wind(0.0, 0.0, 0.0),
        )
    with pytest.raises(ValueError, match="gust_front"):
        DroneFaultSchedule(
            (Fault("gust_front", 1.0, {"speed_m_s": math.nan}),), _copters(), Wind(0.0, 0.0, 0.0)
        )
    with pytest.raises(ValueError, match="for_s must be positive"):
        DroneFaultSchedule(
            (Fault("link_loss", 1.0, {"vehicle": "drone-02", "for_s": -1}),),
            _copters(),
            Wind(0.0, 0.0, 0.0),
        )
