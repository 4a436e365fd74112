"""`kiosk hall public-key` and `kiosk sync`: the hall's side of the ledger (hall-api.md)."""

from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Callable
from pathlib import Path

from kiosk.config_files import load_config

log = logging.getLogger("kiosk.sync")


def cmd_hall_public_key(args: argparse.Namespace) -> int:
    from kiosk.hall.datadir import open_hall
    from kiosk.sync.pusher import public_key

    service = open_hall(load_config(Path(args.config)), Path(args.data))
    try:
        key = public_key(service)
    finally:
        service.store.close()
    print(f"大厅 {service.config.hall_id} 的事件签名公钥 event-signing public key:")
    print(key)
    return 0


def cmd_sync(args: argparse.Namespace) -> int:
    from kiosk.hall.datadir import open_hall
    from kiosk.sync.pusher import Pusher, SyncStopped, http_transport, save_target, saved_target
    from kiosk.tls import PlainHttpRefused, check_transport, is_loopback

    data = Path(args.data)
    target = saved_target(data) or {}
    url, token = args.ledger or target.get("url"), args.token or target.get("token")
    ca = args.ca or target.get("ca")
    insecure = bool(args.insecure or target.get("insecure"))
    if url:
        try:
            check_transport(url, insecure)
        except PlainHttpRefused as exc:
            print(str(exc), file=sys.stderr)
            return 2
        if insecure and not is_loopback(url):
            log.warning("syncing to %s over plain http (--insecure)", url)
            print(f"⚠ 明文同步（--insecure）/ plain http sync to {url}", file=sys.stderr)
    if not url or not token:
        print("第一次同步需要 --ledger URL 和 --token TOKEN（kiosk ledger halls add 打印的令牌）/ "
              "the first sync needs --ledger and --token", file=sys.stderr)
        return 2
    if args.ledger or args.token:
        save_target(data, url, token, args.batch, ca, insecure)  # the hall service's background worker uses it
    service = open_hall(load_config(Path(args.config)), data)
    try:
        pusher = Pusher(service, url, token, batch=args.batch, transport=http_transport(verify=ca or True))

        def progress(done: int, total: int) -> None:
            print(f"\r同步中 syncing {done}/{total}", end="", flush=True)

        if not args.once:
            import threading

            print("持续同步中（Ctrl-C 退出）/ syncing continuously", flush=True)
            pusher.run(threading.Event())
            if pusher.stopped:
                raise pusher.stopped
            return 0
        pusher.catch_up(progress)
        print(f"\n账本已持有全部 {pusher.synced} 个事件 the ledger holds all {pusher.synced} events")
        return 0
    except SyncStopped as exc:
        print(f"\n同步已停止，需要人工处理 sync stopped: {exc.code} {exc.message}", file=sys.stderr)
        return 1
    finally:
        service.store.close()


def add_parsers(sub: argparse._SubParsersAction[argparse.ArgumentParser],
                hall: argparse._SubParsersAction[argparse.ArgumentParser],
                common: Callable[[argparse.ArgumentParser], None]) -> None:
    key = hall.add_parser("public-key", help="print the hall's event-signing public key (last line)")
    common(key)
    key.set_defaults(func=cmd_hall_public_key)

    sync = sub.add_parser("sync", help="push committed events to the ledger")
    common(sync)
    sync.add_argument("--once", action="store_true", help="push everything committed so far, then exit")
    sync.add_argument("--ledger", help="the ledger's URL (remembered in the data directory)")
    sync.add_argument("--token", help="the hall's ledger token (remembered in the data directory)")
    sync.add_argument("--batch", type=int, default=1000)
    sync.add_argument("--ca", help="verify the ledger's certificate against this CA file (remembered)")
    sync.add_argument("--insecure", action="store_true",
                      help="allow plain http to a ledger that is not on this machine (logged; remembered)")
    sync.set_defaults(func=cmd_sync)
