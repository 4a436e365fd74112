"""`kiosk provision`: a fresh Debian machine becomes a hall terminal in one command.

    kiosk provision --role kiosk --hall https://hall.lan:8700 --enroll K7Q2M-X9PDR \\
        --device printer=0fe6:811e --device idcard=10c4:ea60 --device scanner=1eab:8003

It exchanges the short one-time code the hall printed (`kiosk devices enroll --code`) for the terminal's
token, then writes what a terminal needs, and nothing else:
- a system user for the session (systemd-sysusers), in the groups for serial ports, touch, GPU and sound;
- udev rules that give each serial device a stable name by its USB id (/dev/kiosk/printer, …), so that a
  device moved to another USB port is still found;
- /etc/kiosk/devices.toml pointing at those names, the token (readable by the terminal's user only);
- a systemd unit that runs the app full screen in a bare session (cage, the Wayland kiosk compositor, or a
  bare X server) and restarts it if it ever stops, enabled for the graphical target.

``--root`` writes into another folder instead of / (an image being built; the tests' throwaway root).
Run as root on the machine itself, it also installs the session's packages when they are missing (cage and
xwayland, or xserver-xorg and xinit), reloads udev and systemd and starts the terminal.
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import requests

from kiosk.domain.errors import KioskError

SERIAL_DEVICES = ("printer", "idcard", "scanner", "keypad")
USB_ID = re.compile(r"^([0-9a-fA-F]{4}):([0-9a-fA-F]{4})$")
UNIT = "kiosk-terminal.service"


class ProvisionFailed(KioskError):
    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


@dataclass(frozen=True)
class Plan:
    role: str
    hall: str
    user: str
    session: str  # cage | x
    window: int | None
    devices: dict[str, tuple[str, str]]  # name → (vendor, product)
    kiosk_bin: str
    ca: str | None


def parse_devices(items: list[str]) -> dict[str, tuple[str, str]]:
    out: dict[str, tuple[str, str]] = {}
    for item in items:
        name, _, usb = item.partition("=")
        match = USB_ID.match(usb.strip())
        if name not in SERIAL_DEVICES or match is None:
            raise ProvisionFailed(f"设备应写成 名称=厂商ID:产品ID，名称为 {'、'.join(SERIAL_DEVICES)}，如 printer=0fe6:811e"
                                  f"（lsusb 可查）/ a device is NAME=VENDOR:PRODUCT, e.g. printer=0fe6:811e: {item!r}")
        out[name] = (match.group(1).lower(), match.group(2).lower())
    return out


def checked_hall(url: str, insecure: bool) -> str:
    """The hall's address as checked (kiosk/urls.py): the code and the token never travel in clear to another
    machine unless the technician says --insecure."""
    from kiosk.urls import UrlRefused, check_url

    try:
        return check_url(url, insecure).base()
    except UrlRefused as exc:
        raise ProvisionFailed(exc.message) from None


TOKEN_SHAPE = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_-]{15,199}$")


def redeem(hall: str, code: str, role: str, ca: str | None) -> dict[str, str]:
    """The terminal's token for the hall's one-time code, or a sentence saying what to do. What the hall answers
    is checked before any of it is written: a token is URL-safe text (never a control character, a space or a
    leading dash), the name and hall id are one line of text."""
    try:
        reply = requests.post(f"{hall}/api/v1/devices/enroll", json={"code": code, "role": role}, timeout=15,
                              verify=ca or True, allow_redirects=False)
    except requests.RequestException as exc:
        raise ProvisionFailed(f"连不上大厅服务 {hall}：请检查网络和地址 / cannot reach the hall at {hall} "
                              f"({exc.__class__.__name__})") from None
    if reply.status_code != 201:
        try:
            error = reply.json()["error"]
            said = f"{error['message']} / {error['message_en']}"
        except (ValueError, KeyError, TypeError):
            said = f"HTTP {reply.status_code}"
        raise ProvisionFailed(f"登记失败 / enrolment refused: {said}")
    try:
        body = reply.json()
    except ValueError:
        body = None
    if not isinstance(body, dict) or not all(isinstance(body.get(k), str) for k in ("token", "name", "hall")):
        raise ProvisionFailed("大厅的答复不完整 / the hall's answer lacks the token, name or hall id")
    if not TOKEN_SHAPE.match(body["token"]):
        raise ProvisionFailed("大厅发来的令牌含有不允许的字符，未写入 / the token the hall sent has characters a token "
                              "never has (control characters, spaces, a leading dash): nothing was written")
    for key in ("name", "hall"):
        if len(body[key]) > 200 or any(ch < " " or ch == "\x7f" for ch in body[key]):
            raise ProvisionFailed(f"大厅发来的 {key} 含有控制字符，未写入 / the hall's {key} has control characters: "
                                  "nothing was written")
    return {"token": body["token"], "name": body["name"], "hall": body["hall"]}


def terminal_toml(plan: Plan, enrolled: dict[str, str]) -> str:
    """/etc/kiosk/terminal.toml through tomlkit: every value escaped, whatever the hall's answer holds."""
    import tomlkit

    doc = tomlkit.document()
    doc.add(tomlkit.comment("kiosk provision"))
    for key, value in (("name", enrolled["name"]), ("role", plan.role), ("hall", plan.hall),
                       ("hall_id", enrolled["hall"])):
        doc.add(key, value)
    return tomlkit.dumps(doc)


def sysusers(plan: Plan) -> str:
    groups = ["dialout", "video", "render", "input", "audio", "tty"]
    lines = [f'u {plan.user} - "不动产登记大厅终端 registry hall terminal" /var/lib/{plan.user} /usr/sbin/nologin']
    lines += [f"m {plan.user} {group}" for group in groups]
    return "\n".join(lines) + "\n"


def udev_rules(plan: Plan) -> str:
    lines = ["# Stable names for this terminal's serial devices, by USB id (kiosk provision)."]
    for name, (vendor, product) in sorted(plan.devices.items()):
        lines.append(f'SUBSYSTEM=="tty", ATTRS{{idVendor}}=="{vendor}", ATTRS{{idProduct}}=="{product}", '
                     f'SYMLINK+="kiosk/{name}", GROUP="dialout", MODE="0660"')
    return "\n".join(lines) + "\n"


def devices_toml(plan: Plan, template: str) -> str:
    """The shipped devices.toml with every provisioned device at its stable name; others stay simulated."""
    text = template
    ports = {"printer": ("url", "serial:///dev/kiosk/printer?baud=9600"), "idcard": ("port", "/dev/kiosk/idcard"),
             "scanner": ("port", "/dev/kiosk/scanner"), "keypad": ("port", "/dev/kiosk/keypad")}
    for name in plan.devices:
        key, value = ports[name]
        text = re.sub(rf"(\[{name}\][^\[]*?\n){key} = \"[^\"]*\"", rf'\g<1>{key} = "{value}"', text, count=1,
                      flags=re.S)
    return text


def command(plan: Plan) -> list[str]:
    args = [plan.kiosk_bin, "app", plan.role, "--hall", plan.hall, "--token-file", "/etc/kiosk/token",
            "--devices", "/etc/kiosk/devices.toml", "--fullscreen"]
    if plan.window is not None:
        args += ["--window", str(plan.window)]
    if plan.ca:
        args += ["--ca", "/etc/kiosk/hall-ca.pem"]
    from kiosk.urls import check_url

    hall = check_url(plan.hall, insecure=True)
    if hall.scheme == "http" and not hall.loopback:  # allowed at provisioning (--insecure): the app must be told too
        args += ["--insecure"]
    return args


def unit(plan: Plan) -> str:
    app = " ".join(command(plan))
    if plan.session == "cage":
        start = f"/usr/bin/cage -s -- {app}"
        session = "Environment=XDG_SESSION_TYPE=wayland\n"
    else:
        # -noreset: an X server resets when its last client leaves, and refuses connections meanwhile
        start = f"/usr/bin/xinit {app} -- /usr/bin/X :0 vt1 -nolisten tcp -nocursor -s 0 -dpms -noreset"
        session = "Environment=XDG_SESSION_TYPE=x11\n"
    return f"""[Unit]
Description=不动产登记大厅终端 registry hall terminal ({plan.role})
After=network-online.target systemd-user-sessions.service
Wants=network-online.target
Conflicts=getty@tty1.service

[Service]
User={plan.user}
PAMName=login
TTYPath=/dev/tty1
StandardInput=tty
StandardOutput=journal
{session}ExecStart={start}
Restart=always
RestartSec=3
UtmpIdentifier=tty1
# open files: the app's connections to the hall, its devices and fonts, well inside systemd's soft default (1024)
LimitNOFILE=4096

[Install]
WantedBy=graphical.target
"""


def write(root: Path, relative: str, text: str, mode: int = 0o644) -> Path:
    path = root / relative.lstrip("/")
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(path.suffix + ".tmp")
    tmp.unlink(missing_ok=True)  # a leftover keeps its old mode through O_TRUNC: start afresh
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, mode)  # the token is never readable by others,
    os.fchmod(fd, mode)  # not even for a moment (and the umask does not decide the mode)
    with os.fdopen(fd, "w", encoding="utf-8") as fh:
        fh.write(text)
    tmp.replace(path)
    return path


def provision(plan: Plan, code: str, root: Path, template: str) -> list[Path]:
    enrolled = redeem(plan.hall, code, plan.role, plan.ca)  # first: nothing is written unless the hall said yes
    written = [
        write(root, "/etc/sysusers.d/kiosk.conf", sysusers(plan)),
        write(root, "/etc/udev/rules.d/70-kiosk-devices.rules", udev_rules(plan)),
        write(root, "/etc/kiosk/devices.toml", devices_toml(plan, template)),
        write(root, "/etc/kiosk/terminal.toml", terminal_toml(plan, enrolled)),
        write(root, "/etc/kiosk/token", enrolled["token"] + "\n", 0o600),
        write(root, f"/etc/systemd/system/{UNIT}", unit(plan)),
    ]
    if plan.ca:
        written.append(write(root, "/etc/kiosk/hall-ca.pem", Path(plan.ca).read_text(encoding="utf-8")))
    wants = root / "etc/systemd/system/graphical.target.wants"
    wants.mkdir(parents=True, exist_ok=True)
    link = wants / UNIT
    if not link.is_symlink():
        link.symlink_to(f"/etc/systemd/system/{UNIT}")  # what `systemctl enable` makes
    written.append(link)
    return written


# The session's programs and the Debian packages that bring them. Under cage the app is an Xwayland client
# (Kivy's SDL has no Wayland driver): without xwayland it would have no screen at all.
SESSION_PROGRAMS = {"cage": ("cage", "Xwayland"), "x": ("xinit", "X")}
SESSION_PACKAGES = {"cage": ("cage", "xwayland"), "x": ("xserver-xorg", "xinit")}


def install_session(plan: Plan) -> list[str]:
    """The apt-get command that installs the session, or [] when its programs are all here."""
    if all(shutil.which(program) for program in SESSION_PROGRAMS[plan.session]):
        return []
    return ["apt-get", "install", "-y", "--no-install-recommends", *SESSION_PACKAGES[plan.session]]


def run_quietly(step: list[str]) -> int:
    return subprocess.run(step, capture_output=True, env={**os.environ, "DEBIAN_FRONTEND": "noninteractive"}).returncode


def activate(plan: Plan, root: Path, run: Callable[[list[str]], int] = run_quietly,
             as_root: bool | None = None) -> tuple[list[str], list[str]]:
    """On the machine itself, as root: install the session, create the user, give it the token, reload udev and
    systemd, start. The steps that ran, and those that failed (a step whose program this machine lacks, such
    as udevadm in a container, is neither)."""
    done: list[str] = []
    failed: list[str] = []
    if root != Path("/") or not (os.geteuid() == 0 if as_root is None else as_root):
        return done, failed
    install = install_session(plan)
    steps = ([install] if install else []) + [
        ["systemd-sysusers"], ["chown", plan.user, "/etc/kiosk/token"], ["udevadm", "control", "--reload"],
        ["udevadm", "trigger", "--subsystem-match=tty"], ["systemctl", "daemon-reload"],
        ["systemctl", "set-default", "graphical.target"], ["systemctl", "restart", UNIT]]
    for step in steps:
        if shutil.which(step[0]):
            (done if run(step) == 0 else failed).append(" ".join(step))
    return done, failed


def cmd_provision(args: argparse.Namespace) -> int:
    from kiosk.config_files import DEFAULT_CONFIG

    try:
        if args.role == "counter" and args.window is None:
            raise ProvisionFailed("窗口终端需要 --window 窗口号 / a counter needs --window N")
        kiosk_bin = args.kiosk_bin or str(Path(sys.executable).with_name("kiosk"))
        plan = Plan(args.role, checked_hall(args.hall, args.insecure), args.user, args.session, args.window,
                    parse_devices(args.device or []), kiosk_bin, args.ca)
        template = (DEFAULT_CONFIG.parent / "devices.toml").read_text(encoding="utf-8")
        root = Path(args.root)
        written = provision(plan, args.enroll, root, template)
    except ProvisionFailed as exc:
        print(f"✗ {exc.message}", file=sys.stderr)
        return 1
    print(f"✓ 已登记并配置本终端 provisioned this {args.role} for {plan.hall}:")
    for path in written:
        print(f"  {path}")
    steps, failed = activate(plan, root)
    if failed:  # the code is spent: say what to run by hand rather than to provision again
        print("✗ 未能执行，请手动运行后 systemctl restart kiosk-terminal / these failed; run them by hand, then "
              f"restart the unit: {'; '.join(failed)}", file=sys.stderr)
    if steps:
        print("已执行 ran: " + "; ".join(steps))
    if not steps and not failed:
        packages = " ".join(SESSION_PACKAGES[plan.session])
        print(f"在目标机器上以 root 运行 on the target, as root: apt-get install -y {packages} && systemd-sysusers && "
              f"udevadm control --reload && udevadm trigger && systemctl daemon-reload && systemctl restart {UNIT}")
    return 1 if failed else 0


def add_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser("provision", help="make this machine a hall terminal: user, session, service, udev, enrol")
    p.add_argument("--role", required=True, choices=["kiosk", "counter", "display"])
    p.add_argument("--hall", required=True, help="the hall service's URL, e.g. https://hall.lan:8700")
    p.add_argument("--enroll", required=True, metavar="CODE", help="the one-time code from kiosk devices enroll --code")
    p.add_argument("--window", type=int, help="the window number (a counter)")
    p.add_argument("--device", action="append", metavar="NAME=VENDOR:PRODUCT",
                   help="a serial device by its USB id (lsusb), e.g. printer=0fe6:811e; repeat for each")
    p.add_argument("--session", choices=["cage", "x"], default="cage",
                   help="cage (Wayland kiosk compositor, the default) or a bare X server")
    p.add_argument("--user", default="kiosk", help="the system user the session runs as")
    p.add_argument("--ca", help="the hall's CA certificate (https with the hall's own CA)")
    p.add_argument("--insecure", action="store_true",
                   help="allow a plain http hall on another machine (the code and the token then travel in clear)")
    p.add_argument("--root", default="/", help="write into this folder instead of / (an image, a test)")
    p.add_argument("--kiosk-bin", help="the kiosk command the service runs (default: this one)")
    p.set_defaults(func=cmd_provision)
