"""The wait estimator replayed on recorded drill days: the same tickets, the same hall facts, any estimator.

A drill scores what the hall told, but two drills of one scenario differ (threads, the machine's load), so a
change to the estimator worth a minute or two is lost in the noise of playing the day again. This records,
once per scenario, the facts behind every slip (``collect``: plays ``kiosk drill`` with a hook on issuing and
check-in that keeps each slip's :class:`HallFacts` and :class:`Ahead`), then scores this tree's
:func:`kiosk.domain.waits.estimate` on them against the waits that happened (``score``). The facts hold no
personal data: windows, counts, durations, times.

``score --known-passing`` adds a bound: the same estimator told in advance the work of the priority holders
and appointments that did come later and pass each ticket (it does without the priority flow then). What
that cannot explain is the estimator's own; what it does is the unknowable future of who comes.

Usage:  python bench/wait_replay.py collect [--out build/replay] [--only monday,surge] [--speed 600] [--seed 1]
        python bench/wait_replay.py score [--out build/replay] [--only …] [--known-passing]
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import pickle
import statistics
import subprocess
import sys
import tempfile
from datetime import datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from kiosk.domain import waits  # noqa: E402
from kiosk.domain.ahead import Ahead  # noqa: E402
from kiosk.domain.durations import DEFAULT  # noqa: E402

DRILLS = ROOT / "config" / "drills"

# imported by every Python process of the drill (sitecustomize) while REPLAY_LOG is set: the hall's issuing
# and check-in operations keep the facts of the estimate their slip shows, by ticket number
HOOK = '''
import os
if os.environ.get("REPLAY_LOG"):
    import pickle
    import kiosk.domain.waits as _waits
    import kiosk.hall.booking as _booking
    import kiosk.hall.issuing as _issuing
    _out, _seen, _on, _estimate = open(os.environ["REPLAY_LOG"], "ab"), [], [False], _waits.estimate

    def _kept(facts, ahead):
        est = _estimate(facts, ahead)
        if _on[0]:
            _seen.append((facts, ahead, est))
        return est

    def _hooked(op):
        def run(ctx, call, req):
            _seen.clear()
            _on[0] = True
            try:
                out = op(ctx, call, req)
            finally:
                _on[0] = False
            body = getattr(out, "body", None)
            ticket = body.get("ticket") if isinstance(body, dict) else None
            if isinstance(ticket, dict) and ticket.get("number") and _seen:
                told = [s for s in _seen if s[2].minutes == ticket.get("expected_wait_min")] or _seen[-1:]
                facts, ahead, est = told[-1]
                facts.__dict__.pop("_frame", None)
                pickle.dump((ticket["number"], facts, ahead, est.minutes), _out)
                _out.flush()
            _seen.clear()
            return out
        return run

    _waits.estimate = _kept
    _issuing.op_issue = _hooked(_issuing.op_issue)
    _booking.op_check_in = _hooked(_booking.op_check_in)
'''


def play_hooked(hook: str, name: str, report: Path, speed: float, seed: int, env: dict[str, str]) -> None:
    """One shipped day played by ``kiosk drill`` with ``hook`` as the process's ``sitecustomize`` (and ``env``
    set for it): how the wait benches see inside a drill without a switch in the product."""
    with tempfile.TemporaryDirectory(prefix="drill-hook-") as folder:
        (Path(folder) / "sitecustomize.py").write_text(hook, encoding="utf-8")
        subprocess.run([sys.executable, "-m", "kiosk.cli", "drill", "--scenario", str(DRILLS / f"{name}.toml"),
                        "--report", str(report), "--speed", repr(speed), "--seed", str(seed)], cwd=ROOT,
                       env={**os.environ, "PYTHONPATH": os.pathsep.join([folder, str(ROOT)]), **env}, check=True,
                       stdout=subprocess.DEVNULL)


def collect(names: list[str], out: Path, speed: float, seed: int) -> None:
    out.mkdir(parents=True, exist_ok=True)
    for name in names:
        log = out / f"{name}.pkl"
        log.unlink(missing_ok=True)
        print(f"… {name}", file=sys.stderr, flush=True)
        play_hooked(HOOK, name, out / name, speed, seed, {"REPLAY_LOG": str(log)})


@dataclasses.dataclass
class Slip:
    number: str
    business: str
    issued: datetime
    told: int            # what the hall told then
    actual: float        # minutes until called
    facts: waits.HallFacts
    ahead: Ahead


def load(out: Path, name: str) -> tuple[list[Slip], dict[str, datetime], dict[str, tuple[datetime, Ahead]]]:
    """The called, non-scalper slips (as the drill scores them); when each ticket was called; every recorded
    ticket's issue time and place (to find who passed whom)."""
    recorded: dict[str, tuple[waits.HallFacts, Ahead, int]] = {}
    with (out / f"{name}.pkl").open("rb") as f:
        while True:
            try:
                number, facts, ahead, told = pickle.load(f)  # our own file, written by collect
            except EOFError:
                break
            recorded[number] = (facts, ahead, told)
    rows = json.loads((out / name / "waits.json").read_text(encoding="utf-8"))
    called = {r["number"]: datetime.fromisoformat(r["called_at"]) for r in rows if r["called_at"]}
    slips = []
    for r in rows:
        if r["kind"] == "scalper" or r["number"] not in called or r["number"] not in recorded:
            continue
        facts, ahead, told = recorded[r["number"]]
        at = datetime.fromisoformat(r["told"][0]["at"])
        slips.append(Slip(r["number"], r["business"], at, told, (called[r["number"]] - at).total_seconds() / 60,
                          facts, ahead))
    places = {n: (facts.now, ahead) for n, (facts, ahead, _) in recorded.items()}
    return slips, called, places


def passing_work(slip: Slip, called: dict[str, datetime], places: dict[str, tuple[datetime, Ahead]]) -> float:
    """The work of the priority tickets (walk-ins and appointments checking in) taken after this one, in the
    businesses of its windows, and called before it."""
    mine = {b for w in slip.facts.windows if slip.business in w.businesses for b in w.businesses}
    per = {code: d.per_ticket for code, d in slip.facts.durations.items()}
    mine_called = called[slip.number]
    return sum(per.get(a.business, DEFAULT.per_ticket) for n, (at, a) in places.items()
               if a.priority and at > slip.facts.now and a.business in mine and n in called
               and called[n] < mine_called)


def known_passing(slip: Slip, extra: float) -> waits.Estimate:
    flow, shows = waits.MAX_FLOW, waits.APPOINTMENT_SHOWS
    waits.MAX_FLOW, waits.APPOINTMENT_SHOWS = 0.0, 0.0
    try:
        per = slip.facts.durations.get(slip.business)
        cost = per.per_ticket if per else DEFAULT.per_ticket
        counts = dict(slip.ahead.counts)
        counts[slip.business] = counts.get(slip.business, 0.0) + extra / cost  # as older work of its own business
        return waits.estimate(slip.facts, dataclasses.replace(slip.ahead, counts=counts))
    finally:
        waits.MAX_FLOW, waits.APPOINTMENT_SHOWS = flow, shows


def figures(pairs: list[tuple[waits.Estimate, float]]) -> dict[str, float]:
    errors = [e.minutes - actual for e, actual in pairs]
    return {"mae": statistics.fmean(abs(x) for x in errors), "bias": statistics.fmean(errors),
            "held": statistics.fmean(float(e.low <= a <= e.high) for e, a in pairs),
            "width": statistics.fmean(e.high - e.low for e, _ in pairs)}


def score(names: list[str], out: Path, with_known: bool) -> None:
    print("| scenario | slips | mean wait | MAE target | told then: MAE / bias | this tree: MAE / bias | range held "
          "(width) |" + (" passing known: MAE / bias |" if with_known else ""))
    print("|---|---|---|---|---|---|---|" + ("---|" if with_known else ""))
    for name in names:
        slips, called, places = load(out, name)
        if not slips:
            continue
        mean = statistics.fmean(s.actual for s in slips)
        target = max(5.0, 0.2 * mean)
        then = [e.told - e.actual for e in slips]
        now = figures([(waits.estimate(s.facts, s.ahead), s.actual) for s in slips])
        line = (f"| {name} | {len(slips)} | {mean:.0f} | {target:.1f} | {statistics.fmean(abs(x) for x in then):.1f} / "
                f"{statistics.fmean(then):+.1f} | {now['mae']:.1f} / {now['bias']:+.1f} | {now['held']:.0%} "
                f"({now['width']:.0f}) |")
        if with_known:
            known = figures([(known_passing(s, passing_work(s, called, places)), s.actual) for s in slips])
            line += f" {known['mae']:.1f} / {known['bias']:+.1f} |"
        print(line)


def arguments(doc: str | None, out: str) -> argparse.ArgumentParser:
    """What both wait benches take: the step, where the plays go, which days, how fast, which citizens."""
    parser = argparse.ArgumentParser(description=doc, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("step", choices=["collect", "score"])
    parser.add_argument("--out", type=Path, default=ROOT / "build" / out)
    parser.add_argument("--only", default="", help="comma-separated scenario names (default: every shipped one)")
    parser.add_argument("--speed", type=float, default=600.0)
    parser.add_argument("--seed", type=int, default=1)
    return parser


def scenario_names(only: str) -> list[str]:
    return [n for n in only.split(",") if n] or sorted(p.stem for p in DRILLS.glob("*.toml"))


def main() -> int:
    parser = arguments(__doc__, "replay")
    parser.add_argument("--known-passing", action="store_true")
    args = parser.parse_args()
    names = scenario_names(args.only)
    if args.step == "collect":
        collect(names, args.out, args.speed, args.seed)
    else:
        score(names, args.out, args.known_passing)
    return 0


if __name__ == "__main__":
    sys.exit(main())
