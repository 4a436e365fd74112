"""The one ``kiosk`` command. Errors reach the user as a Chinese and English sentence
and an exit code, never as a traceback."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from datetime import date, datetime
from pathlib import Path

from drivers.errors import DeviceError
from kiosk.config_files import DEFAULT_CONFIG, load_config
from kiosk.domain.config import HallConfig
from kiosk.domain.config_problems import ConfigInvalid
from kiosk.domain.errors import DomainError


def _fail(message: str, code: int = 2) -> int:
    print(message, file=sys.stderr)
    return code


def _config(path: str) -> HallConfig:
    return load_config(Path(path))


def cmd_config_check(args: argparse.Namespace) -> int:
    """Every file the product reads (hall, catalog, devices, drill scenarios), each checked as what it is."""
    from kiosk.config_files import KIND_NAMES, check_file
    from kiosk.drill.cli import check_scenario

    bad = 0
    for name in args.files:
        kind, problems, summary = check_file(Path(name), args.today, {"drill": check_scenario})
        label = KIND_NAMES.get(kind or "", "")
        if problems:
            bad += 1
            print(f"✗ {name}{f' [{label}]' if label else ''}: {len(problems)} 处错误 / {len(problems)} problem(s)")
            for problem in problems:
                print(f"  - {problem}")
            continue
        print(f"✓ {name} [{label}]: 配置有效 / valid — {summary}")
    return 1 if bad else 0


def _now(args: argparse.Namespace, config: HallConfig) -> datetime:
    from kiosk.clock import HallClock, parse_now

    start = parse_now(args.now, config.calendar.tz) if getattr(args, "now", None) else None
    return HallClock(config.calendar.tz, start).now()


def cmd_hall_serve(args: argparse.Namespace) -> int:
    from kiosk.hall.server import serve
    from kiosk.serving import limits_from_args

    config = _config(args.config)
    return serve(config, Path(args.data), args.host, args.port, args.now, args.synchronous, args.speed,
                 args.header_timeout, args.tls_cert, args.tls_key, limits_from_args(args))


def cmd_hall_tls_init(args: argparse.Namespace) -> int:
    """The hall's own CA for its LAN and a server certificate for the names the devices use."""
    from kiosk.hall.datadir import master_key
    from kiosk.tls import init_ca

    config = _config(args.config)
    data = Path(args.data)
    master_key(data)  # the secrets folder, made as the hall makes it (mode 0700)
    files = init_ca(data / "secrets", config.name, args.name or [], datetime.now(config.calendar.tz))
    print(f"大厅内网证书已生成 TLS for the hall's LAN: CA {files.ca_cert}")
    print(f"启动：kiosk hall serve --tls-cert {files.cert} --tls-key {files.key}")
    print("设备：登记时取得 CA 文件（kiosk devices enroll --ca-out FILE），应用以 --ca FILE 校验大厅")
    print(files.ca_cert)
    return 0


def cmd_devices_enroll(args: argparse.Namespace) -> int:
    from kiosk.hall import enrolment
    from kiosk.hall.datadir import open_hall

    config = _config(args.config)
    service = open_hall(config, Path(args.data))
    try:
        if args.code:
            code = enrolment.enroll_code(service, args.role, args.name, _now(args, config), args.hours)
        else:
            token = enrolment.enroll_device(service, args.role, args.name, _now(args, config))
    finally:
        service.store.close()
    if args.code:
        print(f"一次性登记码 one-time enrolment code for {args.name} ({args.role}), "
              f"{args.hours} 小时内有效 valid {args.hours} h:")
        print("在新终端上运行 on the new terminal: kiosk provision --role ROLE --hall URL --enroll CODE")
        print(code)
        return 0
    print(f"已登记设备 enrolled: {args.name} ({args.role})")
    if args.ca_out:  # the device receives the hall's CA with its token: it then trusts only this hall
        from kiosk.tls import files_in

        ca = files_in(Path(args.data) / "secrets").ca_cert
        if not ca.exists():
            return _fail("还没有大厅 CA：请先运行 kiosk hall tls init / no hall CA yet: run kiosk hall tls init")
        Path(args.ca_out).write_bytes(ca.read_bytes())
        print(f"CA 证书已写入 CA certificate written: {args.ca_out}")
    print(token)
    return 0


def cmd_devices_list(args: argparse.Namespace) -> int:
    """The hall's devices, live and withdrawn (never a token: only their hashes are kept)."""
    from kiosk.hall import credentials
    from kiosk.hall.datadir import open_hall

    service = open_hall(_config(args.config), Path(args.data))
    try:
        devices = credentials.list_devices(service)
    finally:
        service.store.close()
    print(f"{'名称 name':<24} {'角色 role':<12} {'登记 enrolled':<30} 状态 state")
    for d in devices:
        state = f"已撤销 revoked {d['revoked_at'] or ''}".strip() if d["revoked"] else "有效 active"
        print(f"{d['name']:<24} {d['role']:<12} {d['enrolled_at']:<30} {state}")
    return 0


def cmd_devices_revoke(args: argparse.Namespace) -> int:
    """Withdraw a device's token: refused from the next request on, the hall running or not."""
    from kiosk.hall import credentials
    from kiosk.hall.datadir import open_hall

    config = _config(args.config)
    service = open_hall(config, Path(args.data))
    try:
        count = credentials.revoke_devices(service, args.name, _now(args, config))
    finally:
        service.store.close()
    if count == 0:
        return _fail(f"没有名为 {args.name} 的有效设备（kiosk devices list 可查）/ no live device named {args.name}", 1)
    print(f"已撤销 revoked: {args.name}（{count} 个令牌或未用的登记码 token(s) or unused code(s)），"
          "立即生效 effective at once")
    return 0


def read_secret(prompt: str, again: str | None = None) -> str:
    """A secret typed at a prompt (not echoed), or the first line of standard input when it is not a terminal:
    never from the command line, where `ps` and the shell's history show it to other users."""
    import getpass

    if sys.stdin.isatty():
        secret = getpass.getpass(prompt)
        if again is not None and getpass.getpass(again) != secret:
            raise SystemExit("两次输入不一致 / the two entries differ")
        return secret
    return sys.stdin.readline().rstrip("\r\n")


def cmd_clerks_add(args: argparse.Namespace) -> int:
    from kiosk.hall import enrolment
    from kiosk.hall.datadir import open_hall

    if args.pin is not None:  # still accepted (outside tools use it); the prompt or stdin is the way
        print("⚠ --pin 出现在命令行上，本机其他用户可以看到；请改为按提示输入或从标准输入读取 / --pin is visible to "
              "other users of this machine (ps, shell history): type it at the prompt or pipe it on stdin instead",
              file=sys.stderr)
        pin = args.pin
    else:
        pin = read_secret("PIN: ", "再输一次 again: ")
    config = _config(args.config)
    service = open_hall(config, Path(args.data))
    try:
        enrolment.add_clerk(service, args.id, args.name, pin, _now(args, config))
    finally:
        service.store.close()
    print(f"已添加窗口人员 clerk added: {args.id} {args.name}")
    return 0


def _common(p: argparse.ArgumentParser) -> None:
    p.add_argument("--config", default=str(DEFAULT_CONFIG), help="hall.toml")
    p.add_argument("--data", default="data", help="the hall's data directory (database, keys, logs)")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="kiosk", description="不动产登记大厅 registry hall product")
    sub = parser.add_subparsers(dest="command", required=True)

    hall = sub.add_parser("hall", help="the hall service").add_subparsers(dest="hall_cmd", required=True)
    serve = hall.add_parser("serve", help="run the hall service")
    _common(serve)
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=int, default=8700)
    serve.add_argument("--now", help="start the hall clock at this ISO 8601 time (drills, tests)")
    serve.add_argument("--header-timeout", type=float, default=10.0,
                       help="seconds a client has to send a request's headers (slow clients are cut off)")
    serve.add_argument("--speed", default="1", help="the hall clock runs this many times faster than real time (drills)")
    from kiosk.serving import add_limit_options

    add_limit_options(serve)
    serve.add_argument("--tls-cert", help="serve https with this certificate (kiosk hall tls init makes one)")
    serve.add_argument("--tls-key", help="and this private key")
    serve.add_argument("--synchronous", default="FULL", choices=["FULL", "NORMAL"],
                       help="SQLite durability (FULL: every committed ticket survives power loss)")
    serve.set_defaults(func=cmd_hall_serve)

    tls = hall.add_parser("tls", help="TLS for the hall's LAN").add_subparsers(dest="tls_cmd", required=True)
    tls_init = tls.add_parser("init", help="make the hall's CA and a server certificate (last line: the CA file)")
    _common(tls_init)
    tls_init.add_argument("--name", action="append", help="a host name or IP the devices use (repeatable)")
    tls_init.set_defaults(func=cmd_hall_tls_init)

    devices = sub.add_parser("devices", help="devices").add_subparsers(dest="devices_cmd", required=True)
    enroll = devices.add_parser("enroll", help="enroll a device; prints its token on the last line")
    _common(enroll)
    enroll.add_argument("--role", required=True, choices=["kiosk", "counter", "display", "supervisor"])
    enroll.add_argument("--name", required=True)
    enroll.add_argument("--ca-out", help="also write the hall's CA certificate here, for the device")
    enroll.add_argument("--code", action="store_true",
                        help="print a short one-time code for `kiosk provision --enroll CODE` instead of a token")
    enroll.add_argument("--hours", type=int, default=24, help="how long the code stays valid (with --code)")
    enroll.set_defaults(func=cmd_devices_enroll)

    listing = devices.add_parser("list", help="the hall's devices, live and revoked")
    _common(listing)
    listing.set_defaults(func=cmd_devices_list)
    revoke = devices.add_parser("revoke", help="withdraw a device's token (at once, the hall running or not)")
    _common(revoke)
    revoke.add_argument("--name", required=True)
    revoke.set_defaults(func=cmd_devices_revoke)

    from kiosk.devices_cli import add_parsers

    add_parsers(devices)

    clerks = sub.add_parser("clerks", help="window clerks").add_subparsers(dest="clerks_cmd", required=True)
    add = clerks.add_parser("add", help="add or update a clerk; the PIN is asked for (or read from stdin)")
    _common(add)
    add.add_argument("--id", required=True)
    add.add_argument("--name", required=True)
    add.add_argument("--pin", help="the PIN on the command line (visible to other users: prefer the prompt or stdin)")
    add.set_defaults(func=cmd_clerks_add)

    config = sub.add_parser("config", help="configuration").add_subparsers(dest="config_cmd", required=True)
    check = config.add_parser("check", help="validate hall configuration files")
    check.add_argument("files", nargs="+")
    check.add_argument("--today", type=date.fromisoformat, help="look ahead from this date (default: today)")
    check.set_defaults(func=cmd_config_check)

    from kiosk.ledger.cli import add_parsers as add_ledger_parsers
    from kiosk.sync_cli import add_parsers as add_sync_parsers

    add_ledger_parsers(sub)
    add_sync_parsers(sub, hall, _common)
    from kiosk.drill.cli import add_parser as add_drill_parser
    from kiosk.standalone.drill_hall import own_hall

    add_drill_parser(sub, own_hall())
    from kiosk.standalone.apps import add_parser as add_app_parser

    add_app_parser(sub)
    from kiosk.provision import add_parser as add_provision_parser

    add_provision_parser(sub)

    demo = sub.add_parser("demo", help="the embedded default: everything on this machine")
    demo.add_argument("--data", default="data/demo")
    demo.add_argument("--port", type=int, default=8700)
    demo.add_argument("--window", action="store_true", help="open the kiosk window even if no display is detected")
    demo.set_defaults(func=cmd_demo)
    return parser


def cmd_demo(args: argparse.Namespace) -> int:
    """With a screen: the kiosk app on an embedded hall and simulated devices. Without: the hall service."""
    import os

    from kiosk.ui.screen import x_screen_size

    display = os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY")
    if args.window or (os.environ.get("DISPLAY") and x_screen_size(wait=2.0, hold=True) is not None):
        from kiosk.standalone.apps import run_app

        # through the app's own parser, so that every option it has gets its default (a hand-made Namespace
        # missed the three added later, and the demo crashed on any machine with a screen)
        return run_app(build_parser().parse_args(["app", "kiosk", "--data", args.data]))
    from kiosk.standalone.demo import run_demo

    if display:  # set, but no X answers there (a stale DISPLAY, an X session that ended, Wayland without Xwayland)
        print(f"显示器 {display} 连接不上 the display {display} cannot be reached.")
    print("没有显示器：只启动大厅服务。看取号机界面：kiosk app kiosk --tour DIR（每个界面一张截图）。")
    print("No display: running the hall service only. To see the kiosk: kiosk app kiosk --tour DIR.")
    return run_demo(Path(args.data), args.port)


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    func: Callable[[argparse.Namespace], int] = args.func
    try:
        return func(args)
    except ConfigInvalid as exc:
        print("配置文件有错误，请先修正 / The configuration has errors:", file=sys.stderr)
        for problem in exc.problems:
            print(f"  - {problem}", file=sys.stderr)
        return 2
    except DomainError as exc:
        return _fail(f"✗ {exc.message} / {exc.message_en}")
    except DeviceError as exc:
        return _fail(f"✗ {exc.message}\n  {exc.message_en}", 1)
    except OSError as exc:
        return _fail(f"无法访问文件或端口：{exc.strerror} / cannot access a file or port: {exc}")
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
