"""Battery and power: what hovering, cruising, climbing and carrying a payload cost.

Power (momentum theory, as in drone-delivery energy studies): hovering needs
`P_hover = (m g)^1.5 / (FM * sqrt(2 rho A))` for total mass `m` (airframe + battery + payload),
rotor disc area `A`, air density `rho` and figure of merit `FM`. In forward flight the induced
part falls with airspeed (Glauert's induced velocity) while parasitic drag power
`0.5 rho CdA v_air^3` grows, giving the usual power bucket; climbing adds `m g v_climb / eta`;
avionics draw a constant.
The pack is `cells` Li-ion cells in series: open-circuit voltage from a per-cell curve of the
state of charge, sagging by `I R` under load. State of charge is energy drawn over capacity.
"""

from __future__ import annotations

import itertools
import math
from dataclasses import dataclass

G_M_S2 = 9.80665

# Li-ion cell open-circuit voltage against state of charge (piecewise linear).
_OCV_CURVE: tuple[tuple[float, float], ...] = (
    (0.0, 3.30), (0.05, 3.50), (0.10, 3.60), (0.20, 3.68), (0.40, 3.78), (0.60, 3.88),
    (0.80, 4.00), (0.95, 4.12), (1.0, 4.20),
)


def cell_ocv_v(soc: float) -> float:
    """Open-circuit voltage of one cell at state of charge `soc` (0..1)."""
    soc = min(1.0, max(0.0, soc))
    for (s0, v0), (s1, v1) in itertools.pairwise(_OCV_CURVE):
        if soc <= s1:
            return v0 + (v1 - v0) * (soc - s0) / (s1 - s0)
    return _OCV_CURVE[-1][1]


@dataclass(frozen=True, slots=True)
class PowerModel:
    """Airframe figures for the power model (defaults: a ~7 kg delivery quadrotor)."""

    empty_mass_kg: float = 6.5  # airframe and battery
    rotor_disc_area_m2: float = 0.45  # four 0.38 m rotors
    figure_of_merit: float = 0.65
    drag_area_m2: float = 0.12  # Cd * frontal area
    climb_efficiency: float = 0.7
    avionics_w: float = 25.0
    air_density_kg_m3: float = 1.225

    def power_w(self, payload_kg: float, airspeed_m_s: float, climb_m_s: float) -> float:
        """Electrical power drawn in flight."""
        weight_n = (self.empty_mass_kg + payload_kg) * G_M_S2
        two_rho_a = 2.0 * self.air_density_kg_m3 * self.rotor_disc_area_m2
        hover_w = weight_n**1.5 / (self.figure_of_merit * math.sqrt(two_rho_a))
        # Glauert: forward speed lowers the induced velocity (translational lift), so a
        # cruising copter needs less than a hovering one until drag takes over.
        vh2 = weight_n / two_rho_a
        v2 = airspeed_m_s * airspeed_m_s
        vi_ratio = math.sqrt((-v2 + math.sqrt(v2 * v2 + 4.0 * vh2 * vh2)) / 2.0 / vh2)
        induced_w = hover_w * vi_ratio
        parasitic_w = 0.5 * self.air_density_kg_m3 * self.drag_area_m2 * airspeed_m_s**3
        climb_w = weight_n * max(climb_m_s, 0.0) / self.climb_efficiency
        return float(induced_w + parasitic_w + climb_w + self.avionics_w)


@dataclass(frozen=True, slots=True)
class BatterySpec:
    """The pack (defaults: 6S 16 Ah Li-ion)."""

    cells: int = 6
    capacity_mah: float = 16000.0
    internal_resistance_ohm: float = 0.03

    def __post_init__(self) -> None:
        if self.cells < 1 or not self.capacity_mah > 0 or self.internal_resistance_ohm < 0:
            raise ValueError(f"invalid battery spec {self!r}")

    @property
    def nominal_voltage_v(self) -> float:
        return self.cells * 3.7

    @property
    def capacity_wh(self) -> float:
        return self.capacity_mah / 1000.0 * self.nominal_voltage_v


class Battery:
    """The pack's state: energy drawn, current, voltage, charge consumed."""

    def __init__(self, spec: BatterySpec, soc: float = 1.0) -> None:
        if not 0.0 <= soc <= 1.0:
            raise ValueError(f"soc must be in [0, 1], got {soc!r}")
        self.spec = spec
        self._capacity_wh = spec.capacity_wh
        self.used_wh = (1.0 - soc) * spec.capacity_wh
        self.used_mah = (1.0 - soc) * spec.capacity_mah
        self.current_a = 0.0
        self.voltage_v = spec.cells * cell_ocv_v(soc)

    @property
    def soc(self) -> float:
        """State of charge, 0..1."""
        return max(0.0, 1.0 - self.used_wh / self._capacity_wh)

    @property
    def remaining_pct(self) -> int:
        return round(self.soc * 100.0)

    @property
    def remaining_mah(self) -> float:
        return max(0.0, self.spec.capacity_mah - self.used_mah)

    def lose(self, fraction: float) -> None:
        """A fault: `fraction` of the capacity is gone at once (a failing cell, a cold pack)."""
        if not 0.0 <= fraction <= 1.0:
            raise ValueError(f"fraction must be in [0, 1], got {fraction!r}")
        self.used_wh = min(self.spec.capacity_wh, self.used_wh + fraction * self.spec.capacity_wh)
        self.used_mah = min(self.spec.capacity_mah,
                            self.used_mah + fraction * self.spec.capacity_mah)
        self.voltage_v = self.spec.cells * cell_ocv_v(self.soc)

    def draw(self, power_w: float, dt_s: float) -> None:
        """Draw `power_w` for `dt_s` seconds (0 W when the motors are off)."""
        ocv_v = self.spec.cells * cell_ocv_v(self.soc)
        r = self.spec.internal_resistance_ohm
        # P = (OCV - I R) I  ->  I = (OCV - sqrt(OCV^2 - 4 R P)) / (2 R)
        if power_w <= 0.0:
            current_a = 0.0
        elif r > 0.0:
            disc = ocv_v * ocv_v - 4.0 * r * power_w
            current_a = (ocv_v - math.sqrt(max(disc, 0.0))) / (2.0 * r)
        else:
            current_a = power_w / ocv_v
        self.current_a = current_a
        self.voltage_v = max(0.0, ocv_v - current_a * r)
        self.used_wh += power_w * dt_s / 3600.0
        self.used_mah += current_a * dt_s / 3.6
