"""`kiosk ledger …`: the central ledger's commands that hall-api.md names."""

from __future__ import annotations

import argparse
import sys
from datetime import datetime
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

if TYPE_CHECKING:
    from kiosk.ledger.service import LedgerService

DEFAULT_DB = "sqlite:///ledger/ledger.db"
TZ = ZoneInfo("Asia/Shanghai")


def _service(url: str) -> LedgerService:
    from kiosk.ledger.db import LedgerDB
    from kiosk.ledger.service import LedgerService

    return LedgerService(LedgerDB(url))


def cmd_ledger_serve(args: argparse.Namespace) -> int:
    import uvicorn

    from kiosk.clock import HallClock, parse_now
    from kiosk.ledger.api import create_app

    service = _service(args.db)  # the schema is made (or checked) once, before any worker starts
    tls = tls_options(args)
    scheme = "https" if tls else "http"
    print(f"省级账本已启动 ledger listening on {scheme}://{args.host}:{args.port} ({service.db.kind}, "
          f"{args.workers} worker{'s' if args.workers > 1 else ''})", flush=True)
    if args.workers > 1:  # each worker is a process: hash checks of different halls' batches run in parallel
        import os

        os.environ["KIOSK_LEDGER_DB"] = args.db
        os.environ["KIOSK_LEDGER_NOW"] = args.now or ""
        uvicorn.run("kiosk.ledger.api:app_from_environment", factory=True, workers=args.workers, host=args.host,
                    port=args.port, log_level="warning", access_log=False, **tls)
        return 0
    clock = HallClock(TZ, parse_now(args.now, TZ) if args.now else None)
    from kiosk.httpserve import header_timeout_protocol

    uvicorn.run(create_app(service, clock), host=args.host, port=args.port, log_level="warning", access_log=False,
                http=header_timeout_protocol(10.0), **tls)
    return 0


def tls_options(args: argparse.Namespace) -> dict[str, Any]:
    """uvicorn's TLS settings from --tls-cert/--tls-key (both or neither)."""
    if bool(args.tls_cert) != bool(args.tls_key):
        raise SystemExit("--tls-cert 与 --tls-key 须同时给出 / give both --tls-cert and --tls-key")
    return {"ssl_certfile": args.tls_cert, "ssl_keyfile": args.tls_key} if args.tls_cert else {}


def cmd_ledger_halls_add(args: argparse.Namespace) -> int:
    token = _service(args.db).add_hall(args.hall, args.public_key, datetime.now(TZ), args.name or "", args.region or "")
    print(f"已登记大厅 hall registered: {args.hall}")
    print(token)
    return 0


def cmd_ledger_users_add(args: argparse.Namespace) -> int:
    """A person's dashboard account; the password is read from standard input (never an argument, which
    would stay in the shell's history and the process list)."""
    import getpass

    if sys.stdin.isatty():
        password = getpass.getpass("密码 password: ")
        if getpass.getpass("再输一次 again: ") != password:
            print("两次输入的密码不一致 / the passwords differ", file=sys.stderr)
            return 2
    else:
        password = sys.stdin.readline().rstrip("\n")
    _service(args.db).add_user(args.login, args.role, args.region or "", password, datetime.now(TZ))
    scope = "全省 province" if args.role == "province" else f"地区 region {args.region}"
    print(f"已添加监管账号 account added: {args.login}（{scope}）")
    return 0


def cmd_ledger_tokens_add(args: argparse.Namespace) -> int:
    token = _service(args.db).add_token(args.role, args.name, datetime.now(TZ))
    print(f"已添加令牌 token added: {args.name} ({args.role})")
    print(token)
    return 0


def cmd_ledger_verify(args: argparse.Namespace) -> int:
    bad = 0
    for hall, seq in _service(args.db).verify(args.hall):
        if seq is None:
            print(f"✓ {hall}: 链完整 chain intact")
        else:
            bad += 1
            print(f"✗ {hall}: 第 {seq} 个事件起内容与哈希不符 first bad seq {seq}")
    return 1 if bad else 0


def add_parsers(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    ledger = sub.add_parser("ledger", help="the province's central ledger").add_subparsers(dest="ledger_cmd",
                                                                                           required=True)
    serve = ledger.add_parser("serve", help="run the ledger service")
    serve.add_argument("--db", default=DEFAULT_DB, help="postgresql://… or sqlite:///PATH")
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=int, default=8800)
    serve.add_argument("--now", help="start the ledger clock here (ISO 8601; drills and tests)")
    serve.add_argument("--workers", type=int, default=1, help="server processes (PostgreSQL: one per core)")
    serve.add_argument("--tls-cert", help="serve https with this certificate (PEM)")
    serve.add_argument("--tls-key", help="and this private key (PEM)")
    serve.set_defaults(func=cmd_ledger_serve)
    halls = ledger.add_parser("halls", help="registered halls").add_subparsers(dest="halls_cmd", required=True)
    add = halls.add_parser("add", help="register a hall and its public key; prints the hall's token last")
    add.add_argument("--hall", required=True)
    add.add_argument("--public-key", required=True)
    add.add_argument("--name", help="the hall's name (the 好差评 export's department)")
    add.add_argument("--region", help="administrative region code")
    add.add_argument("--db", default=DEFAULT_DB)
    add.set_defaults(func=cmd_ledger_halls_add)
    tokens = ledger.add_parser("tokens", help="supervisor tokens").add_subparsers(dest="tokens_cmd", required=True)
    tadd = tokens.add_parser("add", help="add a supervisor token; prints it last")
    tadd.add_argument("--role", required=True, choices=["supervisor"])
    tadd.add_argument("--name", required=True)
    tadd.add_argument("--db", default=DEFAULT_DB)
    tadd.set_defaults(func=cmd_ledger_tokens_add)
    users = ledger.add_parser("users", help="people who sign in to the dashboard").add_subparsers(dest="users_cmd",
                                                                                               required=True)
    uadd = users.add_parser("add", help="add or reset an account; the password is read from stdin")
    uadd.add_argument("--login", required=True)
    uadd.add_argument("--role", required=True, choices=["province", "region"])
    uadd.add_argument("--region", help="the region code a region account sees, e.g. 3701")
    uadd.add_argument("--db", default=DEFAULT_DB)
    uadd.set_defaults(func=cmd_ledger_users_add)
    verify = ledger.add_parser("verify", help="re-check every stored chain: exit 0 intact, 1 otherwise")
    verify.add_argument("--db", default=DEFAULT_DB)
    verify.add_argument("--hall")
    verify.set_defaults(func=cmd_ledger_verify)
