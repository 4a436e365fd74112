"""Every dashboard page timed at a year's scale on PostgreSQL: 200 halls, ~300 rated services per hall per working
day (≈15 M ratings, as many ticket issues, and their facts), the rollups filled as ingest leaves them.

The fill is server-side (INSERT … SELECT over generate_series), a month at a time, so it takes minutes:
- ratings with a skewed 好差评 distribution (≈99% 满意, 差评 rates differing by hall), their follow-ups (on time,
  late, open), appeals (appealed, upheld, overturned) and the appeals' record;
- one ticket issue per service, a few holders taking tickets in several halls, agents;
- exceptions, 办不成事 (most closed within days), bookings (some typed in bursts at one kiosk), kiosk bursts;
- the rollups: per unit the same vector ingest adds per rating (kiosk/ledger/rollups.py: overturned ratings out,
  follow-ups on time or late), services as the rated ones plus one in ten left unrated, a wait histogram per hall,
  day and business in ingest's buckets (an exponential spread whose mean differs by hall), the day rows summed
  from both, and the holders seen more than once a day recounted by the ledger's own refresh.
The events themselves are not generated: no page reads them (the chain's verification does).

Then ``kiosk ledger serve`` answers each page N times in a row, signed in as the province and as a region;
p50 and p95 are printed per page, and the 好差评 workbook of one hall-month is timed too. Before each view of
a page that recounts the holders seen in several halls, every hall marks today again, as ingest does all day.
Usage: python bench/ledger_dashboard.py [--halls 200] [--per-day 300] [--requests 20] [--db URL] [--skip-fill]
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import time
from datetime import date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import requests

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from kiosk.domain import signing  # noqa: E402
from kiosk.ledger import rollups  # noqa: E402
from kiosk.ledger.db import LedgerDB  # noqa: E402
from kiosk.ledger.service import LedgerService  # noqa: E402
from tests.helpers import free_port  # noqa: E402
from tests.pg import PostgresServer  # noqa: E402

TZ = ZoneInfo("Asia/Shanghai")
TODAY = date(2026, 11, 23)  # the ledger's clock: the end of the year filled
PASSWORD = "bench-password-2026"
KEY = signing.public_key_text(signing.private_key(b"bench".ljust(32, b"-")))  # no batch is sent: any hall key will do

# what ingest adds per rating, in SQL (rollups.rating_vector): an overturned rating counts only as overturned
RATING_SUMS = """SUM(CASE WHEN appeal='overturned' THEN 0 ELSE 1 END),
    SUM(CASE WHEN appeal='overturned' THEN 0 ELSE level END),
    SUM(CASE WHEN appeal='overturned' THEN 0 ELSE bad END),
    SUM(CASE WHEN appeal IS DISTINCT FROM 'overturned' AND bad=1 AND followup='closed'
             AND (deadline IS NULL OR substr(closed_at,1,10) <= deadline) THEN 1 ELSE 0 END),
    SUM(CASE WHEN appeal IS DISTINCT FROM 'overturned' AND bad=1 AND followup='closed'
             AND substr(closed_at,1,10) > deadline THEN 1 ELSE 0 END),
    SUM(CASE WHEN appeal='overturned' THEN 1 ELSE 0 END)"""
UNITS_FROM_RATINGS = f"""INSERT INTO roll_units (day, hall, win, clerk, business, services, rated, level_sum, bad, ontime, late,
    overturned)
SELECT day, hall, COALESCE(win, -1), COALESCE(clerk_id, ''), COALESCE(business, ''), COUNT(*) + COUNT(*) / 10,
    {RATING_SUMS}
FROM ratings WHERE day BETWEEN %(start)s AND %(end)s GROUP BY day, hall, COALESCE(win, -1), COALESCE(clerk_id, ''),
    COALESCE(business, '')"""


def _cdf(edge: int | None) -> str:
    return "1" if edge is None else "0" if edge == 0 else f"(1 - exp(-{edge} / m))"


EDGES = rollups.WAIT_EDGES
WAIT_FILL = ", ".join(f"(round(services * {_cdf(EDGES[i + 1] if i + 1 < len(EDGES) else None)}) - "
                      f"round(services * {_cdf(EDGES[i])}))::bigint" for i in range(len(EDGES)))
WAIT_SUMS = (" + ".join(f"SUM({c})" for c in rollups.WAIT_COLUMNS) + " AS called, "
             + " + ".join(f"SUM({c}) * {10 * EDGES[i] + 5 * rollups.bucket_width(i)}" for i, c in enumerate(rollups.WAIT_COLUMNS))
             + " AS tenths, " + " + ".join(f"SUM({c})" for i, c in enumerate(rollups.WAIT_COLUMNS) if EDGES[i] >= 60)
             + " AS over60")


def working_days(last: date, count: int) -> list[date]:
    from chinese_calendar import is_workday

    days: list[date] = []
    day = last
    while len(days) < count:
        if is_workday(day):
            days.append(day)
        day -= timedelta(days=1)
    return sorted(days)


def fill(url: str, halls: int, per_day: int, days: list[date]) -> None:
    import psycopg

    service = LedgerService(LedgerDB(url))  # the schema, by the ledger's own migrations
    for i in range(halls):
        service.add_hall(f"hall-{i:03d}", KEY, datetime.now(TZ), f"第{i:03d}不动产登记中心",
                         f"37{i % 16 + 1:02d}{i // 16:02d}")
    service.add_user("province", "province", "", PASSWORD, datetime.now(TZ))
    service.add_user("region", "region", "3701", PASSWORD, datetime.now(TZ))
    service.db.close()
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("SELECT setseed(0.24)")
        conn.execute("CREATE TEMP TABLE bench_halls AS SELECT id AS hall, row_number() OVER (ORDER BY id) - 1 AS k FROM halls")
        conn.execute("CREATE TEMP TABLE bench_days (day TEXT, d DATE, i INT)")
        with conn.cursor() as cur:
            cur.executemany("INSERT INTO bench_days VALUES (%s, %s, %s)", [(d.isoformat(), d, i) for i, d in enumerate(days)])
        months = sorted({d.isoformat()[:7] for d in days})
        started = time.perf_counter()
        for month in months:
            m = {"month": month, "per_day": per_day}
            # ratings: a 差评 rate from 0.05% to 0.8% by hall; follow-ups 90% on time, 7% late, 3% open
            conn.execute("""
            INSERT INTO ratings (hall, day, number, level, win, clerk_id, business, source, at, bad, deadline, followup,
                closed_at, note, appeal, reasons)
            SELECT hall, day, number, level, win, clerk, business, 'keypad', at, (level <= 2)::int,
                CASE WHEN level <= 2 THEN to_char(d + 7, 'YYYY-MM-DD') END,
                CASE WHEN level <= 2 THEN CASE WHEN r2 < 0.97 THEN 'closed' ELSE 'opened' END END,
                CASE WHEN level <= 2 AND r2 < 0.90 THEN to_char(d + 3, 'YYYY-MM-DD') || 'T15:00:00.000+08:00'
                     WHEN level <= 2 AND r2 < 0.97 THEN to_char(d + 10, 'YYYY-MM-DD') || 'T15:00:00.000+08:00' END,
                CASE WHEN level <= 2 AND r2 < 0.97 THEN '已核实整改并回访' END,
                CASE WHEN level <= 2 THEN CASE WHEN r3 < 0.05 THEN 'overturned' WHEN r3 < 0.08 THEN 'upheld'
                                               WHEN r3 < 0.09 THEN 'appealed' END END,
                CASE WHEN level <= 2 THEN '["等候时间长"]' END
            FROM (SELECT hall, day, d, chr(65 + mod(n, 5)) || lpad(n::text, 3, '0') AS number,
                         1 + mod(n, 10) AS win, (100 + mod(n, 10))::text AS clerk, chr(65 + mod(n, 5)) AS business,
                         day || 'T' || to_char(time '09:00' + n * interval '96 seconds', 'HH24:MI:SS') || '.000+08:00' AS at,
                         CASE WHEN r < 0.0003 * (1 + mod(k, 8)) THEN 1 WHEN r < 0.001 * (1 + mod(k, 8)) THEN 2
                              WHEN r < 0.01 THEN 3 WHEN r < 0.04 THEN 4 ELSE 5 END AS level, r2, r3
                  FROM (SELECT h.hall, h.k, d.day, d.d, n, random() AS r, random() AS r2, random() AS r3
                        FROM bench_halls h, bench_days d, generate_series(1, %(per_day)s) n
                        WHERE d.day LIKE %(month)s || '%%') x) s""", m)
            # a ticket per service: a few hundred identities take tickets in several halls; 1% are agents
            conn.execute("""
            INSERT INTO issues (hall, seq, day, at, holder, agent, principals)
            SELECT hall, d.i * 1000 + n, d.day, d.day || 'T09:00:00.000+08:00',
                CASE WHEN r < 0.002 THEN encode(sha256(('scalper' || floor(r2 * 300))::bytea), 'hex')
                     ELSE encode(sha256((hall || d.day || n)::bytea), 'hex') END,
                (r3 < 0.01)::int, CASE WHEN r3 < 0.01 THEN 1 + floor(r2 * 6)::int ELSE 0 END
            FROM (SELECT hall, day, n, random() AS r, random() AS r2, random() AS r3
                  FROM bench_halls, bench_days, generate_series(1, %(per_day)s) n
                  WHERE bench_days.day LIKE %(month)s || '%%') x JOIN bench_days d USING (day)""", m)
            conn.execute("""
            INSERT INTO exceptions (hall, seq, at, kind, win, clerk_id, ticket, reason)
            SELECT hall, 900000000 + d.i * 10 + n, d.day || 'T1' || n || ':00:00.000+08:00',
                (ARRAY['out_of_order_call','identity_mismatch','identity_override','transfer','repeat_notice'])[n],
                n, (100 + n)::text, 'B' || lpad(n::text, 3, '0'), '预约群众到场'
            FROM bench_halls, bench_days d, generate_series(1, 5) n WHERE d.day LIKE %(month)s || '%%'""", m)
            conn.execute("""
            INSERT INTO matters (hall, number, category, status, opened_at, deadline, owner, escalated, history, closed_at)
            SELECT hall, 'M' || replace(day, '-', '') || '-001', 'refused', CASE WHEN r < 0.95 THEN 'closed' ELSE 'claimed' END,
                day || 'T10:00:00.000+08:00', to_char(d + 7, 'YYYY-MM-DD'), '值班长', 0,
                '[{"at": "' || day || 'T10:00:00.000+08:00", "status": "opened", "note": ""}]',
                CASE WHEN r < 0.95 THEN to_char(d::timestamp + time '10:00' + (0.5 + r2 * 9.5) * interval '1 day',
                                                'YYYY-MM-DD"T"HH24:MI:SS') || '.000+08:00' END
            FROM (SELECT hall, day, d, random() AS r, random() AS r2 FROM bench_halls, bench_days
                  WHERE mod(i, 2) = 0 AND day LIKE %(month)s || '%%') x""", m)
            conn.execute("""
            INSERT INTO bookings (hall, seq, day, at, device, business, holder, entry, refused)
            SELECT hall, 800000000 + d.i * 100 + n, d.day, d.day || 'T11:00:00.000+08:00',
                CASE WHEN hoard THEN 'kiosk-1' ELSE 'kiosk-' || (1 + mod(n, 3)) END, 'B',
                encode(sha256((hall || d.day || n || 'b')::bytea), 'hex'),
                CASE WHEN hoard OR mod(n, 10) = 0 THEN 'typed' ELSE 'card' END,
                CASE WHEN mod(n, 37) = 0 THEN 'BOOKING_EXISTS' END
            FROM (SELECT hall, day, n, (random() < 0.01 AND n <= 5) AS hoard FROM bench_halls, bench_days,
                  generate_series(1, 10) n WHERE day LIKE %(month)s || '%%') x JOIN bench_days d USING (day)""", m)
            conn.execute("""
            INSERT INTO bursts (hall, seq, day, at, device, via)
            SELECT hall, 700000000 + i, day, day || 'T09:30:00.000+08:00', 'kiosk-1',
                CASE WHEN mod(i, 2) = 0 THEN 'ticket' ELSE 'booking' END
            FROM bench_halls, bench_days WHERE mod(i + k, 20) = 0 AND day LIKE %(month)s || '%%'""", m)
            # the rollups, as ingest leaves them
            start, end = f"{month}-01", f"{month}-31"
            conn.execute("ANALYZE ratings")  # each step reads what the one before wrote: fresh statistics first
            conn.execute(UNITS_FROM_RATINGS, {"start": start, "end": end})
            conn.execute("ANALYZE roll_units")
            conn.execute(f"""
            INSERT INTO roll_waits (day, hall, business, {", ".join(rollups.WAIT_COLUMNS)})
            SELECT day, hall, business, {WAIT_FILL}
            FROM (SELECT day, hall, business, SUM(services) AS services FROM roll_units
                  WHERE day BETWEEN %(start)s AND %(end)s GROUP BY day, hall, business) u
            JOIN (SELECT hall, 8.0 + mod(k, 10) * 4 AS m FROM bench_halls) h USING (hall)""",
                         {"start": start, "end": end})  # per bucket: the rounded CDF's steps, so they sum to services
            conn.execute("ANALYZE roll_waits")
            conn.execute(f"""
            INSERT INTO roll_days (day, hall, week, month, services, rated, level_sum, bad, ontime, late, overturned, called,
                wait_tenths, over60)
            SELECT u.day, u.hall, to_char(u.day::date, 'IYYY-"W"IW'), substr(u.day, 1, 7), u.services, u.rated, u.level_sum,
                u.bad, u.ontime, u.late, u.overturned, COALESCE(w.called, 0), COALESCE(w.tenths, 0), COALESCE(w.over60, 0)
            FROM (SELECT day, hall, SUM(services) AS services, SUM(rated) AS rated, SUM(level_sum) AS level_sum,
                         SUM(bad) AS bad, SUM(ontime) AS ontime, SUM(late) AS late, SUM(overturned) AS overturned
                  FROM roll_units WHERE day BETWEEN %(start)s AND %(end)s GROUP BY day, hall) u
            LEFT JOIN (SELECT day, hall, {WAIT_SUMS} FROM roll_waits WHERE day BETWEEN %(start)s AND %(end)s
                       GROUP BY day, hall) w USING (day, hall)""",
                         {"start": start, "end": end})
            conn.execute("ANALYZE issues")
            print(f"  {month}: filled ({time.perf_counter() - started:.0f} s so far)", flush=True)
        conn.execute("""
        INSERT INTO appeals (hall, seq, day, number, at, state, reason, by_whom)
        SELECT hall, 600000000 + row_number() OVER (PARTITION BY hall ORDER BY day, number), day, number, at, appeal,
            '监控录像核实', '复核人' FROM ratings WHERE appeal IS NOT NULL""")
        conn.execute("INSERT INTO issue_marks (day, hall, seq) SELECT DISTINCT day, hall, 0 FROM issues")
    db = LedgerDB(url)
    started = time.perf_counter()
    recounted = rollups.refresh_holder_flags(db)
    print(f"  holders seen more than once a day, recounted by the ledger for {recounted} days "
          f"({time.perf_counter() - started:.0f} s)", flush=True)
    db.close()
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("VACUUM ANALYZE")


def sizes(url: str) -> str:
    import psycopg

    with psycopg.connect(url, autocommit=True) as conn:
        counts = {t: conn.execute(f"SELECT COUNT(*) FROM {t}").fetchone()[0]  # type: ignore[index]
                  for t in ("ratings", "issues", "exceptions", "matters", "bookings", "roll_units", "roll_days",
                            "roll_waits", "holder_flags")}
        size = conn.execute("SELECT pg_size_pretty(pg_database_size(current_database()))").fetchone()[0]  # type: ignore[index]
    return ", ".join(f"{t} {n:,}" for t, n in counts.items()) + f"; database {size}"


def sign_in(base: str, login: str) -> requests.Session:
    web = requests.Session()
    csrf = web.get(f"{base}/login", timeout=30).text.split('name="csrf" value="')[1].split('"')[0]
    r = web.post(f"{base}/login", data={"login": login, "password": PASSWORD, "csrf": csrf}, allow_redirects=False,
                 timeout=30)
    assert r.status_code == 303, r.text
    return web


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--halls", type=int, default=200)
    parser.add_argument("--per-day", type=int, default=300, help="rated services per hall per working day")
    parser.add_argument("--days", type=int, default=250, help="working days (a year: about 250)")
    parser.add_argument("--requests", type=int, default=20, help="times each page is asked")
    parser.add_argument("--db", help="a PostgreSQL URL (default: a throwaway local cluster)")
    parser.add_argument("--skip-fill", action="store_true", help="time the pages of an already filled --db")
    args = parser.parse_args()
    server = None
    try:
        if args.db:
            url = args.db
        else:
            server = PostgresServer()
            server.start()
            url = server.new_database()
        days = working_days(TODAY, args.days)
        if not args.skip_fill:
            print(f"filling {args.halls} halls × {args.per_day} rated services × {len(days)} working days "
                  f"({days[0]} to {days[-1]}) on PostgreSQL …", flush=True)
            started = time.perf_counter()
            fill(url, args.halls, args.per_day, days)
            print(f"filled in {time.perf_counter() - started:.0f} s", flush=True)
        print(sizes(url), flush=True)
        port = free_port()
        proc = subprocess.Popen([sys.executable, "-m", "kiosk.cli", "ledger", "serve", "--db", url, "--port", str(port),
                                 "--now", f"{TODAY.isoformat()}T18:00:00+08:00"], cwd=ROOT,
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        base = f"http://127.0.0.1:{port}"
        try:
            for _ in range(600):
                try:
                    requests.get(base + "/health", timeout=1)
                    break
                except requests.ConnectionError:
                    time.sleep(0.1)
            time_pages(base, url, args.requests, days)
        finally:
            proc.terminate()
            proc.wait(10)
    finally:
        if server is not None:
            server.stop()
    return 0


def time_pages(base: str, url: str, n: int, days: list[date]) -> None:
    month = (TODAY.replace(day=1) - timedelta(days=1)).strftime("%Y-%m")
    pages = [("province", "/dashboard"), ("province", "/dashboard?by=window"), ("province", "/dashboard?by=region"),
             ("province", "/dashboard?by=clerk&sort=average&order=desc"), ("province", "/dashboard/halls/hall-007"),
             ("province", "/dashboard/waits"), ("province", "/dashboard/trends"), ("province", "/dashboard/trends?grain=month"),
             ("province", f"/dashboard/report?month={month}"), ("province", "/dashboard/followups"),
             ("province", "/dashboard/matters"), ("province", "/dashboard/audit"), ("province", "/dashboard/scalpers"),
             ("province", "/dashboard/reads"), ("region", "/dashboard"), ("region", "/dashboard/halls/hall-000"),
             ("region", "/dashboard/waits"), ("region", "/dashboard/trends?grain=month"),
             ("region", f"/dashboard/report?month={month}"), ("region", "/dashboard/scalpers")]
    sessions = {who: sign_in(base, who) for who in ("province", "region")}
    marker = LedgerDB(url)
    print(f"\n{'page':<58} {'p50 ms':>8} {'p95 ms':>8} {'max ms':>8}  (n={n}, one ledger worker, sequential)")
    worst = 0.0
    for who, path in pages:
        times = []
        for _ in range(n):
            if "scalpers" in path or "report" in path:  # today's tickets keep coming: every hall has marked today again
                with marker.transaction() as conn:
                    conn.execute("INSERT INTO issue_marks (day, hall, seq) SELECT %s, id, 1 FROM halls ON CONFLICT DO NOTHING",
                                 (days[-1].isoformat(),))
            started = time.perf_counter()
            r = sessions[who].get(base + path, timeout=120)
            times.append(1000 * (time.perf_counter() - started))
            assert r.status_code == 200, (path, r.status_code, r.text[:300])
        times.sort()
        p95 = times[max(0, round(0.95 * len(times)) - 1)]
        worst = max(worst, p95)
        print(f"{who + ' ' + path:<58} {statistics.median(times):8.0f} {p95:8.0f} {times[-1]:8.0f}", flush=True)
    print(f"slowest page at p95: {worst:.0f} ms")
    started = time.perf_counter()
    r = sessions["province"].get(f"{base}/api/v1/export/ratings?format=xlsx&hall=hall-007&from={month}-01&to={month}-31",
                                 timeout=600)
    assert r.status_code == 200
    print(f"workbook of one hall-month: {len(r.content) / 1024:.0f} KB in {time.perf_counter() - started:.2f} s")


if __name__ == "__main__":
    sys.exit(main())
