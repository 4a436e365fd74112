"""The supervisors' dashboard: sign-in, the page shell, and the first wave's lists.

Bad ratings against their working-day deadlines, overdue first; the 办不成事 ledger across halls; exceptions per
hall; the read log; and the export of ratings in the national 好差评 platform's fields (JSON, CSV, and the Excel
workbook of kiosk/ledger/workbook.py). The ranking by indicators, the page per hall, waits, trends, the monthly
通报 and the scalper patterns are in kiosk/ledger/pages. People sign in with an account (``/login``; the session
is an HttpOnly, SameSite=Strict cookie, Secure on https; never a token in a URL, which ends up in browser
history and proxy logs); scripts send ``Authorization: Bearer``. A region account sees only its region's
halls, and every page that shows identities or contacts records who read it.
"""

from __future__ import annotations

import asyncio
import csv
import html
import io
import json
from collections.abc import Callable, Iterator
from datetime import date, timedelta
from typing import Any
from urllib.parse import parse_qs

from fastapi import FastAPI, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response, StreamingResponse

from kiosk.clock import HallClock
from kiosk.domain.codes import same_text
from kiosk.domain.errors import DomainError, KioskError, fail
from kiosk.domain.labels import EXCEPTION_KINDS, MATTER_STATUS, RATING_LEVELS
from kiosk.httpserve import error_response, read_limited
from kiosk.ledger import pages, workbook
from kiosk.ledger.pages import scalpers
from kiosk.ledger.service import LedgerService, Viewer
from kiosk.passwords import new_secret

CHANNELS = {"keypad": "窗口评价器", "kiosk": "自助终端"}
SESSION_COOKIE = "ledger_session"
CSRF_COOKIE = "ledger_csrf"


class SignInNeeded(KioskError):
    """No session and no supervisor token: a browser is sent to /login, a script gets 401."""


FORM_LIMIT = 4096


async def form_of(request: Request) -> dict[str, str]:
    """An urlencoded form (the sign-in), read without python-multipart; at most 4 KB, refused with 413 from its
    Content-Length before a byte is read (a sign-in form is a few hundred bytes; 200 MB once grew the process
    by 170 MB here)."""
    raw = await read_limited(request, FORM_LIMIT)
    if raw is None:
        raise fail("BODY_TOO_LARGE", "表单内容过大。", "The form is too large.")
    try:
        fields = parse_qs(raw.decode("utf-8"), max_num_fields=10)
    except (UnicodeDecodeError, ValueError):
        return {}
    return {k: v[0] for k, v in fields.items() if v}
STYLE = """body{font-family:"Noto Sans CJK SC",sans-serif;margin:24px;color:#1b2430;background:#f4f6f9}
nav a{margin-right:18px;font-size:18px}table{border-collapse:collapse;background:#fff;margin:12px 0}
td,th{border:1px solid #ccd;padding:6px 10px;text-align:left}th{background:#e3e8f0}.late{background:#fde2de}
h1{font-size:26px}.who{float:right}.login label{display:block;margin:10px 0}.error{color:#b3261e}
.bar{fill:#1f5fb8}.bad{fill:#c0392b}form{margin:10px 0}.muted{color:#667}"""


def mount(app: FastAPI, service: LedgerService, clock: HallClock,
          caller: Callable[[Request], tuple[str, str]]) -> None:
    db = service.db

    def supervisor(request: Request) -> Viewer:
        """The signed-in person, or a supervisor token in the Authorization header (scripts, the export)."""
        viewer = service.session(request.cookies.get(SESSION_COOKIE), clock.now())
        if viewer is not None:
            return viewer
        if "authorization" in request.headers:
            kind, name = caller(request)
            if kind == "supervisor":
                return Viewer(f"token:{name}", "province", "")
        raise SignInNeeded()

    def read(request: Request, viewer: Viewer, what: str, **detail: Any) -> None:
        client = request.client.host if request.client else ""
        service.log_read(viewer, f"dashboard {client}", what, detail, clock.now())

    def page(request: Request, title: str, body: str, viewer: Viewer | None = None,
             charts: bool = False) -> HTMLResponse:
        who = ""
        if viewer is not None and viewer.csrf:
            scope = "全省" if viewer.role == "province" else f"{viewer.region} 地区"
            who = (f'<form method="post" action="/logout" class="who">{html.escape(viewer.login)}（{scope}） '
                   f'<input type="hidden" name="csrf" value="{html.escape(viewer.csrf)}"><button>退出</button></form>')
        return pages.common.document(title, body, f"<nav>{pages.common.nav_links()}</nav>{who}",
                                     f"省级不动产登记监管账本 · {clock.now():%Y-%m-%d %H:%M}", charts)

    site = pages.common.Site(service, clock, supervisor, read, page)
    pages.mount(app, site)
    scalpers.mount(app, site)

    @app.exception_handler(SignInNeeded)
    async def _sign_in(request: Request, _exc: SignInNeeded) -> Response:
        if request.url.path.startswith("/api/"):
            return error_response("UNAUTHORIZED", "请先登录或提供监管令牌。", "Sign in, or send a supervisor token.")
        return login_page("请先登录。", 401)  # the page is not shown; the sign-in form is, right here

    def login_page(error: str = "", status: int = 200) -> HTMLResponse:
        csrf = new_secret(24)
        message = f'<p class="error">{html.escape(error)}</p>' if error else ""
        body = (f'{message}<form method="post" action="/login" class="login">'
                f'<label>登录名 <input name="login" autocomplete="username" required></label>'
                f'<label>密码 <input name="password" type="password" autocomplete="current-password" required></label>'
                f'<input type="hidden" name="csrf" value="{csrf}"><button>登录</button></form>')
        doc = (f'<!doctype html><html lang="zh-CN"><head><meta charset="utf-8"><title>登录 监管账本</title>'
               f"<style>{STYLE}</style></head><body><h1>省级不动产登记监管账本：登录</h1>{body}</body></html>")
        response = HTMLResponse(doc, status_code=status, headers={"Cache-Control": "no-store"})
        response.set_cookie(CSRF_COOKIE, csrf, httponly=True, samesite="strict", path="/login")
        return response

    @app.get("/login", response_class=HTMLResponse)
    def login_form() -> HTMLResponse:
        return login_page()

    @app.post("/login")
    async def login(request: Request) -> Response:
        form = await form_of(request)
        # CSRF on the sign-in itself: the form's token must match the cookie this browser got with the form
        if not form.get("csrf") or not same_text(form.get("csrf", ""), request.cookies.get(CSRF_COOKIE, "")):
            return login_page("页面已过期，请重新登录。", 403)
        try:
            token, _csrf = await asyncio.get_running_loop().run_in_executor(
                None, service.sign_in, form.get("login", ""), form.get("password", ""), clock.now())
        except DomainError as exc:
            return login_page(exc.message, exc.status)
        response = RedirectResponse("/dashboard", status_code=303)
        response.set_cookie(SESSION_COOKIE, token, httponly=True, samesite="strict",
                            secure=request.url.scheme == "https", max_age=8 * 3600)
        return response

    @app.post("/logout")
    async def logout(request: Request) -> Response:
        form = await form_of(request)
        token = request.cookies.get(SESSION_COOKIE, "")
        viewer = service.session(token, clock.now())
        if viewer is None or not same_text(form.get("csrf", ""), viewer.csrf):
            raise fail("CSRF")
        service.sign_out(token)
        response = RedirectResponse("/login", status_code=303)
        response.delete_cookie(SESSION_COOKIE)
        return response

    @app.get("/dashboard/reads", response_class=HTMLResponse)
    def reads(request: Request) -> HTMLResponse:
        viewer = supervisor(request)
        if viewer.role != "province":
            raise fail("FORBIDDEN", "查阅记录仅省级监管人员可看。", "Only province supervisors see the read log.")
        rows = db.all("SELECT at, who, via, what, detail FROM reads ORDER BY id DESC LIMIT 500")
        halls = db.all("SELECT hall, at, device, what FROM hall_reads ORDER BY at DESC LIMIT 500")  # not a year of events
        return page(request, "查阅记录：谁在何时看了哪些含身份或联系方式的数据",
                    "<h2>本账本</h2>"
                    + table(["时间", "账号", "来源", "内容", "详情"], [[r[0][:19], r[1], r[2], r[3], r[4]] for r in rows])
                    + "<h2>各大厅（随事件同步）</h2>"
                    + table(["大厅", "时间", "设备", "内容"], [[hall_link(h[0]), h[1][:19], h[2] or "", h[3] or ""]
                                                         for h in halls]),
                    viewer)

    def period(request: Request) -> tuple[str, str]:
        today = clock.now().date()
        start = pages.common.day_param(request.query_params.get("from"), today - timedelta(days=30), "from")
        end = pages.common.day_param(request.query_params.get("to"), today, "to")
        return start.isoformat(), end.isoformat()

    def table(head: list[str], rows: list[list[Any]], late: list[bool] | None = None) -> str:
        out = ["<table><tr>", *(f"<th>{html.escape(h)}</th>" for h in head), "</tr>"]
        for i, row in enumerate(rows):
            cls = ' class="late"' if late and late[i] else ""
            out.append(f"<tr{cls}>" + "".join(f"<td>{pages.common.cell(c)}</td>" for c in row) + "</tr>")
        return "".join(out) + "</table>"

    def hall_link(hall: str) -> pages.common.Link:
        """Every table that names a hall leads to its page."""
        return pages.common.Link(hall, f"/dashboard/halls/{hall}")

    @app.get("/dashboard/followups", response_class=HTMLResponse)
    def followups(request: Request) -> HTMLResponse:
        """Bad ratings of the period and every follow-up overdue whenever it began, overdue first. An overturned
        rating (申诉成立) stays on the list, struck through, and is never overdue."""
        viewer = supervisor(request)
        where, args = viewer.scope()
        today = clock.now().date().isoformat()
        start, end = period(request)
        columns = "hall, day, number, level, win, clerk_id, deadline, followup, closed_at, note, appeal"
        rows = db.all(f"SELECT {columns} FROM ratings WHERE bad=1 AND day BETWEEN ? AND ? AND {where} UNION "
                      f"SELECT {columns} FROM ratings WHERE followup='opened' AND deadline < ? AND bad=1 AND {where} "
                      "ORDER BY 1", (start, end, *args, today, *args))  # each half by its own partial index
        rows.sort(key=lambda r: (r[7] == "closed" or r[10] == "overturned", not (r[6] and r[6] < today), r[6] or "",
                                 r[0], r[1], r[2]))
        rows = rows[:1000]
        late = [r[7] != "closed" and bool(r[6]) and r[6] < today and r[10] != "overturned" for r in rows]
        data = [[hall_link(r[0]), r[1], r[2], RATING_LEVELS.get(int(r[3]), r[3]), f"{r[4]}号窗口", r[5], r[6],
                 APPEALED.get(r[10]) or ("已办结" if r[7] == "closed" else ("已逾期" if late[i] else "跟进中")), r[9] or ""]
                for i, r in enumerate(rows)]
        marks = ["overturned" if r[10] == "overturned" else "late" if late[i] else "" for i, r in enumerate(rows)]
        return page(request, f"差评跟进（法定工作日期限，逾期在前） {start} 至 {end}",
                    pages.common.table(["大厅", "日期", "票号", "评价", "窗口", "工号", "期限", "状态", "处理情况"], data,
                                       classes=marks), viewer)

    @app.get("/dashboard/matters", response_class=HTMLResponse)
    def matters(request: Request) -> HTMLResponse:
        viewer = supervisor(request)
        where, args = viewer.scope()
        today = clock.now().date().isoformat()
        start, _end = period(request)  # every open matter, and those closed since the period began
        rows = db.all("SELECT hall, number, category, status, opened_at, deadline, owner, escalated, history FROM matters "
                      f"WHERE {where} AND (status <> 'closed' OR closed_at >= ?) ORDER BY CASE WHEN status='closed' THEN 2 "
                      "WHEN deadline < ? THEN 0 ELSE 1 END, deadline, hall LIMIT 1000", (*args, start, today))
        late = [r[3] != "closed" and r[5] < today for r in rows]
        data = [[hall_link(r[0]), r[1], r[2], MATTER_STATUS.get(r[3], r[3]), r[4][:16].replace("T", " "), r[5],
                 r[6] or "未领办",
                 "；".join(f"{h['at'][5:16].replace('T', ' ')} {MATTER_STATUS.get(h['status'], h['status'])} {h['note']}"
                          for h in json.loads(r[8]))] for r in rows]
        return page(request, "办不成事台账（跨大厅）",
                    table(["大厅", "编号", "类别", "状态", "反映时间", "期限", "负责人", "处理经过"], data, late), viewer)

    @app.get("/dashboard/audit", response_class=HTMLResponse)
    def audit(request: Request) -> HTMLResponse:
        viewer = supervisor(request)
        where, args = viewer.scope()
        hall = request.query_params.get("hall")
        start, end = period(request)
        where += " AND at >= ? AND at < ?"
        args = (*args, start, (date.fromisoformat(end) + timedelta(days=1)).isoformat())
        sql = f"SELECT hall, at, kind, win, clerk_id, ticket, reason FROM exceptions WHERE {where}"
        rows = db.all(sql + (" AND hall=?" if hall else "") + " ORDER BY at DESC LIMIT 500",
                      (*args, hall) if hall else args)
        counts = db.all(f"SELECT hall, kind, COUNT(*) FROM exceptions WHERE {where} GROUP BY 1, 2 ORDER BY 1, 2", args)
        summary = table(["大厅", "类别", "次数"], [[hall_link(c[0]), EXCEPTION_KINDS.get(c[1], c[1]), c[2]] for c in counts])
        data = [[hall_link(r[0]), r[1][:16].replace("T", " "), EXCEPTION_KINDS.get(r[2], r[2]), f"{r[3]}号窗口" if r[3] else "",
                 r[4] or "", r[5] or "", r[6] or "（未填写）"] for r in rows]
        return page(request, f"异常审计：不按顺序叫号、人证不一致、转办等 {start} 至 {end}",
                    summary + table(["大厅", "时间", "类别", "窗口", "工号", "票号", "原因"], data), viewer)

    @app.get("/api/v1/export/ratings")
    def export(request: Request) -> Response:
        """Ratings in the fields of the national 好差评 platform; no personal data. ``format=xlsx`` is the workbook
        (kiosk/ledger/workbook.py), optionally of one hall."""
        viewer = supervisor(request)
        where, args = viewer.scope()
        start, end = period(request)
        if request.query_params.get("format") == "xlsx":
            hall = request.query_params.get("hall") or None
            if hall is not None:
                pages.hall.hall_for(site, viewer, hall)
            book = workbook.write(db, viewer, start, end, clock.now().date().isoformat(), hall)
            name = f"haochaping-{hall + '-' if hall else ''}{start}-{end}.xlsx"
            return StreamingResponse(_chunks(book), media_type=XLSX,
                                     headers={"Content-Disposition": f'attachment; filename="{name}"'})
        halls = {r[0]: (r[1], r[2]) for r in db.all("SELECT id, name, region FROM halls")}
        cases = {(r[0], r[3] + r[1]): r[2] for r in db.all(
            "SELECT hall, ticket, number, day FROM cases WHERE day BETWEEN ? AND ?", (start, end))}
        rows = db.all("SELECT hall, day, number, level, win, clerk_id, business, source, at, appeal FROM ratings "
                      f"WHERE day BETWEEN ? AND ? AND at >= ? AND at < ? AND {where} ORDER BY at",  # by the at index
                      (start, end, start, (date.fromisoformat(end) + timedelta(days=1)).isoformat(), *args))
        records = [{"case_number": cases.get((r[0], r[1] + r[2]), ""), "service": r[6], "department": halls.get(r[0],
                    (r[0], ""))[0], "window_staff": r[5] or "", "level": r[3], "level_name": RATING_LEVELS.get(r[3], ""),
                    "channel": CHANNELS.get(r[7], r[7] or ""), "time": r[8], "region": halls.get(r[0], ("", ""))[1],
                    "hall": r[0], "window": r[4], "ticket": r[2], "appeal": r[9] or ""} for r in rows]
        if request.query_params.get("format", "json") not in ("csv", "json"):
            raise fail("QUERY_INVALID", "参数 format 应为 csv、json 或 xlsx。", "format is csv, json or xlsx.",
                       parameter="format")
        if request.query_params.get("format") == "csv":
            buf = io.StringIO()
            writer = csv.DictWriter(buf, fieldnames=list(records[0]) if records else
                                    ["case_number", "service", "department", "window_staff", "level", "level_name",
                                     "channel", "time", "region", "hall", "window", "ticket", "appeal"])
            writer.writeheader()
            writer.writerows(records)
            return Response("\ufeff" + buf.getvalue(), media_type="text/csv; charset=utf-8",
                            headers={"Content-Disposition": f'attachment; filename="ratings-{start}-{end}.csv"'})
        return Response(json.dumps({"ratings": records}, ensure_ascii=False), media_type="application/json")


XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
APPEALED = {"overturned": "申诉成立，差评已撤销", "appealed": None, "upheld": None}


def _chunks(book: Any) -> Iterator[bytes]:
    with book:
        while chunk := book.read(1 << 16):
            yield chunk
