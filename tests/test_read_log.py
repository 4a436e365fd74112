"""Every access to registration data leaves a trace (the documents' 留痕): case queries, the audit list and
matters with contact numbers are logged with who, when, what and from which device; supervisors see the
entries, and they go to the ledger with the other events."""

from __future__ import annotations

from tests.helpers import HallProcess, person


def test_sensitive_reads_are_logged_for_supervisors_and_the_ledger(server: HallProcess) -> None:
    kiosk, duty = server.client("kiosk-1"), server.client("supervisor-1")
    holder = person(7)
    number = kiosk.post("/api/v1/tickets", {"business": "B", "identity": holder}).json()["ticket"]["number"]
    session = server.client("counter-1").post("/api/v1/windows/2/login", {"clerk_id": "7", "pin": "1234"}).json()[
        "session"]
    clerk = server.client("counter-1", session)
    assert clerk.post("/api/v1/windows/2/call-next").json()["ticket"]["number"] == number
    case = clerk.post("/api/v1/windows/2/finish", {"accepted": True}).json()["case"]["number"]
    assert kiosk.post("/api/v1/cases/query", {"case_number": case, "identity": holder}).status_code == 200
    reported = kiosk.post("/api/v1/matters", {"category": "waiting", "description": "等太久",
                                              "contact": "13812345678"}).json()["matter"]
    matter = reported["number"]
    assert kiosk.get(f"/api/v1/matters/{matter}?code={reported['qr']}").status_code == 200  # with the receipt
    assert duty.get("/api/v1/matters").status_code == 200

    assert duty.get("/api/v1/audit").status_code == 200  # the list as it stood; this read is logged after it
    entries = [e for e in duty.get("/api/v1/audit").json()["audit"] if e["kind"] == "data_read"]
    seen = {(e["reason"], e["device"]) for e in entries}
    assert {("case_progress", "kiosk-1"), ("matter", "kiosk-1"), ("matters_list", "supervisor-1"),
            ("audit_list", "supervisor-1")} <= seen
    assert all(e["at"] for e in entries)
    events = duty.get("/api/v1/events?after=0&limit=1000").json()["events"]
    reads = [e for e in events if e["type"] == "data.read"]
    assert {e["payload"]["what"] for e in reads} >= {"case_progress", "matter", "matters_list", "audit_list"}
    assert holder["id_number"] not in str(reads) and "13812345678" not in str(reads)  # the trace holds no data
