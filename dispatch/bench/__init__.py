"""The benchmark harness: `python -m dispatch.bench --set {solomon,lilim,darp} ...`.

Reads benchmark instances, solves each with our dispatcher (and optionally VROOM and PyVRP on
the same instances, in the same run), checks every plan with the independent checker
(`dispatch.checker`), and prints and writes per-instance figures: vehicles, distance (double
precision, from the routes), gap to the best-known solution, wall time, feasibility.

Gap convention (hierarchical, as the Solomon and Li & Lim tables): vehicles first, then
distance. The distance gap is meaningful only when the vehicle count equals the BKS count;
the summary's mean gap is taken over those instances. DARP BKS values are distance-only.
"""
