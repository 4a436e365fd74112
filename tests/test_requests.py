"""Typed requests: what the parser accepts is what the OpenAPI document says, and a value of the wrong
shape is refused with the field's contract code, never echoed back."""

from __future__ import annotations

import json
import re
from typing import Any

import pytest

from kiosk.clock import HallClock
from kiosk.contract.requests import IssueTicket, Login, Pause, PhoneRate, Rate, Transfer
from kiosk.contract.routes import ROUTES
from kiosk.contract.wire import object_schema, parse, request_type
from kiosk.domain.errors import DomainError
from kiosk.hall.api import create_app
from kiosk.hall.operations import OPERATIONS
from tests.helpers import Hall

RAW_ID = "11010519491231002X"


@pytest.mark.parametrize(("kind", "body", "code"), [
    (Rate, {"level": 6}, "LEVEL_INVALID"),
    (Rate, {"level": True}, "LEVEL_INVALID"),
    (Rate, {"level": "5"}, "LEVEL_INVALID"),
    (Rate, {"source": "fax"}, "SOURCE_INVALID"),
    (PhoneRate, {"level": 0}, "LEVEL_INVALID"),
    (Rate, {"reasons": ["a"] * 11}, "BAD_REQUEST"),
    (Rate, {"reasons": [1]}, "BAD_REQUEST"),
    (IssueTicket, {"business": 5}, "UNKNOWN_BUSINESS"),
    (IssueTicket, {"identity": RAW_ID}, "ID_INVALID"),
    (IssueTicket, {"agent": {"principals": RAW_ID}}, "PRINCIPALS_REQUIRED"),
    (IssueTicket, {"agent": [RAW_ID]}, "BAD_REQUEST"),
    (IssueTicket, {"accept_wait": "yes"}, "BAD_REQUEST"),
    (Transfer, {"to_window": "1"}, "WINDOW_UNKNOWN"),
])
def test_a_wrong_shape_answers_the_fields_code_without_the_value(kind: type[Any], body: dict[str, Any],
                                                                   code: str) -> None:
    with pytest.raises(DomainError) as refused:
        parse(kind, body, window=1)
    assert refused.value.code == code and 400 <= refused.value.status < 500
    assert RAW_ID not in json.dumps(refused.value.body(), ensure_ascii=False)
    assert refused.value.details["field"] in {*body, "principals"}  # says which field, nested ones too


def test_a_number_out_of_its_bounds_is_answered_with_the_bounds() -> None:
    """A pause of 0 or 500 minutes is a whole number, but not one the field takes: the answer says which are."""
    for minutes in (0, 500, "30"):
        with pytest.raises(DomainError) as refused:
            parse(Pause, {"reason": "午休", "minutes": minutes}, window=1)
        assert refused.value.code == "BAD_REQUEST" and refused.value.details["field"] == "minutes"
        assert "1 到 240 的整数" in refused.value.body()["error"]["message"]


def test_a_request_is_built_from_body_and_path_and_null_is_absent() -> None:
    req = parse(Login, {"clerk_id": "7", "pin": "1234", "extra": "ignored"}, window=3)
    assert req == Login(window=3, clerk_id="7", pin="1234")
    assert parse(IssueTicket, {"business": "B", "priority": None}).priority is None
    agent = parse(IssueTicket, {"business": "B", "agent": {"principals": [{"id_number": RAW_ID}]}}).agent
    assert agent is not None and agent.principals == [{"id_number": RAW_ID}]


def test_the_served_document_is_generated_from_the_request_types(tmp_path: Any) -> None:
    """Every POST the hall serves documents exactly the schema of the class its operation takes, and
    declares its path parameters: a fuzzer can use the document as served."""
    hall = Hall(tmp_path)
    try:
        app = create_app(hall.svc, HallClock(hall.config.calendar.tz, hall.now), escalate_every=0)
        doc = app.openapi()  # what /openapi.json serves (test_fuzz fetches it over HTTP)
        checked = 0
        for path, methods in doc["paths"].items():
            post = methods.get("post")
            if post is None:
                continue
            for name in re.findall(r"{(\w+)}", path):
                assert any(p["name"] == name and p["in"] == "path" for p in post["parameters"]), path
            kind = app.state.request_kinds[path]
            assert post["requestBody"]["content"]["application/json"]["schema"] == object_schema(kind), path
            checked += 1
        assert checked == len(app.state.request_kinds) >= 30
        # one table: every route's request is what its operation takes
        for route in ROUTES:
            assert request_type(OPERATIONS[route.request]) is route.request, route
        assert request_type(OPERATIONS[Rate]) is Rate
    finally:
        hall.close()


def test_a_route_answered_before_fastapi_is_the_one_its_router_would_pick(tmp_path: Any) -> None:
    """The hall answers literal table paths (issuing, calling) before FastAPI's middleware: each must be the
    route Starlette's router picks for that method and path, so that no earlier route is ever shadowed."""
    from starlette.routing import Match, Route

    hall = Hall(tmp_path)
    try:
        app = create_app(hall.svc, HallClock(hall.config.calendar.tz, hall.now), escalate_every=0)
        assert ("POST", "/api/v1/tickets") in app.direct
        literal = [r for r in ROUTES if "{" not in r.path]
        assert len(app.direct) == len(literal)
        for (method, path), endpoint in app.direct.items():
            scope = {"type": "http", "method": method, "path": path}
            picked = next(r for r in app.routes if isinstance(r, Route) and r.matches(scope)[0] == Match.FULL)
            assert picked.endpoint is endpoint, (method, path)
    finally:
        hall.close()
