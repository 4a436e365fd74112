"""The HTTP contract of hall-api.md, over real HTTP on loopback against `kiosk hall serve`."""

from __future__ import annotations

import hashlib
import json
import threading
from typing import Any

from tests.helpers import Client, HallProcess, person


def login(server: HallProcess, window: int = 2) -> Client:
    r = server.client("counter-1").post(f"/api/v1/windows/{window}/login", {"clerk_id": "7", "pin": "1234"})
    assert r.status_code == 200, r.text
    return server.client("counter-1", r.json()["session"])


def issue(kiosk: Client, business: str, who: int, **headers: str) -> Any:
    return kiosk.post("/api/v1/tickets", {"business": business, "identity": person(who)}, **headers)


def recompute(events: list[dict[str, Any]]) -> None:
    """The chain as hall-api.md defines it, written independently of kiosk.domain.events."""
    prev = "0" * 64
    for i, e in enumerate(events, start=1):
        assert e["seq"] == i and e["prev_hash"] == prev
        content = {k: e[k] for k in ("seq", "id", "type", "at", "device", "payload")}
        canonical = json.dumps(content, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
        assert hashlib.sha256(f"{prev}\n{canonical}".encode()).hexdigest() == e["hash"]
        prev = e["hash"]


def test_health_needs_no_token(server: HallProcess) -> None:
    import requests

    body = requests.get(server.url + "/health", timeout=5).json()
    assert body["status"] == "ok" and body["hall"] == "demo-hall" and body["db"] == "ok"
    assert body["outbox_pending"] >= 4  # the enrolments are events too


def test_tokens_and_roles(server: HallProcess) -> None:
    import requests

    r = requests.get(server.url + "/api/v1/catalog", timeout=5)
    assert r.status_code == 401 and r.json()["error"]["code"] == "UNAUTHORIZED"
    r = requests.get(server.url + "/api/v1/catalog", headers={"Authorization": "Bearer forged"}, timeout=5)
    assert r.status_code == 401
    display = server.client("display-1")
    r = issue(display, "B", 1)
    assert r.status_code == 403 and r.json()["error"]["message"]
    assert server.client("kiosk-1").get("/api/v1/audit").status_code == 403
    assert server.client("kiosk-1").post("/api/v1/windows/1/call-next").status_code == 403
    assert server.client("counter-1").post("/api/v1/matters/M1/transition", {"to": "claimed"}).status_code == 403
    assert display.get("/api/v1/events?after=0").status_code == 200


def test_the_hot_routes_answer_errors_as_every_other_route_does(server: HallProcess) -> None:
    """Issuing is answered before FastAPI's middleware (kiosk/hall/api.py HallAPI); its refusals of bad input
    keep the contract's shape, as a route with a path parameter answered by FastAPI does."""
    kiosk = server.client("kiosk-1")
    for path in ("/api/v1/tickets", "/api/v1/tickets/A001/reprint"):  # answered directly, and by FastAPI
        r = kiosk.post(path, b"{not json")
        assert r.status_code == 422, (path, r.text)
        error = r.json()["error"]
        assert error["code"] == "BAD_JSON" and error["message"] and error["message_en"], path
        big = kiosk.post(path, b"x" * (65 * 1024))
        assert big.status_code == 413 and big.json()["error"]["code"] == "BODY_TOO_LARGE", path
        assert big.headers.get("connection") == "close", path
    r = kiosk.post("/api/v1/tickets", {"business": "Z", "identity": person(3)})
    assert r.status_code == 422 and r.json()["error"]["code"] == "UNKNOWN_BUSINESS"
    assert kiosk.get("/api/v1/tickets").status_code == 405  # the GET of a POST-only path: still FastAPI's


def test_catalog_and_fee_quote(server: HallProcess) -> None:
    kiosk = server.client("kiosk-1")
    catalog = kiosk.get("/api/v1/catalog").json()
    b = next(x for x in catalog["businesses"] if x["code"] == "B")
    assert b["name"].startswith("转移登记") and b["time_limit_days"] == 5 and 2 in b["windows"]
    assert {"id", "name"} <= set(b["materials"][0]) and b["fees"]["residential_yuan"] == 80
    quote = kiosk.post("/api/v1/fees/quote", {"business": "B", "property_kind": "non_residential",
                                               "certificates": 2, "reductions": []}).json()
    assert quote["total_yuan"] == 560 and "2559" in quote["basis"] and len(quote["items"]) == 2


def test_full_service_over_http(server: HallProcess) -> None:
    kiosk = server.client("kiosk-1")
    r = issue(kiosk, "B", 1)
    assert r.status_code == 201
    ticket = r.json()["ticket"]
    assert set(ticket) >= {"number", "business", "holder_masked", "issued_at", "channel", "priority", "state",
                           "position", "ahead", "expected_wait_min", "qr"}
    assert ticket["issued_at"].startswith("2026-11-23T10:00") and ticket["issued_at"].endswith("+08:00")
    assert kiosk.post("/api/v1/tickets/verify", {"qr": ticket["qr"]}).json()["ticket"]["number"] == "B001"
    altered = kiosk.post("/api/v1/tickets/verify", {"qr": ticket["qr"].replace("B001", "B002")})
    assert altered.status_code == 422 and altered.json()["error"]["code"] == "QR_INVALID"
    counter = login(server)
    assert counter.post("/api/v1/windows/2/call-next").json()["ticket"]["number"] == "B001"
    queue = server.client("display-1").get("/api/v1/queue").json()
    assert next(w for w in queue["windows"] if w["number"] == 2)["current"] == "B001"
    assert queue["recent_calls"][0]["number"] == "B001"
    r = counter.post("/api/v1/windows/2/start", {"identity": person(1)})
    assert r.status_code == 200
    r = counter.post("/api/v1/windows/2/notice", {"missing": ["tax"]})
    assert r.status_code == 201 and r.json()["notice"]["missing"][0]["name"].startswith("契税")
    request = counter.post("/api/v1/windows/2/finish").json()["rating_request"]
    assert request["ticket"] == "B001"
    r = counter.post("/api/v1/ratings", {"ticket": "B001", "level": 1, "source": "keypad"})
    assert r.status_code == 201 and r.json()["rating"]["followup"]["status"] == "opened"
    r = kiosk.post("/api/v1/ratings", {"ticket": "B001", "level": 5, "source": "kiosk"})
    assert r.status_code == 403 and r.json()["error"]["code"] == "RATING_NEEDS_SLIP"  # a bare number is no proof
    assert "qr" not in kiosk.get("/api/v1/tickets/B001").json()["ticket"]  # the slip's code, only from the slip
    r = kiosk.post("/api/v1/ratings", {"ticket": ticket["qr"], "level": 5, "source": "kiosk"})
    assert r.status_code == 409 and r.json()["error"]["code"] == "RATING_EXISTS"
    assert kiosk.get("/api/v1/tickets/B001").json()["ticket"]["state"] == "done"
    # matters: reported at the kiosk, moved by the duty desk
    r = kiosk.post("/api/v1/matters", {"category": "materials", "description": "反复补材料", "ticket": "B001"})
    assert r.status_code == 201
    number = r.json()["matter"]["number"]
    duty = server.client("supervisor-1")
    r = duty.post(f"/api/v1/matters/{number}/transition", {"to": "claimed", "note": "领办"})
    assert r.status_code == 200 and r.json()["matter"]["status"] == "claimed"
    receipt = r.json()["matter"]["qr"]
    assert kiosk.get(f"/api/v1/matters/{number}?code={receipt}").json()["matter"]["history"][-1]["note"] == "领办"
    assert kiosk.get(f"/api/v1/matters/{number}").status_code == 403  # the receipt's code, or a supervisor
    assert duty.get("/api/v1/matters/M19990101-001").status_code == 404
    # the event feed is a verifiable chain
    events = duty.get("/api/v1/events?after=0").json()["events"]
    recompute(events)
    types = [e["type"] for e in events]
    for t in ("ticket.issued", "ticket.called", "service.started", "notice.issued", "service.finished",
              "rating.recorded", "matter.opened", "matter.transitioned"):
        assert t in types
    assert duty.get(f"/api/v1/events?after={events[-2]['seq']}").json()["events"] == events[-1:]


def test_lost_slip_is_reprinted_for_the_holder_only(server: HallProcess) -> None:
    kiosk = server.client("kiosk-1")
    first = issue(kiosk, "B", 1).json()["ticket"]
    issue(kiosk, "B", 2)
    r = kiosk.post("/api/v1/tickets/B001/reprint", {"identity": person(2)})
    assert r.status_code == 409 and r.json()["error"]["code"] == "IDENTITY_MISMATCH"
    r = kiosk.post("/api/v1/tickets/b001/reprint", {"identity": person(1)})
    assert r.status_code == 200
    again = r.json()["ticket"]
    assert (again["number"], again["qr"], again["position"]) == ("B001", first["qr"], 1)
    assert kiosk.post("/api/v1/tickets/B999/reprint", {"identity": person(1)}).status_code == 404
    kinds = [a["kind"] for a in server.client("supervisor-1").get("/api/v1/audit").json()["audit"]]
    assert "reprint" in kinds and "reprint_refused" in kinds


def test_out_of_order_call_over_http(server: HallProcess) -> None:
    kiosk = server.client("kiosk-1")
    issue(kiosk, "B", 1)
    issue(kiosk, "B", 2)
    counter = login(server)
    r = counter.post("/api/v1/windows/2/call", {"number": "B002"})
    assert r.status_code == 422 and r.json()["error"]["code"] == "REASON_REQUIRED"
    assert counter.post("/api/v1/windows/2/call", {"number": "B002", "reason": "残疾人优先"}).status_code == 200
    audit = server.client("supervisor-1").get("/api/v1/audit").json()["audit"]
    assert audit[0]["kind"] == "out_of_order_call" and audit[0]["reason"] == "残疾人优先"


def test_idempotency_key_double_tap(server: HallProcess) -> None:
    kiosk = server.client("kiosk-1")
    results: list[Any] = []

    def tap() -> None:
        results.append(issue(kiosk, "B", 1, **{"Idempotency-Key": "k-77"}))

    threads = [threading.Thread(target=tap) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert {r.status_code for r in results} == {201}
    assert {r.json()["ticket"]["number"] for r in results} == {"B001"}
    assert issue(kiosk, "D", 2).json()["ticket"]["number"] == "D001"
    queue = kiosk.get("/api/v1/queue").json()
    assert next(b for b in queue["businesses"] if b["code"] == "B")["waiting"] == 1


GARBAGE: list[Any] = [
    b"", b"not json", b"[1,2]", b"null", b"\xff\xfe", b'{"business": ', "{}",
    {"business": None}, {"business": ["B"]}, {"business": "B", "identity": "11010519491231002X"},
    {"business": "B", "identity": {"id_number": None}}, {"business": "B", "identity": {"id_number": 1e308}},
    {"business": "B", "identity": {"id_number": "11010519491231002X", "name": {"x": 1}}},
    {"business": "B", "identity": {"id_number": "11010519491231002X", "name": "张" * 500}},
    {"business": "B", "agent": "me"}, {"business": "B", "agent": {"principals": "all"}},
    {"business": "B", "priority": {"a": 1}, "identity": {"id_number": "11010519491231002X"}},
    {"number": {"$ne": 1}, "reason": ["x"]}, {"missing": "all"}, {"missing": [None, 3]},
    {"to_window": "1", "reason": "x"}, {"to_window": True, "reason": "x"}, {"level": None, "ticket": None},
    {"code": 12}, {"code": "HA1:demo-hall:x:b:B:a:b:-:sig"}, {"qr": ["x"]}, {"offer_id": None},
    {"category": 5, "description": None}, {"to": "closed"},
]
PATHS = ["/api/v1/tickets", "/api/v1/appointments/check-in", "/api/v1/bookings", "/api/v1/tickets/verify",
         "/api/v1/ratings", "/api/v1/matters", "/api/v1/fees/quote", "/api/v1/tickets/B001/reprint"]
WINDOW_PATHS = ["call", "start", "notice", "transfer", "pause", "finish", "recall", "no-show", "call-next"]


def test_bad_input_never_gives_500(server: HallProcess) -> None:
    kiosk = server.client("kiosk-1")
    counter = login(server)
    duty = server.client("supervisor-1")
    issue(kiosk, "B", 1)
    for body in GARBAGE:
        check_garbage(kiosk, counter, duty, body)
    # the hall still serves, and the real ticket survived the garbage
    assert kiosk.get("/api/v1/tickets/B001").json()["ticket"]["number"] == "B001"
    assert issue(kiosk, "D", 2).status_code == 201


def check_garbage(kiosk: Client, counter: Client, duty: Client, body: Any) -> None:
    responses = [kiosk.post(p, body) for p in PATHS]
    responses += [counter.post(f"/api/v1/windows/2/{p}", body) for p in WINDOW_PATHS]
    responses += [counter.post("/api/v1/windows/abc/call-next", body), counter.post("/api/v1/windows/99/call", body)]
    responses += [duty.post("/api/v1/matters/M1/transition", body), duty.post("/api/v1/blocklist", body)]
    for r in responses:
        assert r.status_code < 500, (r.request.url, r.text)
        if r.status_code >= 400:
            err = r.json()["error"]
            assert err["code"].isupper() and err["message"] and err["message_en"]
            assert "Traceback" not in r.text


def test_odd_queries_and_unknown_paths(server: HallProcess) -> None:
    duty = server.client("supervisor-1")
    assert duty.get("/api/v1/events?after=abc").status_code == 422
    assert duty.get("/api/v1/events?after=0&limit=-5").status_code == 422  # a clear answer, not a guess
    page = duty.get("/api/v1/events?after=0&limit=5000")
    assert page.status_code == 200 and len(page.json()["events"]) <= 1000  # asked for more: one page
    assert duty.get("/api/v1/nothing").json()["error"]["code"] == "NOT_FOUND"
    assert duty.get("/api/v1/tickets/%00%01").status_code == 404
    assert duty.get("/api/v1/tickets/" + "A" * 5000).status_code in (404, 414)


def test_openapi_lists_the_contract(server: HallProcess) -> None:
    import requests

    spec = requests.get(server.url + "/openapi.json", timeout=5).json()
    paths = spec["paths"]
    for path in ("/health", "/api/v1/catalog", "/api/v1/fees/quote", "/api/v1/tickets",
                 "/api/v1/appointments/check-in", "/api/v1/bookings", "/api/v1/tickets/{number}",
                 "/api/v1/tickets/{number}/reprint", "/api/v1/tickets/verify", "/api/v1/queue",
                 "/api/v1/windows/{window}/login", "/api/v1/windows/{window}/call-next",
                 "/api/v1/windows/{window}/call", "/api/v1/windows/{window}/recall",
                 "/api/v1/windows/{window}/no-show", "/api/v1/windows/{window}/start",
                 "/api/v1/windows/{window}/notice", "/api/v1/windows/{window}/transfer",
                 "/api/v1/windows/{window}/finish", "/api/v1/windows/{window}/pause",
                 "/api/v1/windows/{window}/resume", "/api/v1/ratings", "/api/v1/matters",
                 "/api/v1/matters/{number}", "/api/v1/matters/{number}/transition", "/api/v1/events",
                 "/api/v1/audit"):
        assert path in paths, path
    schema = paths["/api/v1/tickets"]["post"]["requestBody"]["content"]["application/json"]["schema"]
    assert "identity" in schema["properties"]


def test_events_long_poll_wakes_on_a_new_event(server: HallProcess) -> None:
    import time

    duty = server.client("supervisor-1")
    head = duty.get("/api/v1/events?after=0&limit=1000").json()["events"][-1]["seq"]
    got: list[Any] = []
    poller = threading.Thread(target=lambda: got.append(duty.get(f"/api/v1/events?after={head}&wait=20")))
    poller.start()
    time.sleep(0.3)  # let the long poll start waiting; the test asserts content, not timing
    issue(server.client("kiosk-1"), "B", 3)
    poller.join(25)
    events = got[0].json()["events"]
    assert events and events[0]["type"] == "ticket.issued"


def test_a_boards_long_poll_waits_through_other_events_for_a_call(server: HallProcess) -> None:
    import time

    display = server.client("display-1")
    got: list[Any] = []
    poller = threading.Thread(target=lambda: got.append(display.get("/api/v1/events?after=0&wait=20")))
    poller.start()
    time.sleep(0.3)  # let the long poll start waiting; the test asserts content, not timing
    issue(server.client("kiosk-1"), "B", 3)  # not a call: the board's poll goes on waiting
    session = server.client("counter-1").post("/api/v1/windows/2/login", {"clerk_id": "7", "pin": "1234"})
    server.client("counter-1", session.json()["session"]).post("/api/v1/windows/2/call-next")
    poller.join(25)
    events = got[0].json()["events"]
    assert [e["type"] for e in events] == ["ticket.called"]
    assert events[0]["payload"] == {"number": "B001", "business": "B", "window": 2}
