"""How much of a wait estimate's error no estimate can remove: the same day played again with other service times.

#23 asks the slip to be within max(5 min, 20% of the mean wait) on average. A service in the drill lasts a
log-normal time around its business's median (sigma 0.45, as a real window's do), and no estimate made at
issue can know whether the three people ahead will take ten minutes each or twenty. This measures that part:
``collect`` plays a scenario K times with the same citizens arriving at the same moments (the same seed) and
only the service times drawn again (a ``sitecustomize`` hook on the drill's plan, ``SERVICE_SEED``);
``score`` takes, for every ticket issued at the same moment in every play, how far its K waits lie from their
median. That spread is the error of an oracle that knows the whole day, every later arrival included, except
how long each service will take: a floor under any estimator's mean absolute error. With a handful of plays
the true median is not known either, so the floor is given as a bracket: the spread around the plays' own
median (which fits them, so it reads low) and each play's distance from the median of the others (which
misses by the others' own noise, so it reads high).

Usage:  python bench/wait_floor.py collect [--out build/floor] [--only monday,surge] [--plays 5] [--speed 600]
        python bench/wait_floor.py score [--out build/floor] [--only …]
"""

from __future__ import annotations

import json
import statistics
import sys
from datetime import datetime
from pathlib import Path

from wait_replay import arguments, play_hooked, scenario_names  # this folder: the benches run as scripts

# imported by the drill's process while SERVICE_SEED is set: every visit's service time drawn again from a
# stream of its own, in the plan's order, as the plan draws it (log-normal around the business's median)
HOOK = '''
import os
if os.environ.get("SERVICE_SEED"):
    import math
    import random
    import kiosk.drill.play as _play
    import kiosk.drill.scenario as _scenario
    _plan = _scenario.plan_day

    def _replanned(sc, periods, tz, seed):
        visits = _plan(sc, periods, tz, seed)
        rng = random.Random(int(os.environ["SERVICE_SEED"]) * 104729 + 7)
        for v in visits:
            median = sc.service_minutes.get(v.business, 12.0)
            v.service_minutes = max(1.0, median * math.exp(sc.service_sigma * rng.gauss(0, 1)))
        return visits

    _scenario.plan_day = _replanned
    _play.plan_day = _replanned
'''


def collect(names: list[str], out: Path, plays: int, speed: float, seed: int) -> None:
    for name in names:
        for k in range(1, plays + 1):
            print(f"… {name} play {k}", file=sys.stderr, flush=True)
            play_hooked(HOOK, name, out / name / str(k), speed, seed, {"SERVICE_SEED": str(k)})


def _plays(out: Path, name: str) -> list[dict[str, tuple[datetime, float, float]]]:
    """Per play: ticket number -> (issued, told at issue, minutes until called), for called citizens' slips."""
    found = []
    for folder in sorted((out / name).iterdir(), key=lambda p: p.name):
        rows = json.loads((folder / "waits.json").read_text(encoding="utf-8"))
        play = {}
        for r in rows:
            if r["kind"] == "scalper" or not r["called_at"] or not r["told"]:
                continue
            issued = datetime.fromisoformat(r["told"][0]["at"])
            waited = (datetime.fromisoformat(r["called_at"]) - issued).total_seconds() / 60
            play[r["number"]] = (issued, float(r["told"][0]["minutes"]), waited)
        found.append(play)
    return found


def score(names: list[str], out: Path) -> None:
    print("| scenario | plays | slips in every play | mean wait | MAE goal | floor: own median – others' median | "
          "slip MAE (these plays) |")
    print("|---|---|---|---|---|---|---|")
    for name in names:
        if not (out / name).is_dir():
            continue
        plays = _plays(out, name)
        first = plays[0]
        spreads, others, waits_, errors = [], [], [], []
        for number, (issued, _told, _w) in first.items():
            seen = [p[number] for p in plays if number in p and abs((p[number][0] - issued).total_seconds()) < 60]
            if len(seen) < len(plays):
                continue  # not the same citizen's ticket in every play (an offer taken changed the numbers)
            waited = [w for _i, _t, w in seen]
            middle = statistics.median(waited)
            spreads.append(statistics.fmean(abs(w - middle) for w in waited))
            others.append(statistics.fmean(abs(w - statistics.median(waited[:k] + waited[k + 1:]))
                                           for k, w in enumerate(waited)))
            waits_ += waited
            errors += [abs(t - w) for _i, t, w in seen]
        if not spreads:
            continue
        mean = statistics.fmean(waits_)
        print(f"| {name} | {len(plays)} | {len(spreads)} | {mean:.0f} | {max(5.0, 0.2 * mean):.1f} | "
              f"{statistics.fmean(spreads):.1f} – {statistics.fmean(others):.1f} | {statistics.fmean(errors):.1f} |")


def main() -> int:
    parser = arguments(__doc__, "floor")
    parser.add_argument("--plays", type=int, default=5)
    args = parser.parse_args()
    names = scenario_names(args.only)
    if args.step == "collect":
        collect(names, args.out, args.plays, args.speed, args.seed)
    else:
        score(names, args.out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
