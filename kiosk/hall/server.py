"""Running the hall service process: config, data directory, clock, HTTP server."""

from __future__ import annotations

import dataclasses
import gc
import sys
import threading
from pathlib import Path
from typing import Any

import uvicorn

from kiosk.clock import HallClock, parse_now, parse_speed
from kiosk.domain.config import HallConfig
from kiosk.hall.api import MAX_BODY, create_app
from kiosk.hall.datadir import open_hall, setup_logging
from kiosk.serving import Limits, run_options
from kiosk.sync.pusher import Pusher, saved_target


def serve(config: HallConfig, data: Path, host: str, port: int, now: str | None = None,
          synchronous: str = "FULL", speed: str | float = 1.0, header_timeout: float = 10.0,
          tls_cert: str | None = None, tls_key: str | None = None, limits: Limits | None = None) -> int:
    start = None
    try:
        factor = parse_speed(speed)
    except ValueError as exc:
        print(str(exc), file=sys.stderr)
        return 2
    if now:
        try:
            start = parse_now(now, config.calendar.tz)
        except ValueError:
            print(f"--now 应为 ISO 8601 时间，如 2026-11-23T09:30:00+08:00 / --now must be ISO 8601: {now}",
                  file=sys.stderr)
            return 2
    service = open_hall(config, data, synchronous)
    setup_logging(data)
    clock = HallClock(config.calendar.tz, start, factor)
    app = create_app(service, clock)
    stop = threading.Event()
    target = saved_target(data)
    if target is not None:  # registered with a ledger (kiosk sync --ledger … --token … did it once)
        from kiosk.urls import UrlRefused, check_url

        try:
            check_url(target["url"], bool(target.get("insecure")))  # a file edited by hand is checked like an argument
        except UrlRefused as exc:
            print(f"不同步 not syncing: {exc.message}", file=sys.stderr, flush=True)
            target = None
    if target is not None:
        from kiosk.domain.signing import event_signing_key

        pusher = Pusher(service.store, config.hall_id, event_signing_key(service.master_key), target["url"],
                        target["token"], batch=int(target.get("batch", 1000)), verify=target.get("ca") or True)
        threading.Thread(target=pusher.run, args=(stop,), name="sync", daemon=True).start()
        print(f"同步到省级账本 syncing to the ledger at {target['url']}", flush=True)
    gc.collect()
    gc.freeze()  # start-up objects never need scanning again: fewer, shorter collector pauses under load
    if bool(tls_cert) != bool(tls_key):
        print("--tls-cert 与 --tls-key 须同时给出 / give both --tls-cert and --tls-key", file=sys.stderr)
        return 2
    tls: dict[str, Any] = {"ssl_certfile": tls_cert, "ssl_keyfile": tls_key} if tls_cert else {}
    print(f"大厅服务已启动 hall service {config.hall_id} listening on {'https' if tls else 'http'}://{host}:{port} "
          f"(data {data.resolve()}, clock {service.iso(clock.now())}"
          f"{f', speed ×{factor:g}' if factor != 1 else ''})", flush=True)
    try:
        # keep-alive as before (30 s: a kiosk between two citizens keeps its connection); an idle connection
        # makes way for a new one when a cap is reached, so a longer keep-alive costs no kiosk its ticket
        guard = dataclasses.replace(limits or Limits(), header_timeout=header_timeout, max_body=MAX_BODY,
                                    keep_alive=30.0)
        uvicorn.run(app, host=host, port=port, log_level="warning", access_log=False, loop="uvloop",
                    timeout_graceful_shutdown=3,  # long polls (displays, phones) do not hold a restart for 25 s
                    **run_options(guard), **tls)
    finally:
        stop.set()
        service.store.close()
    return 0
