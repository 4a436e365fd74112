"""The one-time notice of missing materials (一次性告知): the clerk ticks everything missing at once, the hall
records it (a second notice for the same person and business is marked as a repeat), and the slip is printed;
if the printer fails, the notice is shown for the citizen to photograph."""

from __future__ import annotations

from concurrent.futures import Future
from datetime import datetime
from typing import Any

from drivers.errors import DeviceError
from drivers.printer import layouts
from kiosk.contract.client import Reply
from kiosk.contract.requests import Notice
from kiosk.ui.counter.flows.shell import Desk


class NoticeFlow:
    def __init__(self, desk: Desk) -> None:
        self.desk = desk

    def start(self) -> None:
        desk = self.desk
        current = desk.summary.get("current") or {}
        business = desk.catalog.get(current.get("business", ""), {})
        options = [(m["name"], m["id"]) for m in business.get("materials", [])]
        earlier = current.get("earlier_notice")
        note = (f"此人此业务已于 {earlier} 出具过一次性告知；再次出具将记录为补充告知。" if earlier
                else "请一次勾选全部所缺材料：一次性告知后不得再要求其他材料。")
        desk.choices.ask(desk.tr("一次性告知：勾选所缺材料", "One-time notice: tick what is missing"), note, options,
                         lambda chosen, _t: desk.window_send(Notice(window=desk.window, missing=chosen), self.issued),
                         multi=True)

    def issued(self, reply: Reply) -> None:
        desk = self.desk
        n = reply.body["notice"]
        issued = datetime.fromisoformat(n["issued_at"])
        slip = layouts.NoticeSlip(desk.window_name.split(" ")[0], n["number"], n["business_name"],
                                  [m["name"] for m in n["missing"]], n["window"], n["clerk_id"],
                                  f"{issued:%Y-%m-%d %H:%M}", n["holder_masked"], n["time_limit_days"], n["repeat"])
        text = "\n".join([f"编号 {n['number']}　{n['business_name']}　申请人 {n['holder_masked']}", "您还需要补齐以下全部材料：",
                          *[f"{i}. {m['name']}" for i, m in enumerate(n["missing"], start=1)],
                          f"材料齐全后 {n['time_limit_days']} 个工作日内办结。本单已列明全部所缺材料。"])

        def printed(f: Future[Any]) -> None:
            try:
                f.result()
                desk.back(f"一次性告知单 {n['number']} 已打印" + ("（补充告知，已记录）。" if n["repeat"] else "。"))
            except DeviceError as exc:
                desk.show_info(desk.tr("一次性告知单（请群众拍照留存）", "One-time notice (to photograph)"),
                               f"{text}\n\n打印机不可用：{exc}")

        desk.background(lambda: desk.devices.printer.print_slip(layouts.notice(slip)), printed)
