"""`python -m fleet serve --config kaiteki.toml`: the service, its operator API and vehicle servers."""

from __future__ import annotations

import asyncio
import logging
import signal
import time

import uvicorn

from fleet.api import create_app
from fleet.config import Config
from fleet.service import FleetService
from vehicles.clock import Clock, ScaledClock, WallClock


async def serve(
    config: Config, clock: Clock | None = None, ready: asyncio.Event | None = None
) -> None:
    """Run until cancelled or SIGINT/SIGTERM."""
    if clock is None:
        clock = WallClock() if config.clock_speed == 1.0 else ScaledClock(config.clock_speed, time.time())
    service = FleetService(config, clock=clock)
    await service.start()
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
    base = f"http://{config.http.host}:{config.http.port}"
    print(f"kaiteki {config.name}: operator API {base}/api/v1  (OpenAPI {base}/docs)", flush=True)
    print(
        f"  dashboard {base}/dashboard/   live feed ws://{config.http.host}:{config.http.port}/api/v1/feed",
        flush=True,
    )
    assert service.ground_server is not None
    print(f"  ground vehicles {service.ground_server.url}   journal {config.journal}", flush=True)
    if ready is not None:
        ready.set()
    try:
        await server.serve()
    finally:
        await service.stop()


def run(config: Config) -> int:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(levelname)s %(message)s")
    asyncio.run(serve(config))
    return 0
