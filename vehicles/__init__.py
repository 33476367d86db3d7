"""Vehicles: kinds, capabilities and wire protocols as sans-I/O state machines.

The MAVLink link (pymavlink used only as a codec) and the ground-vehicle websocket + msgpack
protocol live here, each with thin asyncio transports. Imports nothing else of kaiteki.
"""
