"""`kiosk app …` with the embedded default: without --hall, a hall service is started in this process
(SQLite in --data, the example configuration, loopback) and the app is its terminal, with simulated devices
as devices.toml says. A tour gets a throwaway hall of its own, on a fixed Monday morning, so that it shows the
same hall every time. The app itself is the ui's (kiosk/ui/run.py); only this room starts a hall for it.
"""

from __future__ import annotations

import argparse
import tempfile
from pathlib import Path

from kiosk.standalone.embedded import EmbeddedHall
from kiosk.ui import run
from kiosk.ui.stage import OPEN_MONDAY

TOUR_NOW = OPEN_MONDAY  # a Monday morning: the tour shows the same hall every time


def start_embedded(args: argparse.Namespace, role: str) -> EmbeddedHall:
    """The embedded hall for ``kiosk app`` without --hall, serving on loopback."""
    tour = args.tour is not None
    if args.data:
        data, throwaway = Path(args.data), False
    elif tour:
        data, throwaway = Path(tempfile.mkdtemp(prefix="kiosk-tour-")), True  # a tour leaves the demo hall's data alone
    else:
        data, throwaway = Path("data/demo"), False
    data.mkdir(parents=True, exist_ok=True)
    hall = EmbeddedHall(data, now=args.now or (TOUR_NOW if tour else None), throwaway=throwaway)
    hall.start()
    print(f"内置大厅服务 embedded hall service: {hall.url}", flush=True)
    return hall


def run_app(args: argparse.Namespace) -> int:
    return run.run_app(args, start_embedded)


def add_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    run.add_parser(sub, run_app)
