"""Scoring what citizens are told about their wait against the wait that happens.

For every ticket the drill keeps what it was told at issue (the slip: ``expected_wait_min`` and its range),
what a phone following the slip's QR was told later (``GET /q/status``, at growing gaps, as a person in the
hall or out for a coffee looks), and when it was called. Beside each figure it keeps what the formulas used
before issue 23 would have said at the same moment, rebuilt here as a client could: the queue as
``GET /api/v1/queue`` shows it just then, the catalog's service minutes, and the average of the last twenty
services the drill itself saw finish (the old hall's own learning); the old functions stay in
``kiosk.domain.queue`` for this comparison only.

The summary gives, per business and overall, the mean and median absolute error, the bias (told − actual),
how often the range held and how wide it was, for the slip, the later looks (each ticket's looks weighing as
one ticket, and compared with the slips of the same tickets) and the old formulas, and
``unserved_unwarned``: holders never called by the end of the day although their ticket came without a booking
offer (a checked-in appointment cannot be offered one: it is one), or with a range that ended before closing;
``unserved_told_today``: of those, the phones that, looking once more after every window had gone home, were
still told a wait inside the day rather than that the ticket may not be called today.
Only honest holders are scored (a scalper's ticket is nobody's decision).
"""

from __future__ import annotations

import json
import math
import random
import statistics
import threading
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

from kiosk.contract.requests import QueueStatus
from kiosk.domain import codes, queue

if TYPE_CHECKING:
    from kiosk.drill.day import DrillClock, Record
    from kiosk.drill.link import Api
    from kiosk.drill.scenario import Visit

LOOKS = (10, 25, 45, 70, 100, 140, 190, 250, 320, 400, 500)  # minutes after issue a phone is looked at
OLD_SERVICES = 20  # the old hall averaged the last twenty services of a business


@dataclass
class Told:
    at: datetime
    minutes: float
    low: float | None
    high: float | None
    old: float | None  # what the formula before issue 23 said at the same moment
    today: bool = True  # the hall still expected to call it today (``expected_today``)


@dataclass
class WaitLog:
    number: str
    business: str
    kind: str
    issued_at: datetime
    offered: bool
    code: str
    slip: Told
    looks: list[Told] = field(default_factory=list)
    last: Told | None = None  # the phone's look once every window had gone home (never called)


@dataclass
class Snapshot:
    """The queue as GET /api/v1/queue shows it."""

    waiting: dict[str, int]
    served: dict[int, tuple[str, ...]]
    open_now: set[int]


class WaitWatch:
    def __init__(self, api: Api, clock: DrillClock, record: Record, stop: threading.Event, token: str,
                 closing: datetime | None) -> None:
        self.api, self.clock, self.record, self.stop, self.token = api, clock, record, stop, token
        self.closing = closing
        self.catalog: dict[str, float] = {}
        self.logs: dict[str, WaitLog] = {}
        self.lock = threading.Lock()
        self._before: Snapshot | None = None
        self.rng = random.Random(7)

    # -- hooks from the runner ------------------------------------------------------------------------------
    def read_catalog(self, catalog: dict[str, Any]) -> None:
        self.catalog = {b["code"]: float(b.get("service_minutes", 15.0)) for b in catalog["businesses"]}

    def snapshot(self) -> Snapshot | None:
        answer = self.api.client(self.token).send(QueueStatus())
        if answer.status != 200:
            return None
        reply = answer.body
        return Snapshot({b["code"]: int(b["waiting"]) for b in reply["businesses"]},
                        {w["number"]: tuple(w["businesses"]) for w in reply["windows"]},
                        {w["number"] for w in reply["windows"] if w["state"] == "open"})

    def before_issue(self) -> None:
        """The kiosk thread is about to take a ticket: the queue as it stands, for the old slip formula."""
        self._before = self.snapshot()

    def issued(self, v: Visit, ticket: dict[str, Any], offered: bool) -> None:
        now = self.clock.now()
        rng = ticket.get("expected_wait_range_min")
        snap = self._before if v.kind != "appointment" else self.snapshot()
        self._before = None
        old = None
        if snap is not None:
            if v.kind == "appointment":  # the old hall told a check-in the per-business formula
                old = self._old_view(snap, v.business, int(ticket["ahead"]), now)
            else:
                old = self._old_slip(snap, v.business, int(ticket["ahead"]), ticket.get("priority") is not None, now)
        log = WaitLog(ticket["number"], v.business, v.kind, now, offered, codes.code_of(str(ticket["qr"])),
                      Told(now, float(ticket["expected_wait_min"]), rng[0] if rng else None,
                           rng[1] if rng else None, old))
        with self.lock:
            self.logs[log.number] = log

    # -- the old formulas, rebuilt from what a client sees ----------------------------------------------------
    def _old_minutes(self, business: str, now: datetime) -> float:
        with self.record.lock:
            done = sorted((t.finished_at, (t.finished_at - t.started_at).total_seconds() / 60)
                          for t in self.record.tickets.values()
                          if t.visit.business == business and t.finished_at is not None and t.started_at is not None
                          and t.finished_at <= now)
        recent = [m for _, m in done[-OLD_SERVICES:]]
        return max(1.0, sum(recent) / len(recent)) if len(recent) >= 3 else self.catalog.get(business, 15.0)

    def _old_slip(self, snap: Snapshot, business: str, ahead: int, priority: bool, now: datetime) -> float:
        minutes = {code: self._old_minutes(code, now) for code, n in snap.waiting.items() if n > 0}
        backlog = queue.backlog_wait_minutes(business, snap.waiting, minutes, snap.served, snap.open_now)
        waiting = snap.waiting.get(business, 0)
        share = ahead / waiting if priority and waiting else 1.0
        return float(math.ceil(backlog * share))

    def _old_view(self, snap: Snapshot, business: str, ahead: int, now: datetime) -> float:
        serving = [w for w, bs in snap.served.items() if business in bs]
        open_windows = len([w for w in serving if w in snap.open_now]) or max(1, len(serving))
        return float(queue.expected_wait_minutes(ahead, self._old_minutes(business, now), open_windows))

    # -- the phones ---------------------------------------------------------------------------------------------
    def run(self) -> None:
        """Phones following their slips: each looks at 10, 25, 45, 70 … minutes after issue while it waits."""
        looked: dict[str, int] = defaultdict(int)
        while not self.stop.is_set():
            now = self.clock.now()
            with self.lock:
                due = [log for log in self.logs.values() if looked[log.number] < len(LOOKS)
                       and now >= log.issued_at + timedelta(minutes=LOOKS[looked[log.number]])]
            with self.record.lock:
                due = [log for log in due if self.record.tickets.get(log.number) is not None
                       and self.record.tickets[log.number].called_at is None]
            snap = self.snapshot() if due else None
            for log in due:
                looked[log.number] += 1
                look = self.api.look(log.code)  # the phone page's own feed, as the citizen's phone reads it
                status, body = look.status, look.body
                if status != 200 or body.get("state") not in ("waiting", "transferred"):
                    continue
                at = self.clock.now()
                rng = body.get("expected_wait_range_min")
                old = self._old_view(snap, log.business, int(body["ahead"]), at) if snap else None
                log.looks.append(Told(at, float(body["expected_wait_min"]), rng[0] if rng else None,
                                      rng[1] if rng else None, old, body.get("expected_today") is not False))
            self.clock.sleep(1, self.stop)

    def last_looks(self) -> None:
        """Once every window has gone home, each phone whose ticket was never called looks one last time: the
        hall must not tell it a wait inside the day (a citizen would stay for a call that never comes)."""
        with self.record.lock:
            uncalled = {n for n, t in self.record.tickets.items() if t.called_at is None and t.visit.kind != "scalper"}
        with self.lock:
            logs = [log for log in self.logs.values() if log.number in uncalled]
        for log in logs:
            look = self.api.look(log.code)
            if look.status == 200 and look.body.get("state") in ("waiting", "transferred"):
                body = look.body
                rng = body.get("expected_wait_range_min")
                log.last = Told(self.clock.now(), float(body["expected_wait_min"]), rng[0] if rng else None,
                                rng[1] if rng else None, None, body.get("expected_today") is not False)

    # -- the score --------------------------------------------------------------------------------------------
    def pairs(self) -> dict[str, list[tuple[str, Told, float, float]]]:
        """(business, told, actual remaining wait, weight) for the slips and the later looks of tickets that were
        called. A ticket's looks share one weight, so that the long waits (looked at most often) do not outweigh
        the rest; ``slip_looked``: the slips of the tickets that were looked at, to compare the looks with."""
        out: dict[str, list[tuple[str, Told, float, float]]] = {"slip": [], "later": [], "slip_looked": []}
        with self.record.lock:
            called = {n: t.called_at for n, t in self.record.tickets.items() if t.called_at is not None}
        for log in self.logs.values():
            if log.kind == "scalper" or log.number not in called:
                continue
            at = called[log.number]
            slip = (log.business, log.slip, (at - log.slip.at).total_seconds() / 60, 1.0)
            out["slip"].append(slip)
            looks = [t for t in log.looks if t.at <= at]
            out["later"] += [(log.business, t, (at - t.at).total_seconds() / 60, 1 / len(looks)) for t in looks]
            if looks:
                out["slip_looked"].append(slip)
        return out

    def score(self) -> dict[str, Any]:
        pairs = self.pairs()
        waits = [actual for _, _, actual, _ in pairs["slip"]]
        mean_wait = statistics.fmean(waits) if waits else 0.0
        result: dict[str, Any] = {"mean_wait": round(mean_wait, 1), "tickets": len(pairs["slip"]),
                                  "looks": len(pairs["later"])}
        for name, items in pairs.items():
            result[name] = _metrics(items, lambda t: t.minutes, True)
            if name != "slip_looked":
                result[f"old_{name}"] = _metrics(items, lambda t: t.old, False)
        result.update(self._unserved())
        slip, later = result["slip"]["overall"], result["later"]["overall"]
        target = max(5.0, 0.2 * mean_wait)
        result["goals"] = {
            "slip_mae_target": round(target, 1),
            "slip_mae_ok": slip["n"] > 0 and slip["mae"] <= target,
            "bias_ok": slip["n"] > 0 and abs(slip["bias"]) <= 3 and (later["n"] == 0 or abs(later["bias"]) <= 3),
            # the same tickets: what their phones said later against what their slips said
            "later_ok": later["n"] == 0 or later["mae"] <= result["slip_looked"]["overall"]["mae"],
            "range_ok": slip["n"] > 0 and slip["range_held"] is not None and 0.75 <= slip["range_held"] <= 0.90,
            "unwarned_ok": result["unserved_unwarned"] == 0,
            "told_not_today_ok": result["unserved_told_today"] == 0,
        }
        return result

    def _unserved(self) -> dict[str, int]:
        """Holders never called by the end: warned by a booking offer and a range reaching closing, or not. A
        checked-in appointment is never offered a booking (it is one, and the hall cannot rebook a holder it may
        not know: a slip's QR alone checks in): its range reaching past closing is its warning."""
        with self.record.lock:
            waiting = {n for n, t in self.record.tickets.items() if t.called_at is None and t.visit.kind != "scalper"}
        unwarned = told_today = 0
        for number in waiting:
            log = self.logs.get(number)
            if log is None:
                continue
            told_today += log.last is not None and log.last.today
            end = log.issued_at + timedelta(minutes=log.slip.high if log.slip.high is not None else log.slip.minutes)
            offer_due = log.kind != "appointment"
            unwarned += (offer_due and not log.offered) or (self.closing is not None and end < self.closing)
        return {"unserved": len(waiting), "unserved_unwarned": unwarned, "unserved_told_today": told_today}

    def chart(self, out: Path, plt: Any) -> list[tuple[str, str]]:
        """Told against actual: the slip and the later looks, the estimate now and the old formulas beside it;
        and every ticket's record in waits.json (what it was told, when, and when it was called)."""
        with self.record.lock:
            called = {n: t.called_at for n, t in self.record.tickets.items()}
        (out / "waits.json").write_text(json.dumps([{
            "number": log.number, "business": log.business, "kind": log.kind, "offered": log.offered,
            "called_at": at.isoformat() if (at := called.get(log.number)) else None,
            "told": [{"at": t.at.isoformat(), "minutes": t.minutes, "range": [t.low, t.high], "old": t.old}
                     for t in [log.slip, *log.looks]],
            "last_look": None if log.last is None else {  # never called: what its phone said once all had gone home
                "at": log.last.at.isoformat(), "minutes": log.last.minutes, "today": log.last.today}}
            for log in self.logs.values()], ensure_ascii=False, indent=1),
            encoding="utf-8")
        pairs = self.pairs()
        fig, axes = plt.subplots(1, 2, figsize=(11, 5))
        for ax, name, title in ((axes[0], "slip", "小票 Slip"), (axes[1], "later", "手机查看 Phone, later")):
            items = pairs[name]
            actual = [a for _, _, a, _ in items]
            ax.scatter(actual, [t.old for _, t, _, _ in items], s=9, alpha=0.5, color="#b55d3a", label="旧公式 old")
            ax.scatter(actual, [t.minutes for _, t, _, _ in items], s=9, alpha=0.6, color="#3a6ea5", label="现估计 now")
            top = max([*actual, *[t.minutes for _, t, _, _ in items], 10.0])
            ax.plot([0, top], [0, top], color="#444", lw=1)
            ax.set_title(f"{title}: 告知 vs 实际 told vs actual")
            ax.set_xlabel("实际等候 actual wait (min)")
            ax.set_ylabel("告知 told (min)")
            ax.legend(fontsize=8)
        fig.tight_layout()
        fig.savefig(out / "wait_estimates.png", dpi=110)
        plt.close(fig)
        return [("wait_estimates.png", "告知的等候时间与实际等候（蓝：现估计，橙：旧公式） / Told against actual waits "
                                       "(blue: the estimate now, orange: the old formulas)")]


def _metrics(items: list[tuple[str, Told, float, float]], told: Any, ranged: bool) -> dict[str, Any]:
    groups: dict[str, list[tuple[Told, float, float]]] = defaultdict(list)
    for business, t, actual, weight in items:
        if told(t) is not None:
            groups[business].append((t, actual, weight))
            groups[""].append((t, actual, weight))
    out = {b or "overall": _figures(g, told, ranged) for b, g in sorted(groups.items())}
    out.setdefault("overall", _figures([], told, ranged))
    return {"overall": out.pop("overall"), "by_business": out}


def _mean(pairs: list[tuple[float, float]]) -> float:
    """A weighted mean of (value, weight)."""
    return sum(v * w for v, w in pairs) / sum(w for _, w in pairs)


def _figures(group: list[tuple[Told, float, float]], told: Any, ranged: bool) -> dict[str, Any]:
    if not group:
        return {"n": 0, "mae": None, "median_error": None, "bias": None, "within": None, "range_held": None,
                "range_width": None}
    errors = [(told(t) - actual, w) for t, actual, w in group]
    ordered = sorted((abs(e), w) for e, w in errors)
    half, seen, median = sum(w for _, w in ordered) / 2, 0.0, ordered[-1][0]
    for e, w in ordered:
        seen += w
        if seen >= half:
            median = e
            break
    within = [(float(abs(e) <= max(5.0, 0.25 * actual)), w) for (e, w), (_, actual, _) in zip(errors, group, strict=True)]
    held = width = None
    bounded = [(t, actual, w) for t, actual, w in group if t.low is not None and t.high is not None]
    if ranged and bounded:
        held = round(_mean([(float(t.low <= actual <= t.high), w) for t, actual, w in bounded]), 3)  # type: ignore[operator]
        width = round(_mean([(t.high - t.low, w) for t, _, w in bounded]), 1)  # type: ignore[operator]
    return {"n": len(group), "mae": round(_mean([(abs(e), w) for e, w in errors]), 1), "median_error": round(median, 1),
            "bias": round(_mean(errors), 1), "within": round(_mean(within), 3), "range_held": held, "range_width": width}


def section(summary: dict[str, Any]) -> str:
    """The report's part on waits: overall, per business, the old formulas beside the new."""
    import html

    w = summary.get("waits")
    if not w:
        return ""
    e = html.escape

    def row(zh: str, en: str, f: dict[str, Any]) -> str:
        cells = [f["n"], f["mae"], f["median_error"], f["bias"],
                 "—" if f["within"] is None else f"{round(f['within'] * 100)}%",
                 "—" if f["range_held"] is None else f"{round(f['range_held'] * 100)}%",
                 "—" if f["range_width"] is None else f["range_width"]]
        return f"<tr><th>{e(zh)}<br><small>{e(en)}</small></th>" + "".join(f"<td>{e(str(c))}</td>" for c in cells) + "</tr>"

    head = ("<tr><th></th><th>n</th><th>平均误差 MAE</th><th>误差中位数 median</th><th>偏差 bias</th>"
            "<th>误差≤max(5,25%)</th><th>区间命中 range held</th><th>区间宽度 width</th></tr>")
    overall = "".join(row(zh, en, w[key]["overall"]) for key, zh, en in (
        ("slip", "小票（现估计）", "slip, the estimate now"), ("old_slip", "小票（旧公式）", "slip, old formula"),
        ("later", "之后手机查看（现估计）", "phone looks, the estimate now"),
        ("old_later", "之后手机查看（旧公式）", "phone looks, old formula")))
    per = "".join(row(b, "slip", f) for b, f in w["slip"]["by_business"].items())
    goals = w["goals"]
    marks = " · ".join(f"{'✓' if ok else '✗'} {e(k)}" for k, ok in goals.items() if k.endswith("_ok"))
    return (f"<h2>等候时间估计的准确度 How true the told waits were</h2>"
            f"<p>平均实际等候 {w['mean_wait']} 分钟 · 叫到的号 {w['tickets']} · 手机查看 {w['looks']} 次 · "
            f"未叫到 {w['unserved']}，其中未获提醒 unserved_unwarned {w['unserved_unwarned']}，"
            f"窗口下班后手机仍显示今天可叫到 unserved_told_today {w.get('unserved_told_today', 0)}</p>"
            f"<p>{marks}（小票 MAE 目标 ≤ {goals['slip_mae_target']} 分钟）</p>"
            f"<table>{head}{overall}</table><h3>各业务（小票，现估计） Per business (slip)</h3><table>{head}{per}</table>")

