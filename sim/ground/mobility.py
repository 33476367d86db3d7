"""A WHILL-like personal-mobility vehicle: one rider, door to door on sidewalks, then home.

Figures (chiba.md section 4.3): 6 km/h top speed on sidewalks (legally a pedestrian / electric
wheelchair), 1.5 m/s suggested cruise, one person, 16-18 km range. The city's concept: called by
app, drives itself to the rider, carries them, and is retrieved unmanned: here it drives itself
back to its depot (a sharing port) whenever it has nothing else to do, and charges there.
"""

from __future__ import annotations

from sim.ground.network import RoadNetwork, TravelMode
from sim.ground.plan import VehicleState
from sim.ground.vehicle import GroundVehicle, Target, TargetKind, VehicleParams


def mobility_params(
    *,
    range_km: float = 16.0,
    battery_wh: float = 300.0,
    depot: str = "pm-depot",
    cruise_speed_m_s: float = 1.5,
) -> VehicleParams:
    """Personal-mobility figures; consumption is set so a full battery lasts `range_km`."""
    if not 0.5 <= range_km <= 100.0:
        raise ValueError(f"range_km must be within 0.5..100, got {range_km!r}")
    if not 0.0 < cruise_speed_m_s <= 6.0 / 3.6:
        raise ValueError("personal mobility may not exceed 6 km/h on sidewalks")
    return VehicleParams(
        capacity=1,
        cruise_speed_m_s=cruise_speed_m_s,
        dwell_s=60.0,  # [EST] a rider getting on or off, with belt and bags
        board_s_per_rider=0.0,
        battery_wh=battery_wh,  # [EST] WHILL-class pack
        drive_wh_per_m=battery_wh / (range_km * 1000.0),
        aux_w=0.0,  # counted in the range figure
        charge_w=60.0,  # [EST] about 5 h for a full charge
        low_soc=0.15,
        depot=depot,
    )


MOBILITY_DEFAULTS = mobility_params()


class PersonalMobility(GroundVehicle):
    """A one-rider sidewalk vehicle; see the module docstring."""

    mode = TravelMode.SIDEWALK

    def __init__(
        self,
        vehicle_id: str,
        network: RoadNetwork,
        params: VehicleParams = MOBILITY_DEFAULTS,
        *,
        start: str | None = None,
        t_s: float = 0.0,
        battery_soc: float = 1.0,
    ) -> None:
        if params.capacity != 1:
            raise ValueError("personal mobility carries exactly one rider")
        super().__init__(
            vehicle_id, network, params, start or params.depot, t_s=t_s, battery_soc=battery_soc
        )
        self._after_last_target()

    def _after_last_target(self) -> None:
        if self._at_depot():
            self._set_base(VehicleState.IDLE)
            return
        self._targets = [
            Target(self.params.depot, self.router.position_of(self.params.depot), TargetKind.DEPOT)
        ]
        self._start_leg()
