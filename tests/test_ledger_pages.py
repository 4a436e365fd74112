"""Every supervisor's page, the workbook and the monthly report over real HTTP (``kiosk ledger serve``), on
SQLite and on a real PostgreSQL, fed with signed batches: what each shows, that an overturned rating is shown
as such and counted apart, that a region account reaches only its region's halls by every path (page, waits,
trends, export), and that the pages allow no script but the ledger's own."""

from __future__ import annotations

import io
import subprocess
from collections.abc import Iterator

import pytest
import requests

from kiosk.ledger.db import LedgerDB
from kiosk.ledger.pages.common import CSP
from kiosk.ledger.service import LedgerService
from kiosk.ledger.workbook import FIELDS
from tests.helpers import KIOSK_BIN, ROOT
from tests.ledger_chain import Chain
from tests.test_ledger_indicators import NOW, a_month
from tests.test_sync import LedgerProcess

PROVINCE = ("shengting", "省厅监管-2026!")
REGION = ("jinan", "济南监管-2026!")


def feed(url: str) -> None:
    ledger = LedgerService(LedgerDB(url))
    jinan, qingdao = Chain("jinan-hall"), Chain("qingdao-hall")
    for chain, name, region in ((jinan, "济南市不动产登记中心", "370100"), (qingdao, "青岛市不动产登记中心", "370200")):
        ledger.add_hall(chain.hall, chain.public_key, NOW, name, region)
    a_month(jinan)
    for i in range(4):
        jinan.book(f"2026-11-20T09:0{i}:00.000+08:00", f"typed-{i}".ljust(64, "0"))
    jinan.book("2026-11-20T09:05:00.000+08:00", "typed-0".ljust(64, "0"), refused="BOOKING_EXISTS")
    jinan.burst("2026-11-20T09:06:00.000+08:00")
    for i, level in enumerate((5, 1, 1, 5)):
        qingdao.serve("2026-11-10", f"C{i:03d}", business="C", level=level, deadline="2026-11-17", waited=70.0)
    qingdao.book("2026-11-21T09:00:00.000+08:00", "typed-0".ljust(64, "0"))
    for chain in (jinan, qingdao):
        ledger.ingest(chain.hall, chain.batch(), NOW)
    for (login, password), role, region in ((PROVINCE, "province", ""), (REGION, "region", "3701")):
        ledger.add_user(login, role, region, password, NOW)
    ledger.db.close()


@pytest.fixture(scope="module", params=["sqlite", "postgres"])
def served(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[LedgerProcess]:
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path_factory.mktemp('pages') / 'ledger.db'}"
    else:
        url = request.getfixturevalue("postgres").new_database()
    feed(url)
    ledger = LedgerProcess(url)
    ledger.start()
    yield ledger
    ledger.stop()


def signed_in(ledger: LedgerProcess, login: str, password: str) -> requests.Session:
    web = requests.Session()
    form = web.get(f"{ledger.url}/login", timeout=10)
    csrf = form.text.split('name="csrf" value="')[1].split('"')[0]
    r = web.post(f"{ledger.url}/login", data={"login": login, "password": password, "csrf": csrf},
                 allow_redirects=False, timeout=10)
    assert r.status_code == 303, r.text
    return web


@pytest.fixture(scope="module")
def province(served: LedgerProcess) -> requests.Session:
    return signed_in(served, *PROVINCE)


@pytest.fixture(scope="module")
def region(served: LedgerProcess) -> requests.Session:
    return signed_in(served, *REGION)


def get(web: requests.Session, url: str, status: int = 200) -> str:
    r = web.get(url, timeout=60)
    assert r.status_code == status, (url, r.status_code, r.text[:500])
    return r.text


def rows_of(page: str, caption_or_heading: str) -> str:
    return page.split(caption_or_heading, 1)[1].split("</table>", 1)[0]


def test_the_ranking_by_the_indicators_that_move(served: LedgerProcess, province: requests.Session) -> None:
    base = f"{served.url}/dashboard?from=2026-11-01&to=2026-11-30"
    r = province.get(base, timeout=30)
    assert r.headers["Content-Security-Policy"] == CSP and "script-src 'self'" in CSP and "unsafe" not in CSP
    page = r.text
    assert page.index("济南市不动产登记中心") < page.index("青岛市不动产登记中心")  # 3636.4 before 5000.0 per 10,000
    jinan = rows_of(page, 'href="/dashboard/halls/jinan-hall?from=2026-11-01&amp;to=2026-11-30"')
    # services, bad, per 10k, on time, overdue, 整改率, 回访率, matters opened, closed, median days, overturned, average
    assert [c.split("<")[0] for c in jinan.split("<td>")[1:13]] == [
        "11", "4", "3636.4", "2", "2", "75.0%", "50.0%", "3", "2", "2.2", "1", "2.75（8评）"]
    reverse = get(province, base + "&sort=per10k&order=desc")
    assert reverse.index("青岛市不动产登记中心") < reverse.index("济南市不动产登记中心")
    assert "2026-11 月度通报" in page and "format=xlsx" in page
    by_region = get(province, base + "&by=region")
    assert 'href="/dashboard?by=hall&amp;region=370100' in by_region
    assert "济南市不动产登记中心 3号窗口" in get(province, base + "&by=window")
    assert "济南市不动产登记中心 工号8" in get(province, base + "&by=clerk")
    for bad in ("&by=everything", "&sort=nothing", "&order=up", "&from=2026-13-01", "&region=37x", "&region=", "&to="):
        assert "QUERY_INVALID" in get(province, base + bad, 422)


def test_a_page_per_hall(served: LedgerProcess, province: requests.Session) -> None:
    page = get(province, f"{served.url}/dashboard/halls/jinan-hall?from=2026-11-01&to=2026-11-30")
    assert "济南市不动产登记中心（jinan-hall，地区 370100）" in page
    assert '<div class="chart" id="hall-trend"' in page and "echarts.min.js" in page
    for heading in ("按窗口", "按业务", "按工作人员", "等候时间（取号到叫号）", "异常", "取号机手工输入身份证号突增",
                    "预约号源囤积", "差评与申诉"):
        assert f"<h2>{heading}" in page, heading
    assert "B 转移登记（存量房买卖）" in page  # the business by its catalogue name
    overturned = page.split('<tr class="overturned">', 1)[1].split("</tr>", 1)[0]
    assert "B007" in overturned and "申诉成立，差评已撤销" in overturned and "监控录像核实" in overturned
    assert "申诉不成立，差评维持" in page
    hoarding = rows_of(page, "同一取号机一天内手工输入身份证号预约 3 个及以上")
    assert "<td>kiosk-1</td><td>2026-11-20</td><td>4</td><td>4</td>" in hoarding
    assert "BOOKING_EXISTS" in page and "typed-0" not in page.split("预约号源囤积", 1)[0]
    assert "HALL_UNKNOWN" in get(province, f"{served.url}/dashboard/halls/nowhere", 404)


def test_waits_trends_followups_and_scalpers(served: LedgerProcess, province: requests.Session) -> None:
    waits = get(province, f"{served.url}/dashboard/waits?from=2026-11-01&to=2026-11-30")
    qingdao = rows_of(waits, "青岛市不动产登记中心</a></td><td>C 转移登记（新建商品房）")
    assert "<td>4</td><td>75.0</td><td>79.0</td><td>100.0%</td>" in qingdao  # four waits of 70 min, bucket 70–80
    assert "waits-by-day" in waits
    trends = get(province, f"{served.url}/dashboard/trends?grain=month&from=2026-01-01&to=2026-11-30")
    assert "trend-services" in trends and "<td>2026-11</td><td>15</td>" in trends
    assert "2026-W45" in get(province, f"{served.url}/dashboard/trends?grain=week&hall=jinan-hall&from=2026-10-01"
                                       f"&to=2026-11-30")
    assert 'href="/dashboard/halls/qingdao-hall"' in trends  # every table that names a hall leads to its page
    followups = get(province, f"{served.url}/dashboard/followups?from=2026-11-01&to=2026-11-30")
    for path in ("/dashboard/followups", "/dashboard/matters", "/dashboard/report?month=2026-11"):
        assert 'href="/dashboard/halls/jinan-hall' in get(province, served.url + path), path
    assert "申诉成立，差评已撤销" in followups and followups.index("已逾期") < followups.index("已办结")
    scalpers = get(province, f"{served.url}/dashboard/scalpers?from=2026-11-01&to=2026-11-30")
    assert "预约号源囤积：同一取号机手工输入身份证号预约" in scalpers and "预约号源囤积：同一身份多次预约" in scalpers
    across = rows_of(scalpers, "预约号源囤积：同一身份多次预约（本厅及跨厅）")
    assert "<td>typed-0000000000</td><td>2</td><td>2</td><td>2</td><td>1</td>" in across  # two halls, one refusal
    assert "<td>kiosk-1</td><td>预约</td>" in rows_of(scalpers, "取号机手工输入身份证号突增")


def test_the_monthly_report(served: LedgerProcess, province: requests.Session) -> None:
    report = get(province, f"{served.url}/dashboard/report?month=2026-11")
    assert "全省不动产登记大厅服务情况通报（2026年11月）" in report and "data-print" in report
    for section in ("一、各大厅指标排名", "二、逾期未整改的差评", "三、未办结的办不成事", "四、黄牛线索"):
        assert section in report
    overdue = rows_of(report, "二、逾期未整改的差评")
    assert "B006" in overdue and "B007" not in overdue and "C001" in overdue  # overturned: not overdue
    assert "M20261120-001" in rows_of(report, "三、未办结的办不成事") and "M20261102-001" not in report
    assert "QUERY_INVALID" in get(province, f"{served.url}/dashboard/report?month=2026-13", 422)


def test_the_workbook_in_the_national_fields(served: LedgerProcess, province: requests.Session,
                                              region: requests.Session) -> None:
    from openpyxl import load_workbook

    r = province.get(f"{served.url}/api/v1/export/ratings?format=xlsx&from=2026-11-01&to=2026-11-30", timeout=60)
    assert r.status_code == 200 and r.headers["content-type"].startswith("application/vnd.openxmlformats")
    book = load_workbook(io.BytesIO(r.content), read_only=True)
    assert book.sheetnames == ["好差评明细", "字段说明", "指标汇总"]
    rows = list(book["好差评明细"].iter_rows(values_only=True))
    assert list(rows[0]) == [f[0] for f in FIELDS] and len(rows) == 1 + 9 + 4
    by_id = {row[0]: row for row in rows[1:]}
    b007 = by_id["jinan-hall-2026-11-02-B007"]
    assert b007[2:5] == ("B", "转移登记（存量房买卖）", "济南市不动产登记中心") and b007[6] == "370100"
    assert (b007[7], b007[8], b007[9], b007[16]) == ("窗口评价器", 2, "不满意", "申诉成立，差评撤销")
    assert by_id["jinan-hall-2026-11-02-B005"][14] == "已整改回访（逾期）"
    assert by_id["jinan-hall-2026-11-02-B004"][11] == "等候时间长"
    fields = list(book["字段说明"].iter_rows(values_only=True))
    assert ("办件编号", "projNo") == fields[2][:2]
    summary = {row[0]: row for row in book["指标汇总"].iter_rows(values_only=True) if row and row[0]}
    assert summary["济南市不动产登记中心"][1:5] == (11, 8, 4, 3636.4)
    ratings = province.get(f"{served.url}/api/v1/export/ratings?format=json&from=2026-11-01&to=2026-11-30",
                           timeout=60).json()["ratings"]
    assert [r["appeal"] for r in ratings if r["ticket"] in ("B007", "B011", "B006")] == ["", "overturned", "upheld"]
    mine = load_workbook(io.BytesIO(region.get(f"{served.url}/api/v1/export/ratings?format=xlsx&from=2026-11-01"
                                               "&to=2026-11-30", timeout=60).content), read_only=True)
    assert {row[5] for row in list(mine["好差评明细"].iter_rows(values_only=True))[1:]} == {"jinan-hall"}


def test_a_region_account_reaches_only_its_halls_by_every_path(served: LedgerProcess, region: requests.Session) -> None:
    base = served.url
    assert "青岛" not in get(region, f"{base}/dashboard?from=2026-11-01&to=2026-11-30")
    assert "济南市不动产登记中心" in get(region, f"{base}/dashboard/halls/jinan-hall?from=2026-11-01&to=2026-11-30")
    for path in ("/dashboard/halls/qingdao-hall", "/dashboard/waits?hall=qingdao-hall",
                 "/dashboard/trends?hall=qingdao-hall", "/api/v1/export/ratings?format=xlsx&hall=qingdao-hall"):
        assert "FORBIDDEN" in get(region, base + path, 403), path
    for path in ("/dashboard/waits?from=2026-11-01&to=2026-11-30", "/dashboard/trends?grain=month",
                 "/dashboard/report?month=2026-11", "/dashboard/scalpers?from=2026-11-01&to=2026-11-30"):
        page = get(region, base + path)
        assert "青岛" not in page and "qingdao" not in page, path


def test_the_charts_library_is_served_by_the_ledger(served: LedgerProcess, province: requests.Session) -> None:
    page = get(province, f"{served.url}/dashboard/trends")
    src = page.split('<script src="', 1)[1].split('"', 1)[0]
    assert src.startswith("/static/web/echarts/echarts.min.js?v=")  # no CDN: the ledger is on an intranet
    r = requests.get(served.url + src, timeout=30)  # a static file needs no session
    assert r.status_code == 200 and r.headers["cache-control"] == "public, max-age=31536000, immutable"
    assert r.headers["content-type"].startswith("text/javascript") and b"Apache" in r.content[:2000]
    assert "Apache License" in requests.get(f"{served.url}/static/web/echarts/LICENSE", timeout=10).text[:300]
    assert requests.get(f"{served.url}/static/web/../../kiosk/ledger/db.py", timeout=10).status_code == 404
    assert "<script>" not in page and " onclick=" not in page  # nothing inline for the policy to allow


def test_users_command_still_adds_accounts(served: LedgerProcess) -> None:
    """The pages' accounts are the ones ``kiosk ledger users add`` makes (a region code of a city, 4 digits)."""
    out = subprocess.run([*KIOSK_BIN, "ledger", "users", "add", "--login", "qd", "--role", "region", "--region", "3702",
                          "--db", served.db], input="青岛监管-2026!\n", capture_output=True, text=True, timeout=60,
                         cwd=ROOT)
    assert out.returncode == 0, out.stderr
    web = signed_in(served, "qd", "青岛监管-2026!")
    assert "青岛市不动产登记中心" in get(web, f"{served.url}/dashboard?from=2026-11-01&to=2026-11-30")
    assert "FORBIDDEN" in get(web, f"{served.url}/dashboard/halls/jinan-hall", 403)
