"""Drone energy: how many watt-hours a leg costs, as a function of its duration and payload.

A multicopter spends its energy holding itself (and its parcel) up. Momentum theory gives the
induced power of a hovering rotor as proportional to thrust^1.5, so hover power grows with the
total mass as `(m_total / m_empty) ** 1.5`. In forward flight the rotor disc also moves through
fresh air, which lowers the induced power; we take cruise power as a fixed share of the hover
power at the same mass (`cruise_to_hover`, about 0.85 at the 10-15 m/s a delivery drone flies).

A leg from the air matrix is flown as: take-off and climb, cruise, descent and landing approach.
The vertical phases (`vertical_s` per leg, at most the whole leg) are flown at hover power, the
rest at cruise power. Winch release at a drone port is a hover with the parcel still attached
(counted at full payload: conservative).

Defaults follow the drone of Chiba's 2024 medicine trial (14.3 kg dry, about 5 kg payload, see
`/work/shared/facts/chiba.md`); battery and powers are typical figures for a craft of that mass
(`[ESTIMATE]`: tune them from flight logs).

The solver works in integer milliwatt-hours: consumption is rounded *up*, usable capacity
*down*, so an integer plan that fits never hides a float overrun.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

MWH_PER_WH = 1000


@dataclass(frozen=True, slots=True)
class DroneEnergyModel:
    """Power and battery of one drone type.

    Attributes:
        empty_mass_kg: take-off mass without payload (battery included).
        max_payload_kg: the payload limit.
        battery_wh: usable pack energy when full.
        hover_power_empty_w: electrical power to hover without payload.
        cruise_to_hover: cruise power as a share of hover power at the same mass.
        vertical_s: seconds per leg spent in take-off, climb, descent and landing (hover power).
        reserve_fraction: share of the battery that must remain at every landing (default 20 %).
        cruise_speed_m_s: cruise ground speed (for building durations from distances).
    """

    empty_mass_kg: float = 14.3
    max_payload_kg: float = 5.0
    battery_wh: float = 1000.0
    hover_power_empty_w: float = 1800.0
    cruise_to_hover: float = 0.85
    vertical_s: float = 60.0
    reserve_fraction: float = 0.20
    cruise_speed_m_s: float = 12.0

    def __post_init__(self) -> None:
        positive = {
            "empty_mass_kg": self.empty_mass_kg,
            "battery_wh": self.battery_wh,
            "hover_power_empty_w": self.hover_power_empty_w,
            "cruise_to_hover": self.cruise_to_hover,
            "cruise_speed_m_s": self.cruise_speed_m_s,
        }
        for name, value in positive.items():
            if not (math.isfinite(value) and value > 0):
                raise ValueError(f"{name}: must be a positive number, got {value}")
        if not (math.isfinite(self.max_payload_kg) and self.max_payload_kg >= 0):
            raise ValueError(f"max_payload_kg: must be >= 0, got {self.max_payload_kg}")
        if not (math.isfinite(self.vertical_s) and self.vertical_s >= 0):
            raise ValueError(f"vertical_s: must be >= 0, got {self.vertical_s}")
        if not (math.isfinite(self.reserve_fraction) and 0 <= self.reserve_fraction < 1):
            raise ValueError(f"reserve_fraction: must be in [0, 1), got {self.reserve_fraction}")

    def hover_power_w(self, payload_kg: float) -> float:
        """Electrical power to hover carrying `payload_kg`."""
        ratio = (self.empty_mass_kg + max(0.0, payload_kg)) / self.empty_mass_kg
        return float(self.hover_power_empty_w * ratio**1.5)

    def cruise_power_w(self, payload_kg: float) -> float:
        """Electrical power in cruise carrying `payload_kg`."""
        return self.cruise_to_hover * self.hover_power_w(payload_kg)

    def leg_energy_wh(self, duration_s: float, payload_kg: float) -> float:
        """Energy of one flown leg of `duration_s` seconds (vertical phases included)."""
        duration_s = max(0.0, duration_s)
        vertical = min(duration_s, self.vertical_s)
        cruise = duration_s - vertical
        return (
            self.hover_power_w(payload_kg) * vertical + self.cruise_power_w(payload_kg) * cruise
        ) / 3600.0

    def hover_energy_wh(self, duration_s: float, payload_kg: float) -> float:
        """Energy of hovering `duration_s` seconds (e.g. a winch release)."""
        return self.hover_power_w(payload_kg) * max(0.0, duration_s) / 3600.0

    @property
    def reserve_wh(self) -> float:
        """Energy that must remain at every landing."""
        return self.battery_wh * self.reserve_fraction

    @property
    def usable_mwh(self) -> int:
        """Energy a full pack may spend before the reserve, integer mWh rounded down."""
        return math.floor(self.battery_wh * (1.0 - self.reserve_fraction) * MWH_PER_WH)

    def used_mwh(self, soc: float) -> int:
        """Energy already spent from a full pack at state of charge `soc`, rounded up."""
        soc = min(1.0, max(0.0, soc))
        return math.ceil(self.battery_wh * (1.0 - soc) * MWH_PER_WH - 1e-9)

    def needs_swap(self, soc: float) -> bool:
        """True when a drone at `soc` has no usable energy left above the reserve (the rule for
        a swap on the spot before it may fly; shared by the model, insertion and checker)."""
        return self.used_mwh(soc) >= self.usable_mwh

    def soc_after(self, soc: float, spent_wh: float) -> float:
        """State of charge after spending `spent_wh` from `soc`."""
        return soc - spent_wh / self.battery_wh


def to_mwh(energy_wh: float) -> int:
    """Watt-hours to integer milliwatt-hours, rounded up (consumption is never understated)."""
    return math.ceil(energy_wh * MWH_PER_WH - 1e-9)
