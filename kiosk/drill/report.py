"""The drill's report for a hall director: summary.json, charts as PNG (matplotlib) and report.html.

The summary is computed from what the drill observed through the API; the charts and the
page are made from the summary and the record, in Chinese first with English beside it.
"""

from __future__ import annotations

import html
import json
from collections import Counter, defaultdict
from datetime import datetime
from pathlib import Path
from typing import Any

from kiosk.drill import waits as wait_scores
from kiosk.drill.day import Record
from kiosk.drill.insiders import describe
from kiosk.drill.scenario import Scenario

REFUSAL_NAMES = {
    "DAILY_LIMIT": "每日取号上限", "BUSINESS_LIMIT": "同一业务限取", "AGENT_LIMIT": "代办人数上限",
    "BLOCKLISTED": "限制名单", "NO_SHOW_COOLDOWN": "过号冷静期", "KIOSK_BURST": "手工输入突增",
    "HALL_CLOSED": "非办公时间", "ID_INVALID": "身份证号无效", "OFFER": "超出当日承载：改约",
}
STRATEGY_NAMES = {"typed_numbers": "代输他人身份证号占号", "lent_card": "借用他人身份证取号",
                  "resold_ticket": "倒卖号票", "agent_over_limit": "冒充代办超量取号"}


def _pct(values: list[float], q: float) -> float:
    if not values:
        return 0.0
    ordered = sorted(values)
    return round(ordered[min(len(ordered) - 1, int(q * len(ordered)))], 1)


def _quarter(at: datetime) -> datetime:
    return at.replace(minute=at.minute - at.minute % 15, second=0, microsecond=0)


def summarize(sc: Scenario, rec: Record, windows: list[int], wall_seconds: float, hall_latencies: list[float],
              burst_alerts: int, followups: int, settings: dict[str, Any], seed: int, speed: float) -> dict[str, Any]:
    tickets = list(rec.tickets.values())
    honest = [t for t in tickets if t.visit.kind != "scalper"]
    scalper_tickets = [t for t in tickets if t.visit.kind == "scalper"]
    waits: dict[str, list[float]] = defaultdict(list)
    uncalled: Counter[str] = Counter()
    for t in honest:
        if t.called_at is not None:
            waits[t.visit.business].append((t.called_at - t.issued_at).total_seconds() / 60)
        else:
            uncalled[t.visit.business] += 1
    honest_refused = Counter(code for v, code in rec.refusals if v.kind != "scalper")
    strategies: dict[str, dict[str, Any]] = {}
    for s in sc.scalpers:
        strategies.setdefault(s.strategy, {"attempts": 0, "tickets": 0, "served": 0, "refused": Counter(),
                                           "mismatch_at_window": 0})
    for v, code in rec.refusals:
        if v.kind == "scalper" and v.strategy:
            strategies[v.strategy]["attempts"] += 1
            strategies[v.strategy]["refused"][code] += 1
    for t in scalper_tickets:  # a slot hoarder's ticket, on a day not yet full, is a scalper's too
        st = strategies.setdefault(t.visit.strategy or "", {"attempts": 0, "tickets": 0, "served": 0,
                                                             "refused": Counter(), "mismatch_at_window": 0})
        st["attempts"] += 1
        st["tickets"] += 1
        st["served"] += t.outcome == "served"
        st["mismatch_at_window"] += t.outcome == "mismatch"
    typed_stops = _typed_stops(rec)
    longest = max((sum(q.values()) for _, q in rec.queue), default=0)
    by_business_peak = {b: max((q.get(b, 0) for _, q in rec.queue), default=0) for b in sc.mix}
    latencies = sorted(hall_latencies)
    return {
        "scenario": sc.name, "day": sc.day.isoformat(), "seed": seed, "speed": speed, "settings": settings,
        "issued": len(tickets),
        # tickets are issued until closing: the hall time of the last ticket and of the last arrival
        "last_issued_at": max(t.issued_at for t in tickets).strftime("%H:%M") if tickets else None,
        "last_arrival_at": max(rec.arrivals).strftime("%H:%M") if rec.arrivals else None,
        "served": sum(1 for t in tickets if t.outcome == "served"),
        "still_waiting": sum(1 for t in tickets if t.outcome == "waiting"),
        "no_shows": sum(1 for t in tickets if t.outcome == "no_show"),
        "arrivals": len(rec.arrivals),
        "offered": len(rec.offered), "booked": len(rec.booked),
        "honest_refused": dict(honest_refused),
        "honest_redirected_to_card": len(rec.redirected),
        "scalper_attempts": sum(s["attempts"] for s in strategies.values()),
        "scalper_tickets": len(scalper_tickets),
        "scalper_served": sum(1 for t in scalper_tickets if t.outcome == "served"),
        "scalpers": {k: {**v, "refused": dict(v["refused"])} for k, v in strategies.items()},
        "typed_burst_stopped_after": typed_stops,
        "burst_alerts": burst_alerts,
        "identity_mismatches": rec.mismatches,
        "wait_minutes": {b: {"p50": _pct(w, 0.5), "p90": _pct(w, 0.9), "max": round(max(w), 1) if w else 0.0,
                             "n": len(w), "not_called": uncalled.get(b, 0)}
                         for b in sorted(set(waits) | set(uncalled)) for w in [waits.get(b, [])]},
        "longest_queue": longest, "longest_queue_by_business": by_business_peak,
        # the share of the time a clerk was at the window that was spent serving
        "window_utilisation": {str(w): round(min(1.0, rec.window_busy.get(w, 0.0) / rec.window_staffed[w]), 2)
                               if rec.window_staffed.get(w) else 0.0 for w in windows},
        "ratings": {str(k): rec.ratings.get(k, 0) for k in range(1, 6)},
        "followups_opened": followups, "matters": rec.matters,
        "hall_p50_ms": round(latencies[len(latencies) // 2] * 1000, 1) if latencies else 0.0,
        "hall_p99_ms": round(latencies[min(len(latencies) - 1, int(0.99 * len(latencies)))] * 1000, 1)
        if latencies else 0.0,
        "requests": len(latencies),
        "wall_seconds": round(wall_seconds, 1),
        "waits": rec.waits.score() if rec.waits else None,  # told against actual (kiosk/drill/waits.py)
    }


def _typed_stops(rec: Record) -> list[int]:
    """For each KIOSK_BURST refusal of a typed-numbers scalper: how many tickets that run had got first."""
    # both in the planned order the kiosks play them: a kiosk running behind would mix actual and planned times
    events = sorted([(t.visit.at, "ticket") for t in rec.tickets.values() if t.visit.strategy == "typed_numbers"]
                    + [(v.at, "stop") for v, c in rec.refusals if v.strategy == "typed_numbers" and c == "KIOSK_BURST"])
    stops, run = [], 0
    for _, kind in events:
        if kind == "ticket":
            run += 1
        elif run:
            stops.append(run)
            run = 0
    return stops


# -- charts ---------------------------------------------------------------------------------------------------
def _plt() -> Any:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib import font_manager

    from drivers.printer.fonts import font_source

    try:
        path, _ = font_source()
        font_manager.fontManager.addfont(str(path))
        name = font_manager.FontProperties(fname=str(path)).get_name()
        plt.rcParams["font.family"] = [name, "DejaVu Sans"]
    except Exception:  # noqa: BLE001 - without a CJK font the charts still draw, with boxes for Chinese
        pass
    plt.rcParams["axes.unicode_minus"] = False
    return plt


def charts(out: Path, sc: Scenario, rec: Record, summary: dict[str, Any]) -> list[tuple[str, str]]:
    """One PNG per question a director asks; returns (file, caption) in page order."""
    plt = _plt()
    made: list[tuple[str, str]] = []

    def save(fig: Any, name: str, caption: str) -> None:
        fig.tight_layout()
        fig.savefig(out / name, dpi=110)
        plt.close(fig)
        made.append((name, caption))

    # queue length per business over the day
    fig, ax = plt.subplots(figsize=(9, 4))
    times = [t for t, _ in rec.queue]
    for code in sorted(sc.mix):
        ax.plot(times, [q.get(code, 0) for _, q in rec.queue], label=code)
    ax.set_title("各业务排队人数 Queue length per business")
    ax.set_ylabel("等候人数 waiting")
    ax.legend(ncol=6, fontsize=8)
    fig.autofmt_xdate()
    save(fig, "queue.png", "各业务排队人数随时间变化 / Queue length per business over the day")

    # arrivals against services per quarter hour
    arrivals = Counter(_quarter(a) for a in rec.arrivals)
    services = Counter(_quarter(t.finished_at) for t in rec.tickets.values() if t.finished_at is not None)
    quarters = sorted(set(arrivals) | set(services))
    fig, ax = plt.subplots(figsize=(9, 4))
    xs = range(len(quarters))
    ax.bar([x - 0.2 for x in xs], [arrivals.get(q, 0) for q in quarters], width=0.4, label="到达 arrivals")
    ax.bar([x + 0.2 for x in xs], [services.get(q, 0) for q in quarters], width=0.4, label="办结 served")
    ax.set_xticks(list(xs)[::2], [f"{q:%H:%M}" for q in quarters][::2], rotation=45, fontsize=8)
    ax.set_title("每刻钟到达与办结 Arrivals and services per quarter hour")
    ax.legend()
    save(fig, "flow.png", "每刻钟到达人数与办结人数 / Arrivals against services per quarter hour")

    # waiting-time distribution
    waits = [(t.called_at - t.issued_at).total_seconds() / 60 for t in rec.tickets.values()
             if t.called_at is not None and t.visit.kind != "scalper"]
    fig, ax = plt.subplots(figsize=(9, 4))
    ax.hist(waits or [0], bins=30, color="#3a6ea5")
    ax.set_title("等候时间分布 Waiting time (minutes)")
    ax.set_xlabel("分钟 minutes")
    ax.set_ylabel("人数 people")
    save(fig, "waits.png", "从取号到叫号的等候时间分布 / Waiting time from ticket to call")

    # refusals and offers by reason
    reasons: Counter[str] = Counter()
    for v, code in rec.refusals:
        reasons[f"{'黄牛 ' if v.kind == 'scalper' else '市民 '}{REFUSAL_NAMES.get(code, code)}"] += 1
    if rec.offered:
        reasons["市民 超出当日承载：现场预约"] += len(rec.offered)
    if rec.redirected:
        reasons["市民 手工输入暂停：改刷身份证"] += len(rec.redirected)
    fig, ax = plt.subplots(figsize=(9, 4))
    labels = list(reasons) or ["（无）"]
    ax.barh(labels, [reasons[k] for k in labels] if reasons else [0], color="#b55d3a")
    ax.set_title("拒绝与改约（按原因） Refusals and offers by reason")
    save(fig, "refusals.png", "拒绝与改约，按原因 / Refusals and offers by reason")

    # scalper attempts against their outcomes
    fig, ax = plt.subplots(figsize=(9, 4))
    names = list(summary["scalpers"]) or ["（无）"]
    data = summary["scalpers"]
    xs = range(len(names))
    ax.bar([x - 0.3 for x in xs], [data.get(n, {}).get("attempts", 0) for n in names], width=0.2, label="尝试 attempts")
    ax.bar([x - 0.1 for x in xs], [sum(data.get(n, {}).get("refused", {}).values()) for n in names], width=0.2,
           label="取号被拒 refused")
    ax.bar([x + 0.1 for x in xs], [data.get(n, {}).get("mismatch_at_window", 0) for n in names], width=0.2,
           label="窗口人证不符 mismatch")
    ax.bar([x + 0.3 for x in xs], [data.get(n, {}).get("served", 0) for n in names], width=0.2, label="被办理 served")
    ax.set_xticks(list(xs), [STRATEGY_NAMES.get(n, n) for n in names], fontsize=9)
    ax.set_title("黄牛尝试与结果 Scalper attempts and outcomes")
    ax.legend(fontsize=8)
    save(fig, "scalpers.png", "黄牛的尝试与结果 / Scalper attempts against their outcomes")
    if rec.waits:
        made += rec.waits.chart(out, plt)
    return made


# -- the page -------------------------------------------------------------------------------------------------
def write_report(out: Path, sc: Scenario, rec: Record, summary: dict[str, Any]) -> Path:
    out.mkdir(parents=True, exist_ok=True)
    (out / "summary.json").write_text(json.dumps(summary, ensure_ascii=False, indent=2), encoding="utf-8")
    made = charts(out, sc, rec, summary)
    e = html.escape
    refused = summary["honest_refused"]
    gamed = summary.get("hoarded_slots", 0) + summary.get("forged_ratings_accepted", 0)
    verdict_ok = not refused and summary["scalper_served"] == 0 and gamed == 0
    verdict = ("✓ 没有市民被拒之门外，黄牛未能办成一件业务，没有可转卖的囤积号源，没有一条代评被接受。" if verdict_ok else
               "✗ 有市民被拒，或黄牛办成了业务，或有囤积号源、代评被接受：请看下面的原因。") + \
        (" No honest citizen was refused, no scalper was served, no slot was hoarded and no forged rating taken."
         if verdict_ok else " An honest citizen was refused, a scalper served, a slot hoarded or a forged rating "
         "taken: see below.")
    rows = [
        ("到达取号机的人次", "arrivals at the kiosks", summary["arrivals"]),
        ("发出号票", "tickets issued", summary["issued"]),
        ("办结", "served", summary["served"]),
        ("过号", "no-shows", summary["no_shows"]),
        ("收市时仍在等候", "still waiting at the end", summary["still_waiting"]),
        ("超出承载，提供现场预约", "over capacity: booking offered", summary["offered"]),
        ("接受预约改日办理", "booked for a later slot", summary["booked"]),
        ("市民被拒", "honest citizens refused", sum(refused.values()) if refused else 0),
        ("手工输入暂停后改刷身份证", "typed entry paused, card used instead", summary["honest_redirected_to_card"]),
        ("黄牛尝试 / 取得号票 / 被办理", "scalper attempts / tickets / served",
         f"{summary['scalper_attempts']} / {summary['scalper_tickets']} / {summary['scalper_served']}"),
        ("窗口人证不符", "identity mismatches at windows", summary["identity_mismatches"]),
        ("值班台收到的取号机告警", "kiosk-burst alerts to the duty desk", summary["burst_alerts"]),
        ("买号者可用的囤积号源", "hoarded slots a buyer could use", summary.get("hoarded_slots", 0)),
        ("被接受的代评（刷评）", "forged ratings accepted", summary.get("forged_ratings_accepted", 0)),
        ("最长排队（全厅）", "longest queue (whole hall)", summary["longest_queue"]),
        ("差评跟进 / 办不成事反映", "bad-rating follow-ups / matters",
         f"{summary['followups_opened']} / {summary['matters']}"),
        ("大厅服务响应 p50 / p99（毫秒）", "hall response p50 / p99 (ms)",
         f"{summary['hall_p50_ms']} / {summary['hall_p99_ms']}"),
    ]
    table = "".join(f"<tr><th>{e(zh)}<br><small>{e(en)}</small></th><td>{e(str(v))}</td></tr>" for zh, en, v in rows)
    waits = "".join(f"<tr><td>{e(b)}</td><td>{w['n']}</td><td>{w['p50']}</td><td>{w['p90']}</td><td>{w['max']}</td>"
                    f"<td>{w['not_called']}</td></tr>" for b, w in summary["wait_minutes"].items())
    util = "".join(f"<tr><td>{e(w)}号窗口</td><td>{round(u * 100)}%</td></tr>"
                   for w, u in summary["window_utilisation"].items())
    refused_rows = "".join(f"<li>{e(REFUSAL_NAMES.get(c, c))}（{e(c)}）：{n}</li>" for c, n in refused.items()) \
        or "<li>无 / none</li>"
    settings = "".join(f"<li><code>{e(k)} = {e(json.dumps(v, ensure_ascii=False))}</code></li>"
                       for k, v in summary["settings"].items()) or "<li>发布配置 / the shipped configuration</li>"
    insiders = "".join(f'<p class="insider">{e(zh)}<br><small>{e(en)}</small></p>' for zh, en in describe(summary))
    figures = "".join(f'<figure><img src="{e(name)}" alt="{e(caption)}"><figcaption>{e(caption)}</figcaption></figure>'
                      for name, caption in made)
    page = f"""<!doctype html><html lang="zh-CN"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>演练报告 {e(sc.name)}</title>
<style>body{{font-family:"Noto Sans CJK SC",sans-serif;max-width:1000px;margin:24px auto;padding:0 16px;color:#222}}
h1{{font-size:26px}} .verdict{{font-size:20px;padding:12px;border-radius:6px;background:{'#e6f4ea' if verdict_ok else '#fdecea'}}}
table{{border-collapse:collapse;margin:12px 0}} th,td{{border:1px solid #ccc;padding:6px 10px;text-align:left}}
th small{{color:#666;font-weight:normal}} figure{{margin:18px 0}} img{{max-width:100%}} figcaption{{color:#555}}</style>
</head><body>
<h1>大厅演练报告：{e(sc.name)}</h1>
<p>{e(sc.description)}</p>
<p>演练日期 {e(summary['day'])} · 随机种子 seed {summary['seed']} · 时钟加速 ×{summary['speed']:g} ·
用时 {summary['wall_seconds']} 秒 wall seconds</p>
<p class="verdict">{e(verdict)}</p>
<h2>本次演练的设置 Settings tried</h2><ul>{settings}</ul>
<h2>一天的结果 The day in numbers</h2><table>{table}</table>
<h2>内部人的尝试 What the insiders tried</h2>{insiders}
<h2>市民被拒原因 Why honest citizens were refused</h2><ul>{refused_rows}</ul>
<h2>等候时间（分钟） Waiting minutes per business</h2>
<table><tr><th>业务</th><th>已叫号人数 called</th><th>中位数 p50</th><th>p90</th><th>最长 max</th>
<th>演练结束时未叫到 not yet called</th></tr>{waits}</table>
<h2>窗口利用率 Window utilisation</h2><table>{util}</table>
{wait_scores.section(summary)}
<h2>图表 Charts</h2>{figures}
</body></html>"""
    path = out / "report.html"
    path.write_text(page, encoding="utf-8")
    return path

