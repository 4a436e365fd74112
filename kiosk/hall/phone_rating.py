"""一次一评 on the phone: once the service is done, the queue page (/q) turns into the five faces and the
reasons, for a citizen who left before the window's keypad asked.

``POST /q/rating {c, level, reasons?}`` needs no token: the slip's signed code is the proof that the person
holds the slip, as it is for the page itself. It is taken until the end of the next working day
(``[ratings] late_days``) and once per service across all channels (RATING_EXISTS). The page part is large,
high-contrast and spoken in Mandarin with the browser's own speech synthesis (nothing leaves the phone but
the rating), and never shows an identity. The rating itself is an operation like the others
(kiosk/hall/feedback.py op_rate_phone, in the route table); this is the page's part of it.
"""

from __future__ import annotations

import json

from kiosk.domain.labels import RATING_LEVELS, RATING_LEVELS_EN, RATING_REASONS
from kiosk.domain.ratings import BAD_AT_MOST

_LEVELS = [{"level": lv, "zh": RATING_LEVELS[lv], "en": RATING_LEVELS_EN[lv]} for lv in (5, 4, 3, 2, 1)]

# appended to the queue page: its show() calls rate(s) with every status it receives
PAGE_PART = """<style>
#rate{margin:18px 0 8px;padding:16px;border-radius:14px;background:#fff;border:3px solid #0b2e59}
#rate h2{font-size:28px;margin:0 0 6px;color:#0b2e59}
#rate p{font-size:20px;line-height:1.5;margin:6px 0}
.face{display:block;width:100%;min-height:76px;margin:10px 0;border:0;border-radius:12px;font-size:30px;
font-weight:bold;color:#fff;background:#0b2e59;text-align:left;padding:10px 18px}
.face small{display:block;font-size:18px;font-weight:normal;color:#fff}
.face.bad{background:#7a0f0f}
.chip{display:inline-block;min-height:56px;margin:6px 6px 0 0;padding:8px 16px;border:3px solid #0b2e59;
border-radius:28px;font-size:22px;background:#fff;color:#0b2e59}
.chip[aria-pressed=true]{background:#0b2e59;color:#fff}
#send,#speak{display:block;width:100%;min-height:64px;margin-top:14px;border:0;border-radius:12px;font-size:26px;
font-weight:bold;background:#14532d;color:#fff}
#speak{background:#1a1a1a}
#thanks{font-size:26px;font-weight:bold;color:#14532d}
#rate [hidden]{display:none}
</style>
<script>
"use strict";
const LEVELS = __LEVELS__, REASONS = __REASONS__, BAD_AT_MOST = __BAD__;
let rateShown = false, chosen = 0, picked = [];
function say(text) {
  try {
    if (!window.speechSynthesis) return;
    speechSynthesis.cancel();
    const u = new SpeechSynthesisUtterance(text);
    u.lang = "zh-CN"; u.rate = 0.9;
    speechSynthesis.speak(u);
  } catch (e) {}
}
function prompt() {
  return "请为本次服务评价。" + LEVELS.map(l => l.zh).join("，") + "。";
}
function thanks(level) {
  const r = document.getElementById("rate");
  r.innerHTML = "";
  const p = document.createElement("p"); p.id = "thanks"; p.setAttribute("role", "status");
  p.textContent = "感谢您的评价：" + LEVELS.find(l => l.level === level).zh + " · Thank you";
  r.appendChild(p);
}
function note(text) {
  const n = document.getElementById("rate-note");
  if (n) n.textContent = text;
}
async function send() {
  const r = await fetch("q/rating", {method: "POST", headers: {"Content-Type": "application/json"},
    body: JSON.stringify({c: code, level: chosen, reasons: picked}), cache: "no-store"});
  const body = await r.json().catch(() => ({}));
  if (r.ok || (body.error && body.error.code === "RATING_EXISTS")) {
    const level = r.ok ? chosen : 0;
    if (level) { thanks(level); say("感谢您的评价。"); }
    else { document.getElementById("rate").textContent = "这次服务已经评价过了，谢谢您！"; }
    return;
  }
  const msg = body.error ? body.error.message : "暂时无法提交，请稍后再试。";
  note(msg); say(msg);
}
function choose(level) {
  chosen = level;
  const label = LEVELS.find(l => l.level === level).zh;
  if (level > BAD_AT_MOST) { say("您选择了：" + label); send(); return; }
  say("您选择了：" + label + "。请选择不满意的原因，然后点提交。");
  for (const b of document.querySelectorAll("#rate .face")) b.hidden = Number(b.dataset.level) !== level;
  const box = document.getElementById("reasons");
  box.hidden = false;
  box.scrollIntoView({block: "center"});
}
function again() {
  chosen = 0; picked = [];
  for (const b of document.querySelectorAll("#rate .face")) b.hidden = false;
  for (const c of document.querySelectorAll("#reasons .chip")) c.setAttribute("aria-pressed", "false");
  document.getElementById("reasons").hidden = true;
}
function build(s) {
  const r = document.getElementById("rate");
  r.innerHTML = "";
  const h = document.createElement("h2"); h.textContent = "请为本次服务评价"; r.appendChild(h);
  const p = document.createElement("p"); p.id = "rate-note";
  const last = (s.rating.last_day || "").split("-");
  p.textContent = "每次服务评价一次，" + Number(last[1]) + "月" + Number(last[2]) + "日当天结束前都可以评价。" +
    " Please rate the service (one rating; open until the end of " + s.rating.last_day + ").";
  r.appendChild(p);
  for (const l of LEVELS) {
    const b = document.createElement("button");
    b.className = "face" + (l.level <= BAD_AT_MOST ? " bad" : ""); b.dataset.level = l.level;
    b.textContent = l.zh; const en = document.createElement("small"); en.textContent = l.en; b.appendChild(en);
    b.addEventListener("click", () => choose(l.level));
    r.appendChild(b);
  }
  const box = document.createElement("div"); box.id = "reasons"; box.hidden = true;
  for (const text of REASONS) {
    const c = document.createElement("button"); c.className = "chip"; c.textContent = text;
    c.setAttribute("aria-pressed", "false");
    c.addEventListener("click", () => {
      const on = !picked.includes(text);
      picked = on ? [...picked, text] : picked.filter(x => x !== text);
      c.setAttribute("aria-pressed", String(on)); say(text);
    });
    box.appendChild(c);
  }
  const go = document.createElement("button"); go.id = "send"; go.textContent = "提交评价 Submit";
  go.addEventListener("click", send); box.appendChild(go);
  const back = document.createElement("button"); back.className = "chip"; back.id = "again";
  back.textContent = "重新选择 Choose again"; back.addEventListener("click", again); box.appendChild(back);
  r.appendChild(box);
  const speak = document.createElement("button"); speak.id = "speak"; speak.textContent = "朗读 Read aloud";
  speak.addEventListener("click", () => say(prompt()));
  r.appendChild(speak);
  say(prompt());
}
function rate(s) {
  const r = document.getElementById("rate");
  if (!s.rating || s.state !== "done") { r.hidden = true; return; }
  if (s.rating.rated) {
    r.hidden = false;
    if (!document.getElementById("thanks")) thanks(s.rating.level);
    return;
  }
  if (s.rating.open && !rateShown) { rateShown = true; r.hidden = false; build(s); }
  if (!s.rating.open && !s.rating.rated) { r.hidden = true; }
}
</script>""".replace("__LEVELS__", json.dumps(_LEVELS, ensure_ascii=False)).replace(
    "__REASONS__", json.dumps(RATING_REASONS, ensure_ascii=False)).replace("__BAD__", str(BAD_AT_MOST))
