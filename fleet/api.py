"""The operator HTTP API (FastAPI; OpenAPI at `/openapi.json`, docs at `/docs`) and live feed.

Authentication: `Authorization: Bearer <token>` (the live feed websocket also takes `?token=`).
Roles: `logistics` works with drones and delivery orders, `mobility` with ground vehicles and
trips, `viewer` only reads, `admin` does everything. Wrong or missing tokens get 401, a role
that may not do something gets 403. Every command is journaled with the operator's name.

Errors are RFC 9457 problem details (`application/problem+json`): `title`, `status`, `detail`,
and for invalid input `errors: [{field, message}]` naming each field. Bad input changes nothing.
"""

# No `from __future__ import annotations` here: FastAPI reads the route signatures at run time,
# and the `Op` dependency alias is local to `create_app`.
import asyncio
import math
import uuid
from typing import Annotated, Any, Literal

from fastapi import Depends, FastAPI, Header, Query, Request, WebSocket
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles
from pydantic import BaseModel, ConfigDict, Field
from starlette.exceptions import HTTPException as StarletteHTTPException

from fleet.config import Operator
from fleet.dashboard import STATIC_DIR
from fleet.feed import serve_websocket
from fleet.journal import IdempotencyConflictError
from fleet.lifecycle import IllegalTransitionError
from fleet.livefeed import BATCH_MS_MAX, BATCH_MS_MIN, FeedFilter
from fleet.service import FleetService, RequestError

PROBLEM = "application/problem+json"


class ProblemError(Exception):
    def __init__(
        self, status: int, title: str, detail: str = "", errors: list[dict[str, str]] | None = None
    ) -> None:
        super().__init__(detail or title)
        self.status, self.title, self.detail, self.errors = status, title, detail, errors or []


def problem(
    status: int, title: str, detail: str = "", errors: list[dict[str, str]] | None = None
) -> JSONResponse:
    body: dict[str, Any] = {"type": "about:blank", "title": title, "status": status}
    if detail:
        body["detail"] = detail
    if errors:
        body["errors"] = errors
    return JSONResponse(body, status_code=status, media_type=PROBLEM)


def invalid(field: str, message: str) -> ProblemError:
    """A 422 problem naming one field (checks across fields, done after the model's own)."""
    return ProblemError(422, "Invalid request", f"{field}: {message}", [{"field": field, "message": message}])


class OrderIn(BaseModel):
    """A delivery order: a parcel from a warehouse to a drone port."""

    model_config = ConfigDict(extra="forbid", allow_inf_nan=False)

    warehouse: str = Field(min_length=1, max_length=64, description="warehouse site id")
    drone_port: str = Field(min_length=1, max_length=64, description="drone port site id")
    weight_kg: float = Field(gt=0, le=50, description="parcel weight, kg")
    ready_s: float | None = Field(None, description="ready time on the service clock (s); default now")
    deadline_s: float | None = Field(None, description="deadline on the service clock (s)")
    deadline_in_s: float | None = Field(None, gt=0, le=7 * 86400, description="or: deadline from now (s)")
    medicine: bool = False
    idempotency_key: str | None = Field(None, min_length=1, max_length=128)


class TripIn(BaseModel):
    """A trip request: riders from one place to another."""

    model_config = ConfigDict(extra="forbid", allow_inf_nan=False)

    origin: str = Field(min_length=1, max_length=64, description="place id (stop, station, home)")
    destination: str = Field(min_length=1, max_length=64)
    riders: int = Field(1, ge=1, le=15)
    mode: Literal["any", "bus", "mobility"] = "any"
    earliest_pickup_s: float | None = Field(None, description="service clock (s); default now")
    latest_dropoff_s: float | None = Field(None, description="service clock (s); default earliest + 1 h")
    idempotency_key: str | None = Field(None, min_length=1, max_length=128)


class CancelIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    reason: str = Field("cancelled by operator", max_length=200)


def create_app(service: FleetService) -> FastAPI:
    app = FastAPI(
        title="kaiteki operator API",
        version="1.0",
        description=__doc__,
        openapi_url="/openapi.json",
    )
    tokens = {op.token: op for op in service.config.operators}

    @app.exception_handler(RequestValidationError)
    async def _invalid(request: Request, exc: RequestValidationError) -> JSONResponse:
        errors = [
            {
                "field": ".".join(str(p) for p in e["loc"] if p != "body") or "body",
                "message": e["msg"],
            }
            for e in exc.errors()
        ]
        return problem(
            422,
            "Invalid request",
            "; ".join(f"{e['field']}: {e['message']}" for e in errors),
            errors,
        )

    @app.exception_handler(ProblemError)
    async def _problem(request: Request, exc: ProblemError) -> JSONResponse:
        return problem(exc.status, exc.title, exc.detail, exc.errors)

    @app.exception_handler(RequestError)
    async def _refused(request: Request, exc: RequestError) -> JSONResponse:
        errors = [{"field": exc.field, "message": str(exc)}] if exc.field else None
        title = {404: "Not found", 409: "Conflict"}.get(exc.status, "Request refused")
        return problem(exc.status, title, str(exc), errors)

    @app.exception_handler(IdempotencyConflictError)
    async def _conflict(request: Request, exc: IdempotencyConflictError) -> JSONResponse:
        return problem(
            409,
            "Idempotency key reused",
            str(exc),
            [{"field": "idempotency_key", "message": str(exc)}],
        )

    @app.exception_handler(IllegalTransitionError)
    async def _illegal(request: Request, exc: IllegalTransitionError) -> JSONResponse:
        return problem(409, "Not allowed in this state", str(exc))

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        return problem(exc.status_code, str(exc.detail))

    def operator(authorization: Annotated[str | None, Header()] = None) -> Operator:
        if not authorization or not authorization.startswith("Bearer "):
            raise ProblemError(401, "Not authenticated", "send 'Authorization: Bearer <token>'")
        op = tokens.get(authorization.removeprefix("Bearer ").strip())
        if op is None:
            raise ProblemError(401, "Not authenticated", "the token is not known")
        return op

    Op = Annotated[Operator, Depends(operator)]  # noqa: N806 (a type alias)

    # Role checks as dependencies run before the body is read: a viewer gets 403, not 422.
    def logistics_operator(authorization: Annotated[str | None, Header()] = None) -> Operator:
        op = operator(authorization)
        require(op, "logistics")
        return op

    def mobility_operator(authorization: Annotated[str | None, Header()] = None) -> Operator:
        op = operator(authorization)
        require(op, "mobility")
        return op

    Logistics = Annotated[Operator, Depends(logistics_operator)]  # noqa: N806
    Mobility = Annotated[Operator, Depends(mobility_operator)]  # noqa: N806

    def require(op: Operator, *roles: str) -> None:
        if op.role != "admin" and op.role not in roles:
            raise ProblemError(
                403, "Forbidden", f"role {op.role!r} may not do this (needs {' or '.join(roles)})"
            )

    def idem(body_key: str | None, header_key: str | None) -> str:
        return body_key or header_key or f"auto-{uuid.uuid4()}"

    @app.get("/", include_in_schema=False)
    async def root() -> RedirectResponse:
        return RedirectResponse("/dashboard/")

    @app.get("/api/v1/me", tags=["session"])
    async def me(op: Op) -> dict[str, str]:
        return {"name": op.name, "role": op.role}

    @app.get("/api/v1/clock", tags=["session"])
    async def clock(op: Op) -> dict[str, float]:
        return {"now_s": service.clock.now_s()}

    # ------------------------------------------------------------------ orders
    @app.post("/api/v1/orders", status_code=201, tags=["orders"])
    async def submit_order(
        op: Logistics,
        body: OrderIn,
        response: Response,
        idempotency_key: Annotated[str | None, Header()] = None,
    ) -> dict[str, Any]:
        require(op, "logistics")
        if (body.deadline_s is None) == (body.deadline_in_s is None):
            raise invalid("deadline_s", "give exactly one of deadline_s and deadline_in_s")
        now = service.clock.now_s()
        ready = body.ready_s if body.ready_s is not None else now
        deadline = (
            body.deadline_s if body.deadline_s is not None else now + float(body.deadline_in_s or 0)
        )
        data = {
            "warehouse": body.warehouse,
            "drone_port": body.drone_port,
            "weight_kg": body.weight_kg,
            "ready_s": ready,
            "deadline_s": deadline,
            "medicine": body.medicine,
        }
        key = idem(body.idempotency_key, idempotency_key)
        order, created = service.submit_order(
            data, op.name, key, body.model_dump(exclude={"idempotency_key"})
        )
        response.status_code = 201 if created else 200
        return order.to_json()

    @app.get("/api/v1/orders", tags=["orders"])
    async def list_orders(
        op: Op, state: str | None = None, limit: int = Query(500, ge=1, le=5000)
    ) -> dict[str, Any]:
        items = [
            o.to_json()
            for o in service.records.orders.values()
            if state is None or o.state == state
        ]
        return {"items": items[-limit:]}

    @app.get("/api/v1/orders/{order_id}", tags=["orders"])
    async def get_order(order_id: str, op: Op) -> dict[str, Any]:
        order = service.records.orders.get(order_id)
        if order is None:
            raise ProblemError(404, "Not found", f"no order {order_id!r}")
        return order.to_json()

    @app.post("/api/v1/orders/{order_id}/cancel", tags=["orders"])
    async def cancel_order(order_id: str, op: Op, body: CancelIn | None = None) -> dict[str, Any]:
        require(op, "logistics")
        if order_id not in service.records.orders:
            raise ProblemError(404, "Not found", f"no order {order_id!r}")
        return service.cancel(
            order_id, op.name, (body.reason if body else "cancelled by operator")
        ).to_json()

    # ------------------------------------------------------------------ trips
    @app.post("/api/v1/trips", status_code=201, tags=["trips"])
    async def submit_trip(
        op: Mobility,
        body: TripIn,
        response: Response,
        idempotency_key: Annotated[str | None, Header()] = None,
    ) -> dict[str, Any]:
        require(op, "mobility")
        now = service.clock.now_s()
        earliest = body.earliest_pickup_s if body.earliest_pickup_s is not None else now
        latest = body.latest_dropoff_s if body.latest_dropoff_s is not None else earliest + 3600.0
        data = {
            "origin": body.origin,
            "destination": body.destination,
            "riders": body.riders,
            "mode": body.mode,
            "earliest_pickup_s": earliest,
            "latest_dropoff_s": latest,
        }
        key = idem(body.idempotency_key, idempotency_key)
        trip, created = service.submit_trip(
            data, op.name, key, body.model_dump(exclude={"idempotency_key"})
        )
        response.status_code = 201 if created else 200
        return trip.to_json()

    @app.get("/api/v1/trips", tags=["trips"])
    async def list_trips(
        op: Op, state: str | None = None, limit: int = Query(500, ge=1, le=5000)
    ) -> dict[str, Any]:
        items = [
            t.to_json() for t in service.records.trips.values() if state is None or t.state == state
        ]
        return {"items": items[-limit:]}

    @app.get("/api/v1/trips/{trip_id}", tags=["trips"])
    async def get_trip(trip_id: str, op: Op) -> dict[str, Any]:
        trip = service.records.trips.get(trip_id)
        if trip is None:
            raise ProblemError(404, "Not found", f"no trip {trip_id!r}")
        return trip.to_json()

    @app.post("/api/v1/trips/{trip_id}/cancel", tags=["trips"])
    async def cancel_trip(trip_id: str, op: Op, body: CancelIn | None = None) -> dict[str, Any]:
        require(op, "mobility")
        if trip_id not in service.records.trips:
            raise ProblemError(404, "Not found", f"no trip {trip_id!r}")
        return service.cancel(
            trip_id, op.name, (body.reason if body else "cancelled by operator")
        ).to_json()

    # ------------------------------------------------------------------ vehicles
    @app.get("/api/v1/vehicles", tags=["vehicles"])
    async def list_vehicles(op: Op, kind: str | None = None) -> dict[str, Any]:
        return {
            "items": [
                v.to_json()
                for v in service.records.vehicles.values()
                if kind is None or v.kind == kind
            ]
        }

    @app.get("/api/v1/vehicles/{vehicle_id}", tags=["vehicles"])
    async def get_vehicle(vehicle_id: str, op: Op) -> dict[str, Any]:
        vehicle = service.records.vehicles.get(vehicle_id)
        if vehicle is None:
            raise ProblemError(404, "Not found", f"no vehicle {vehicle_id!r}")
        return vehicle.to_json()

    @app.post("/api/v1/vehicles/{vehicle_id}/{action}", tags=["vehicles"])
    async def command_vehicle(
        vehicle_id: str, action: Literal["hold", "resume", "return"], op: Op
    ) -> dict[str, Any]:
        vehicle = service.records.vehicles.get(vehicle_id)
        if vehicle is None:
            raise ProblemError(404, "Not found", f"no vehicle {vehicle_id!r}")
        require(op, "logistics" if vehicle.kind == "drone" else "mobility")
        return await service.vehicle_command(vehicle_id, action, op.name)

    @app.get("/api/v1/history/{subject}", tags=["history"])
    async def history(
        subject: str, op: Op, limit: int = Query(500, ge=1, le=5000)
    ) -> dict[str, Any]:
        known = (
            subject in service.records.orders
            or subject in service.records.trips
            or subject in service.records.vehicles
        )
        if not known:
            raise ProblemError(404, "Not found", f"no order, trip or vehicle {subject!r}")
        return {"items": [e.to_json() for e in service.journal.history(subject, limit)]}

    @app.get("/api/v1/events", tags=["history"])
    async def events(op: Op, limit: int = Query(200, ge=1, le=2000)) -> dict[str, Any]:
        return {"items": [e.to_json() for e in service.events(limit)]}

    @app.get("/api/v1/kpis", tags=["history"])
    async def kpis(op: Op) -> dict[str, Any]:
        return service.kpis()

    # ------------------------------------------------------------------ the city
    @app.get("/api/v1/airspace", tags=["city"])
    async def airspace(op: Op) -> dict[str, Any]:
        return service.airspace_geojson()

    @app.get("/api/v1/sites", tags=["city"])
    async def sites(op: Op) -> dict[str, Any]:
        return {
            "items": [
                {
                    "id": s.id,
                    "kind": s.kind,
                    "name": s.name,
                    "name_ja": s.name_ja,
                    "lat_deg": s.lat_deg,
                    "lon_deg": s.lon_deg,
                }
                for s in service.config.sites
            ]
        }

    @app.get("/api/v1/export/fleet.geojson", tags=["exports"])
    async def fleet_geojson(op: Op) -> dict[str, Any]:
        features = []
        for v in service.records.vehicles.values():
            pos = v.position()
            if pos is None:
                continue
            features.append(
                {
                    "type": "Feature",
                    "id": v.id,
                    "geometry": {"type": "Point", "coordinates": [pos[1], pos[0]]},
                    "properties": {"kind": v.kind, "state": v.state, "link": v.link, **v.telemetry},
                }
            )
        return {"type": "FeatureCollection", "features": features}

    @app.get("/api/v1/export/gtfs-rt/vehicle-positions.pb", tags=["exports"])
    async def gtfs_rt(op: Op) -> Response:
        from fleet.gtfs_rt import vehicle_positions

        return Response(vehicle_positions(service), media_type="application/x-protobuf")

    # ------------------------------------------------------------------ live feed
    @app.websocket("/api/v1/feed")
    async def feed(
        ws: WebSocket, token: str = "", kinds: str = "", bbox: str = "", batch_ms: str = ""
    ) -> None:
        await ws.accept()  # then close with a code: a browser cannot read a refused handshake
        op = tokens.get(token)
        if op is None:
            await ws.close(code=4401, reason="unknown or missing token")
            return
        try:
            parts = [float(x) for x in bbox.split(",")] if bbox else None
            box = (parts[0], parts[1], parts[2], parts[3]) if parts and len(parts) == 4 else None
            if parts is not None and box is None:
                raise ValueError
            if box is not None and not all(math.isfinite(x) for x in box):
                raise ValueError
        except ValueError:
            await ws.close(code=4400, reason="bbox must be lon0,lat0,lon1,lat1")
            return
        batch_s = None  # ?batch_ms=N: coalesced batches (see fleet.livefeed)
        if batch_ms:
            digits = batch_ms.isascii() and batch_ms.isdigit()
            if not digits or not BATCH_MS_MIN <= int(batch_ms) <= BATCH_MS_MAX:
                reason = f"batch_ms must be an integer in [{BATCH_MS_MIN}, {BATCH_MS_MAX}]"
                await ws.close(code=4400, reason=reason)
                return
            batch_s = int(batch_ms) / 1000.0
        flt = FeedFilter(frozenset(k for k in kinds.split(",") if k) or None, box)
        sub = service.feed.subscribe(flt, name=op.name, batch_s=batch_s)
        try:
            await serve_websocket(_StarletteSender(ws), sub)
        finally:
            service.feed.unsubscribe(sub)

    app.mount("/dashboard", StaticFiles(directory=STATIC_DIR, html=True), name="dashboard")
    return app


class _StarletteSender:
    """Adapts a Starlette websocket to `fleet.feed.serve_websocket`."""

    def __init__(self, ws: WebSocket) -> None:
        self.ws = ws

    async def send(self, message: str | bytes) -> None:
        # yield to the loop first: with payloads queued, sends to a client that just vanished
        # would otherwise run back to back before the server can notice the lost connection
        await asyncio.sleep(0)
        if isinstance(message, bytes):
            await self.ws.send_bytes(message)
        else:
            await self.ws.send_text(message)

    async def close(self, code: int = 1000, reason: str = "") -> None:
        await self.ws.close(code=code, reason=reason)

    async def wait_closed(self) -> None:
        while True:
            message = await self.ws.receive()
            if message["type"] == "websocket.disconnect":
                return
