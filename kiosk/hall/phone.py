"""扫码查看排队进度: the page a citizen's phone opens from the slip's QR, served by the hall to anyone
holding the ticket's signed code, without a login.

It shows only the number, the business, people ahead, the expected wait (its range, the hall's one estimate)
and, once called, the window: never an identity; once the service is done, the rating
(kiosk/hall/phone_rating.py), also on the next working day. It follows the hall's own event feed: the status
endpoint is a long poll that answers
when the hall has committed something new (the display board's feed), but at most once every
``MIN_GAP`` seconds per phone, so that 500 phones in a busy hall cost the hall little. Any code that is
not today's ticket of this hall (forged, altered, foreign, another day's) gets the same "not found".
"""

from __future__ import annotations

import asyncio
import json
import random
import re
import time
from typing import Any, Protocol

from fastapi import FastAPI, Request
from fastapi.responses import HTMLResponse, Response

from kiosk.clock import HallClock
from kiosk.contract.routes import PHONE_PAGE, PHONE_STATUS
from kiosk.domain import labels
from kiosk.domain.errors import DomainError
from kiosk.hall import feedback
from kiosk.hall.context import HallContext
from kiosk.hall.phone_rating import PAGE_PART
from kiosk.httpserve import error_response, json_response

MIN_GAP = 3.0  # seconds: the shortest time between two answers to one phone
MAX_WAIT = 25.0  # a long poll ends within this, under a mobile network's idle cut-off
HEADERS = {"Cache-Control": "no-store", "Referrer-Policy": "no-referrer", "X-Content-Type-Options": "nosniff",
           "Content-Security-Policy": "default-src 'none'; script-src 'unsafe-inline'; style-src 'unsafe-inline'; "
                                      "connect-src 'self'; img-src 'self' data:"}


class Waiter(Protocol):
    async def wait(self, timeout: float) -> None: ...


def mount(app: FastAPI, ctx: HallContext, clock: HallClock, notifier: Waiter) -> None:
    def status(code: str) -> dict[str, Any] | None:
        """The ticket's status, or None for anything that is not today's ticket here (one "not found")."""
        if len(code) > 200:
            return None
        try:
            return feedback.phone_view(ctx, clock.now(), code)  # with the rating once the service is done
        except DomainError:
            return None

    def not_found() -> Response:
        return error_response("NOT_FOUND", "没有找到这张小票，或小票已过期。", "No such ticket today.", headers=HEADERS)

    @app.get(PHONE_PAGE, summary="The queue page a phone opens from the slip's QR (no login)",
             response_class=HTMLResponse)
    def page(c: str = "") -> Response:
        found = status(c)
        return HTMLResponse(PAGE if found else NOT_FOUND, status_code=200 if found else 404, headers=HEADERS)

    @app.get(PHONE_STATUS, summary="The ticket's progress for the queue page (long poll: after, wait)")
    async def follow(request: Request, c: str = "", after: str = "-1", wait: str = "0") -> Response:
        started = time.monotonic()
        found = status(c)
        if found is None:
            return not_found()
        seen = int(after) if re.fullmatch(r"-?\d{1,18}", after) else -1
        budget = min(float(wait), MAX_WAIT) if re.fullmatch(r"\d{1,2}(\.\d{1,3})?", wait) else 0.0
        if seen >= 0 and budget > 0:  # a page following (not its first load): at most one answer per MIN_GAP
            if found["seq"] <= seen:
                await notifier.wait(budget)  # the hall committed something, or the budget ran out
            # jittered, so that phones woken by the same commit do not all come back in the same instant
            rest = MIN_GAP * random.uniform(1.0, 1.6) - (time.monotonic() - started)
            if rest > 0 and not await request.is_disconnected():
                await asyncio.sleep(rest)
            found = status(c)
            if found is None:
                return not_found()
        return json_response(200, found, HEADERS)


NOT_FOUND = """<!doctype html><html lang="zh-CN"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1"><title>没有找到这张小票</title>
<style>body{font-family:"Noto Sans CJK SC",sans-serif;margin:0;padding:32px 20px;background:#f5f7fb;color:#1a1a1a}
h1{font-size:28px;color:#14325f}p{font-size:20px;line-height:1.6}</style></head><body>
<h1>没有找到这张小票</h1><p>这个二维码不是本大厅今天的排队小票，或已经过期。请以大厅叫号屏为准，或咨询工作人员。</p>
<p lang="en">This is not one of today's tickets of this hall. Please follow the hall's display, or ask staff.</p>
</body></html>"""

PAGE = """<!doctype html><html lang="zh-CN"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1"><title>排队进度</title>
<style>
body{font-family:"Noto Sans CJK SC",sans-serif;margin:0;background:#f5f7fb;color:#1a1a1a}
main{padding:20px}
.label{font-size:18px;color:#54545e;margin:0}
#number{font-size:72px;font-weight:bold;color:#145cb8;margin:4px 0 0}
#business{font-size:22px;margin:4px 0 16px}
.row{display:flex;gap:12px}
.box{flex:1;background:#fff;border-radius:10px;padding:14px;text-align:center}
.box b{display:block;font-size:40px;color:#14325f}
#alert{display:none;margin:16px 0;padding:20px;border-radius:12px;font-size:30px;font-weight:bold;text-align:center}
#alert.called{display:block;background:#b3261e;color:#fff}
#alert.soon{display:block;background:#a84d00;color:#fff}
#alert.gone{display:block;background:#fff;color:#14325f;border:3px solid #14325f;font-size:22px;white-space:pre-line}
#note{font-size:16px;color:#54545e;margin-top:18px;line-height:1.5}
#state{font-size:22px;margin:16px 0}
#range{font-size:16px;color:#54545e;margin:10px 0 0}
</style></head><body><main>
<p class="label">排队号 Ticket</p><p id="number">—</p><p id="business"></p>
<div id="alert" role="alert"></div>
<div class="row" id="waiting"><div class="box">前面还有<b id="ahead">—</b>人</div>
<div class="box" id="waitbox">预计等候<b id="wait">—</b>分钟</div></div>
<p id="range"></p>
<p id="state"></p>
<section id="rate" hidden aria-live="polite"></section>
<p id="note">本页自动更新，不显示任何个人信息。叫号以大厅叫号屏和语音为准；过号请重新取号。<br>
Updates by itself; shows nothing personal. The hall's display and voice call are what count.</p>
</main><script>
"use strict";
const code = new URLSearchParams(location.search).get("c") || "";
const NOT_TODAY = """ + json.dumps(f"{labels.NOT_TODAY}。\n{labels.NOT_TODAY_EN}", ensure_ascii=False) + """;
let seq = -1, lastAlert = "";
const $ = id => document.getElementById(id);
const STATES = {waiting: "等候中 Waiting", transferred: "已转办，继续等候 Transferred, still waiting",
  called: "正在叫您的号 Called", serving: "正在办理 Being served", done: "已办结，欢迎评价 Done — please rate",
  no_show: "已过号，请重新取号 Missed: take a new ticket", cancelled: "已取消 Cancelled"};
function beep() {
  try { const a = new (window.AudioContext || window.webkitAudioContext)(), o = a.createOscillator();
    o.frequency.value = 880; o.connect(a.destination); o.start(); o.stop(a.currentTime + 0.4); } catch (e) {}
}
function nudge(kind) {
  if (kind === lastAlert) return;
  lastAlert = kind;
  if (navigator.vibrate) navigator.vibrate(kind === "called" ? [400, 150, 400, 150, 400] : [300]);
  beep();
}
function show(s) {
  seq = s.seq;
  $("number").textContent = s.number; $("business").textContent = s.business;
  $("state").textContent = STATES[s.state] || s.state;
  const waiting = s.state === "waiting" || s.state === "transferred";
  $("waiting").style.display = waiting ? "flex" : "none";
  $("ahead").textContent = s.ahead;
  const r = s.expected_wait_range_min || [s.expected_wait_min, s.expected_wait_min];
  $("wait").textContent = r[0] === r[1] ? r[0] : r[0] + "–" + r[1];
  // once the windows of its business have gone home, no figure inside the day is true: the page says so
  const today = s.expected_today !== false;
  $("waitbox").style.display = today ? "" : "none";
  $("range").textContent = !today ? "" : "最可能约 " + s.expected_wait_min + " 分钟；十次里约有八次落在 " + r[0] +
    "–" + r[1] + " 分钟之间 · Most likely about " + s.expected_wait_min + " min; 8 times in 10 between " + r[0] +
    " and " + r[1];
  const alert = $("alert");
  if (s.state === "called") {
    alert.className = "called"; alert.textContent = "请到 " + s.window + " 号窗口 · Go to window " + s.window;
    nudge("called");
  } else if (waiting && !today) {
    alert.className = "gone"; alert.textContent = NOT_TODAY;
  } else if (waiting && s.ahead <= 3) {
    alert.className = "soon";
    alert.textContent = s.ahead === 0 ? "下一个就是您，请回到大厅 · You are next" :
      "前面只有 " + s.ahead + " 人，请回到大厅 · " + s.ahead + " ahead: come back to the hall";
    nudge("soon");
  } else { alert.className = ""; alert.textContent = ""; }
  document.title = s.number + " · " + (STATES[s.state] || s.state).split(" ")[0];
  rate(s);
}
async function follow() {
  for (;;) {
    try {
      const r = await fetch("q/status?c=" + encodeURIComponent(code) + "&after=" + seq + "&wait=20",
                            {cache: "no-store"});
      if (r.status === 404) { location.reload(); return; }
      if (r.ok) show(await r.json()); else await new Promise(ok => setTimeout(ok, 5000));
    } catch (e) { await new Promise(ok => setTimeout(ok, 5000)); }
  }
}
follow();
</script>""" + PAGE_PART + "</body></html>"
