"""Schemathesis fuzzes both services from their OpenAPI documents as served, with every role's token:
bounded examples, all checks, zero server errors.

One check is left out, on purpose: positive_data_acceptance expects every schema-valid request to be
accepted, and no schema can say that an ID number's check digit must be right, a business code must be
in this hall's catalog or a reason must not be blank; those are refused with a 422 and a Chinese reason,
as the contract requires. Every other check runs (server errors, status codes and headers as documented,
schema-violating requests refused, response times, Allow on 405, …)."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from kiosk.domain import signing
from tests.helpers import ROOT, HallProcess
from tests.test_ledger import KEY
from tests.test_sync import LedgerProcess, last_line

ARTEFACTS = ROOT / "build" / "fuzz"
SCHEMATHESIS = [sys.executable, "-m", "schemathesis.cli"]


def fuzz(url: str, name: str, *headers: str) -> None:
    """One bounded schemathesis run; its full report is kept in build/fuzz/NAME.txt."""
    args = [*SCHEMATHESIS, "run", f"{url}/openapi.json", "--checks", "all", "--exclude-checks",
            "positive_data_acceptance", "--max-examples", "8", "--seed", "7", "--request-timeout", "70",
            "--max-response-time", "65", "--phases", "examples,coverage,fuzzing", "--no-color"]
    for header in headers:
        args += ["-H", header]
    env = {**os.environ, "SCHEMATHESIS_HOOKS": "tests.fuzz_hooks"}  # a long poll answers within a second
    out = subprocess.run(args, capture_output=True, text=True, timeout=600, cwd=ROOT, env=env)
    ARTEFACTS.mkdir(parents=True, exist_ok=True)
    (ARTEFACTS / f"{name}.txt").write_text(out.stdout + out.stderr)
    assert "Server error" not in out.stdout and "ST100" not in out.stdout, out.stdout[-4000:]
    assert out.returncode == 0, out.stdout[-4000:]


@pytest.fixture(scope="module")
def hall(tmp_path_factory: pytest.TempPathFactory) -> Iterator[HallProcess]:
    server = HallProcess(tmp_path_factory.mktemp("fuzz-hall") / "data")
    for role in ("kiosk", "counter", "display", "supervisor"):
        server.enroll(role, f"{role}-1")
    assert server.cli("clerks", "add", "--id", "7", "--name", "李四", "--pin", "1234").returncode == 0
    server.start()
    yield server
    server.stop()


@pytest.mark.parametrize("role", ["kiosk", "counter", "display", "supervisor"])
def test_the_hall_api_never_answers_a_server_error(hall: HallProcess, role: str) -> None:
    headers = [f"Authorization: Bearer {hall.tokens[f'{role}-1']}"]
    if role == "counter":  # a clerk is logged in at window 1, so that window operations get past the session
        session = hall.client("counter-1").post("/api/v1/windows/1/login", {"clerk_id": "7", "pin": "1234"}).json()
        headers.append(f"X-Clerk-Session: {session['session']}")
    fuzz(hall.url, f"hall-{role}", *headers)


@pytest.fixture(scope="module")
def ledger(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[LedgerProcess, str, str]]:
    folder: Path = tmp_path_factory.mktemp("fuzz-ledger")
    server = LedgerProcess(f"sqlite:///{folder / 'ledger.db'}")
    hall_token = last_line(server.cli("halls", "add", "--hall", "demo-hall", "--public-key",
                                      signing.public_key_text(KEY)))
    supervisor = last_line(server.cli("tokens", "add", "--role", "supervisor", "--name", "省厅"))
    server.start()
    yield server, hall_token, supervisor
    server.stop()


@pytest.mark.parametrize("role", ["hall", "supervisor"])
def test_the_ledger_api_never_answers_a_server_error(ledger: tuple[LedgerProcess, str, str], role: str) -> None:
    server, hall_token, supervisor = ledger
    fuzz(server.url, f"ledger-{role}", f"Authorization: Bearer {hall_token if role == 'hall' else supervisor}")
