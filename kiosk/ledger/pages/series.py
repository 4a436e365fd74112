"""``/dashboard/waits`` and ``/dashboard/trends``: how long citizens wait from ticket to call (p50, p90 and the
share of an hour or more, per hall and business, and by day), and weekly or monthly series per hall and for the
province, drawn with ECharts."""

from __future__ import annotations

import html
from datetime import date, timedelta
from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import HTMLResponse

from kiosk.ledger.indicators import Point, halls_in_scope, long_share, percentile, trends, wait_days, wait_histograms
from kiosk.ledger.pages.common import (
    Column,
    Link,
    Site,
    business_label,
    chart,
    choice,
    day_param,
    number,
    period,
    rate,
    sort_rows,
    table,
)
from kiosk.ledger.pages.hall import hall_for

WAIT_SORTS: dict[str, Any] = {"hall": lambda r: r[0], "business": lambda r: r[1], "calls": lambda r: r[2],
                              "p50": lambda r: r[3], "p90": lambda r: r[4], "long": lambda r: r[5]}


def mount(app: FastAPI, site: Site) -> None:
    @app.get("/dashboard/waits", response_class=HTMLResponse)
    def waits(request: Request) -> HTMLResponse:
        viewer = site.supervisor(request)
        start, end = period(request, site.today())
        hall = request.query_params.get("hall") or None
        names = {h[0]: h[1] for h in halls_in_scope(site.db, viewer)}
        if hall is not None:
            hall_for(site, viewer, hall)
        histograms = wait_histograms(site.db, viewer, start, end, hall)
        per_hall: dict[str, dict[int, int]] = {}
        rows: list[tuple[Any, ...]] = []
        for (h, business), hist in histograms.items():
            total = per_hall.setdefault(h, {})
            for lower, n in hist.items():
                total[lower] = total.get(lower, 0) + n
            rows.append((names.get(h, h), business_label(business), sum(hist.values()), percentile(hist, 0.5),
                         percentile(hist, 0.9), long_share(hist), h))
        for h, hist in per_hall.items():
            rows.append((names.get(h, h), "（全部业务）", sum(hist.values()), percentile(hist, 0.5), percentile(hist, 0.9),
                         long_share(hist), h))
        rows = sort_rows(rows, request, WAIT_SORTS, "p90", "desc")
        days = wait_days(site.db, viewer, start, end, hall)
        graph = chart("waits-by-day", {"type": "line", "x": [d[0] for d in days], "y": "%", "y2": "分钟", "series": [
            {"name": "满 60 分钟占比（%）", "data": [round(100 * d[3], 1) for d in days]},
            {"name": "平均等候（分钟）", "axis": 1, "data": [round(d[2], 1) for d in days]}]},
            "按日：等候满 60 分钟的比例与平均等候") if days else ""
        form = (f'<form method="get">从 <input name="from" value="{start}"> 到 <input name="to" value="{end}"> '
                + (f'<input type="hidden" name="hall" value="{html.escape(hall)}">' if hall else "")
                + '<button>查询</button></form>')
        head = [Column("大厅", "hall"), Column("业务", "business"), Column("叫号数", "calls"),
                Column("中位数（分钟）", "p50"), Column("P90（分钟）", "p90"), Column("满 60 分钟占比", "long")]
        body = (form + '<p class="muted">等候＝取号到首次叫号，按事件计算；分位数取自每分钟（半小时后渐宽）的直方图。</p>'
                + graph + table(head, [[Link(r[0], f"/dashboard/halls/{r[6]}?from={start}&to={end}"), r[1], r[2],
                                        number(r[3]), number(r[4]), rate(r[5])] for r in rows], request)
                + "<h2>按日</h2>" + table(["日期", "叫号数", "平均等候（分钟）", "满 60 分钟占比"],
                                         [[d[0], d[1], number(d[2]), rate(d[3])] for d in days]))
        title = f"等候时间{'：' + names.get(hall, hall) if hall else ''} {start} 至 {end}"
        return site.page(request, title, body, viewer, charts=bool(days))

    @app.get("/dashboard/trends", response_class=HTMLResponse)
    def trend_page(request: Request) -> HTMLResponse:
        viewer = site.supervisor(request)
        grain = choice(request, "grain", ("week", "month"), "week")
        today = site.today()
        end = day_param(request.query_params.get("to"), today, "to").isoformat()
        start = day_param(request.query_params.get("from"), date.fromisoformat(end) - timedelta(days=364) if grain ==
                          "month" else date.fromisoformat(end) - timedelta(weeks=26), "from").isoformat()
        hall = request.query_params.get("hall") or None
        names = {h[0]: h[1] for h in halls_in_scope(site.db, viewer)}
        if hall is not None:
            hall_for(site, viewer, hall)
        periods, series = trends(site.db, viewer, grain, start, end, hall)
        province: dict[str, Point] = {p: Point() for p in periods}
        for points in series.values():
            for p, point in points.items():
                province[p].add((point.services, point.rated, point.level_sum, point.bad, point.overturned, point.called,
                                 point.wait_tenths, point.over60))
        total = [province[p].figures() for p in periods]
        whose = names.get(hall, hall) if hall else "全省" if viewer.role == "province" else f"{viewer.region} 地区"
        charts = [
            chart("trend-services", {"type": "bar", "x": periods, "y": "件",
                                     "series": [{"name": "服务量", "data": [f["services"] for f in total]}]},
                  f"{whose}：服务量"),
            chart("trend-bad", {"type": "line", "x": periods, "y": "每万件差评", "series": [
                {"name": "每万件差评", "data": [f["per10k"] for f in total]}]}, f"{whose}：每万件差评"),
            chart("trend-wait", {"type": "line", "x": periods, "y": "分钟", "y2": "%", "series": [
                {"name": "平均等候（分钟）", "data": [f["wait"] for f in total]},
                {"name": "满 60 分钟占比（%）", "axis": 1, "data": [f["long"] for f in total]}]}, f"{whose}：等候"),
            chart("trend-average", {"type": "line", "x": periods, "y": "分", "scale": True, "series": [
                {"name": "平均分", "data": [f["average"] for f in total]}]}, f"{whose}：平均分（参考）")]
        if not hall and len(series) > 1:  # every hall's 每万件差评 on one chart, the worst ten
            worst = sorted(series, key=lambda h: -sum(p.bad for p in series[h].values()) / max(
                1, sum(p.services for p in series[h].values())))[:10]
            charts.append(chart("trend-halls", {"type": "line", "x": periods, "y": "每万件差评", "series": [
                {"name": names.get(h, h), "data": [series[h][p].figures()["per10k"] if p in series[h] else None
                                                   for p in periods]} for h in worst]}, "每万件差评最高的十个大厅"))
        grains = "".join(f'<option value="{g}"{" selected" if g == grain else ""}>{n}</option>'
                         for g, n in (("week", "按周"), ("month", "按月")))
        form = (f'<form method="get"><select name="grain">{grains}</select> 从 <input name="from" value="{start}"> '
                f'到 <input name="to" value="{end}">'
                + (f'<input type="hidden" name="hall" value="{html.escape(hall)}">' if hall else "")
                + ' <button>查询</button></form>')
        rows = [[Link(names.get(h, h), f"/dashboard/halls/{h}"), Link("趋势", f"/dashboard/trends?hall={h}&grain={grain}"),
                 *[number(series[h][p].figures()["per10k"]) if p in series[h] else "—" for p in periods]]
                for h in sorted(series, key=lambda h: names.get(h, h))]
        body = (form + '<div class="charts">' + "".join(charts) + "</div>"
                + "<h2>各大厅每万件差评</h2>" + table(["大厅", "", *periods], rows)
                + "<h2>" + html.escape(whose) + "</h2>"
                + table(["周期", "服务量", "每万件差评", "平均等候（分钟）", "满 60 分钟占比", "平均分"],
                        [[p, f["services"], number(f["per10k"]), number(f["wait"]),
                          "—" if f["long"] is None else f"{f['long']}%", number(f["average"], 2)]
                         for p, f in zip(periods, total, strict=True)]))
        return site.page(request, f"趋势（{'按周' if grain == 'week' else '按月'}）：{whose} {start} 至 {end}", body, viewer,
                         charts=True)
