"""`python -m fleet serve --config kaiteki.toml`: the service, its operator API and vehicle servers.

The composition of one running service: `FleetService` (journal, dispatch, supervisor, ground
server) behind the FastAPI operator API on uvicorn. A port 0 in the configuration picks a free
port; the lines printed at start give the ports actually bound (tests and scripts read them).
"""

from __future__ import annotations

import asyncio
import logging
import signal
import sys
import time

import uvicorn

from fleet.api import create_app
from fleet.config import Config
from fleet.drones import DroneOperations, open_endpoint
from fleet.journal import SqliteJournal
from fleet.service import FleetService
from vehicles.clock import Clock, ScaledClock, WallClock


def service_clock(config: Config, last_t_s: float | None = None) -> Clock:
    """Unix time, or a clock sped up by `service.clock_speed` from Unix time at start.

    A sped-up clock runs ahead of Unix time; after a restart it resumes from the journal's last
    entry (`last_t_s`), so promised windows and deadlines keep their meaning.
    """
    if config.clock_speed == 1.0:
        return WallClock()
    return ScaledClock(config.clock_speed, max(time.time(), last_t_s or 0.0))


async def serve(
    config: Config, clock: Clock | None = None, ready: asyncio.Event | None = None
) -> None:
    """Run until cancelled or SIGINT/SIGTERM."""
    journal = SqliteJournal(config.journal)
    service = FleetService(config, clock=clock or service_clock(config, journal.last_t_s()), journal=journal)
    await service.start()
    endpoint = await open_endpoint(service)
    drones = DroneOperations(service, endpoint)
    service.drone_link = drones
    drones.start()
    app = create_app(service)
    server = uvicorn.Server(
        uvicorn.Config(
            app,
            host=config.http.host,
            port=config.http.port,
            log_level="warning",
            lifespan="off",
            ws="websockets-sansio",
        )
    )
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, lambda: setattr(server, "should_exit", True))
    task = asyncio.create_task(server.serve())
    try:
        while not server.started:
            if task.done():
                await task  # startup failed (port in use...): raise or return its outcome
                return
            await asyncio.sleep(0.02)
        port = server.servers[0].sockets[0].getsockname()[1]
        base = f"http://{config.http.host}:{port}"
        print(
            f"kaiteki {config.name}: operator API {base}/api/v1  (OpenAPI {base}/docs)", flush=True
        )
        print(
            f"  dashboard {base}/dashboard/   live feed ws://{config.http.host}:{port}/api/v1/feed",
            flush=True,
        )
        assert service.ground_server is not None
        print(
            f"  ground vehicles {service.ground_server.url}   journal {config.journal}", flush=True
        )
        print(f"  drones MAVLink udp://{config.mavlink_udp.host}:{endpoint.port}", flush=True)
        if ready is not None:
            ready.set()
        await task
    finally:
        if not task.done():
            server.should_exit = True
            await task
        await drones.stop()
        await endpoint.close()
        await service.stop()


def run(config: Config) -> int:
    """Serve until SIGINT/SIGTERM; 0, or 1 with a message when a listening address is taken."""
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(levelname)s %(message)s")
    try:
        asyncio.run(serve(config))
    except OSError as exc:  # e.g. a port already in use: say which, no traceback
        print(f"error: cannot start the service: {exc}", file=sys.stderr)
        return 1
    return 0
