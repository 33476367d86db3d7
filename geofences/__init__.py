"""The airspace: local metric frame, airspace volumes, conformance checks and 3-D drone routing.

Imports nothing else of kaiteki. WGS-84 latitude/longitude at every public boundary; metres in
JGD2011 / Japan Plane Rectangular CS IX (EPSG:6677) inside.
"""
