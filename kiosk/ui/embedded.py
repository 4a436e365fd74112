"""The embedded default: a hall service in this process, on loopback, for a one-kiosk hall and the demo."""

from __future__ import annotations

import threading
import time
from pathlib import Path
from typing import Any

import requests
import uvicorn

from kiosk.config_files import DEFAULT_CONFIG, load_config
from kiosk.hall.api import create_app
from kiosk.hall.clock import HallClock
from kiosk.hall.datadir import open_hall
from kiosk.hall.service import HallService


class EmbeddedHall:
    def __init__(self, data: Path, config_path: Path = DEFAULT_CONFIG, port: int = 0,
                 now: str | None = None) -> None:
        from kiosk.hall.clock import parse_now

        config = load_config(config_path)
        self.service: HallService = open_hall(config, data)
        start = parse_now(now, config.calendar.tz) if now else None
        self.clock = HallClock(config.calendar.tz, start)
        self.kiosk_token = self._token(data, "kiosk")
        app = create_app(self.service, self.clock)
        self.server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning",
                                                    access_log=False))
        self.thread = threading.Thread(target=self.server.run, name="embedded-hall", daemon=True)

    def _token(self, data: Path, role: str) -> str:
        path = data / f"embedded-{role}.token"
        if path.exists():
            return path.read_text().strip()
        token = self.service.enroll_device(role, f"embedded-{role}", self.clock.now())
        path.write_text(token)
        path.chmod(0o600)
        return token

    def start(self) -> str:
        self.thread.start()
        deadline = time.monotonic() + 20
        while not self.server.started and time.monotonic() < deadline:
            time.sleep(0.02)
        sock = self.server.servers[0].sockets[0]
        url = f"http://127.0.0.1:{sock.getsockname()[1]}"
        requests.get(url + "/health", timeout=5)
        return url

    # -- demo helpers: what other people in the hall would do --------------------------------------
    def sample_appointment(self, business: str = "D") -> str:
        """An online appointment starting now, as the WeChat booking system would register it."""
        from datetime import timedelta

        from kiosk.hall.service import Call, Device

        now = self.clock.now()
        body = {"business": business, "slot_start": (now + timedelta(minutes=10)).isoformat(),
                "slot_end": (now + timedelta(minutes=40)).isoformat()}
        status, reply = self.service.run(self.service.op_create_appointment,
                                         Call(Device(0, "wechat-booking", "supervisor"), now), body)
        assert status == 201, reply
        return str(reply["appointment"]["code"])

    def crowd(self, business: str, people: int) -> None:
        """Other citizens take tickets at another kiosk, until today is over capacity for ``business``."""
        from kiosk.domain.identity import check_char
        from kiosk.hall.service import Call, Device

        kiosk = Device(0, "demo-crowd", "counter")  # not a kiosk: the burst limit is about one kiosk's screen
        for i in range(people):
            first17 = f"3701{i // 100:02d}19850101{i % 100:03d}"
            identity = {"id_number": first17 + check_char(first17), "name": ""}
            self.service.run(self.service.op_issue, Call(kiosk, self.clock.now()),
                             {"business": business, "identity": identity, "accept_wait": True})

    def progress_case(self, number: str, stage: str, note: str) -> None:
        """The registration system reports a case's progress."""
        from kiosk.hall.service import Call, Device

        self.service.run(self.service.op_case_progress, Call(Device(0, "registration-system", "supervisor"),
                                                             self.clock.now()),
                         {"_number": number, "stage": stage, "note": note})

    def serve(self, number: str, window: int = 2, accepted: bool = False) -> dict[str, Any] | None:
        """A clerk calls, serves and finishes a ticket (so that it can be rated); returns the case opened."""
        from kiosk.hall.service import Call, Device

        counter = Device(0, "demo-counter", "counter")
        if self.service.store.reader().execute("SELECT 1 FROM clerks WHERE id='demo'").fetchone() is None:
            self.service.add_clerk("demo", "王晓明", "2468", self.clock.now())
        _, login = self.service.login(Call(counter, self.clock.now()), window, {"clerk_id": "demo", "pin": "2468"})
        call = Call(counter, self.clock.now(), login["session"])
        self.service.run(self.service.op_call, call, {"_window": window, "number": number, "reason": "演示 demo"})
        _, finished = self.service.run(self.service.op_finish, call, {"_window": window, "accepted": accepted})
        case: dict[str, Any] | None = finished.get("case")
        return case

    def stop(self) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=10)
        self.service.store.close()
