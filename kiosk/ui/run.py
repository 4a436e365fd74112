"""`kiosk app …`: start an app against a hall URL, or against the embedded hall (the demo)."""

from __future__ import annotations

import argparse
import shutil
import sys
import tempfile
from pathlib import Path
from typing import Any


def run_kiosk(args: argparse.Namespace) -> int:
    from kiosk.ui import env

    tour = Path(args.tour) if args.tour else None
    env.prepare(headless=tour is not None, kiosk_mode=args.fullscreen)
    from drivers.factory import load_devices_config, open_devices
    from kiosk.ui.client import HallClient, http_transport

    embedded = None
    tmp = None
    if args.hall:
        if not args.token:
            print("连接大厅服务需要设备令牌：--token（由 kiosk devices enroll 生成）/ --token is required with --hall",
                  file=sys.stderr)
            return 2
        url, token = args.hall, args.token
    else:
        from kiosk.ui.embedded import EmbeddedHall

        if args.data:
            data = Path(args.data)
        elif tour is not None:
            tmp = tempfile.mkdtemp(prefix="kiosk-tour-")  # a tour leaves the demo hall's data alone
            data = Path(tmp)
        else:
            data = Path("data/demo")
        data.mkdir(parents=True, exist_ok=True)
        embedded = EmbeddedHall(data, now=args.now or ("2026-11-23T10:00:00+08:00" if tour else None))
        url, token = embedded.start(), embedded.kiosk_token
        print(f"内置大厅服务 embedded hall service: {url}", flush=True)
    devices = open_devices(load_devices_config(args.devices), png_dir=(tour / "printed") if tour else None)
    from kiosk.ui.kiosk_app import KioskApp

    app = KioskApp(HallClient(http_transport(url), token), devices, tour_dir=tour, demo=embedded,
                   locked=args.fullscreen)
    try:
        app.run()
    finally:
        devices.close()
        if embedded is not None:
            embedded.stop()
        if tmp:
            shutil.rmtree(tmp, ignore_errors=True)
    return tour_result(app, tour)


def tour_result(app: Any, tour: Path | None) -> int:
    """A tour whose screens did not all come is a failed tour (exit 1), not a folder of wrong pictures."""
    if tour is None:
        return 0
    shots = sorted(p.name for p in tour.glob("*.png"))
    print(f"导览截图 tour screenshots: {len(shots)} in {tour}")
    if app.missed:
        print(f"导览未完成 tour steps that never reached their screen: {', '.join(app.missed)}", file=sys.stderr)
        return 1
    return 0


def add_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    app = sub.add_parser("app", help="the Kivy apps").add_subparsers(dest="app_cmd", required=True)
    kiosk = app.add_parser("kiosk", help="the citizen kiosk")
    kiosk.add_argument("--hall", help="hall service URL; without it an embedded hall runs in this process")
    kiosk.add_argument("--token", help="this kiosk's device token (kiosk devices enroll --role kiosk)")
    kiosk.add_argument("--tour", help="offscreen: play every flow, write one PNG per screen into this folder, exit")
    kiosk.add_argument("--devices", default=str(Path(__file__).resolve().parents[2] / "config" / "devices.toml"))
    kiosk.add_argument("--data", help="data folder of the embedded hall")
    kiosk.add_argument("--now", help="the embedded hall's clock (ISO 8601)")
    kiosk.add_argument("--fullscreen", action="store_true", help="kiosk deployment: full screen, no cursor")
    kiosk.set_defaults(func=run_kiosk)
