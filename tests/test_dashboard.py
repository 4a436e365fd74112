"""The supervisors' dashboard in a real headless browser (Chromium), on a ledger fed by two halls:
satisfaction by hall, window and clerk with a chart, bad ratings against deadlines (overdue first),
the 办不成事 ledger, exceptions, scalper patterns across halls, and the 好差评 export."""

from __future__ import annotations

import base64
import csv
import dataclasses
import io
import re
import shutil
import subprocess
import time
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
import requests

from kiosk.domain import signing
from kiosk.domain.signing import derive_key
from kiosk.hall.context import HallContext
from tests.browser import Browser
from tests.helpers import KIOSK_BIN, ROOT, TZ, Hall, example_config, person
from tests.ledger_chain import Chain
from tests.test_sync import LedgerProcess, last_line

ARTEFACTS = ROOT / "build" / "ledger"
PROVINCE_KEY = b"p" * 32  # the province's identity key: the same person is the same hash in every hall


def feed(hall: Hall, ledger: LedgerProcess, hall_id: str, token: str) -> None:
    events = hall.events()
    key = signing.private_key(derive_key(hall.svc.master_key, "event-signing"))
    if hall_id == "qingdao-hall":
        events = contract_events(events, hall_id, key)
    body = {"hall": hall_id, "events": events, "signature": signing.sign_batch(key, hall_id, events)}
    r = requests.post(f"{ledger.url}/api/v1/halls/{hall_id}/batches", json=body,
                      headers={"Authorization": f"Bearer {token}"}, timeout=30)
    assert r.status_code == 200, r.text


def contract_events(events: list[dict[str, Any]], hall_id: str, key: Any) -> list[dict[str, Any]]:
    """Qingdao's chain goes on with what the hall side of issue 20 emits (the event contract): its worst rating
    appealed and overturned, and a kiosk booking tomorrow's slots for four typed ID numbers until the burst rule
    stops it. Signed with the hall's own key, continuing its chain."""
    chain = Chain(hall_id)
    chain.key, chain.events = key, list(events)
    worst = next(e["payload"] for e in events if e["type"] == "rating.recorded" and e["payload"]["level"] == 1)
    chain.appeal(worst["day"], worst["number"], "2026-11-14T09:00:00.000+08:00")
    chain.appeal(worst["day"], worst["number"], "2026-11-15T09:00:00.000+08:00", "overturned")
    for i in range(4):
        chain.book(f"2026-11-13T15:0{i}:00.000+08:00", f"{i:064x}")
    chain.burst("2026-11-13T15:05:00.000+08:00")
    return chain.events


def a_day(hall: Hall, levels: list[int], scalper: dict[str, str]) -> None:
    hall.login(2)
    numbers = []
    for i in range(len(levels)):
        hall.tick(3)
        numbers.append(hall.number("C", 200 + i))
    for i, level in enumerate(levels):
        if i == 0:  # the last comer first, with a reason: an exception the province sees
            number = numbers[-1]
            hall.at(2, "call", number=number, reason="预约群众到场")
        else:
            number = hall.at(2, "call-next")[1]["ticket"]["number"]
        hall.at(2, "finish", accepted=True)
        status, body = hall.do("rate", {"ticket": number, "level": level, "source": "keypad"}, device=hall.counter)
        assert status == 201, body
    hall.number("B", scalper)  # the same person takes tickets in both halls
    if levels[0] == 1:  # in Qingdao someone types other people's ID numbers at a kiosk until it pauses typing
        codes = [hall.issue("Q", person(500 + i, source="typed"))[1].get("error", {}).get("code") for i in range(6)]
        assert "KIOSK_BURST" in codes


PROVINCE = ("shengting", "省厅监管-2026!")
REGION = ("jinan", "济南监管-2026!")


@pytest.fixture(scope="module")
def dashboard(tmp_path_factory: pytest.TempPathFactory) -> Any:
    tmp = tmp_path_factory.mktemp("dash")
    ledger = LedgerProcess(f"sqlite:///{tmp / 'ledger.db'}")
    supervisor = last_line(ledger.cli("tokens", "add", "--role", "supervisor", "--name", "省厅"))
    for (login, password), role, region in ((PROVINCE, "province", ""), (REGION, "region", "3701")):
        out = subprocess.run([*KIOSK_BIN, "ledger", "users", "add", "--login", login, "--role", role,
                              *(["--region", region] if region else []), "--db", ledger.db],
                             input=password + "\n", capture_output=True, text=True, timeout=60, cwd=ROOT)
        assert out.returncode == 0, out.stderr
    halls = []
    scalper = person(999)
    for hall_id, name, levels, region in (("jinan-hall", "济南市不动产登记中心", [5, 4, 5], "370100"),
                                          ("qingdao-hall", "青岛市不动产登记中心", [1, 3, 2], "370200")):
        start = datetime(2026, 11, 13, 10, 0, tzinfo=TZ)  # ten days before the ledger's today
        (tmp / hall_id).mkdir()
        hall = Hall(tmp / hall_id, dataclasses.replace(example_config(), hall_id=hall_id), now=start)
        hall.svc = HallContext(hall.config, hall.store, hall_id.encode().ljust(32, b"-"), PROVINCE_KEY)
        a_day(hall, levels, scalper)
        hall.do("report_matter", {"category": "refused", "description": "窗口说办不了，让我去别处"})
        key = signing.public_key_text(signing.private_key(derive_key(hall.svc.master_key, "event-signing")))
        token = last_line(ledger.cli("halls", "add", "--hall", hall_id, "--public-key", key, "--name", name,
                                     "--region", region))
        halls.append((hall, hall_id, token))
    ledger.start()
    for hall, hall_id, token in halls:
        feed(hall, ledger, hall_id, token)
        hall.close()
    yield ledger, supervisor
    ledger.stop()


@pytest.fixture(scope="module")
def province(dashboard: Any) -> Iterator[Browser]:
    ledger, _ = dashboard
    browser = Browser()
    page = browser.sign_in(ledger.url, *PROVINCE)
    assert "指标排名" in page, page
    yield browser
    browser.close()


def test_ranking_by_the_indicators_with_a_chart(dashboard: Any, province: Browser) -> None:
    ledger, _ = dashboard
    dom = province.goto(f"{ledger.url}/dashboard?from=2026-11-01&to=2026-11-30")
    province.wait_for("document.documentElement.dataset.ready === '1'")
    province.screenshot(ARTEFACTS / "ranking.png")
    assert "指标排名 2026-11-01 至 2026-11-30" in dom and "shengting（全省）" in dom
    assert dom.index("济南市不动产登记中心") < dom.index("青岛市不动产登记中心")  # 0 before 3,333.3 差评 per 10,000
    assert "4.67（3评）" in dom and "3333.3" in dom  # Qingdao: its 非常不满意 was overturned on appeal, one 差评 stands
    assert province.eval("document.querySelectorAll('#ranking svg path').length") > 5
    by_clerk = province.goto(f"{ledger.url}/dashboard?from=2026-11-01&to=2026-11-30&by=clerk")
    assert "济南市不动产登记中心 工号7" in by_clerk
    assert province.problems == []


def test_bad_ratings_overdue_first(dashboard: Any, province: Browser) -> None:
    ledger, _ = dashboard
    dom = province.goto(f"{ledger.url}/dashboard/followups")
    province.screenshot(ARTEFACTS / "followups.png")
    assert "差评跟进" in dom and 'class="late"' in dom and "已逾期" in dom and "2026-11-20" in dom


def test_matters_audit_and_scalpers(dashboard: Any, province: Browser) -> None:
    ledger, _ = dashboard
    matters = province.goto(f"{ledger.url}/dashboard/matters")
    province.screenshot(ARTEFACTS / "matters.png")
    assert matters.count("窗口说办不了") == 0  # descriptions stay in the hall; the ledger shows status and history
    assert "M20261113-001" in matters and "待领办" in matters and "jinan-hall" in matters and "qingdao-hall" in matters
    audit = province.goto(f"{ledger.url}/dashboard/audit")
    province.screenshot(ARTEFACTS / "audit.png")
    assert "不按顺序叫号" in audit and "预约群众到场" in audit
    scalpers = province.goto(f"{ledger.url}/dashboard/scalpers")
    province.screenshot(ARTEFACTS / "scalpers.png")
    assert "同一身份多厅或高频取号" in scalpers and "<td>2</td>" in scalpers  # one identity, two halls
    assert person(999)["id_number"] not in scalpers
    bursts = scalpers.split("手工输入身份证号突增", 1)[1].split("</table>", 1)[0]
    assert bursts.count("青岛市不动产登记中心</a>") == 2 and "<td>kiosk-1</td><td>取号</td>" in bursts  # tickets and
    assert "<td>kiosk-1</td><td>预约</td>" in bursts  # the bookings of the contract's events
    assert "预约号源囤积：同一取号机手工输入身份证号预约" in scalpers
    # reading identity hashes left a trace: who, when, what, from where
    reads = province.goto(f"{ledger.url}/dashboard/reads")
    assert "shengting" in reads and "黄牛线索（身份哈希）" in reads and "dashboard 127.0.0.1" in reads


def test_a_region_supervisor_sees_only_the_halls_of_that_region(dashboard: Any) -> None:
    ledger, _ = dashboard
    browser = Browser()
    try:
        first = browser.sign_in(ledger.url, *REGION)
        assert "jinan（3701 地区）" in first
        for path in ("/dashboard?from=2026-11-01&to=2026-11-30", "/dashboard/followups", "/dashboard/matters",
                     "/dashboard/audit", "/dashboard/scalpers"):
            dom = browser.goto(ledger.url + path)
            assert "qingdao" not in dom and "青岛" not in dom, path  # Qingdao (3702) is another region's
            if path == "/dashboard/scalpers":  # the identity seen in both halls counts only Jinan's ticket here
                assert "<td>2</td>" not in dom
            elif path != "/dashboard/followups":  # Jinan had no bad rating to follow up
                assert "jinan-hall" in dom or "济南" in dom, path
        browser.screenshot(ARTEFACTS / "region-3701-audit.png")
        assert "FORBIDDEN" in browser.goto(f"{ledger.url}/dashboard/reads")  # the read log is the province's
    finally:
        browser.close()


def test_sign_in_cookies_csrf_lockout_and_no_token_in_urls(dashboard: Any) -> None:
    ledger, token = dashboard
    r = requests.get(f"{ledger.url}/dashboard?token={token}", allow_redirects=False, timeout=10)
    assert r.status_code == 401 and 'form method="post" action="/login"' in r.text  # a token in a URL: no sign-in
    assert "满意度排名" not in r.text
    web = requests.Session()
    form = web.get(f"{ledger.url}/login", timeout=10)
    csrf = form.text.split('name="csrf" value="')[1].split('"')[0]
    r = requests.post(f"{ledger.url}/login", data={"login": PROVINCE[0], "password": PROVINCE[1], "csrf": csrf},
                      allow_redirects=False, timeout=10)
    assert r.status_code == 403  # a form token without the browser's matching cookie (another site's form): refused
    r = web.post(f"{ledger.url}/login", data={"login": PROVINCE[0], "password": PROVINCE[1], "csrf": csrf},
                 allow_redirects=False, timeout=10)
    assert r.status_code == 303
    cookie = r.headers["set-cookie"]
    assert "ledger_session=" in cookie and "HttpOnly" in cookie and "SameSite=strict" in cookie.replace("Strict", "strict")
    assert "Secure" not in cookie  # plain http on loopback; set on https
    assert web.post(f"{ledger.url}/logout", data={}, allow_redirects=False, timeout=10).status_code == 403  # no CSRF
    # five wrong passwords lock the account, even against the right one (each answer is a fresh form)
    for _ in range(5):
        r = web.post(f"{ledger.url}/login", data={"login": REGION[0], "password": "wrong", "csrf": csrf},
                     allow_redirects=False, timeout=10)
        assert r.status_code == 401 and "登录名或密码不正确" in r.text
        csrf = r.text.split('name="csrf" value="')[1].split('"')[0]
    r = web.post(f"{ledger.url}/login", data={"login": REGION[0], "password": REGION[1], "csrf": csrf},
                 allow_redirects=False, timeout=10)
    assert r.status_code == 429 and "已锁定" in r.text


def test_haochaping_export_has_the_platform_fields_and_no_personal_data(dashboard: Any) -> None:
    ledger, token = dashboard
    r = requests.get(f"{ledger.url}/api/v1/export/ratings?format=csv&from=2026-11-01&to=2026-11-30",
                     headers={"Authorization": f"Bearer {token}"}, timeout=10)
    rows = list(csv.DictReader(io.StringIO(r.content.decode("utf-8-sig"))))
    assert len(rows) == 6
    first = rows[0]
    assert set(first) >= {"case_number", "service", "department", "window_staff", "level", "channel", "time", "region"}
    assert first["department"] == "济南市不动产登记中心" and first["channel"] == "窗口评价器" and first["region"] == "370100"
    assert first["case_number"].startswith("20261113")
    assert all(person(200 + i)["id_number"] not in r.text for i in range(3))
    assert requests.get(f"{ledger.url}/api/v1/export/ratings", timeout=10).status_code == 401  # no token


def charts_drawn(browser: Browser) -> int:
    """Wait until every chart of the page is drawn with content; how many there are."""
    browser.wait_for("document.documentElement.dataset.ready === '1' && [...document.querySelectorAll('div.chart')]"
                     ".every(c => c.dataset.drawn === '1' && c.querySelectorAll('svg path').length > 5)")
    return int(browser.eval("document.querySelectorAll('div.chart').length"))


def test_from_the_ranking_to_a_hall_its_charts_the_workbook_and_the_printed_report(dashboard: Any,
                                                                                   tmp_path: Path) -> None:
    """A province supervisor's month-end, as they would click it: the ranking, Qingdao's page with its charts,
    the trends and waits, the 好差评 workbook downloaded and opened, and the monthly 通报 printed to PDF. No
    console error anywhere (the pages' policy allows only the ledger's own scripts)."""
    from openpyxl import load_workbook

    ledger, _ = dashboard
    browser = Browser()
    try:
        browser.sign_in(ledger.url, *PROVINCE)
        browser.goto(f"{ledger.url}/dashboard?from=2026-11-01&to=2026-11-30")
        charts_drawn(browser)
        browser.eval("document.querySelector('a[href^=\"/dashboard/halls/qingdao-hall\"]').click(); true")
        browser.wait_for("location.pathname === '/dashboard/halls/qingdao-hall' && document.readyState === 'complete'")
        assert charts_drawn(browser) == 1
        hall = browser.html()
        browser.screenshot(ARTEFACTS / "hall-qingdao.png")
        assert "青岛市不动产登记中心（qingdao-hall，地区 370200）" in hall and "按窗口" in hall
        assert "申诉成立，差评已撤销" in hall and '<tr class="overturned">' in hall
        assert "<td>kiosk-1</td><td>2026-11-13</td><td>4</td><td>4</td>" in hall  # four typed bookings at one kiosk

        for path, title in (("/dashboard/trends?grain=week&from=2026-10-01&to=2026-11-30", "trends"),
                            ("/dashboard/waits?from=2026-11-01&to=2026-11-30", "waits")):
            browser.goto(ledger.url + path)
            assert charts_drawn(browser) >= 1, path
            browser.screenshot(ARTEFACTS / f"{title}.png")

        downloads = tmp_path / "downloads"
        downloads.mkdir()
        browser.send("Page.setDownloadBehavior", behavior="allow", downloadPath=str(downloads))
        browser.goto(f"{ledger.url}/dashboard?from=2026-11-01&to=2026-11-30")
        browser.eval("document.querySelector('a[href*=\"format=xlsx\"]').click(); true")
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and not [f for f in downloads.iterdir() if f.suffix == ".xlsx"]:
            time.sleep(0.1)
        (xlsx,) = [f for f in downloads.iterdir() if f.suffix == ".xlsx"]
        shutil.copy(xlsx, ARTEFACTS / "haochaping-2026-11.xlsx")
        book = load_workbook(xlsx, read_only=True)
        rows = list(book["好差评明细"].iter_rows(values_only=True))
        assert rows[0][:3] == ("评价编号", "办件编号", "事项编码") and len(rows) == 1 + 6
        assert [r[16] for r in rows[1:] if r[5] == "qingdao-hall" and r[8] == 1] == ["申诉成立，差评撤销"]

        browser.eval("document.querySelector('p.tools a[href^=\"/dashboard/report\"]').click(); true")  # 2026-11
        browser.wait_for("location.pathname === '/dashboard/report' && document.readyState === 'complete'")
        report = browser.html()
        assert "全省不动产登记大厅服务情况通报（2026年11月）" in report and "四、黄牛线索" in report
        browser.screenshot(ARTEFACTS / "report-2026-11.png")
        pdf = base64.b64decode(browser.send("Page.printToPDF", printBackground=True, preferCSSPageSize=True)["data"])
        (ARTEFACTS / "report-2026-11.pdf").write_bytes(pdf)
        assert pdf.startswith(b"%PDF") and len(re.findall(rb"/Type\s*/Page[^s]", pdf)) >= 4  # a page per section
        assert browser.problems == [], browser.problems
    finally:
        browser.close()
