"""``/dashboard``: the ranking by the indicators that move. Real 好差评 data is almost all 满意 (one city: 99.99%
of two million), so an average ranks nothing; halls, regions, windows or clerks are ranked by 差评 per 10,000
services, follow-ups and 办不成事 closure, with the average score last. Every row clicks through to its hall."""

from __future__ import annotations

import html
import json
from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import HTMLResponse

from kiosk.domain.errors import fail
from kiosk.ledger.indicators import GROUPINGS, Indicators, ranking
from kiosk.ledger.pages.common import Column, Link, Site, chart, choice, number, period, rate, sort_rows, table

SORTS: dict[str, Any] = {
    "label": lambda r: r.label, "services": lambda r: r.services, "bad": lambda r: r.bad,
    "per10k": lambda r: r.per10k, "ontime": lambda r: r.ontime, "overdue": lambda r: r.overdue,
    "rectified": lambda r: r.rectified_rate, "callback": lambda r: r.callback_rate,
    "opened": lambda r: r.matters_opened, "closed": lambda r: r.matters_closed,
    "close_days": lambda r: r.median_close_days, "overturned": lambda r: r.overturned, "average": lambda r: r.average}


def columns(by: str) -> list[Column]:
    return [Column(GROUPINGS[by], "label"), Column("服务量", "services"), Column("差评", "bad"),
            Column("每万件差评", "per10k"), Column("按期整改", "ontime"), Column("逾期", "overdue"),
            Column("整改率", "rectified"), Column("回访率", "callback"), Column("办不成事新增", "opened"),
            Column("办结", "closed"), Column("办结中位天数", "close_days"), Column("申诉撤销差评", "overturned"),
            Column("平均分", "average")]


def cells(r: Indicators, link: Link | str) -> list[Any]:
    matter = (r.matters_opened, r.matters_closed, number(r.median_close_days)) if r.matters_opened is not None \
        else ("—", "—", "—")
    return [link, r.services, r.bad, number(r.per10k), r.ontime, r.overdue, rate(r.rectified_rate),
            rate(r.callback_rate), *matter, r.overturned,
            "—" if r.average is None else f"{r.average:.2f}（{r.rated}评）"]


def link_of(r: Indicators, by: str, start: str, end: str) -> Link | str:
    if by == "region":
        return Link(r.label, f"/dashboard?by=hall&region={r.key[0]}&from={start}&to={end}")
    return Link(r.label, f"/dashboard/halls/{r.hall}?from={start}&to={end}") if r.hall else r.label


def mount(app: FastAPI, site: Site) -> None:
    @app.get("/dashboard", response_class=HTMLResponse)
    def indicators(request: Request) -> HTMLResponse:
        viewer = site.supervisor(request)
        start, end = period(request, site.today())
        by = choice(request, "by", list(GROUPINGS), "hall")
        region = request.query_params.get("region")
        if region is not None and not (region.isascii() and region.isdigit() and len(region) <= 12):
            raise fail("QUERY_INVALID", "参数 region 应为地区代码（数字）。", "region is a region code (digits).",
                       parameter="region")
        rows = ranking(site.db, viewer, start, end, by, site.today().isoformat(), region)
        rows = sort_rows(rows, request, SORTS, "per10k")
        options = "".join(f'<option value="{v}"{" selected" if v == by else ""}>{n}</option>' for v, n in GROUPINGS.items())
        month = end[:7]
        form = (f'<form method="get">从 <input name="from" value="{start}"> 到 <input name="to" value="{end}"> '
                f'按 <select name="by">{options}</select>'
                + (f'<input type="hidden" name="region" value="{html.escape(region)}">' if region else "")
                + ' <button>查询</button></form>'
                f'<p class="tools"><a href="/dashboard/report?month={month}">{month} 月度通报（可打印）</a>'
                f'<a href="/api/v1/export/ratings?format=xlsx&from={start}&to={end}">导出好差评（Excel）</a>'
                f'<a href="/dashboard/trends">趋势</a><a href="/dashboard/waits?from={start}&to={end}">等候时间</a></p>')
        ranked = [r for r in rows if r.per10k is not None][:40]
        graph = chart("ranking", {"type": "hbar", "x": [r.label for r in ranked], "y": "每万件差评",
                                  "series": [{"name": "每万件差评", "data": [round(r.per10k or 0, 1) for r in ranked]}]},
                      "每万件服务的差评数（越少越好；已撤销的差评不计）") if ranked else ""
        body = (form + ('<p class="muted">差评=不满意、非常不满意；申诉成立撤销的差评不计入各项指标，单列“申诉撤销差评”。'
                        '整改率=差评中已整改回访办结的比例，回访率=按期回访办结的比例；逾期含逾期办结与逾期未办结。</p>')
                + graph + table(columns(by), [cells(r, link_of(r, by, start, end)) for r in rows], request)
                + alerts(site, viewer))
        scope = f"（地区 {html.escape(region)}）" if region else ""
        return site.page(request, f"指标排名{scope} {start} 至 {end}", body, viewer, charts=bool(ranked))


def alerts(site: Site, viewer: Any) -> str:
    where, args = viewer.scope()
    rows = site.db.all(f"SELECT hall, at, code, detail FROM alerts WHERE {where} ORDER BY id DESC LIMIT 20", args)
    if not rows:
        return ""
    return "<h2>账本告警（批次被拒）</h2>" + table(["大厅", "时间", "代码", "详情"], [
        [a[0], a[1][:19], a[2], json.loads(a[3]).get("message", "")] for a in rows])
