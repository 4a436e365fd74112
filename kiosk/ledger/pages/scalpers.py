"""``/dashboard/scalpers``: scalper patterns across halls for a period (kiosk/ledger/hoarding.py) — kiosk bursts
of typed ID numbers, one identity in several halls or taking many tickets, agents acting for many, and booking
hoarding next to them: typed bookings piling up at one kiosk, holders with many bookings, refused bookings."""

from __future__ import annotations

from fastapi import FastAPI, Request
from fastapi.responses import HTMLResponse

from kiosk.ledger import hoarding
from kiosk.ledger.indicators import halls_in_scope
from kiosk.ledger.pages.common import Link, Site, period, table
from kiosk.ledger.service import int_param

VIA = {"ticket": "取号", "booking": "预约"}


def mount(app: FastAPI, site: Site) -> None:
    @app.get("/dashboard/scalpers", response_class=HTMLResponse)
    def scalpers(request: Request) -> HTMLResponse:
        viewer = site.supervisor(request)
        start, end = period(request, site.today())
        many = int_param(request.query_params.get("min_tickets", "4"), "min_tickets", 2, 100000)
        booked = int_param(request.query_params.get("min_bookings", "3"), "min_bookings", 2, 100000)
        db = site.db
        names = {h[0]: h[1] for h in halls_in_scope(db, viewer)}

        def hall(h: str) -> Link:
            return Link(names.get(h, h), f"/dashboard/halls/{h}?from={start}&to={end}")

        bursts = hoarding.bursts(db, viewer, start, end)
        holders = hoarding.holders(db, viewer, start, end, many)
        agents = hoarding.agents(db, viewer, start, end, many)
        typed = hoarding.typed_bookings(db, viewer, start, end, booked)
        booking_holders = hoarding.booking_holders(db, viewer, start, end, booked)
        refused = hoarding.refusals(db, viewer, start, end)
        site.read(request, viewer, "黄牛线索（身份哈希）", min_tickets=many, min_bookings=booked, start=start, end=end)
        form = (f'<form method="get">从 <input name="from" value="{start}"> 到 <input name="to" value="{end}"> '
                f'取号 ≥ <input name="min_tickets" value="{many}" size="3"> 预约 ≥ '
                f'<input name="min_bookings" value="{booked}" size="3"> <button>查询</button></form>')
        body = (form + "<p>身份以省级统一密钥的哈希比对，不含任何身份证号或姓名。</p>"
                "<h2>取号机手工输入身份证号突增（疑似代他人占号）</h2>"
                + table(["大厅", "时间", "取号机", "途径"], [[hall(b[0]), b[1][:16].replace("T", " "), b[2] or "",
                                                      VIA.get(b[3], b[3] or "")] for b in bursts])
                + "<h2>同一身份多厅或高频取号</h2>"
                + table(["身份哈希（前16位）", "日期", "大厅数", "取号数"], [[h[0][:16], h[1], h[2], h[3]] for h in holders])
                + "<h2>代办人代办人数</h2>"
                + table(["代办人哈希（前16位）", "日期", "代办取号", "被代办人数", "大厅数"],
                        [[a[0][:16], a[1], a[2], a[3], a[4]] for a in agents])
                + "<h2>预约号源囤积：同一取号机手工输入身份证号预约</h2>"
                + table(["大厅", "取号机", "日期", "手工输入预约", "不同身份数"],
                        [[hall(t[0]), t[1] or "", t[2], t[3], t[4]] for t in typed])
                + "<h2>预约号源囤积：同一身份多次预约（本厅及跨厅）</h2>"
                + table(["身份哈希（前16位）", "预约数", "大厅数", "其中手工输入", "被拒次数"],
                        [[h[0][:16], h[1], h[2], h[3], h[4]] for h in booking_holders])
                + "<h2>按防黄牛规则拒绝的预约</h2>"
                + table(["大厅", "取号机", "拒绝原因", "次数"], [[hall(r[0]), r[1] or "", r[2], r[3]] for r in refused]))
        return site.page(request, f"黄牛线索 {start} 至 {end}", body, viewer)
