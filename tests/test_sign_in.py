"""Dashboard sign-in on both databases: concurrent guesses cannot get past the lock, the password check never
holds the write lock (batch ingest goes on meanwhile), and an unknown login is answered exactly like a known one.
The hall's side: a wrong PIN for a clerk id that does not exist is answered like one for a clerk that does."""

from __future__ import annotations

import threading
from collections import Counter
from datetime import datetime, timedelta
from typing import Any

import pytest

from kiosk.contract.requests import Login
from kiosk.domain.errors import DomainError
from kiosk.hall.context import Call
from kiosk.ledger import service as ledger_service
from kiosk.ledger.db import LedgerDB
from kiosk.ledger.service import LedgerService
from tests.helpers import TZ, Hall

NOW = datetime(2026, 11, 23, 18, 0, tzinfo=TZ)
PASSWORD = "济南监管-2026!"


@pytest.fixture
def ledger(ledger_url: str) -> LedgerService:
    service = LedgerService(LedgerDB(ledger_url))
    service.add_user("jinan", "region", "3701", PASSWORD, NOW)
    return service


def attempt(ledger: LedgerService, login: str, password: str, now: datetime = NOW) -> str:
    try:
        ledger.sign_in(login, password, now)
    except DomainError as exc:
        return exc.code
    return "OK"


def test_twenty_concurrent_wrong_passwords_lock_the_account_after_five(ledger: LedgerService) -> None:
    """On PostgreSQL all 20 used to be tried and the account never locked (26 guesses got through)."""
    start = threading.Barrier(20)
    answers: list[str] = []

    def guess(i: int) -> None:
        start.wait()
        answers.append(attempt(ledger, "jinan", f"guess-{i}"))

    threads = [threading.Thread(target=guess, args=(i,)) for i in range(20)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)
    assert Counter(answers) == {"SIGN_IN_FAILED": 5, "ACCOUNT_LOCKED": 15}  # five guesses checked, no more
    assert attempt(ledger, "jinan", PASSWORD) == "ACCOUNT_LOCKED"  # even the right one, while locked
    assert attempt(ledger, "jinan", PASSWORD, NOW + timedelta(minutes=16)) == "OK"


def test_an_unknown_login_is_answered_like_a_known_one(ledger: LedgerService) -> None:
    known = [attempt(ledger, "jinan", "wrong-password") for _ in range(6)]
    unknown = [attempt(ledger, "nobody", "wrong-password") for _ in range(6)]
    assert known == unknown == ["SIGN_IN_FAILED"] * 5 + ["ACCOUNT_LOCKED"]
    messages = set()
    for login in ("jinan", "nobody"):
        try:
            ledger.sign_in(login, "x", NOW)
        except DomainError as exc:
            messages.add((exc.code, exc.message, exc.message_en, tuple(exc.details)))
    assert len(messages) == 1  # the same words, the same details


def test_the_password_check_does_not_hold_the_write_lock(ledger_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """While a sign-in checks its password (scrypt), another writer (here: ingest's kind of transaction) gets
    through; on SQLite 8 concurrent sign-ins used to slow batch ingest from 1.5 ms to 250-475 ms."""
    service = LedgerService(LedgerDB(ledger_url))
    service.add_user("jinan", "region", "3701", PASSWORD, NOW)
    other = LedgerService(LedgerDB(ledger_url))
    written = threading.Event()
    real_check = ledger_service.check_secret

    def checking(secret: str, stored: str) -> bool:
        def write() -> None:
            other.add_token("supervisor", "省厅", NOW)  # a write transaction from another connection
            written.set()

        writer = threading.Thread(target=write)
        writer.start()
        writer.join(20)
        return real_check(secret, stored)

    monkeypatch.setattr(ledger_service, "check_secret", checking)
    assert attempt(service, "jinan", PASSWORD) == "OK"
    assert written.is_set(), "the write waited for the password check"


def test_a_wrong_pin_for_an_unknown_clerk_is_answered_like_one_for_a_real_clerk(hall: Hall) -> None:
    hall.add_clerk("7", pin="1234")
    answers: dict[str, list[tuple[int, Any]]] = {}
    for clerk in ("7", "no-such-clerk"):
        replies = [hall.run(Call(hall.counter, hall.now), Login(window=1, clerk_id=clerk, pin="0000"))
                   for _ in range(6)]
        answers[clerk] = [(status, {k: v for k, v in body["error"].items() if k != "locked_until"})
                          for status, body in replies]
    assert answers["7"] == answers["no-such-clerk"]
    assert [status for status, _ in answers["7"]] == [401, 401, 401, 401, 423, 423]
    assert [body.get("attempts_left") for _, body in answers["7"][:4]] == [4, 3, 2, 1]
    events = [e for e in hall.events() if e["type"] == "clerk.login_failed"]
    assert "no-such-clerk" not in str(events)  # whatever was typed as an id is not recorded
