"""``/dashboard/report?month=YYYY-MM``: the monthly 通报, one click from the ranking and made to be printed (A4,
sections on their own pages, headers repeated, no navigation): the ranking of halls by the indicators, bad
ratings whose follow-up is overdue, 办不成事 still open, and the scalper clues of the month."""

from __future__ import annotations

import html
from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import HTMLResponse

from kiosk.domain.labels import MATTER_STATUS, RATING_LEVELS
from kiosk.ledger import hoarding
from kiosk.ledger.indicators import halls_in_scope, next_day, ranking
from kiosk.ledger.pages.common import Link, Site, month_param, number, rate, table

LIMIT = 300


def mount(app: FastAPI, site: Site) -> None:
    @app.get("/dashboard/report", response_class=HTMLResponse)
    def report(request: Request) -> HTMLResponse:
        viewer = site.supervisor(request)
        month, start, end = month_param(request, site.today())
        today = site.today().isoformat()
        db = site.db
        names = {h[0]: h[1] for h in halls_in_scope(db, viewer)}
        ranked = ranking(db, viewer, start, end, "hall", today)
        ranked.sort(key=lambda r: (r.per10k is None, r.per10k or 0, -r.services))
        worst = {id(r) for r in [r for r in ranked if r.per10k is not None][-3:] if (r.per10k or 0) > 0}
        rank_rows = [[i + 1, Link(r.label, f"/dashboard/halls/{r.hall}?from={start}&to={end}"), r.services, r.bad,
                      number(r.per10k), r.ontime, r.overdue, rate(r.rectified_rate), rate(r.callback_rate),
                      r.matters_opened, r.matters_closed, number(r.median_close_days), r.overturned,
                      "—" if r.average is None else f"{r.average:.2f}"] for i, r in enumerate(ranked)]
        where, args = viewer.scope()
        overdue = db.all(f"SELECT hall, day, number, level, win, clerk_id, deadline FROM ratings WHERE followup='opened' "
                         f"AND deadline < ? AND day <= ? AND (appeal IS NULL OR appeal <> 'overturned') AND {where} "
                         "ORDER BY deadline, hall LIMIT ?", (today, end, *args, LIMIT))
        open_matters = db.all(f"SELECT hall, number, category, status, opened_at, deadline, owner, escalated FROM matters "
                              f"WHERE status <> 'closed' AND opened_at < ? AND {where} ORDER BY deadline, hall LIMIT ?",
                              (next_day(end), *args, LIMIT))
        holders = hoarding.holders(db, viewer, start, end, 4)[:50]
        agents = hoarding.agents(db, viewer, start, end, 4)[:50]
        bursts = hoarding.bursts(db, viewer, start, end)[:50]
        typed = hoarding.typed_bookings(db, viewer, start, end, 3)[:50]
        booking_holders = hoarding.booking_holders(db, viewer, start, end, 3)[:50]
        site.read(request, viewer, "月度通报（身份哈希）", month=month)

        def hall(h: str) -> Link:
            return Link(names.get(h, h), f"/dashboard/halls/{h}?from={start}&to={end}")

        scope = "全省" if viewer.role == "province" else f"{viewer.region} 地区"
        year, mon = month.split("-")
        sections = [
            ("一、各大厅指标排名（按每万件差评由少到多）", table(
                ["名次", "大厅", "服务量", "差评", "每万件差评", "按期整改", "逾期", "整改率", "回访率", "办不成事新增",
                 "办结", "办结中位天数", "申诉撤销差评", "平均分"], rank_rows,
                classes=["late" if id(r) in worst else "" for r in ranked])
             + '<p class="muted">标红为本月每万件差评最多的大厅，请重点督办。申诉成立撤销的差评不计入排名。</p>'),
            (f"二、逾期未整改的差评（截至 {today}，共 {len(overdue)} 件）", table(
                ["大厅", "日期", "票号", "评价", "窗口", "工号", "整改期限", "逾期天数"],
                [[hall(r[0]), r[1], r[2], RATING_LEVELS.get(int(r[3]), r[3]),
                  f"{r[4]}号窗口" if r[4] is not None else "", r[5] or "", r[6], _days(r[6], today)] for r in overdue])),
            (f"三、未办结的办不成事（共 {len(open_matters)} 件）", table(
                ["大厅", "编号", "类别", "状态", "反映时间", "期限", "负责人", "已升级"],
                [[hall(r[0]), r[1], r[2], MATTER_STATUS.get(r[3], r[3]), r[4][:16].replace("T", " "), r[5],
                  r[6] or "未领办", "是" if r[7] else ""] for r in open_matters],
                classes=["late" if r[5] < today else "" for r in open_matters])),
            ("四、黄牛线索（身份以哈希比对，不含身份证号）",
             table(["身份哈希（前16位）", "日期", "大厅数", "取号数"], [[h[0][:16], h[1], h[2], h[3]] for h in holders],
                   caption="同一身份多厅或高频取号")
             + table(["代办人哈希（前16位）", "日期", "代办取号", "被代办人数", "大厅数"],
                     [[a[0][:16], a[1], a[2], a[3], a[4]] for a in agents], caption="代办人代办人数（4 人及以上）")
             + table(["大厅", "时间", "取号机"], [[hall(b[0]), b[1][:16].replace("T", " "), b[2] or ""]
                                             for b in bursts], caption="取号机手工输入身份证号突增")
             + table(["大厅", "取号机", "日期", "手工输入预约", "不同身份"],
                     [[hall(t[0]), t[1] or "", t[2], t[3], t[4]] for t in typed], caption="预约号源囤积：按取号机")
             + table(["身份哈希（前16位）", "预约数", "大厅数", "手工输入", "被拒"],
                     [[h[0][:16], h[1], h[2], h[3], h[4]] for h in booking_holders], caption="预约号源囤积：按身份"))]
        body = (f'<p class="tools no-print"><button type="button" data-print>打印 / 存为 PDF</button>'
                f'<a href="/api/v1/export/ratings?format=xlsx&from={start}&to={end}">导出本月好差评（Excel）</a>'
                f'<a href="/dashboard?from={start}&to={end}">返回排名</a></p>'
                f'<form method="get" class="no-print">月份 <input name="month" value="{month}"> <button>查看</button></form>'
                '<div class="report">' + "".join(f"<section><h2>{html.escape(t)}</h2>{content}</section>"
                                                 for t, content in sections)
                + f'<p class="stamp">{html.escape(scope)}不动产登记监管 · 生成于 {site.clock.now():%Y-%m-%d %H:%M} · '
                  f'{html.escape(viewer.login)}</p></div>')
        return site.page(request, f"{scope}不动产登记大厅服务情况通报（{year}年{int(mon)}月）", body, viewer)


def _days(deadline: str, today: str) -> Any:
    from datetime import date

    return (date.fromisoformat(today) - date.fromisoformat(deadline)).days
