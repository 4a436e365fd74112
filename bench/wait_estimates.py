"""How true the waits told to citizens are, on every shipped drill scenario: the table of issue 23.

Plays each scenario in config/drills/ with `kiosk drill` (an own hall of this tree) and prints, per scenario,
what the slip and the later phone looks were told against the waits that happened: MAE, median error, bias,
how often the range held and its mean width, the old formulas rebuilt beside them, unserved_unwarned and
unserved_told_today.

With ``--before DIR`` (a checkout of the code to compare with, e.g. ``git worktree add /tmp/base 9d3e044``)
each scenario is also played against a hall served by that code, the same drill client scoring what that
hall told. Runs alternate (before, after) per scenario so that the machine's load falls on both alike.

Usage:  python bench/wait_estimates.py [--speed 300] [--seed 1] [--only monday,surge] [--before DIR]
        [--out build/waits] [--json FILE] [--table FILE]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
import tomllib
from datetime import datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from kiosk.config_files import DEFAULT_CONFIG, load_config  # noqa: E402
from kiosk.contract.client import HallClient, HallUnreachable, http_transport  # noqa: E402
from kiosk.contract.requests import Health  # noqa: E402
from kiosk.drill.play import free_port, run_drill  # noqa: E402
from kiosk.drill.scenario import parse_scenario  # noqa: E402
from kiosk.standalone.drill_hall import DRILL_PIN, own_hall  # noqa: E402

DRILLS = ROOT / "config" / "drills"


def old_hall(code: Path, scenario: Path, speed: float, work: Path) -> tuple[subprocess.Popen[bytes], str, Path]:
    """A hall served by the code in ``code`` (its own `kiosk` module), its drill devices enrolled by its own CLI."""
    config = load_config(DEFAULT_CONFIG)
    sc = parse_scenario(tomllib.loads(scenario.read_text(encoding="utf-8")), tuple(b.code for b in config.businesses))
    start = datetime.combine(sc.day, sc.start, config.calendar.tz)
    data = work / "data"
    env = {**os.environ, "PYTHONPATH": str(code)}
    base = [sys.executable, "-m", "kiosk.cli"]
    where = ["--config", str(code / "config" / "hall.toml"), "--data", str(data)]

    def enroll(role: str, name: str) -> str:
        out = subprocess.run([*base, "devices", "enroll", "--role", role, "--name", name, *where], cwd=code, env=env,
                             capture_output=True, text=True, check=True)
        return out.stdout.strip().splitlines()[-1]

    tokens = {"kiosks": [enroll("kiosk", f"kiosk-{i}") for i in range(1, sc.kiosks + 1)],
              "counters": {str(w.number): enroll("counter", f"window-{w.number}") for w in config.windows},
              "supervisor": enroll("supervisor", "duty-desk"), "display": enroll("display", "board-1"),
              "clerks": {str(w.number): [f"90{w.number:02d}", DRILL_PIN] for w in config.windows}}
    for w in config.windows:
        subprocess.run([*base, "clerks", "add", "--id", f"90{w.number:02d}", "--name", f"演练窗口{w.number}", "--pin",
                        DRILL_PIN, *where], cwd=code, env=env, capture_output=True, check=True)
    path = work / "tokens.json"
    path.write_text(json.dumps(tokens), encoding="utf-8")
    port = free_port()
    log = (work / "hall.out").open("ab")
    proc = subprocess.Popen([*base, "hall", "serve", *where, "--port", str(port), "--now", start.isoformat(),
                             "--speed", repr(speed)], cwd=code, env=env, stdout=log, stderr=log)
    url = f"http://127.0.0.1:{port}"
    probe = HallClient(http_transport(url, timeout=1), "")
    for _ in range(600):
        try:
            if probe.send(Health()).status == 200:
                return proc, url, path
        except HallUnreachable:  # not listening yet, or too busy starting to answer
            time.sleep(0.05)
    proc.terminate()
    raise RuntimeError("the old hall did not start: " + (work / "hall.out").read_text(errors="replace")[-2000:])


def play(scenario: Path, out: Path, speed: float, seed: int, before: Path | None) -> dict[str, Any]:
    if before is None:
        return run_drill(scenario, out, DEFAULT_CONFIG, speed, seed, [], own_hall=own_hall())["waits"]  # type: ignore[no-any-return]
    work = Path(tempfile.mkdtemp(prefix="waits-before-"))
    proc, url, tokens = old_hall(before, scenario, speed, work)
    try:
        return run_drill(scenario, out, DEFAULT_CONFIG, speed, seed, [], hall_url=url,  # type: ignore[no-any-return]
                         tokens_path=tokens)["waits"]
    finally:
        proc.terminate()
        proc.wait(15)
        shutil.rmtree(work, ignore_errors=True)


def row(name: str, label: str, w: dict[str, Any], told: str) -> str:
    slip, later = w[told]["overall"], w["later" if told == "slip" else "old_later"]["overall"]
    held = "—" if slip["range_held"] is None else f"{slip['range_held'] * 100:.0f}%"
    width = "—" if slip["range_width"] is None else f"{slip['range_width']:.0f}"
    target = w["goals"]["slip_mae_target"]
    mae_ok = "yes" if slip["n"] and slip["mae"] <= target else "no"
    bias_ok = "yes" if slip["n"] and abs(slip["bias"]) <= 3 else "no"
    return (f"| {name} | {label} | {w['mean_wait']:.0f} | {slip['n']} | {slip['mae']} | {slip['median_error']} | "
            f"{slip['bias']:+} | {later['n']} | {later['mae']} | {later['bias']:+} | {held} | {width} | "
            f"{w['unserved']} / {w['unserved_unwarned']} / {w.get('unserved_told_today', '—')} | {target}: {mae_ok} | "
            f"{bias_ok} |")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--speed", type=float, default=300.0)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--only", default="", help="comma-separated scenario names (default: every shipped one)")
    parser.add_argument("--before", type=Path, help="a checkout of the code to compare with")
    parser.add_argument("--out", type=Path, default=ROOT / "build" / "waits")
    parser.add_argument("--json", type=Path, help="write every figure here as well")
    parser.add_argument("--table", type=Path, help="print the table of an earlier run's --json, playing nothing")
    args = parser.parse_args()
    names = [n for n in args.only.split(",") if n] or sorted(p.stem for p in DRILLS.glob("*.toml"))
    results: dict[str, dict[str, Any]] = json.loads(args.table.read_text(encoding="utf-8")) if args.table else {}
    for name in names if not args.table else []:
        scenario = DRILLS / f"{name}.toml"
        runs = [("before", args.before), ("after", None)] if args.before else [("after", None)]
        for label, code in runs:
            print(f"… {name} ({label})", file=sys.stderr, flush=True)
            results.setdefault(name, {})[label] = play(scenario, args.out / f"{name}-{label}", args.speed, args.seed,
                                                       code)
    print(f"\nwaits told against waits that happened, kiosk drill at ×{args.speed:g}, seed {args.seed}")
    print("| scenario | hall | mean wait | slips | slip MAE | slip median | slip bias | looks | later MAE | "
          "later bias | range held | range width | unserved / unwarned / told today at the end | MAE target: met | "
          "|bias| ≤ 3 |")
    print("|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|")
    for name, runs in results.items():
        if "before" in runs:
            print(row(name, "before: what it told", runs["before"], "slip"))
        print(row(name, "after: what it told", runs["after"], "slip"))
        print(row(name, "after: old formulas, same day", runs["after"], "old_slip"))
    if args.json:
        args.json.write_text(json.dumps(results, ensure_ascii=False, indent=1), encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
