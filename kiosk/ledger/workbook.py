"""``/api/v1/export/ratings?format=xlsx``: the ratings of a period as an Excel workbook (openpyxl), one row per
rating in the data items of the national 好差评 platform, for the province to report upward and to circulate.

The columns follow the items that 好差评 systems send to the national platform for each evaluation (as seen in
provincial integrations of 不动产登记 systems with their province's 好差评 system, version 2 for reporting to
the nation: 办件编号 projNo, 事项编码 serviceCode, 事项名称 serviceName, 实施部门 serviceDepartment and its code,
行政区划 regionCode, 评价渠道, the evaluated staff member, the time) and GB/T 39734-2020 (the five levels
非常满意 … 非常不满意, on-site channels such as the window's keypad and self-service terminals, 差评 handling).
No evaluator identity is exported: the ledger never holds one. A second sheet names every field, a third sums
the period per hall. A period beyond Excel's million rows continues on a further sheet.
"""

from __future__ import annotations

import json
import tempfile
from collections.abc import Iterator
from typing import Any

from kiosk.domain.labels import RATING_LEVELS
from kiosk.ledger.db import LedgerDB
from kiosk.ledger.indicators import ranking
from kiosk.ledger.pages.common import business_names
from kiosk.ledger.service import Viewer

FIELDS: list[tuple[str, str, str]] = [  # (heading, national data item, what it holds here)
    ("评价编号", "evaluationId", "大厅编号-日期-票号，在全省唯一"),
    ("办件编号", "projNo", "受理后的办件编号；未受理的服务为空"),
    ("事项编码", "serviceCode", "业务类型代码（报送时由省级平台对照实施清单编码）"),
    ("事项名称", "serviceName", "业务类型名称"),
    ("实施部门", "serviceDepartment", "登记大厅名称"),
    ("实施部门编码", "serviceDepartmentCode", "登记大厅在账本中的编号"),
    ("行政区划代码", "regionCode", "大厅所在行政区划"),
    ("评价渠道", "evaluateChannel", "窗口评价器、自助终端或手机（现场服务评价渠道）"),
    ("评价等级", "evaluateLevel", "5 非常满意、4 满意、3 基本满意、2 不满意、1 非常不满意"),
    ("评价等级名称", "evaluateLevelName", "同上，文字"),
    ("评价时间", "evaluateTime", "yyyy-MM-dd HH:mm:ss（北京时间）"),
    ("评价内容", "evaluateContent", "群众选择的评价项（差评原因），以“；”分隔"),
    ("被评价人员工号", "evaluatedPersonNo", "办理该服务的窗口人员工号"),
    ("窗口", "windowNo", "窗口号"),
    ("差评整改状态", "rectifyState", "差评：整改中、已整改回访（按期/逾期）"),
    ("整改回访完成时间", "rectifyTime", "差评跟进办结时间"),
    ("申诉状态", "appealState", "申诉中、申诉不成立、申诉成立（差评撤销，不计入排名）")]
CHANNELS = {"keypad": "窗口评价器", "kiosk": "自助终端", "phone": "手机（扫码评价）"}
APPEALS = {"appealed": "申诉中", "upheld": "申诉不成立", "overturned": "申诉成立，差评撤销"}
SHEET_ROWS = 1_000_000  # Excel holds 1,048,576 rows a sheet


def rows(db: LedgerDB, viewer: Viewer, start: str, end: str, hall: str | None) -> Iterator[list[Any]]:
    """The period's ratings in the national fields, a hall at a time (each read along the ratings' key; a month of
    a province is a million rows)."""
    where, args = viewer.scope("id")
    halls = {r[0]: (r[1], r[2]) for r in db.all(f"SELECT id, name, region FROM halls WHERE {where} ORDER BY id", args)
             if hall is None or r[0] == hall}
    names = business_names()
    for hall_id, (name, region) in halls.items():
        for r in db.all("SELECT r.hall, r.day, r.number, r.level, r.win, r.clerk_id, r.business, r.source, r.at, r.bad, "
                        "r.followup, r.closed_at, r.deadline, r.appeal, r.reasons, c.number FROM ratings r LEFT JOIN "
                        "cases c ON c.hall=r.hall AND c.day=r.day AND c.ticket=r.number WHERE r.hall=? AND r.day BETWEEN ? "
                        "AND ? ORDER BY r.day, r.at", (hall_id, start, end)):
            closed = r[10] == "closed"
            state = ("已整改回访" + ("（逾期）" if r[11] and r[12] and r[11][:10] > r[12] else "（按期）") if closed
                     else "整改中") if r[9] else ""
            yield [f"{r[0]}-{r[1]}-{r[2]}", r[15] or "", r[6] or "", names.get(r[6] or "", r[6] or ""), name, r[0],
                   region, CHANNELS.get(r[7], r[7] or ""), r[3], RATING_LEVELS.get(int(r[3]), ""),
                   r[8][:19].replace("T", " "), "；".join(json.loads(r[14])) if r[14] else "", r[5] or "",
                   r[4] if r[4] is not None else "", state, r[11][:19].replace("T", " ") if closed and r[11] else "",
                   APPEALS.get(r[13], "")]


def write(db: LedgerDB, viewer: Viewer, start: str, end: str, today: str, hall: str | None = None) -> Any:
    """The workbook in a temporary file (rewound), written row by row: memory stays flat however long the period."""
    from openpyxl import Workbook
    from openpyxl.cell import WriteOnlyCell
    from openpyxl.styles import Font, PatternFill

    book = Workbook(write_only=True)
    bold, fill = Font(bold=True), PatternFill("solid", fgColor="E3E8F0")

    def heading(sheet: Any, titles: list[str]) -> None:
        cells = []
        for title in titles:
            c = WriteOnlyCell(sheet, value=title)
            c.font, c.fill = bold, fill
            cells.append(c)
        sheet.append(cells)

    def detail_sheet(n: int) -> Any:
        sheet = book.create_sheet("好差评明细" if n == 1 else f"好差评明细{n}")
        sheet.freeze_panes = "A2"
        for i, width in enumerate((30, 20, 10, 24, 24, 16, 12, 14, 8, 12, 20, 30, 12, 6, 18, 20, 20)):
            sheet.column_dimensions[chr(ord("A") + i)].width = width
        heading(sheet, [f[0] for f in FIELDS])
        return sheet

    sheets, sheet, count = 1, detail_sheet(1), 0
    for row in rows(db, viewer, start, end, hall):
        if count == SHEET_ROWS:
            sheets += 1
            sheet, count = detail_sheet(sheets), 0
        sheet.append(row)
        count += 1
    fields = book.create_sheet("字段说明")
    heading(fields, ["列名", "国家平台数据项", "说明"])
    for f in FIELDS:
        fields.append(list(f))
    summary = book.create_sheet("指标汇总")
    heading(summary, ["大厅", "服务量", "评价数", "差评", "每万件差评", "按期整改", "逾期", "整改率", "回访率", "办不成事新增",
                      "办结", "办结中位天数", "申诉撤销差评", "平均分"])
    for r in ranking(db, viewer, start, end, "hall", today, hall=hall):
        summary.append([r.label, r.services, r.rated, r.bad, None if r.per10k is None else round(r.per10k, 1), r.ontime,
                        r.overdue, _pct(r.rectified_rate), _pct(r.callback_rate), r.matters_opened, r.matters_closed,
                        r.median_close_days, r.overturned, None if r.average is None else round(r.average, 3)])
    summary.append([])
    summary.append([f"期间 {start} 至 {end}；差评=不满意、非常不满意；申诉成立的差评不计入各项指标。"])
    out = tempfile.SpooledTemporaryFile(max_size=8 * 1024 * 1024)
    book.save(out)
    out.seek(0)
    return out


def _pct(value: float | None) -> float | None:
    return None if value is None else round(100 * value, 1)
