"""The built-in world: simulated autopilots and ground vehicles that speak the real protocols.

Everything advances by explicit `step(dt_s)` under an injected clock; nothing reads the wall
clock. Talks to `fleet` only over the wire. May import `vehicles` (codecs) and `geofences`.
"""
