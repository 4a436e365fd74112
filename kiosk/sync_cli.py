"""`kiosk hall public-key` and `kiosk sync`: the hall's side of the ledger (hall-api.md). This is where a
hall's store and keys are wired to the sync pusher, which knows nothing of the hall but its outbox."""

from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Callable
from pathlib import Path

from kiosk.config_files import load_config

log = logging.getLogger("kiosk.sync")


def cmd_hall_public_key(args: argparse.Namespace) -> int:
    from kiosk.domain import signing
    from kiosk.hall.datadir import open_hall

    service = open_hall(load_config(Path(args.config)), Path(args.data))
    try:
        key = signing.public_key_text(signing.event_signing_key(service.master_key))
    finally:
        service.store.close()
    print(f"大厅 {service.config.hall_id} 的事件签名公钥 event-signing public key:")
    print(key)
    return 0


def cmd_sync(args: argparse.Namespace) -> int:
    from kiosk.domain.signing import event_signing_key
    from kiosk.hall.datadir import open_hall
    from kiosk.sync.pusher import Pusher, SyncStopped, save_target, saved_target
    from kiosk.urls import UrlRefused, check_url

    data = Path(args.data)
    target = saved_target(data) or {}
    given = read_token(args)
    if given is not None and not given:
        return 2
    url, token = args.ledger or target.get("url"), given or target.get("token")
    ca = args.ca or target.get("ca")
    insecure = bool(args.insecure or target.get("insecure"))
    if url:
        try:  # the saved address too: a file edited by hand is checked like an argument
            checked = check_url(url, insecure)
        except UrlRefused as exc:
            print(exc.message, file=sys.stderr)
            return 2
        url = checked.base()  # what was checked is what is connected to
        if checked.scheme == "http" and not checked.loopback:
            log.warning("syncing to %s over plain http (--insecure)", url)
            print(f"⚠ 明文同步（--insecure）/ plain http sync to {url}", file=sys.stderr)
    if not url or not token:
        print("第一次同步需要 --ledger URL 和 --token TOKEN（kiosk ledger halls add 打印的令牌）/ "
              "the first sync needs --ledger and --token", file=sys.stderr)
        return 2
    if args.ledger or given:
        save_target(data, url, token, args.batch, ca, insecure)  # the hall service's background worker uses it
    service = open_hall(load_config(Path(args.config)), data)
    try:
        pusher = Pusher(service.store, service.config.hall_id, event_signing_key(service.master_key), url, token,
                        batch=args.batch, verify=ca or True)

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


def read_token(args: argparse.Namespace) -> str | None:
    """--token, or the first line of --token-file (not on the command line, where `ps` shows it); None when
    neither is given, "" (after saying why) when the file cannot be read or holds no token."""
    if args.token_file:
        try:
            token = Path(args.token_file).read_text(encoding="utf-8").strip()
        except OSError as exc:
            print(f"无法读取令牌文件 cannot read the token file {args.token_file}: {exc.strerror}", file=sys.stderr)
            return ""
        if not token or any(ch <= " " for ch in token):
            print(f"令牌文件应只含一个令牌 the token file must hold one token: {args.token_file}", file=sys.stderr)
            return ""
        return token
    given: str | None = args.token
    return given


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
    token = sync.add_mutually_exclusive_group()
    token.add_argument("--token", help="the hall's ledger token (remembered in the data directory)")
    token.add_argument("--token-file", help="read the token from this file (not on the command line, where ps shows it)")
    sync.add_argument("--batch", type=int, default=1000)
    sync.add_argument("--ca", help="verify the ledger's certificate against this CA file (remembered)")
    sync.add_argument("--insecure", action="store_true",
                      help="allow plain http to a ledger that is not on this machine (logged; remembered)")
    sync.set_defaults(func=cmd_sync)
