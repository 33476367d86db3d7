"""Hypothesis strategies for every ground-protocol message (valid by construction)."""

from __future__ import annotations

from hypothesis import strategies as st

from vehicles.ground import messages as m

MAX_INT = 2**53 - 1
ids = st.text(st.characters(codec="utf-8", exclude_categories=("Cs",)), min_size=1, max_size=64)
texts = st.text(max_size=80)
seqs = st.integers(1, MAX_INT)
t_s = st.floats(0, 1e10, allow_nan=False)
lat = st.floats(-90, 90, allow_nan=False)
lon = st.floats(-180, 180, allow_nan=False)
plan_versions = st.integers(-1, MAX_INT)


def _latlon() -> st.SearchStrategy[tuple[float | None, float | None]]:
    return st.one_of(st.just((None, None)), st.tuples(lat, lon))


@st.composite
def stops(draw: st.DrawFn) -> m.PlanStop:
    la, lo = draw(_latlon())
    riders = draw(st.lists(ids, max_size=8, unique=True))
    cut = draw(st.integers(0, len(riders)))
    return m.PlanStop(
        stop_id=draw(ids),
        lat_deg=la,
        lon_deg=lo,
        pickups=tuple(riders[:cut]),
        dropoffs=tuple(riders[cut:]),
        dwell_s=draw(st.none() | st.floats(0, 3600, allow_nan=False)),
    )


@st.composite
def events(draw: st.DrawFn) -> m.Event:
    kind = draw(st.sampled_from(m.EventKind))
    la, lo = draw(_latlon())
    return m.Event(
        seq=draw(seqs),
        t_s=draw(t_s),
        kind=kind,
        plan_version=draw(plan_versions),
        stop_id=draw(ids) if kind in (m.EventKind.ARRIVED, m.EventKind.DEPARTED) else None,
        rider_id=draw(ids) if kind in (m.EventKind.BOARDED, m.EventKind.ALIGHTED) else None,
        code=draw(ids) if kind in (m.EventKind.FAULT, m.EventKind.FAULT_CLEARED) else None,
        detail=draw(st.none() | texts),
        lat_deg=la,
        lon_deg=lo,
    )


telemetry = st.builds(
    m.Telemetry,
    seq=seqs,
    t_s=t_s,
    lat_deg=lat,
    lon_deg=lon,
    heading_deg=st.floats(0, 360, allow_nan=False),
    speed_m_s=st.floats(0, 100, allow_nan=False),
    battery_soc=st.floats(0, 1, allow_nan=False),
    occupancy=st.integers(0, 1000),
    doors_open=st.booleans(),
    state=st.sampled_from(m.VehicleState),
    plan_version=plan_versions,
    capacity=st.none() | st.integers(0, 1000),
    next_stop_id=st.none() | ids,
    odometer_m=st.none() | st.floats(0, 1e9, allow_nan=False),
)
limits = st.builds(
    m.Limits,
    max_frame_bytes=st.integers(256, 16_777_216),
    max_frames_per_s=st.floats(0.1, 10_000, allow_nan=False),
    burst_frames=st.integers(1, 100_000),
    telemetry_period_s=st.floats(0.05, 60, allow_nan=False),
    idle_timeout_s=st.floats(1, 3600, allow_nan=False),
    hello_timeout_s=st.floats(1, 3600, allow_nan=False),
)
hellos = st.builds(
    m.Hello,
    v=st.integers(1, 1000),
    vehicle_id=ids.map(m.VehicleId),
    token=st.text(min_size=1, max_size=256),
    boot_id=ids,
    last_cmd_seq=st.integers(0, MAX_INT),
    plan_version=plan_versions,
    kind=st.none() | ids,
    sw=st.none() | ids,
)
welcomes = st.builds(
    m.Welcome,
    v=st.integers(1, 1000),
    session_id=ids,
    last_event_seq=st.integers(0, MAX_INT),
    limits=limits,
)
plans = st.builds(
    m.Plan,
    seq=seqs,
    plan_version=st.integers(0, MAX_INT),
    stops=st.lists(stops(), max_size=5).map(tuple),
)


@st.composite
def acks(draw: st.DrawFn) -> m.Ack:
    ok = draw(st.booleans())
    code = (
        draw(st.none() | st.sampled_from(m.ErrorCode)) if ok else draw(st.sampled_from(m.ErrorCode))
    )
    return m.Ack(draw(seqs), ok, code, draw(st.none() | texts), draw(st.booleans()))


commands = st.one_of(
    plans,
    st.builds(m.Hold, seq=seqs, reason=st.none() | texts),
    st.builds(m.Resume, seq=seqs),
    st.builds(m.ReturnToDepot, seq=seqs, depot_id=st.none() | ids),
    st.builds(m.Cancel, seq=seqs, plan_version=st.none() | st.integers(0, MAX_INT)),
)
messages = st.one_of(
    hellos,
    welcomes,
    telemetry,
    events(),
    commands,
    acks(),
    st.builds(
        m.ErrorFrame,
        code=st.sampled_from(m.ErrorCode),
        msg=texts,
        ref_t=st.none() | st.text(max_size=64),
        ref_seq=st.none() | st.integers(0, MAX_INT),
    ),
    st.builds(m.Ping, nonce=st.integers(0, MAX_INT)),
    st.builds(m.Pong, nonce=st.integers(0, MAX_INT)),
)
