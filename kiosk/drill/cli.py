"""``kiosk drill``: the hall manager's what-if, acceptance's proof and CI's short day; and the check of a
scenario file for ``kiosk config check`` (the drill knows its files; kiosk/config_files.py knows the hall's)."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

from kiosk.config_files import DEFAULT_CONFIG, load_config
from kiosk.domain.config_problems import ConfigInvalid

if TYPE_CHECKING:
    from kiosk.drill.play import HallMaker


def check_scenario(path: Path, doc: dict[str, Any]) -> tuple[list[str], str]:
    """(problems, summary) of a drill scenario, checked against the hall.toml beside its folder (config/drills/
    next to config/hall.toml), else the example hall's."""
    from kiosk.drill.scenario import ScenarioInvalid, parse_scenario

    hall = path.parent.parent / "hall.toml"
    try:
        config = load_config(hall if hall.exists() else DEFAULT_CONFIG)
        scenario = parse_scenario(doc, tuple(b.code for b in config.businesses))
    except (ScenarioInvalid, ConfigInvalid) as exc:
        return [f"{path}: {exc}"], ""
    return [], f"{scenario.name}，{scenario.day}"


def cmd_drill(args: argparse.Namespace) -> int:
    from kiosk.drill.play import DrillError, run_drill

    try:
        speed = float(args.speed)
        if not 0 < speed <= 10_000:
            raise ValueError
    except ValueError:
        print(f"--speed 应为 0 到 10000 之间的数 / --speed must be a number in (0, 10000]: {args.speed}", file=sys.stderr)
        return 2
    hall = args.hall
    if hall:  # the drill sends the training hall's device tokens: the same address check as the apps
        from kiosk.urls import UrlRefused, check_url

        try:
            hall = check_url(hall, args.insecure).base()
        except UrlRefused as exc:
            print(exc.message, file=sys.stderr)
            return 2
    try:
        summary = run_drill(Path(args.scenario), Path(args.report), Path(args.config), speed, args.seed,
                            args.set or [], hall, Path(args.tokens) if args.tokens else None,
                            Path(args.keep) if args.keep else None, own_hall=args.own_hall)
    except DrillError as exc:
        print(f"✗ {exc}", file=sys.stderr)
        return 2
    refused = sum(summary["honest_refused"].values())
    print(f"演练结束 drill finished: 发号 issued {summary['issued']}，办结 served {summary['served']}，"
          f"提供预约 offered {summary['offered']}，市民被拒 honest refused {refused}，"
          f"黄牛取得号票 scalper tickets {summary['scalper_tickets']}，黄牛被办理 scalper served "
          f"{summary['scalper_served']}，用时 {summary['wall_seconds']} s")
    print(f"报告 report: {Path(args.report).resolve() / 'report.html'}")
    return 0


def add_parser(sub: argparse._SubParsersAction, own_hall: HallMaker) -> None:  # type: ignore[type-arg]
    """``own_hall``: what makes the drill's own hall when no --hall is given (the standalone room: standalone/drill_hall.py)."""
    drill = sub.add_parser("drill", help="play a simulated hall day through the hall API and write a report")
    drill.add_argument("--scenario", required=True, help="a scenario TOML (config/drills/*.toml)")
    drill.add_argument("--report", required=True, help="folder for summary.json, report.html and the charts")
    drill.add_argument("--config", default=str(DEFAULT_CONFIG), help="the hall.toml to try")
    drill.add_argument("--speed", default="120", help="the hall clock runs this many times faster than real time")
    drill.add_argument("--seed", type=int, default=1, help="the same seed plays the same citizens again")
    drill.add_argument("--set", action="append", metavar="KEY=VALUE",
                       help="what-if: limits.per_person_per_day=2, limits.kiosk_burst.identities=4, "
                            "scenario.windows.closed=[3] (repeatable)")
    drill.add_argument("--hall", help="play against a running hall at this URL instead of an own one")
    drill.add_argument("--tokens", help="with --hall: JSON with the drill devices' tokens and clerks")
    drill.add_argument("--insecure", action="store_true", help="with --hall: allow plain http to another machine")
    drill.add_argument("--keep", help="keep the drill's hall (config copy, data, log) in this folder")
    drill.set_defaults(func=cmd_drill, own_hall=own_hall)
