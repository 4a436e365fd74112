"""``kiosk drill``: set up a hall (or use a running one), play the scenario's day, write the report.

By default the hall is our own: the config directory copied to a throwaway folder, what-if
settings (``--set limits.per_person_per_day=2``) written into the copy, and a hall made from the
copy by the ``own_hall`` maker the caller passes in (the standalone room, standalone/drill_hall.py: devices
enrolled and clerks added as a technician would, the hall served by ``hall serve --now … --speed …``
as a real process). The drill itself never reaches into a hall: it gets an address and tokens.
With ``--hall URL --tokens FILE`` the drill plays against a running hall.
"""

from __future__ import annotations

import dataclasses
import json
import shutil
import socket
import tempfile
import time
import tomllib
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any, Protocol

from kiosk.config_files import load_config
from kiosk.contract import requests as rq
from kiosk.contract.client import HallClient, HallUnreachable, Reply, http_transport
from kiosk.domain.config import HallConfig
from kiosk.domain.config_problems import ConfigInvalid
from kiosk.domain.errors import KioskError
from kiosk.drill.day import DrillClock
from kiosk.drill.link import Api, Tokens
from kiosk.drill.report import summarize, write_report
from kiosk.drill.runner import DayRunner
from kiosk.drill.scenario import ScenarioInvalid, parse_scenario, plan_day

HALL_TABLES = ("hall", "hours", "calendar", "limits", "priority", "calling", "booking", "ratings", "matters",
               "security")


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


class DrillHall(Protocol):
    """A hall the drill plays against: where it answers and the tokens of the drill's devices there."""

    url: str
    tokens: Tokens

    def stop(self) -> None:
        """The day is over: a throwaway hall goes away."""


class HallMaker(Protocol):
    """Makes the drill's own hall from the (copied, what-if) config: ``kiosks`` kiosks, a counter per window,
    a duty desk and a board enrolled, a clerk per window, its clock started at ``start`` running ``speed``
    times faster. Whoever starts a drill passes one in (the CLI: standalone/drill_hall.py)."""

    def __call__(self, config_path: Path, config: HallConfig, workdir: Path, kiosks: int, start: datetime,
                 speed: float) -> DrillHall: ...


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
              keep: Path | None = None, own_hall: HallMaker | None = None) -> dict[str, Any]:
    """Play one day; returns the summary (also in ``report/summary.json``). Without ``hall_url``, the day is
    played on a hall ``own_hall`` makes from a copy of the config."""
    try:
        scenario_doc = tomllib.loads(scenario_path.read_text(encoding="utf-8"))
    except (OSError, tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise DrillError(f"无法读取演练场景 / cannot read the scenario {scenario_path}: {exc}") from None
    settings = [parse_set(s) for s in sets]
    work = Path(tempfile.mkdtemp(prefix="drill-")) if keep is None else keep
    hall: DrillHall | None = None
    try:
        if hall_url is None:
            if own_hall is None:
                raise DrillError("没有指定大厅 / no hall: give --hall URL --tokens FILE, or a maker of the drill's own hall")
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
            assert own_hall is not None  # checked before the config was copied
            hall = own_hall(config_file, config, work, sc.kiosks, start, speed)
            url, tokens = hall.url, hall.tokens
        else:
            url, tokens = hall_url, load_tokens(tokens_path) if tokens_path else _no_tokens()
        try:  # the hall's clock, read once (not counted among the day's requests)
            answer = HallClient(http_transport(url, timeout=10), "").send(rq.Health())
        except HallUnreachable:
            answer = Reply(599, {})
        if answer.status != 200:
            raise DrillError(f"大厅服务无法访问 / the hall at {url} cannot be reached: {answer.status} {answer.body}")
        health = answer.body
        api = Api(url)
        clock = DrillClock(datetime.fromisoformat(health["now"]), float(health.get("speed", speed)))
        windows = sorted(tokens.counters)
        runner = DayRunner(api, tokens, sc, visits, periods, clock, windows)
        print(f"演练开始 drill: {sc.name}, {len(visits)} 人次 visits, ×{clock.speed:g}", flush=True)
        t0 = time.monotonic()
        rec = runner.run()
        wall = time.monotonic() - t0
        bursts = _count_events(api, tokens.supervisor, "kiosk.burst")
        fu = api.client(tokens.supervisor).send(rq.ListFollowups())
        followups = len(fu.body.get("followups", [])) if fu.status == 200 else 0
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
    desk = api.client(token)
    after, found = 0, 0
    while True:
        reply = desk.send(rq.ListEvents(after=after, limit=1000))
        events = reply.body.get("events", []) if reply.status == 200 else []
        if not events:
            return found
        found += sum(1 for e in events if e["type"] == kind)
        after = events[-1]["seq"]

