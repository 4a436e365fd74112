"""The drill's own hall: a throwaway hall made from the drill's copy of the config, its devices enrolled and
clerks added through the hall's own operations (as a technician would with ``kiosk devices enroll`` and
``kiosk clerks add``), then served by ``kiosk hall serve --now … --speed …`` as a real process.

It lives here, not in kiosk/drill, because making a hall means opening its data folder and running its
operations in this process; the drill is only given the result (an address and tokens, kiosk/drill/play.py
``DrillHall``) and plays the day over HTTP like any device. The hall's modules are imported when a hall is
made, so that building the command line stays light.
"""

from __future__ import annotations

import subprocess
import sys
import time
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from kiosk.domain.config import HallConfig
    from kiosk.drill.play import HallMaker

DRILL_PIN = "246810"

Prepare = Callable[[Path, Path], None]  # (hall.toml, data folder), before the hall is served


class OwnHall:
    """A throwaway hall: devices enrolled and clerks added through the hall's own operations, then served."""

    def __init__(self, config_path: Path, config: HallConfig, workdir: Path, kiosks: int, start: datetime,
                 speed: float, prepare: Prepare | None = None) -> None:
        from kiosk.contract.client import HallClient, HallUnreachable, http_transport
        from kiosk.contract.requests import Health
        from kiosk.drill.link import Tokens
        from kiosk.drill.play import DrillError, free_port
        from kiosk.hall import enrolment
        from kiosk.hall.datadir import open_hall

        self.data = workdir / "data"
        service = open_hall(config, self.data)
        try:
            self.tokens = Tokens(
                kiosks=[enrolment.enroll_device(service, "kiosk", f"kiosk-{i}", start) for i in range(1, kiosks + 1)],
                counters={w.number: enrolment.enroll_device(service, "counter", f"window-{w.number}", start)
                          for w in config.windows},
                supervisor=enrolment.enroll_device(service, "supervisor", "duty-desk", start),
                display=enrolment.enroll_device(service, "display", "board-1", start),
                clerks={w.number: (f"90{w.number:02d}", DRILL_PIN) for w in config.windows})
            for w in config.windows:
                enrolment.add_clerk(service, f"90{w.number:02d}", f"演练窗口{w.number}", DRILL_PIN, start)
        finally:
            service.store.close()
        if prepare is not None:  # e.g. a benchmark registers the hall with a ledger, so that it syncs all day
            prepare(config_path, self.data)
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log = (workdir / "hall.out").open("ab")
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "kiosk.cli", "hall", "serve", "--config", str(config_path), "--data", str(self.data),
             "--port", str(self.port), "--now", start.isoformat(), "--speed", repr(speed)],
            stdout=self.log, stderr=self.log)
        probe = HallClient(http_transport(self.url, timeout=1), "")
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise DrillError("演练大厅未能启动 / the drill's hall did not start: "
                                 + (workdir / "hall.out").read_text(errors="replace")[-2000:])
            try:
                if probe.send(Health()).status == 200:
                    return
            except HallUnreachable:  # not listening yet, or too busy starting to answer
                time.sleep(0.05)
        self.stop()
        raise DrillError("演练大厅未能在30秒内启动 / the drill's hall did not start within 30 s")

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
        self.log.close()


def own_hall(prepare: Prepare | None = None) -> HallMaker:
    """The maker of the drill's own hall, as ``kiosk drill`` (and a bench) hands it to the drill."""

    def make(config_path: Path, config: HallConfig, workdir: Path, kiosks: int, start: datetime,
             speed: float) -> OwnHall:
        return OwnHall(config_path, config, workdir, kiosks, start, speed, prepare)

    return make
