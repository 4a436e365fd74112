"""`kiosk ledger …`: the central ledger's commands that hall-api.md names."""

from __future__ import annotations

import argparse
import dataclasses
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
    from kiosk.ledger.api import MAX_BODY, create_app
    from kiosk.serving import limits_from_args, run_options

    service = _service(args.db)  # the schema is made (or checked) once, before any worker starts
    tls = tls_options(args)
    # the same guard in this process and in every worker (the limits reach workers in the environment)
    guard = run_options(dataclasses.replace(limits_from_args(args), max_body=MAX_BODY,
                                            header_timeout=args.header_timeout))
    scheme = "https" if tls else "http"
    print(f"省级账本已启动 ledger listening on {scheme}://{args.host}:{args.port} ({service.db.kind}, "
          f"{args.workers} worker{'s' if args.workers > 1 else ''})", flush=True)
    if args.workers > 1:  # each worker is a process: hash checks of different halls' batches run in parallel
        import os

        os.environ["KIOSK_LEDGER_DB"] = args.db
        os.environ["KIOSK_LEDGER_NOW"] = args.now or ""
        uvicorn.run("kiosk.ledger.api:app_from_environment", factory=True, workers=args.workers, host=args.host,
                    port=args.port, log_level="warning", access_log=False, **guard, **tls)
        return 0
    clock = HallClock(TZ, parse_now(args.now, TZ) if args.now else None)
    uvicorn.run(create_app(service, clock), host=args.host, port=args.port, log_level="warning", access_log=False,
                **guard, **tls)
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
        password = sys.stdin.readline().rstrip("\r\n")
    _service(args.db).add_user(args.login, args.role, args.region or "", password, datetime.now(TZ))
    scope = "全省 province" if args.role == "province" else f"地区 region {args.region}"
    print(f"已添加监管账号 account added: {args.login}（{scope}）")
    return 0


def cmd_ledger_tokens_add(args: argparse.Namespace) -> int:
    token = _service(args.db).add_token(args.role, args.name, datetime.now(TZ))
    print(f"已添加令牌 token added: {args.name} ({args.role})")
    print(token)
    return 0


def cmd_ledger_tokens_revoke(args: argparse.Namespace) -> int:
    """Withdraw supervisor tokens by name, or a hall's token (a new one is printed for the hall)."""
    service = _service(args.db)
    if args.hall:
        token = service.replace_hall_token(args.hall)
        print(f"大厅 {args.hall} 的旧令牌已作废，新令牌如下（在大厅上 kiosk sync --token-file FILE）/ the hall's old "
              "token no longer works; its new token:")
        print(token)
        return 0
    count = service.revoke_token(args.name, datetime.now(TZ))
    if count == 0:
        print(f"没有名为 {args.name} 的有效令牌 / no live token named {args.name}", file=sys.stderr)
        return 1
    print(f"已撤销 revoked: {args.name}（{count} 个令牌 token{'s' if count > 1 else ''}），立即生效 effective at once")
    return 0


def cmd_ledger_users_remove(args: argparse.Namespace) -> int:
    if not _service(args.db).remove_user(args.login):
        print(f"没有这个账号 / no such account: {args.login}", file=sys.stderr)
        return 1
    print(f"已删除账号，其登录会话已全部结束 account removed, its sessions ended: {args.login}")
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
    from kiosk.serving import add_limit_options

    add_limit_options(serve)
    serve.add_argument("--header-timeout", type=float, default=10.0,
                       help="seconds a client has to send a request's headers (slow clients are cut off)")
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
    trev = tokens.add_parser("revoke", help="withdraw a token at once: supervisor tokens by --name, a hall's by --hall")
    which = trev.add_mutually_exclusive_group(required=True)
    which.add_argument("--name", help="the supervisor token's name (every live token of that name)")
    which.add_argument("--hall", help="a hall: its token is replaced, and the new one printed on the last line")
    trev.add_argument("--db", default=DEFAULT_DB)
    trev.set_defaults(func=cmd_ledger_tokens_revoke)
    users = ledger.add_parser("users", help="people who sign in to the dashboard").add_subparsers(dest="users_cmd",
                                                                                               required=True)
    uadd = users.add_parser("add", help="add or reset an account; the password is read from stdin")
    uadd.add_argument("--login", required=True)
    uadd.add_argument("--role", required=True, choices=["province", "region"])
    uadd.add_argument("--region", help="the region code a region account sees, e.g. 3701")
    uadd.add_argument("--db", default=DEFAULT_DB)
    uadd.set_defaults(func=cmd_ledger_users_add)
    urem = users.add_parser("remove", help="remove an account; its open sessions end at once")
    urem.add_argument("--login", required=True)
    urem.add_argument("--db", default=DEFAULT_DB)
    urem.set_defaults(func=cmd_ledger_users_remove)
    verify = ledger.add_parser("verify", help="re-check every stored chain: exit 0 intact, 1 otherwise")
    verify.add_argument("--db", default=DEFAULT_DB)
    verify.add_argument("--hall")
    verify.set_defaults(func=cmd_ledger_verify)
