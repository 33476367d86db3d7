"""A NAVYA ARMA-like autonomous bus: a fixed Makuhari loop, plus the backend's on-demand plans.

Figures (chiba.md section 4.2): 15 places on the ARMA, 11 in the 2019 Makuhari trial; about
18 km/h there (20 km/h typical limit); 30 s dwell per stop is the facts' suggested default.
Battery capacity and consumption were not found in the facts: the figures here are estimates.

Service rule: with no plan, the bus runs its loop for ever, dwelling at every loop stop. A plan
from the backend is served exactly, in order (the backend includes the loop stops it wants
served and inserts on-demand stops between them); when the plan is done the bus rejoins its loop
at the loop stop after the last one it served (an empty plan therefore means "run your loop").
Told to return to its depot it parks there, charging, until the next plan or `start_service()`;
low on battery with nothing planned it goes to charge and rejoins its loop at 90 %.
"""

from __future__ import annotations

from collections.abc import Sequence

from sim.ground.network import RoadNetwork, TravelMode
from sim.ground.plan import VehicleState
from sim.ground.vehicle import GroundVehicle, Target, TargetKind, VehicleParams

# Ordered around the new city: station, Messe, stadium, along the seaside to Aeon Mall and
# Makuhari-Toyosuna station, then inland back past the station to Wakaba, and home.
DEFAULT_LOOP = (
    "kaihin-makuhari",
    "messe",
    "zozo-marine",
    "aeon-mall",
    "makuhari-toyosuna",
    "wakaba",
)

BUS_DEFAULTS = VehicleParams(
    capacity=11,  # the 2019 Makuhari ARMA trial (15 nominal)
    cruise_speed_m_s=5.0,  # 18 km/h
    dwell_s=30.0,
    board_s_per_rider=3.0,  # a full bus boarding takes longer than the 30 s default [EST]
    battery_wh=30_000.0,  # [EST] not in the facts; the Chiba scenario's figure
    drive_wh_per_m=0.25,  # [EST] 250 Wh/km for a 2.4 t shuttle at low speed
    aux_w=800.0,  # [EST] computers, sensors, climate
    charge_w=22_000.0,  # [EST] 22 kW AC at the depot
    low_soc=0.2,
    depot="bus-depot",
)


RESUME_SOC = 0.9  # a bus that went to charge on low battery rejoins its loop at this charge


class Bus(GroundVehicle):
    """An autonomous bus on roads; see the module docstring."""

    mode = TravelMode.ROAD

    def __init__(
        self,
        vehicle_id: str,
        network: RoadNetwork,
        params: VehicleParams = BUS_DEFAULTS,
        loop: Sequence[str] = DEFAULT_LOOP,
        *,
        start: str | None = None,
        t_s: float = 0.0,
        battery_soc: float = 1.0,
        in_service: bool = True,
    ) -> None:
        if len(loop) < 2:
            raise ValueError("a bus loop needs at least two stops")
        super().__init__(
            vehicle_id, network, params, start or loop[0], t_s=t_s, battery_soc=battery_soc
        )
        self.loop = tuple(loop)
        self._loop_positions = tuple(self.router.position_of(s) for s in self.loop)
        # Begin service at the start stop if it is on the loop, else at the loop's first stop.
        self._loop_next = self.loop.index(start) if start in self.loop else 0
        self._parked = not in_service
        self._after_last_target()

    def _on_idle(self) -> None:
        if not self._parked and not self._targets and self.battery_soc >= RESUME_SOC:
            self._after_last_target()  # charged again after a low-battery return: back to work

    def start_service(self) -> None:
        """Leave the depot (or idling) and run the loop."""
        self._parked = False
        if not self._targets:
            self._after_last_target()

    def _on_arrival(self, target: Target) -> None:
        if target.stop_id in self.loop:
            self._loop_next = (self.loop.index(target.stop_id) + 1) % len(self.loop)

    def _after_last_target(self) -> None:
        if self._parked or self.low_battery():
            if self._at_depot():
                self._set_base(VehicleState.IDLE)
                return
            self._targets = [
                Target(
                    self.params.depot, self.router.position_of(self.params.depot), TargetKind.DEPOT
                )
            ]
        else:
            i = self._loop_next
            self._targets = [Target(self.loop[i], self._loop_positions[i], TargetKind.LOOP)]
        self._start_leg()
