"""The demo job behind `make demo`.

Until the Chiba scenario runner lands this is the airspace demo: it plans the Ichikawa-Shiohama
warehouse to Makuhari Bay Park (Wakaba) drone-port route through the shipped Chiba airspace
and prints it.
"""

from __future__ import annotations

import argparse


def run_demo(args: argparse.Namespace) -> int:
    from geofences.demo import airspace_demo

    return airspace_demo()
