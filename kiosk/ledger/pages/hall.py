"""``/dashboard/halls/{hall}``: one hall for a period — its indicators and their weekly trend, its windows,
businesses and clerks, waits, exceptions (out-of-order calls, identity mismatches and overrides …), kiosk
bursts and booking hoarding, and its bad ratings with their follow-ups and appeals (an overturned one shown
struck through, as it stays on record). A region account reaches only its own region's halls."""

from __future__ import annotations

import html
from datetime import date, timedelta
from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import HTMLResponse

from kiosk.domain.errors import fail
from kiosk.domain.labels import EXCEPTION_KINDS, RATING_LEVELS
from kiosk.ledger import hoarding
from kiosk.ledger.indicators import Indicators, long_share, percentile, ranking, trends, wait_histograms
from kiosk.ledger.pages.common import Column, Site, business_label, chart, number, period, rate, sort_rows, table
from kiosk.ledger.pages.ranking import SORTS, cells, columns
from kiosk.ledger.service import Viewer

APPEALS = {"appealed": "申诉中", "upheld": "申诉不成立，差评维持", "overturned": "申诉成立，差评已撤销"}


def hall_for(site: Site, viewer: Viewer, hall: str) -> tuple[str, str, str]:
    """(id, name, region) of a hall the viewer may see: 404 for an unknown hall, 403 for another region's."""
    row = site.db.one("SELECT id, name, region FROM halls WHERE id=?", (hall,))
    if row is None:
        raise fail("HALL_UNKNOWN", hall=hall)
    if viewer.role != "province" and not str(row[2]).startswith(viewer.region):
        raise fail("FORBIDDEN", "只能查看本地区的大厅。", "A region account sees only its region's halls.")
    return str(row[0]), str(row[1]), str(row[2])


def figures(r: Indicators) -> str:
    boxes = [("服务量", r.services), ("每万件差评", number(r.per10k)), ("按期整改 / 逾期", f"{r.ontime} / {r.overdue}"),
             ("整改率", rate(r.rectified_rate)), ("回访率", rate(r.callback_rate)),
             ("办不成事 新增 / 办结", f"{r.matters_opened} / {r.matters_closed}"),
             ("办结中位天数", number(r.median_close_days)), ("申诉撤销差评", r.overturned),
             ("平均分", "—" if r.average is None else f"{r.average:.2f}")]
    return '<div class="figures">' + "".join(f'<div class="figure">{html.escape(k)}<b>{html.escape(str(v))}</b></div>'
                                             for k, v in boxes) + "</div>"


def weekly(site: Site, viewer: Viewer, hall: str, end: str) -> str:
    start = (date.fromisoformat(end) - timedelta(weeks=26)).isoformat()
    weeks, series = trends(site.db, viewer, "week", start, end, hall)
    points = [series.get(hall, {}).get(w) for w in weeks]
    figures_ = [p.figures() if p else {} for p in points]
    return chart("hall-trend", {"type": "line", "x": weeks, "y": "服务量", "y2": "每万件差评 / 分钟", "series": [
        {"name": "服务量", "type": "bar", "data": [f.get("services") for f in figures_]},
        {"name": "每万件差评", "axis": 1, "data": [f.get("per10k") for f in figures_]},
        {"name": "平均等候（分钟）", "axis": 1, "data": [f.get("wait") for f in figures_]}]},
        "近 26 周：服务量、每万件差评、平均等候")


def mount(app: FastAPI, site: Site) -> None:
    @app.get("/dashboard/halls/{hall}", response_class=HTMLResponse)
    def hall_page(request: Request, hall: str) -> HTMLResponse:
        viewer = site.supervisor(request)
        hall_id, name, region = hall_for(site, viewer, hall)
        start, end = period(request, site.today())
        today = site.today().isoformat()
        db = site.db
        overall = ranking(db, viewer, start, end, "hall", today, hall=hall_id)
        parts = [f'<p class="tools"><a href="/dashboard?from={start}&to={end}">← 返回排名</a>'
                 f'<a href="/dashboard/trends?hall={html.escape(hall_id)}">趋势</a>'
                 f'<a href="/api/v1/export/ratings?format=xlsx&hall={html.escape(hall_id)}&from={start}&to={end}">'
                 f'导出本厅好差评（Excel）</a></p>'
                 f'<form method="get">从 <input name="from" value="{start}"> 到 <input name="to" value="{end}"> '
                 f'<button>查询</button></form>', figures(overall[0]) if overall else "", weekly(site, viewer, hall_id, end)]
        for by, title in (("window", "窗口"), ("business", "业务"), ("clerk", "工作人员")):
            rows = sort_rows(ranking(db, viewer, start, end, by, today, hall=hall_id), request, SORTS, "per10k")
            head = [Column(title), *[Column(c.label) for c in columns("hall")[1:]]]
            parts.append(f"<h2>按{title}</h2>" + table(head, [cells(r, business_label(r.key[-1]) if by == "business"
                                                                   else r.label.removeprefix(name + " ")) for r in rows]))
        parts.append(waits(site, viewer, hall_id, start, end))
        parts.append(exceptions(site, hall_id, start, end))
        parts.append(scalpers(site, viewer, hall_id, start, end))
        parts.append(bad_ratings(site, hall_id, start, end, today))
        site.read(request, viewer, "大厅页（身份哈希、申诉理由）", hall=hall_id, start=start, end=end)
        return site.page(request, f"{name}（{hall_id}，地区 {region}） {start} 至 {end}", "".join(parts), viewer,
                         charts=True)


def waits(site: Site, viewer: Viewer, hall: str, start: str, end: str) -> str:
    rows = []
    for (_h, business), hist in sorted(wait_histograms(site.db, viewer, start, end, hall).items()):
        rows.append([business_label(business), sum(hist.values()), number(percentile(hist, 0.5)),
                     number(percentile(hist, 0.9)), rate(long_share(hist))])
    return (f'<h2>等候时间（取号到叫号） <a class="muted" href="/dashboard/waits?hall={html.escape(hall)}&from={start}'
            f'&to={end}">按日</a></h2>' + table(["业务", "叫号数", "中位数（分钟）", "P90（分钟）", "满 60 分钟占比"], rows))


def exceptions(site: Site, hall: str, start: str, end: str) -> str:
    db = site.db
    after = (date.fromisoformat(end) + timedelta(days=1)).isoformat()
    counts = db.all("SELECT kind, COUNT(*) FROM exceptions WHERE hall=? AND at >= ? AND at < ? GROUP BY kind ORDER BY 2 DESC",
                    (hall, start, after))
    latest = db.all("SELECT at, kind, win, clerk_id, ticket, reason FROM exceptions WHERE hall=? AND at >= ? AND at < ? "
                    "ORDER BY at DESC LIMIT 100", (hall, start, after))
    return ("<h2>异常（不按顺序叫号、人证不一致及仍办理、转办等）</h2>"
            + table(["类别", "次数"], [[EXCEPTION_KINDS.get(k, k), n] for k, n in counts])
            + table(["时间", "类别", "窗口", "工号", "票号", "原因"],
                    [[r[0][:16].replace("T", " "), EXCEPTION_KINDS.get(r[1], r[1]), f"{r[2]}号窗口" if r[2] else "",
                      r[3] or "", r[4] or "", r[5] or "（未填写）"] for r in latest], caption="最近 100 条"))


def scalpers(site: Site, viewer: Viewer, hall: str, start: str, end: str) -> str:
    db = site.db
    bursts = hoarding.bursts(db, viewer, start, end, hall)
    typed = hoarding.typed_bookings(db, viewer, start, end, 3, hall)
    holders = hoarding.booking_holders(db, viewer, start, end, 2, hall)
    refused = hoarding.refusals(db, viewer, start, end, hall)
    return ("<h2>取号机手工输入身份证号突增</h2>"
            + table(["时间", "取号机", "途径"], [[b[1][:16].replace("T", " "), b[2] or "", VIA.get(b[3], b[3] or "")]
                                              for b in bursts])
            + "<h2>预约号源囤积</h2>"
            + table(["取号机", "日期", "手工输入身份证号的预约", "不同身份数"], [[t[1] or "", t[2], t[3], t[4]] for t in typed],
                    caption="同一取号机一天内手工输入身份证号预约 3 个及以上")
            + table(["身份哈希（前16位）", "预约数", "大厅数", "其中手工输入", "被拒次数"],
                    [[h[0][:16], h[1], h[2], h[3], h[4]] for h in holders], caption="同一身份预约 2 次及以上（含他厅）")
            + table(["取号机", "拒绝原因", "次数"], [[r[1] or "", r[2], r[3]] for r in refused],
                    caption="按防黄牛规则拒绝的预约"))


VIA = {"ticket": "取号", "booking": "预约"}


def bad_ratings(site: Site, hall: str, start: str, end: str, today: str) -> str:
    rows = site.db.all("SELECT day, number, level, win, clerk_id, deadline, followup, closed_at, appeal FROM ratings "
                       "WHERE hall=? AND day BETWEEN ? AND ? AND (bad=1 OR appeal IS NOT NULL) ORDER BY day DESC, number "
                       "LIMIT 500", (hall, start, end))
    appeals = {(a[0], a[1]): a[2] for a in site.db.all(
        "SELECT day, number, reason FROM appeals WHERE hall=? AND day BETWEEN ? AND ? ORDER BY seq", (hall, start, end))}
    data: list[list[Any]] = []
    classes: list[str] = []
    for r in rows:
        overturned = r[8] == "overturned"
        late = r[6] == "opened" and bool(r[5]) and r[5] < today and not overturned
        state = "已撤销" if overturned else "已办结" + ("（逾期）" if r[7] and r[5] and r[7][:10] > r[5] else "") \
            if r[6] == "closed" else ("已逾期" if late else "跟进中")
        data.append([r[0], r[1], RATING_LEVELS.get(int(r[2]), r[2]), f"{r[3]}号窗口" if r[3] is not None else "",
                     r[4] or "", r[5] or "", state, APPEALS.get(r[8], "—"), appeals.get((r[0], r[1])) or ""])
        classes.append("overturned" if overturned else "late" if late else "")
    return "<h2>差评与申诉</h2>" + table(["日期", "票号", "评价", "窗口", "工号", "期限", "整改回访", "申诉", "申诉理由"],
                                          data, classes=classes)

