"""``kiosk drill``: set up a hall (or use a running one), play the scenario's day, write the report.

By default the hall is our own: the config directory copied to a throwaway folder, what-if
settings (``--set limits.per_person_per_day=2``) written into the copy, devices enrolled and
clerks added as a technician would, and ``kiosk hall serve --now … --speed …`` started as a
real process. With ``--hall URL --tokens FILE`` the drill plays against a running hall.
"""

from __future__ import annotations

import dataclasses
import json
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import tomllib
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import requests

from kiosk.config_files import load_config
from kiosk.domain.config import ConfigInvalid, HallConfig
from kiosk.domain.errors import KioskError
from kiosk.drill.report import summarize, write_report
from kiosk.drill.runner import Api, DayRunner, DrillClock, Tokens
from kiosk.drill.scenario import ScenarioInvalid, parse_scenario, plan_day

HALL_TABLES = ("hall", "hours", "calendar", "limits", "priority", "calling", "booking", "ratings", "matters",
               "security")
DRILL_PIN = "246810"


class DrillError(KioskError):
    """What went wrong, in Chinese and English, for the person who ran the command."""


@dataclass
class Setting:
    key: str
    value: Any


def parse_set(text: str) -> Setting:
    """``KEY=VALUE`` with a TOML value (2, false, [3], "text"); a bare word is a string."""
    key, sep, raw = text.partition("=")
    if not sep or not key.strip():
        raise DrillError(f"--set 应为 键=值，如 limits.per_person_per_day=2 / --set must be KEY=VALUE: {text}")
    try:
        value = tomllib.loads(f"v = {raw.strip()}")["v"]
    except tomllib.TOMLDecodeError:
        value = raw.strip()
    return Setting(key.strip(), value)


def _put(doc: Any, path: list[str], value: Any, where: str) -> None:
    for part in path[:-1]:
        if part not in doc or not hasattr(doc[part], "keys"):
            raise DrillError(f"--set {where}: 没有 {part} 这一节 / no table {part}")
        doc = doc[part]
    doc[path[-1]] = value


def apply_settings(config_dir: Path, hall_file: str, scenario_doc: dict[str, Any],
                   settings: list[Setting]) -> dict[str, Any]:
    """Write hall settings into the copied hall.toml (comments kept), scenario settings into the scenario."""
    import tomlkit

    hall_path = config_dir / hall_file
    doc = tomlkit.parse(hall_path.read_text(encoding="utf-8"))
    applied: dict[str, Any] = {}
    for s in settings:
        parts = s.key.split(".")
        if parts[0] == "scenario":
            _put(scenario_doc, parts[1:], s.value, s.key)
        elif parts[0] in HALL_TABLES:
            _put(doc, parts, s.value, s.key)
        else:
            raise DrillError(f"--set {s.key}: 应以 {'、'.join(HALL_TABLES)} 或 scenario 开头 / must start with a "
                             f"hall.toml table or scenario.")
        applied[s.key] = s.value
    hall_path.write_text(tomlkit.dumps(doc), encoding="utf-8")
    return applied


def free_port() -> int:
    """A loopback port nobody holds now (the drill's own hall; the tests' processes)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class OwnHall:
    """A throwaway hall: devices enrolled and clerks added through the hall's own operations, then served."""

    def __init__(self, config_path: Path, config: HallConfig, workdir: Path, kiosks: int, start: datetime,
                 speed: float, prepare: Callable[[Path, Path], None] | None = None) -> None:
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
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise DrillError("演练大厅未能启动 / the drill's hall did not start: "
                                 + (workdir / "hall.out").read_text(errors="replace")[-2000:])
            try:
                if requests.get(self.url + "/health", timeout=1).status_code == 200:
                    return
            except requests.RequestException:  # not listening yet, or too busy starting to answer
                time.sleep(0.05)
        raise DrillError("演练大厅未能在30秒内启动 / the drill's hall did not start within 30 s")

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
        self.log.close()


def load_tokens(path: Path) -> Tokens:
    """The tokens of a running hall's drill devices: {kiosks: [..], counters: {"1": ..}, supervisor, display,
    clerks: {"1": [id, pin]}}."""
    try:
        doc = json.loads(path.read_text(encoding="utf-8"))
        return Tokens(kiosks=list(doc["kiosks"]), counters={int(k): v for k, v in doc["counters"].items()},
                      supervisor=doc["supervisor"], display=doc["display"],
                      clerks={int(k): (v[0], v[1]) for k, v in doc["clerks"].items()})
    except (OSError, ValueError, KeyError, TypeError, IndexError) as exc:
        raise DrillError(f"--tokens 文件不可用 / the tokens file cannot be used ({path}): {exc}") from None


def run_drill(scenario_path: Path, report: Path, config_path: Path, speed: float, seed: int,
              sets: list[str], hall_url: str | None = None, tokens_path: Path | None = None,
              keep: Path | None = None, prepare: Callable[[Path, Path], None] | None = None) -> dict[str, Any]:
    """Play one day; returns the summary (also in ``report/summary.json``)."""
    try:
        scenario_doc = tomllib.loads(scenario_path.read_text(encoding="utf-8"))
    except (OSError, tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise DrillError(f"无法读取演练场景 / cannot read the scenario {scenario_path}: {exc}") from None
    settings = [parse_set(s) for s in sets]
    work = Path(tempfile.mkdtemp(prefix="drill-")) if keep is None else keep
    hall: OwnHall | None = None
    try:
        if hall_url is None:
            config_dir = work / "config"
            shutil.copytree(config_path.parent, config_dir, dirs_exist_ok=True)
            applied = apply_settings(config_dir, config_path.name, scenario_doc, settings)
            config_file = config_dir / config_path.name
        else:
            if any(not s.key.startswith("scenario.") for s in settings):
                raise DrillError("对运行中的大厅只能修改 scenario.* / against a running hall only scenario.* can be set")
            applied = {s.key: s.value for s in settings}
            for s in settings:
                _put(scenario_doc, s.key.split(".")[1:], s.value, s.key)
            config_file = config_path
        try:
            config = load_config(config_file)
        except ConfigInvalid as exc:
            raise DrillError("配置无效 / the configuration is invalid:\n" + str(exc)) from None
        try:
            sc = parse_scenario(scenario_doc, tuple(b.code for b in config.businesses))
        except ScenarioInvalid as exc:
            raise DrillError(f"{scenario_path}: {exc}") from None
        sc = dataclasses.replace(sc, service_minutes={**{b.code: float(b.service_minutes) for b in config.businesses},
                                                      **sc.service_minutes})
        tz = config.calendar.tz
        periods = list(config.calendar.periods(sc.day))
        if not periods:
            raise DrillError(f"{sc.day} 大厅不办公，请换一个日期 / the hall is closed on {sc.day}; choose another date")
        start = datetime.combine(sc.day, sc.start, tz)
        visits = plan_day(sc, periods, tz, seed)
        if hall_url is None:
            hall = OwnHall(config_file, config, work, sc.kiosks, start, speed, prepare)
            url, tokens = hall.url, hall.tokens
        else:
            url, tokens = hall_url, load_tokens(tokens_path) if tokens_path else _no_tokens()
        health = requests.get(url.rstrip("/") + "/health", timeout=10).json()
        clock = DrillClock(datetime.fromisoformat(health["now"]), float(health.get("speed", speed)))
        api = Api(url)
        windows = sorted(tokens.counters)
        runner = DayRunner(api, tokens, sc, visits, periods, clock, windows)
        print(f"演练开始 drill: {sc.name}, {len(visits)} 人次 visits, ×{clock.speed:g}", flush=True)
        t0 = time.monotonic()
        rec = runner.run()
        wall = time.monotonic() - t0
        bursts = _count_events(api, tokens.supervisor, "kiosk.burst")
        status, fu = api.call("GET", "/api/v1/followups", tokens.supervisor)
        followups = len(fu.get("followups", [])) if status == 200 else 0
        summary = summarize(sc, rec, windows, wall, api.latencies, bursts, followups,
                            applied, seed, clock.speed)
        summary.update(runner.insiders.summary())
        summary["hall_errors"] = dict(api.errors)
        write_report(report, sc, rec, summary)
        return summary
    finally:
        if hall is not None:
            hall.stop()
        if keep is None:
            shutil.rmtree(work, ignore_errors=True)


def _no_tokens() -> Tokens:
    raise DrillError("使用 --hall 时须提供 --tokens 文件 / --hall needs --tokens FILE")


def _count_events(api: Api, token: str, kind: str) -> int:
    after, found = 0, 0
    while True:
        status, reply = api.call("GET", f"/api/v1/events?after={after}&limit=1000", token)
        events = reply.get("events", []) if status == 200 else []
        if not events:
            return found
        found += sum(1 for e in events if e["type"] == kind)
        after = events[-1]["seq"]

