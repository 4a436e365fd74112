"""Typed requests: one frozen dataclass per operation of the hall, and the one parser that makes them.

A request is what the caller asked, with path parameters (the window, a ticket's number) as fields like
any other. The HTTP API builds it from the JSON body; the CLI, the demo and the drill build it directly,
without faking a body. The OpenAPI document's request schemas are generated from these same classes, so
what is documented is what is parsed.

The parser checks *shapes* (a text is a text, a level is a whole number, a source is one of its values)
and refuses with the field's contract code, never echoing the value (it may be an ID number). *Meaning*
stays with the operation: whether a business exists, whether a reason was given, whether an ID is valid.
So every body field is optional here; the schema says which ones an operation needs, and the operation
refuses with its own precise message when one is missing.
"""

from __future__ import annotations

import dataclasses
import types
import typing
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal, TypeVar, Union

from kiosk.domain import cases
from kiosk.domain.errors import fail

RawIdentity = Mapping[str, object]
"""An ``identity`` object as sent; ``make_identity`` validates its fields (ID_INVALID, NAME_INVALID …)."""

IDENTITY_SCHEMA: dict[str, Any] = {
    "type": "object", "required": ["id_number"],
    "properties": {"id_number": {"type": "string"}, "name": {"type": "string"},
                   "source": {"enum": ["card", "typed", "qr"]},
                   "valid_until": {"type": "string", "description": "YYYY-MM-DD or 长期"}}}

R = TypeVar("R")  # an operation's request type (kiosk.hall.core uses this one)


def wire(code: str = "BAD_REQUEST", *, required: bool = False, doc: str = "", minimum: int | None = None,
         maximum: int | None = None, max_items: int | None = None, choices: tuple[str, ...] = ()) -> Any:
    """A body field: ``code`` answers a value of the wrong shape; ``required`` is what the schema says (the
    operation checks it, with its own message)."""
    return field(default=None, metadata={"code": code, "required": required, "doc": doc, "minimum": minimum,
                                         "maximum": maximum, "max_items": max_items, "choices": choices})


def path(doc: str = "") -> Any:
    """A path parameter: always present, already parsed by the route (a window number is an int)."""
    return field(metadata={"path": True, "doc": doc})


# -- the parser ------------------------------------------------------------------------------------------
_HINTS: dict[type[Any], dict[str, Any]] = {}
_FIELDS: dict[type[Any], tuple[dataclasses.Field[Any], ...]] = {}


def _hints(cls: type[Any]) -> dict[str, Any]:
    """Evaluated once per class: get_type_hints re-reads string annotations at every call (a sixth of a
    ticket's time on the hall when it was not kept)."""
    if cls not in _HINTS:
        _HINTS[cls] = typing.get_type_hints(cls)
    return _HINTS[cls]


def _fields(cls: type[Any]) -> tuple[dataclasses.Field[Any], ...]:
    if cls not in _FIELDS:
        _FIELDS[cls] = dataclasses.fields(cls)
    return _FIELDS[cls]


def _optional(hint: Any) -> Any:
    """``X | None`` → X."""
    if typing.get_origin(hint) in (Union, types.UnionType):
        rest = [a for a in typing.get_args(hint) if a is not type(None)]
        return rest[0] if len(rest) == 1 else hint
    return hint


def _fits(hint: Any, value: object, meta: Mapping[str, Any]) -> tuple[bool, object]:
    """(shape ok, the value as the field holds it)."""
    hint = _optional(hint)
    origin = typing.get_origin(hint)
    if hint == RawIdentity:
        return isinstance(value, dict), value
    if hint is str:
        return isinstance(value, str) and (not meta.get("choices") or value in meta["choices"]), value
    if hint is bool:
        return isinstance(value, bool), value
    if hint is int:
        ok = isinstance(value, int) and not isinstance(value, bool)
        if ok and meta.get("minimum") is not None and value < meta["minimum"]:
            ok = False
        if ok and meta.get("maximum") is not None and value > meta["maximum"]:
            ok = False
        return ok, value
    if origin is Literal:
        return any(value == a and type(value) is type(a) for a in typing.get_args(hint)), value
    if origin is list:
        if not isinstance(value, list) or (meta.get("max_items") is not None and len(value) > meta["max_items"]):
            return False, value
        (item,) = typing.get_args(hint)
        return all(_fits(item, v, {})[0] for v in value), list(value)
    if dataclasses.is_dataclass(hint) and isinstance(hint, type):
        if not isinstance(value, dict):
            return False, value
        return True, parse(hint, value)
    raise TypeError(f"no wire shape for {hint!r}")


def parse(cls: type[R], body: Mapping[str, object], **path_values: object) -> R:
    """The request ``cls`` from a JSON object and the route's path parameters. Unknown keys are ignored, as
    the contract lets newer devices send more than an older hall reads."""
    hints = _hints(cls)
    values: dict[str, object] = {}
    for f in _fields(cls):
        if f.metadata.get("path"):
            values[f.name] = path_values[f.name]
            continue
        value = body.get(f.name)
        if value is not None:
            ok, value = _fits(hints[f.name], value, f.metadata)
            if not ok:
                code = f.metadata.get("code", "BAD_REQUEST")
                # a field with its own contract code answers with the catalogue's text for it ("评价等级应为1到5")
                texts = _shape_text(f.name, hints[f.name]) if code == "BAD_REQUEST" else (None, None)
                raise fail(code, *texts, field=f.name)
        values[f.name] = value
    return cls(**values)


def request_type(op: Any) -> type[Any]:
    """The request class an operation takes (its ``req`` parameter's annotation)."""
    kind: type[Any] = typing.get_type_hints(op)["req"]
    return kind


def _shape_text(name: str, hint: Any) -> tuple[str, str]:
    hint = _optional(hint)
    origin = typing.get_origin(hint)
    if origin is Literal:
        choices = "、".join(str(a) for a in typing.get_args(hint))
        return f"{name} 应为以下之一：{choices}。", f"{name} must be one of: {', '.join(map(str, typing.get_args(hint)))}."
    zh, en = {str: ("文本", "a text"), int: ("整数", "a whole number"), bool: ("true 或 false", "true or false"),
              list: ("列表", "a list")}.get(origin or hint, ("对象", "an object"))
    return f"{name} 应为{zh}，请检查后重试。", f"{name} must be {en}."


# -- the OpenAPI schema, from the same classes ---------------------------------------------------------------
def schema_of(hint: Any, meta: Mapping[str, Any] | None = None) -> dict[str, Any]:
    meta = meta or {}
    hint = _optional(hint)
    origin = typing.get_origin(hint)
    out: dict[str, Any]
    if hint == RawIdentity:
        out = dict(IDENTITY_SCHEMA)
    elif hint is str:
        out = {"enum": list(meta["choices"])} if meta.get("choices") else {"type": "string"}
    elif hint is bool:
        out = {"type": "boolean"}
    elif hint is int:
        out = {"type": "integer"}
        out.update({k: meta[k] for k in ("minimum", "maximum") if meta.get(k) is not None})
    elif origin is Literal:
        out = {"enum": list(typing.get_args(hint))}
    elif origin is list:
        out = {"type": "array", "items": schema_of(typing.get_args(hint)[0])}
        if meta.get("max_items") is not None:
            out["maxItems"] = meta["max_items"]
    elif dataclasses.is_dataclass(hint):
        out = object_schema(hint)  # type: ignore[arg-type]
    else:
        out = {}
    if meta.get("doc"):
        out["description"] = meta["doc"]
    return out


def nullable(schema: dict[str, Any]) -> dict[str, Any]:
    """An optional field may be sent as null: the parser reads it as absent."""
    if "enum" in schema:
        return {**schema, "enum": [*schema["enum"], None]}
    if isinstance(schema.get("type"), str):
        return {**schema, "type": [schema["type"], "null"]}
    return schema


def object_schema(cls: type[Any]) -> dict[str, Any]:
    hints = _hints(cls)
    body = [f for f in dataclasses.fields(cls) if not f.metadata.get("path")]
    return {"type": "object",
            "properties": {f.name: (schema_of(hints[f.name], f.metadata) if f.metadata.get("required")
                                    else nullable(schema_of(hints[f.name], f.metadata))) for f in body},
            "required": [f.name for f in body if f.metadata.get("required")]}


def request_body(cls: type[Any]) -> dict[str, Any]:
    """The operation's ``requestBody``: required when some field is (an operation whose fields are all
    optional may be called with no body at all)."""
    schema = object_schema(cls)
    return {"requestBody": {"required": bool(schema["required"]), "content": {"application/json": {
        "schema": schema}}}}


def path_parameters(cls: type[Any]) -> list[dict[str, Any]]:
    hints = _hints(cls)
    return [{"name": f.name, "in": "path", "required": True,
             "schema": ({"type": "string", "pattern": r"^[0-9]{1,4}$"} if hints[f.name] is int
                        else {"type": "string", "minLength": 1, "maxLength": 40}),
             **({"description": f.metadata["doc"]} if f.metadata.get("doc") else {})}
            for f in dataclasses.fields(cls) if f.metadata.get("path")]


# -- the requests --------------------------------------------------------------------------------------------
@dataclass(frozen=True, kw_only=True)
class Empty:
    """An operation that needs nothing but its caller (escalate now)."""


@dataclass(frozen=True, kw_only=True)
class Agent:
    identity: RawIdentity | None = wire("ID_INVALID", doc="the agent (代办人)")
    principals: list[RawIdentity] | None = wire("PRINCIPALS_REQUIRED", doc="the people represented")


@dataclass(frozen=True, kw_only=True)
class IssueTicket:
    business: str | None = wire("UNKNOWN_BUSINESS", required=True, doc="the business's code (ticket prefix)")
    identity: RawIdentity | None = wire("ID_INVALID")
    agent: Agent | None = wire()
    priority: str | None = wire("PRIORITY_INVALID", doc="a priority group of the hall's rules")
    accept_wait: bool | None = wire(doc="true: wait today even though a booking was offered")


@dataclass(frozen=True, kw_only=True)
class CheckIn:
    code: str | None = wire("QR_INVALID", required=True, doc="the scanned appointment or booking QR text")
    identity: RawIdentity | None = wire("ID_INVALID")


@dataclass(frozen=True, kw_only=True)
class AcceptBooking:
    offer_id: str | None = wire("OFFER_NOT_FOUND", required=True)
    identity: RawIdentity | None = wire("ID_INVALID", required=True)


@dataclass(frozen=True, kw_only=True)
class Reprint:
    number: str = path("the ticket's number, e.g. A007")
    identity: RawIdentity | None = wire("ID_INVALID", required=True)


@dataclass(frozen=True, kw_only=True)
class VerifyQr:
    qr: str | None = wire("QR_INVALID", required=True, doc="the scanned QR text")


@dataclass(frozen=True, kw_only=True)
class FeeQuote:
    business: str | None = wire("UNKNOWN_BUSINESS", required=True)
    property_kind: Literal["residential", "non_residential"] | None = wire("PROPERTY_KIND_INVALID")
    certificates: int | None = wire("CERTIFICATES_INVALID")
    reductions: list[str] | None = wire(doc="reduction ids of the fee rules")


@dataclass(frozen=True, kw_only=True)
class Rate:
    ticket: str | None = wire("TICKET_NOT_FOUND", required=True,
                              doc="the slip's QR text; a ticket number only from the keypad, or with the holder's identity")
    level: int | None = wire("LEVEL_INVALID", required=True, minimum=1, maximum=5)
    source: Literal["keypad", "kiosk", "phone"] | None = wire("SOURCE_INVALID", required=True,
                                                               doc="the channel: the sending device's own")
    reasons: list[str] | None = wire(max_items=10)
    identity: RawIdentity | None = wire("ID_INVALID", doc="kiosk: the holder's identity, with a ticket number")
    pressed_at: str | None = wire("PRESS_TIME_INVALID",
                                  doc="keypad: when the citizen pressed (ISO 8601 with offset, hall time)")


@dataclass(frozen=True, kw_only=True)
class PhoneRate:
    c: str | None = wire("QR_INVALID", required=True, doc="the slip's signed code")
    level: int | None = wire("LEVEL_INVALID", required=True, minimum=1, maximum=5)
    reasons: list[str] | None = wire(max_items=10)


@dataclass(frozen=True, kw_only=True)
class AppealRating:
    day: str = path("the rating's business day, YYYY-MM-DD")
    number: str = path("the rated ticket's number")
    reason: str | None = wire("REASON_REQUIRED", required=True, doc="why it is appealed (recorded)")
    by: str | None = wire(doc="who acted (the duty desk's name by default)")


@dataclass(frozen=True, kw_only=True)
class DecideAppeal:
    day: str = path("the rating's business day, YYYY-MM-DD")
    number: str = path("the rated ticket's number")
    outcome: Literal["upheld", "overturned"] | None = wire("APPEAL_INVALID", required=True,
                                                           doc="upheld: the rating stands; overturned: it leaves the counts")
    reason: str | None = wire("REASON_REQUIRED", required=True, doc="the finding (recorded)")
    by: str | None = wire(doc="who decided (the duty desk's name by default)")


@dataclass(frozen=True, kw_only=True)
class CallStaff:
    screen: str | None = wire(doc="the screen the citizen was on")


@dataclass(frozen=True, kw_only=True)
class ReportMatter:
    category: str | None = wire("CATEGORY_UNKNOWN", required=True)
    description: str | None = wire("DESCRIPTION_REQUIRED", required=True)
    contact: str | None = wire("CONTACT_INVALID", doc="a phone number, optional")
    ticket: str | None = wire("TICKET_NOT_FOUND")


@dataclass(frozen=True, kw_only=True)
class QueryCase:
    case_number: str | None = wire("CASE_NUMBER_INVALID", required=True)
    identity: RawIdentity | None = wire("ID_INVALID", required=True)


@dataclass(frozen=True, kw_only=True)
class Login:
    window: int = path("the window's number")
    clerk_id: str | None = wire(required=True)
    pin: str | None = wire(required=True)


@dataclass(frozen=True, kw_only=True)
class AtWindow:
    """call-next, recall, no-show, logout: the window is all there is."""
    window: int = path("the window's number")


@dataclass(frozen=True, kw_only=True)
class CallTicket:
    window: int = path("the window's number")
    number: str | None = wire("TICKET_NOT_FOUND", doc="the ticket to call out of order")
    reason: str | None = wire("REASON_REQUIRED", doc="recorded with the call")


@dataclass(frozen=True, kw_only=True)
class StartService:
    window: int = path("the window's number")
    identity: RawIdentity | None = wire("ID_INVALID", doc="the person at the window (人证核验)")
    override_reason: str | None = wire("REASON_REQUIRED")


@dataclass(frozen=True, kw_only=True)
class Notice:
    window: int = path("the window's number")
    missing: list[str] | None = wire("MISSING_REQUIRED", doc="material ids of the business's list")
    case_number: str | None = wire()


@dataclass(frozen=True, kw_only=True)
class Transfer:
    window: int = path("the window's number")
    to_window: int | None = wire("WINDOW_UNKNOWN")
    to_business: str | None = wire("UNKNOWN_BUSINESS")
    reason: str | None = wire("REASON_REQUIRED", required=True)


@dataclass(frozen=True, kw_only=True)
class Finish:
    window: int = path("the window's number")
    accepted: bool | None = wire(doc="true: the application was accepted and a case opens")


@dataclass(frozen=True, kw_only=True)
class WindowReason:
    """pause and resume: the window and why."""
    window: int = path("the window's number")
    reason: str | None = wire("REASON_REQUIRED")


@dataclass(frozen=True, kw_only=True)
class TransitionMatter:
    number: str = path("the matter's number")
    to: Literal["claimed", "resolved", "called_back", "closed", "note"] | None = wire("TRANSITION_INVALID",
                                                                                      required=True)
    note: str | None = wire("REASON_REQUIRED")
    by: str | None = wire(doc="who acted (the duty desk's name by default)")


@dataclass(frozen=True, kw_only=True)
class CaseProgress:
    number: str = path("the case number")
    stage: str | None = wire("STAGE_UNKNOWN", required=True, choices=tuple(cases.STAGES))
    note: str | None = wire()


@dataclass(frozen=True, kw_only=True)
class CreateAppointment:
    business: str | None = wire("UNKNOWN_BUSINESS", required=True)
    slot_start: str | None = wire(required=True, doc="ISO 8601 with offset")
    slot_end: str | None = wire(required=True, doc="ISO 8601 with offset")
    identity: RawIdentity | None = wire("ID_INVALID")


@dataclass(frozen=True, kw_only=True)
class Blocklist:
    identity: RawIdentity | None = wire("ID_INVALID", required=True)
    reason: str | None = wire("REASON_REQUIRED", required=True)


@dataclass(frozen=True, kw_only=True)
class ExtendHours:
    until: str | None = wire("UNTIL_INVALID", required=True, doc="HH:MM today")
    reason: str | None = wire("REASON_REQUIRED", required=True)


@dataclass(frozen=True, kw_only=True)
class OpenTemporary:
    window: int = path("the window's number")
    businesses: list[str] | None = wire("BUSINESSES_REQUIRED", required=True)
    reason: str | None = wire("REASON_REQUIRED", required=True)


@dataclass(frozen=True, kw_only=True)
class CloseFollowup:
    number: str = path("the follow-up's id")
    note: str | None = wire("REASON_REQUIRED", required=True, doc="what was done")


@dataclass(frozen=True, kw_only=True)
class RedeemCode:
    code: str | None = wire("ENROLL_CODE_INVALID", required=True, doc="the one-time code the hall printed")
    role: Literal["kiosk", "counter", "display", "supervisor"] | None = wire(
        doc="the role the terminal is being set up as: a code for another role is refused and stays unspent")
