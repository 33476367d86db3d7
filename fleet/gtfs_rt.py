"""GTFS-Realtime VehiclePositions for the buses, for operators' passenger-information tools."""

from __future__ import annotations

import time

from google.transit import gtfs_realtime_pb2

from fleet.service import FleetService


def vehicle_positions(service: FleetService) -> bytes:
    """A FeedMessage (full dataset) with one VehiclePosition per bus that has a position."""
    feed = gtfs_realtime_pb2.FeedMessage()
    feed.header.gtfs_realtime_version = "2.0"
    feed.header.incrementality = gtfs_realtime_pb2.FeedHeader.FULL_DATASET
    feed.header.timestamp = int(time.time())
    for vehicle in sorted(service.records.vehicles.values(), key=lambda v: v.id):
        pos = vehicle.position()
        if vehicle.kind != "bus" or pos is None:
            continue
        entity = feed.entity.add()
        entity.id = vehicle.id
        vp = entity.vehicle
        vp.vehicle.id = vehicle.id
        vp.position.latitude, vp.position.longitude = pos
        if "heading_deg" in vehicle.telemetry:
            vp.position.bearing = float(vehicle.telemetry["heading_deg"])
        if "speed_m_s" in vehicle.telemetry:
            vp.position.speed = float(vehicle.telemetry["speed_m_s"])
        occupancy = int(vehicle.telemetry.get("occupancy", 0))
        vp.occupancy_status = (
            gtfs_realtime_pb2.VehiclePosition.EMPTY
            if occupancy == 0
            else gtfs_realtime_pb2.VehiclePosition.MANY_SEATS_AVAILABLE
        )
        vp.timestamp = int(time.time())
    return bytes(feed.SerializeToString())
