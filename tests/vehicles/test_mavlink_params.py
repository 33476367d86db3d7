"""The parameter protocol (ground side) against a scripted autopilot."""

from __future__ import annotations

import pytest

from tests.vehicles.mavlink_peer import C, LinkHarness, ScriptedAutopilot
from vehicles.mavlink.operation import BusyError, OperationTimeoutError
from vehicles.mavlink.params import INT32, ParamRejectedError, decode_value, encode_value


def connected(autopilot: int = C.MAV_AUTOPILOT_ARDUPILOTMEGA
              ) -> tuple[LinkHarness, ScriptedAutopilot]:
    h = LinkHarness()
    ap = ScriptedAutopilot(autopilot=autopilot)
    h.deliver(ap.heartbeat())
    h.collect()
    return h, ap


def value(ap: ScriptedAutopilot, name: str, field: float, param_type: int = 9) -> bytes:
    return ap.packet(ap.mav.param_value_encode(name.encode(), field, param_type, 900, 17))


def test_set_is_confirmed_by_param_value() -> None:
    h, ap = connected()
    op = h.station.drones[1].set_param("FS_GCS_ENABLE", 1.0, h.now_s)
    sent = h.of_type(h.collect(), "PARAM_SET")
    assert sent[0].param_id == "FS_GCS_ENABLE" and sent[0].param_value == 1.0
    h.deliver(value(ap, "FS_GCS_ENABLE", 1.0))
    assert op.result is not None and op.result.value == 1.0
    assert h.station.drones[1].params.values["FS_GCS_ENABLE"].value == 1.0


def test_a_value_the_autopilot_did_not_take_is_a_rejection() -> None:
    h, ap = connected()
    op = h.station.drones[1].set_param("RTL_ALT", 99999.0, h.now_s)
    h.deliver(value(ap, "RTL_ALT", 1500.0))
    assert isinstance(op.error, ParamRejectedError) and op.error.held == 1500.0


def test_unanswered_writes_are_resent_then_time_out_and_one_per_name() -> None:
    h, _ = connected()
    drone = h.station.drones[1]
    op = drone.set_param("FENCE_ENABLE", 1.0, h.now_s)
    assert isinstance(drone.set_param("FENCE_ENABLE", 0.0, h.now_s).error, BusyError)
    h.collect()
    resent = []
    for _ in range(4):
        resent += h.of_type(h.advance(1.0), "PARAM_SET")
    assert len(resent) == 2 and isinstance(op.error, OperationTimeoutError)


def test_get_reads_by_name() -> None:
    h, ap = connected()
    op = h.station.drones[1].get_param("WPNAV_SPEED", h.now_s)
    sent = h.of_type(h.collect(), "PARAM_REQUEST_READ")
    assert sent[0].param_id == "WPNAV_SPEED" and sent[0].param_index == -1
    h.deliver(value(ap, "WPNAV_SPEED", 1000.0))
    assert op.result is not None and op.result.value == 1000.0
    with pytest.raises(ValueError):
        h.station.drones[1].get_param("X" * 17, h.now_s)


def test_px4_integers_travel_bytewise() -> None:
    field = encode_value(7, INT32, C.MAV_AUTOPILOT_PX4)
    assert field != 7.0 and decode_value(field, INT32, C.MAV_AUTOPILOT_PX4) == 7.0
    assert encode_value(7, INT32, C.MAV_AUTOPILOT_ARDUPILOTMEGA) == 7.0
    h, ap = connected(C.MAV_AUTOPILOT_PX4)
    op = h.station.drones[1].set_param("NAV_DLL_ACT", 2, h.now_s, INT32)
    sent = h.of_type(h.collect(), "PARAM_SET")[0]
    assert decode_value(sent.param_value, INT32, C.MAV_AUTOPILOT_PX4) == 2.0
    h.deliver(value(ap, "NAV_DLL_ACT", sent.param_value, INT32))
    assert op.result is not None and op.result.value == 2.0
