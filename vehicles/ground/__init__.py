"""The ground-vehicle protocol: websocket + msgpack frames between vehicles and `fleet`.

`messages` (typed, tagged messages), `schema` (field table), `codec` (sans-I/O encode/decode and
validation), `vehicle_session` and `server_session` (sans-I/O state machines), `client` (the thin
asyncio vehicle client). The specification is `docs/ground-protocol.md`.
"""
