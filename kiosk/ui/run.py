"""`kiosk app kiosk|counter|duty|display`: start an app as a terminal of a hall. Against a hall URL (--hall)
this is all there is; without one, the hall is started in this process by whoever wired the command
(kiosk/standalone/apps.py: the embedded default), handed in as ``start_hall``: the ui never starts a hall itself.
"""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

from kiosk.ui.stage import LocalHall

StartHall = Callable[[argparse.Namespace, str], LocalHall]  # (the command's arguments, the app's role)

CONFIG_DIR = Path(__file__).resolve().parents[2] / "config"
ROLES = {"kiosk": "kiosk", "counter": "counter", "duty": "supervisor", "display": "display"}


def run_app(args: argparse.Namespace, start_hall: StartHall | None = None) -> int:
    from drivers.devices_config import load_devices_config
    from drivers.factory import open_devices
    from kiosk.ui import env

    which = args.app_cmd
    tour = Path(args.tour) if args.tour else None
    if args.layout_only and tour is None:  # a window on a screen is always drawn: the flag alone would do nothing
        print("--layout-only 只用于导览：请同时给出 --tour 目录 / --layout-only goes with --tour DIR", file=sys.stderr)
        return 2
    device_config = load_devices_config(args.devices)
    width, height = args.size if args.size else (1280, 800)
    from kiosk.ui.screen import ScreenUnavailable

    try:
        env.prepare(headless=tour is not None, width=width, height=height, kiosk_mode=args.fullscreen,
                    dpi=device_config.screen_dpi)
    except ScreenUnavailable as exc:
        print(exc, file=sys.stderr)
        return 2
    from kiosk.contract.client import HallClient, http_transport

    embedded: LocalHall | None = None
    if args.token_file:  # a provisioned terminal: the token is not on the command line, where ps shows it
        try:
            args.token = Path(args.token_file).read_text(encoding="utf-8").strip()
        except OSError as exc:
            print(f"无法读取令牌文件 cannot read the token file {args.token_file}: {exc.strerror}", file=sys.stderr)
            return 2
    if args.hall:
        from kiosk.urls import UrlRefused, check_url

        if not args.token:
            print("连接大厅服务需要设备令牌：--token-file 或 --token（由 kiosk devices enroll 生成）/ "
                  "--token-file or --token is required with --hall", file=sys.stderr)
            return 2
        try:
            url = check_url(args.hall, args.insecure).base()  # the app connects to what was checked
        except UrlRefused as exc:
            print(exc.message, file=sys.stderr)
            return 2
        token = args.token
    elif start_hall is not None:
        embedded = start_hall(args, ROLES[which])
        url, token = embedded.url, embedded.token(ROLES[which])
    else:
        print("需要大厅服务地址 --hall（本命令未接内置大厅）/ --hall is required here", file=sys.stderr)
        return 2
    devices = open_devices(device_config, png_dir=(tour / "printed") if tour else None)
    client = HallClient(http_transport(url, verify=args.ca or True), token)
    app: Any
    if which == "kiosk":
        from kiosk.ui.kiosk.app import KioskApp
        from kiosk.ui.voice.prompts import Guidance

        guide = Guidance(volume=device_config.voice_volume, record_dir=(tour / "voice") if tour else None)
        app = KioskApp(client, devices, tour_dir=tour, demo=embedded, locked=args.fullscreen, guide=guide,
                       voice_mode=device_config.voice_guide)
    elif which == "counter":
        from kiosk.ui.counter.app import CounterApp

        if embedded is not None and (note := embedded.prepare_counter(args.window)):
            print(note, flush=True)
        # the window PC's own folder; with the embedded hall it lives beside that hall's (throwaway) data
        state = Path(args.state) if args.state else (embedded.data / "window-state" if embedded else Path("data/window"))
        app = CounterApp(client, devices, args.window, tour_dir=tour, demo=embedded, state_dir=state)
    elif which == "duty":
        from kiosk.ui.duty.app import DutyApp

        if embedded is not None and tour is not None:
            embedded.prepare_duty()
        app = DutyApp(client, tour_dir=tour, demo=embedded, sound_dir=(tour / "sounds") if tour else None)
    else:
        from kiosk.ui.display.app import DisplayApp
        from kiosk.ui.voice.calls import Voice

        voice = Voice(engine=args.voice, volume=args.volume, repeat=args.repeat,
                      record_dir=(tour / "voice") if tour else None)
        app = DisplayApp(client, voice, tour_dir=tour, demo=embedded)
    if tour is not None:
        from kiosk.ui.tour_runner import Tour

        app.tour = Tour(app, tour, importlib.import_module(f"kiosk.ui.{which}.tour").steps, draw=not args.layout_only)
    if args.contrast == "high":
        from kiosk.ui.palette import HIGH_CONTRAST

        app.palette = HIGH_CONTRAST
        if hasattr(app, "base_palette"):
            app.base_palette = HIGH_CONTRAST
    try:
        app.run()
    finally:
        devices.close()
        if embedded is not None:
            embedded.stop()
    return tour_result(app, tour)


def tour_result(app: Any, tour: Path | None) -> int:
    """A tour whose screens did not all come is a failed tour (exit 1), not a folder of wrong pictures."""
    if tour is None:
        return 0
    if app.tour.draw:
        shots = sorted(p.name for p in tour.glob("*.png"))
        print(f"导览截图 tour screenshots: {len(shots)} in {tour}")
    else:
        print(f"导览版面 tour layouts (not drawn): {app.tour.screens} in {tour / 'tour.json'}")
    if app.tour.missed:
        print(f"导览未完成 tour steps that never reached their screen: {', '.join(app.tour.missed)}", file=sys.stderr)
        return 1
    return 0


def size_arg(text: str) -> tuple[int, int]:
    from kiosk.ui.screen import parse_size

    try:
        return parse_size(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def add_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser],
               run: Callable[[argparse.Namespace], int] = run_app) -> None:
    """``run``: what the command does (kiosk/standalone/apps.py adds the embedded hall)."""
    apps = sub.add_parser("app", help="the Kivy apps").add_subparsers(dest="app_cmd", required=True)
    helps = {"kiosk": "the citizen kiosk", "counter": "a window's terminal (clerk, keypad, ID reader)",
             "duty": "the duty desk (值班台): reports, follow-ups, audit, hall load",
             "display": "the hall's call display board, with voice"}
    for name, text in helps.items():
        p = apps.add_parser(name, help=text)
        p.add_argument("--hall", help="hall service URL; without it an embedded hall runs in this process")
        p.add_argument("--token", help=f"this device's token (kiosk devices enroll --role {ROLES[name]})")
        p.add_argument("--token-file", help="read the token from this file (kiosk provision writes /etc/kiosk/token)")
        p.add_argument("--ca", help="the hall's CA file (kiosk devices enroll --ca-out): https is checked against it")
        p.add_argument("--insecure", action="store_true",
                       help="allow plain http to a hall on another machine (the token then travels in clear)")
        p.add_argument("--tour", help="offscreen: play every flow, write one PNG per screen into this folder, exit")
        p.add_argument("--layout-only", action="store_true",
                       help="with --tour: lay out and record every screen (tour.json) without drawing it: no PNG")
        p.add_argument("--devices", default=str(CONFIG_DIR / "devices.toml"), help="this terminal's devices")
        p.add_argument("--data", help="data folder of the embedded hall")
        p.add_argument("--now", help="the embedded hall's clock (ISO 8601)")
        p.add_argument("--fullscreen", action="store_true", help="deployment: full screen, no cursor")
        p.add_argument("--size", type=size_arg, metavar="WxH",
                       help="the window's size, e.g. 1080x1920 (a portrait kiosk); tours at every screen size")
        p.add_argument("--contrast", choices=["normal", "high"], default="normal",
                       help="start in high contrast (a kiosk for low vision; tours of the palette)")
        if name == "counter":
            p.add_argument("--window", type=int, default=2, help="this terminal's window number")
            p.add_argument("--state", help="this window PC's own folder: ratings waiting for the hall survive "
                                           "a restart here (default data/window)")
        if name == "display":
            p.add_argument("--voice", default="espeak-ng", choices=["espeak-ng", "off"], help="how calls are spoken")
            p.add_argument("--volume", type=int, default=100, help="0-200 (espeak-ng amplitude)")
            p.add_argument("--repeat", type=int, default=2, help="times each call is spoken")
        p.set_defaults(func=run)
