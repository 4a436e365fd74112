"""What every dashboard page shares: the document around a page (one stylesheet and, where there are charts,
ECharts and the ledger's own script, all served by the ledger itself: it runs on an intranet), a strict
Content-Security-Policy (no inline script, nothing from elsewhere), tables whose headers sort and whose
rows click through, the period a page is asked for, and figures written the same way everywhere.
"""

from __future__ import annotations

import hashlib
import html
import json
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from functools import cache
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

from fastapi import FastAPI, Request
from fastapi.responses import HTMLResponse, Response

from kiosk.clock import HallClock
from kiosk.domain.errors import fail
from kiosk.domain.text import scrub
from kiosk.ledger.db import LedgerDB
from kiosk.ledger.service import LedgerService, Viewer

ASSETS = Path(__file__).resolve().parents[3] / "assets" / "web"
STATIC = {"ledger.css": "text/css; charset=utf-8", "ledger.js": "text/javascript; charset=utf-8",
          "echarts/echarts.min.js": "text/javascript; charset=utf-8", "echarts/LICENSE": "text/plain; charset=utf-8",
          "echarts/NOTICE": "text/plain; charset=utf-8", "echarts/LICENSE-d3": "text/plain; charset=utf-8"}
CSP = ("default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; "
       "form-action 'self'; frame-ancestors 'none'; base-uri 'none'")
NAV = (("/dashboard", "指标排名"), ("/dashboard/waits", "等候时间"), ("/dashboard/trends", "趋势"),
       ("/dashboard/report", "月度通报"), ("/dashboard/followups", "差评跟进"), ("/dashboard/matters", "办不成事台账"),
       ("/dashboard/audit", "异常审计"), ("/dashboard/scalpers", "黄牛线索"), ("/dashboard/reads", "查阅记录"))


CATALOG = Path(__file__).resolve().parents[3] / "config" / "catalog.toml"


@cache
def business_names() -> dict[str, str]:
    """Business codes to names, from the shipped catalog (the ledger learns only codes from the events); a code
    the catalog does not know is shown as itself."""
    import tomllib

    try:
        doc = tomllib.loads(CATALOG.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return {str(b.get("code")): str(b.get("name")) for b in doc.get("business", []) if isinstance(b, dict)}


def business_label(code: str | None) -> str:
    if not code:
        return "业务未知"
    name = business_names().get(code)
    return f"{code} {name}" if name else code


@cache
def asset(name: str) -> bytes:
    return (ASSETS / name).read_bytes()


def asset_url(name: str) -> str:
    """A static file's address with its content's digest: cached for a year, and a new file is a new address."""
    return f"/static/web/{name}?v={hashlib.sha256(asset(name)).hexdigest()[:12]}"


def mount_static(app: FastAPI) -> None:
    @app.get("/static/web/{name:path}", include_in_schema=False)
    def static(name: str) -> Response:
        if name not in STATIC:
            raise fail("NOT_FOUND", "没有这个文件。", "No such file.")
        return Response(asset(name), media_type=STATIC[name], headers={
            "Cache-Control": "public, max-age=31536000, immutable", "X-Content-Type-Options": "nosniff"})

    @app.get("/favicon.ico", include_in_schema=False)
    def favicon() -> Response:
        """No icon, said plainly (a browser asks on every page; a 404 would be an error in its console)."""
        return Response(status_code=204, headers={"Cache-Control": "public, max-age=86400"})


def document(title: str, body: str, top: str, footer: str, charts: bool = False) -> HTMLResponse:
    """A whole page. ``top`` is the navigation and who is signed in; charts bring ECharts and ledger.js."""
    scripts = (f'<script src="{asset_url("echarts/echarts.min.js")}" defer></script>'
               f'<script src="{asset_url("ledger.js")}" defer></script>') if charts else \
        f'<script src="{asset_url("ledger.js")}" defer></script>'
    doc = (f'<!doctype html><html lang="zh-CN"><head><meta charset="utf-8"><title>{html.escape(title)}</title>'
           f'<link rel="icon" href="data:,"><link rel="stylesheet" href="{asset_url("ledger.css")}">{scripts}</head><body>{top}'
           f'<h1>{html.escape(title)}</h1>{body}<p class="muted">{footer}</p></body></html>')
    return HTMLResponse(doc, headers={"Cache-Control": "no-store", "Content-Security-Policy": CSP,
                                      "X-Content-Type-Options": "nosniff", "Referrer-Policy": "same-origin"})


def nav_links() -> str:
    return "".join(f'<a href="{href}">{name}</a>' for href, name in NAV) + \
        '<a href="/api/v1/export/ratings?format=xlsx">好差评导出</a>'


@dataclass(frozen=True)
class Site:
    """What a page module needs from the dashboard: the service, the clock, who is reading, the read log and
    the page shell (with the signed-in person and the sign-out form, kept in dashboard.py)."""

    service: LedgerService
    clock: HallClock
    supervisor: Callable[[Request], Viewer]
    read: Callable[..., None]
    page: Callable[..., HTMLResponse]

    @property
    def db(self) -> LedgerDB:
        return self.service.db

    def today(self) -> date:
        return self.clock.now().date()


# -- query parameters ------------------------------------------------------------------------------------------
def day_param(text: str | None, default: date, name: str) -> date:
    """A date parameter (YYYY-MM-DD), or 422 naming it: a mistyped period is not silently another period."""
    if text is None:
        return default
    try:
        if re.fullmatch(r"[0-9]{4}-[0-9]{2}-[0-9]{2}", text):
            return date.fromisoformat(text)
    except ValueError:
        pass
    raise fail("QUERY_INVALID", f"参数 {name} 应为日期，如 2026-11-01。", f"{name} must be a date (YYYY-MM-DD).",
               parameter=name)


def period(request: Request, today: date, days: int = 30) -> tuple[str, str]:
    start = day_param(request.query_params.get("from"), today - timedelta(days=days), "from")
    end = day_param(request.query_params.get("to"), today, "to")
    if end < start:
        raise fail("QUERY_INVALID", "参数 to 应不早于 from。", "to must not be before from.", parameter="to")
    return start.isoformat(), end.isoformat()


def choice(request: Request, name: str, allowed: Sequence[str], default: str) -> str:
    value = request.query_params.get(name, default)
    if value not in allowed:
        raise fail("QUERY_INVALID", f"参数 {name} 应为 {'、'.join(allowed)} 之一。",
                   f"{name} is one of {', '.join(allowed)}.", parameter=name)
    return value


def month_param(request: Request, today: date) -> tuple[str, str, str]:
    """(YYYY-MM, first day, last day); the default is the month before today's (the 通报 is of a whole month)."""
    text = request.query_params.get("month")
    if text is None:
        first = (today.replace(day=1) - timedelta(days=1)).replace(day=1)
    else:
        match = re.fullmatch(r"([0-9]{4})-([0-9]{2})", text)
        if not match or not 1 <= int(match[2]) <= 12:
            raise fail("QUERY_INVALID", "参数 month 应为月份，如 2026-11。", "month must be YYYY-MM.", parameter="month")
        first = date(int(match[1]), int(match[2]), 1)
    last = (first.replace(day=28) + timedelta(days=4)).replace(day=1) - timedelta(days=1)
    return first.strftime("%Y-%m"), first.isoformat(), last.isoformat()


def with_params(request: Request, **changes: str | None) -> str:
    params = {k: v for k, v in request.query_params.items()}
    for key, value in changes.items():
        if value is None:
            params.pop(key, None)
        else:
            params[key] = value
    return request.url.path + ("?" + urlencode(params) if params else "")


# -- figures ---------------------------------------------------------------------------------------------------
def rate(value: float | None) -> str:
    return "—" if value is None else f"{100 * value:.1f}%"


def number(value: float | None, digits: int = 1) -> str:
    return "—" if value is None else f"{value:.{digits}f}"


@dataclass(frozen=True)
class Link:
    text: str
    href: str


@dataclass(frozen=True)
class Column:
    label: str
    sort: str | None = None  # the sort key a header click asks for


def cell(value: Any) -> str:
    """Every cell through the one mask (kiosk.domain.text): an event stored before a form of ID number was
    recognised, or sent by an older hall, is still shown masked."""
    if isinstance(value, Link):
        return f'<a href="{html.escape(value.href)}">{html.escape(scrub(value.text))}</a>'
    return html.escape("" if value is None else scrub(str(value)))


def table(head: Sequence[Column | str], rows: Sequence[Sequence[Any]], request: Request | None = None,
          classes: Sequence[str] | None = None, caption: str = "") -> str:
    """A table; a header with a sort key is a link that sorts by it (again: the other way)."""
    current, order = (request.query_params.get("sort"), request.query_params.get("order", "asc")) if request else (None, "")
    out = ["<table>" + (f"<caption>{html.escape(caption)}</caption>" if caption else "") + "<thead><tr>"]
    for column in head:
        column = column if isinstance(column, Column) else Column(column)
        if column.sort and request is not None:
            flip = "desc" if current == column.sort and order == "asc" else "asc"
            mark = (" ▲" if order == "asc" else " ▼") if current == column.sort else ""
            out.append(f'<th><a href="{html.escape(with_params(request, sort=column.sort, order=flip))}">'
                       f"{html.escape(column.label)}{mark}</a></th>")
        else:
            out.append(f"<th>{html.escape(column.label)}</th>")
    out.append("</tr></thead><tbody>")
    for i, row in enumerate(rows):
        cls = f' class="{classes[i]}"' if classes and classes[i] else ""
        out.append(f"<tr{cls}>" + "".join(f"<td>{cell(c)}</td>" for c in row) + "</tr>")
    if not rows:
        out.append(f'<tr><td colspan="{len(head)}" class="muted">所选范围内没有数据。</td></tr>')
    return "".join(out) + "</tbody></table>"


def chart(chart_id: str, spec: dict[str, Any], caption: str) -> str:
    """A chart drawn by ledger.js with ECharts from ``spec`` (JSON in the page, never script)."""
    data = json.dumps(spec, ensure_ascii=False).replace("<", "\\u003c")  # no tag can end or open in it
    return (f'<figure class="chart-box"><div class="chart" id="{chart_id}" data-spec="{chart_id}-data" role="img" '
            f'aria-label="{html.escape(caption)}"></div><figcaption>{html.escape(caption)}</figcaption>'
            f'<script type="application/json" id="{chart_id}-data">{data}</script></figure>')


def sort_rows(rows: list[Any], request: Request, keys: dict[str, Callable[[Any], Any]], default: str,
              default_order: str = "asc") -> list[Any]:
    """Sort by the asked key; objects without a figure ("—") go last whichever the direction."""
    key = choice(request, "sort", list(keys), default)
    order = choice(request, "order", ("asc", "desc"), default_order if key == default else "asc")
    get = keys[key]
    present = [r for r in rows if get(r) is not None]
    missing = [r for r in rows if get(r) is None]
    return sorted(present, key=get, reverse=order == "desc") + missing
