"""The fleet service operators run: registries, lifecycles, journal, supervisor, operator API.

The composition root: joins the airspace, the dispatcher and both vehicle links. Only its
command line may import `sim`, to run the demo.
"""
