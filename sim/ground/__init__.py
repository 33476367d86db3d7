"""Simulated ground vehicles on a Makuhari road and sidewalk network.

- `network`: the shipped GeoJSON network (`sim/data/makuhari_network.geojson`), validated on load.
- `routing`: shortest and fastest paths (Dijkstra with a heap), snapping of lat/lon points, and
  distance / duration matrices for buses (roads) and personal mobility (sidewalks).
- `plan`, `vehicle`, `bus`, `mobility`: sans-I/O vehicle cores stepped by `step(dt_s)`.
- `runner`: the asyncio edge that connects many cores to `fleet` over the ground protocol.
"""
