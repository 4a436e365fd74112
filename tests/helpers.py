"""Shared test helpers: valid ID numbers, a service-level hall with the clock in hand, and
a real hall service process on loopback."""

from __future__ import annotations

import dataclasses
import json
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import requests

from kiosk.config_files import DEFAULT_CONFIG, load_config
from kiosk.contract.requests import Login
from kiosk.domain.config import HallConfig
from kiosk.domain.identity import check_char
from kiosk.drill.play import free_port
from kiosk.hall.context import Call, Device, HallContext
from kiosk.store.db import Store

TZ = ZoneInfo("Asia/Shanghai")
Reply = tuple[int, dict[str, Any]]
ROOT = Path(__file__).resolve().parent.parent
KIOSK_BIN = [sys.executable, "-m", "kiosk.cli"]
# A Monday in the example hall's opening hours.
MONDAY_10 = datetime(2026, 11, 23, 10, 0, tzinfo=TZ)


def make_id(birth: str = "19800101", seq: int = 123, area: str = "110105") -> str:
    first17 = f"{area}{birth}{seq:03d}"
    return first17 + check_char(first17)


def person(i: int, birth: str = "19800101", source: str = "card") -> dict[str, str]:
    """A distinct valid identity per ``i`` (different address codes keep them apart), read from the card
    as most citizens' are; kiosk-burst tests type theirs (``source="typed"``)."""
    return {"id_number": make_id(birth, i % 1000, f"{110101 + i // 1000:06d}"), "name": f"测试{i}号", "source": source}


def example_config(**changes: Any) -> HallConfig:
    config = load_config(DEFAULT_CONFIG)
    for section, values in changes.items():
        config = dataclasses.replace(config, **{section: dataclasses.replace(getattr(config, section), **values)})
    return config


def _request_types() -> dict[str, type[Any]]:
    """Each operation's request type by the operation's function name (``op_issue`` → IssueTicket)."""
    from kiosk.hall.operations import OPERATIONS

    return {op.__name__: kind for kind, op in OPERATIONS.items()}


REQUEST_OF = _request_types()


class Hall:
    """The hall service without HTTP: real SQLite, the hall clock in the test's hand."""

    def __init__(self, path: Path, config: HallConfig | None = None, now: datetime = MONDAY_10) -> None:
        self.config = config or example_config()
        self.store = Store(path / "hall.db")
        self.svc = HallContext(self.config, self.store, b"k" * 32)
        self.now = now
        self.kiosk = Device(1, "kiosk-1", "kiosk")
        self.counter = Device(2, "counter-1", "counter")
        self.supervisor = Device(3, "duty-desk", "supervisor")
        self.sessions: dict[int, str] = {}

    def close(self) -> None:
        self.store.close()

    def tick(self, minutes: float) -> None:
        self.now += timedelta(minutes=minutes)

    def do(self, op: str, body: dict[str, Any] | None = None, device: Device | None = None,
           session: str | None = None, idem: str | None = None, **path: object) -> Reply:
        """The operation as the API runs it: the JSON body and the path parsed into its typed request by the
        same parser, then run as the route table says (a change on the writer)."""
        from kiosk.contract.wire import parse
        from kiosk.domain.errors import DomainError

        kind = REQUEST_OF["op_" + op]
        call = Call(device or self.kiosk, self.now, session, idem)
        try:
            return self.run(call, parse(kind, dict(body or {}), **path))
        except DomainError as exc:
            return exc.status, exc.body()

    def run(self, call: Call, req: object) -> Reply:
        """A typed request run as the API runs it; (status, body)."""
        from kiosk.contract.routes import BY_REQUEST
        from kiosk.hall.operations import OPERATIONS
        from kiosk.hall.outcomes import body_of, status_of

        op = OPERATIONS[type(req)]
        outcome = self.svc.run(op, call, req) if BY_REQUEST[type(req)].kind == "change" else op(self.svc, call, req)
        return status_of(outcome), body_of(outcome)

    def issue(self, business: str = "B", who: dict[str, str] | int = 1, device: Device | None = None,
              **extra: Any) -> Reply:
        identity = person(who) if isinstance(who, int) else who
        return self.do("issue", {"business": business, "identity": identity, **extra}, device=device)

    def number(self, business: str = "B", who: dict[str, str] | int = 1, **extra: Any) -> str:
        status, body = self.issue(business, who, **extra)
        assert status == 201, body
        return str(body["ticket"]["number"])

    def add_clerk(self, clerk: str = "7", name: str = "李四", pin: str = "1234") -> None:
        from kiosk.hall import enrolment

        enrolment.add_clerk(self.svc, clerk, name, pin, self.now)

    def login(self, window: int, clerk: str = "7", pin: str = "1234") -> str:
        if self.store.reader().execute("SELECT 1 FROM clerks WHERE id=?", (clerk,)).fetchone() is None:
            self.add_clerk(clerk, pin=pin)
        status, body = self.run(Call(self.counter, self.now), Login(window=window, clerk_id=clerk, pin=pin))
        assert status == 200, body
        self.sessions[window] = body["session"]
        return str(body["session"])

    def at(self, window: int, op: str, **body: Any) -> Reply:
        return self.do(op.replace("-", "_"), body, device=self.counter, session=self.sessions.get(window),
                       window=window)

    def state(self, number: str) -> str:
        from kiosk.hall import issuing

        return str(issuing.get_ticket(self.svc, self.now, number)["ticket"]["state"])

    def events(self) -> list[dict[str, Any]]:
        return self.svc.store.events_after(0, 100000)


class HallProcess:
    """``kiosk hall serve`` as a real process, with enrolled devices and one clerk."""

    def __init__(self, data: Path, now: str = "2026-11-23T10:00:00+08:00", config: Path | None = None) -> None:
        self.data = data
        self.now = now
        self.config = config or DEFAULT_CONFIG
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.proc: subprocess.Popen[bytes] | None = None
        self.tokens: dict[str, str] = {}
        self.extra_args: list[str] = []  # more ``hall serve`` options, such as --speed
        self.preexec: Callable[[], None] | None = None  # run in the child before it starts (resource limits)

    def cli(self, *args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([*KIOSK_BIN, *args, "--config", str(self.config), "--data", str(self.data)],
                              capture_output=True, text=True, timeout=60, cwd=ROOT)

    def enroll(self, role: str, name: str) -> str:
        out = self.cli("devices", "enroll", "--role", role, "--name", name)
        assert out.returncode == 0, out.stderr
        token = out.stdout.strip().splitlines()[-1]
        self.tokens[name] = token
        return token

    def start(self) -> None:
        self.data.mkdir(parents=True, exist_ok=True)
        log = (self.data / "serve.out").open("ab")
        self.proc = subprocess.Popen(
            [*KIOSK_BIN, "hall", "serve", "--config", str(self.config), "--data", str(self.data),
             "--port", str(self.port), "--now", self.now, *self.extra_args], stdout=log, stderr=log, cwd=ROOT,
            preexec_fn=self.preexec)
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                if requests.get(self.url + "/health", timeout=1).status_code == 200:
                    return
            except requests.ConnectionError:
                if self.proc.poll() is not None:
                    raise RuntimeError((self.data / "serve.out").read_text()) from None
                time.sleep(0.05)
        raise RuntimeError("hall service did not start")

    def kill(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGKILL)
            self.proc.wait(10)

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.kill()

    def client(self, name: str, session: str | None = None) -> Client:
        return Client(self.url, self.tokens[name], session)


class Client:
    def __init__(self, url: str, token: str, session: str | None = None) -> None:
        self.url = url
        self.http = requests.Session()
        self.http.headers["Authorization"] = f"Bearer {token}"
        if session:
            self.http.headers["X-Clerk-Session"] = session

    def post(self, path: str, body: Any = None, **headers: str) -> requests.Response:
        data = body if isinstance(body, (bytes, str)) else json.dumps(body if body is not None else {})
        return self.http.post(self.url + path, data=data, headers={"Content-Type": "application/json", **headers},
                              timeout=30)

    def get(self, path: str) -> requests.Response:
        return self.http.get(self.url + path, timeout=30)


