"""One catalogue of refusal codes: every code the product raises is in it with one status, every code the
contract names is there, and a refusal built anywhere answers with the catalogue's status."""

from __future__ import annotations

import ast
import pathlib
import re

import pytest

from kiosk.domain.errors import CATALOGUE, DomainError, KioskError, fail

ROOT = pathlib.Path(__file__).resolve().parent.parent
CONTRACT = (ROOT.parent / "shared" / "design" / "hall-api.md")


def raised_codes() -> dict[str, list[str]]:
    """Every literal code given to fail()/refusal()/error_response() in the product's sources."""
    found: dict[str, list[str]] = {}
    for path in [*ROOT.glob("kiosk/**/*.py"), *ROOT.glob("drivers/**/*.py")]:
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Call) and node.args and isinstance(node.args[0], ast.Constant):
                name = getattr(node.func, "id", getattr(node.func, "attr", ""))
                if name in ("fail", "refusal", "error_response") and re.fullmatch(r"[A-Z][A-Z_]+", str(node.args[0].value)):
                    found.setdefault(node.args[0].value, []).append(f"{path.relative_to(ROOT)}:{node.lineno}")
    return found


def test_every_code_raised_is_catalogued() -> None:
    codes = raised_codes()
    assert len(codes) > 60  # the scan sees the product's refusals, not nothing
    assert {code: where for code, where in codes.items() if code not in CATALOGUE} == {}


def test_no_refusal_is_built_around_the_catalogue() -> None:
    """DomainError(...) with a literal code bypasses the catalogue's status: only fail() builds refusals."""
    bypass = []
    for path in [*ROOT.glob("kiosk/**/*.py"), *ROOT.glob("drivers/**/*.py")]:
        for node in ast.walk(ast.parse(path.read_text())):
            if (isinstance(node, ast.Call) and getattr(node.func, "id", "") == "DomainError" and node.args
                    and isinstance(node.args[0], ast.Constant)):
                bypass.append(f"{path.relative_to(ROOT)}:{node.lineno}")
    assert bypass == []


@pytest.mark.skipif(not CONTRACT.exists(), reason="the shared design folder is not beside this checkout")
def test_every_code_the_contract_names_is_catalogued() -> None:
    named = set(re.findall(r"`([A-Z][A-Z_]+[A-Z])`", CONTRACT.read_text())) - {"UPPER_SNAKE", "CLERK_ID", "HALL_ID"}
    assert named and named <= set(CATALOGUE), named - set(CATALOGUE)


@pytest.mark.parametrize("code", sorted(CATALOGUE))
def test_each_code_answers_its_status_and_chinese_text(code: str) -> None:
    exc = fail(code)
    body = exc.body()["error"]
    assert exc.status == CATALOGUE[code].status and 400 <= exc.status < 600
    assert body["code"] == code and re.search(r"[\u4e00-\u9fff]", body["message"]) and body["message_en"]
    assert isinstance(exc, KioskError)


def test_a_precise_message_keeps_the_catalogued_status() -> None:
    exc = fail("WINDOW_UNKNOWN", "没有 9 号窗口。", "There is no window 9.", window=9)
    assert (exc.status, exc.message, exc.body()["error"]["window"]) == (404, "没有 9 号窗口。", 9)
    assert isinstance(exc, DomainError)
