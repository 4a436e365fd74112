"""The wire form of typed requests: the one parser that makes a request from JSON and path values, and the
OpenAPI schema generated from the same classes (kiosk/contract/requests.py holds the classes).

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
from collections.abc import Callable, Mapping
from dataclasses import field
from typing import Any, Literal, TypeVar, Union

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


def query(doc: str = "", *, default: object = None, minimum: float | None = None, maximum: float | None = None,
          pattern: str = "") -> Any:
    """A query-string parameter of a read: text on the wire, read into the field's type (a whole number, a number
    of seconds, a text matching ``pattern``, one of a Literal's values) or refused with 400 naming it."""
    return field(default=default, metadata={"query": True, "doc": doc, "minimum": minimum, "maximum": maximum,
                                            "pattern": pattern})


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


Check = Callable[[object], tuple[bool, object]]
_PLANS: dict[type[Any], tuple[tuple[str, bool, Check, Any], ...]] = {}


def _check(hint: Any, meta: Mapping[str, Any]) -> Check:
    """A field's check, ``value -> (shape ok, the value as the field holds it)``, with the hint taken apart
    once, when its class is first parsed, rather than for every value (every ticket is a parse)."""
    hint = _optional(hint)
    origin = typing.get_origin(hint)
    if hint == RawIdentity:
        return lambda value: (isinstance(value, dict), value)
    if hint is str:
        choices = meta.get("choices")
        if choices:
            return lambda value: (isinstance(value, str) and value in choices, value)
        return lambda value: (isinstance(value, str), value)
    if hint is bool:
        return lambda value: (isinstance(value, bool), value)
    if hint is int:
        lo, hi = meta.get("minimum"), meta.get("maximum")

        def whole(value: object) -> tuple[bool, object]:
            if not isinstance(value, int) or isinstance(value, bool):
                return False, value
            return (lo is None or value >= lo) and (hi is None or value <= hi), value

        return whole
    if origin is Literal:
        args = typing.get_args(hint)
        return lambda value: (any(value == a and type(value) is type(a) for a in args), value)
    if origin is list:
        (item,) = typing.get_args(hint)
        each = _check(item, {})
        most = meta.get("max_items")

        def items(value: object) -> tuple[bool, object]:
            if not isinstance(value, list) or (most is not None and len(value) > most):
                return False, value
            return all(each(v)[0] for v in value), list(value)

        return items
    if dataclasses.is_dataclass(hint) and isinstance(hint, type):
        inner: type[Any] = hint
        return lambda value: (True, parse(inner, value)) if isinstance(value, dict) else (False, value)

    def unknown(value: object) -> tuple[bool, object]:
        raise TypeError(f"no wire shape for {hint!r}")

    return unknown


def _plan(cls: type[Any]) -> tuple[tuple[str, bool, Check, Any], ...]:
    """Per field of a request: its name, whether it comes from the path, its check, its hint."""
    if cls not in _PLANS:
        hints = _hints(cls)
        _PLANS[cls] = tuple((f.name, bool(f.metadata.get("path")), _check(hints[f.name], f.metadata), hints[f.name])
                            for f in _fields(cls))
    return _PLANS[cls]


def parse(cls: type[R], body: Mapping[str, object], **path_values: object) -> R:
    """The request ``cls`` from a JSON object and the route's path parameters. Unknown keys are ignored, as
    the contract lets newer devices send more than an older hall reads."""
    values: dict[str, object] = {}
    for name, from_path, check, hint in _plan(cls):
        if from_path:
            values[name] = path_values[name]
            continue
        value = body.get(name)
        if value is not None:
            ok, value = check(value)
            if not ok:
                meta = next(f.metadata for f in _fields(cls) if f.name == name)
                code = meta.get("code", "BAD_REQUEST")
                # a field with its own contract code answers with the catalogue's text for it ("评价等级应为1到5")
                texts = _shape_text(name, hint, meta) if code == "BAD_REQUEST" else (None, None)
                raise fail(code, *texts, field=name)
        values[name] = value
    return cls(**values)


def parse_query(cls: type[R], params: Mapping[str, str], **path_values: object) -> R:
    """A read's request from its query string and path. Unknown parameters are ignored."""
    import re

    hints = _hints(cls)
    values: dict[str, object] = {}
    for f in _fields(cls):
        if f.metadata.get("path"):
            values[f.name] = path_values[f.name]
            continue
        raw = params.get(f.name)
        if raw is None:
            continue
        hint = _optional(hints[f.name])
        meta = f.metadata
        value: object = None
        if hint is int:
            value = whole_number(raw, int(meta["minimum"]), int(meta["maximum"]))
        elif hint is float:
            if re.fullmatch(r"\d{1,6}(\.\d{1,3})?", raw) and float(raw) <= meta["maximum"]:
                value = float(raw)
        elif typing.get_origin(hint) is Literal:
            value = raw if raw in typing.get_args(hint) else None
        elif hint is str:
            value = raw if not meta.get("pattern") or re.fullmatch(meta["pattern"], raw) else None
        if value is None:
            raise fail("BAD_REQUEST", *_query_text(f.name, hint, meta), field=f.name)
        values[f.name] = value
    return cls(**values)


def whole_number(raw: str, lo: int, hi: int) -> int | None:
    """A whole number in [lo, hi] from a query string, else None (each service answers 422 its own way).
    ASCII digits only ('¹' and '٣' are digits to str.isdigit()) and at most 20 characters, so that nothing
    deeper down overflows."""
    if not (raw.isascii() and raw.lstrip("-").isdigit()) or len(raw) > 20 or not lo <= int(raw) <= hi:
        return None
    return int(raw)


def _query_text(name: str, hint: Any, meta: Mapping[str, Any]) -> tuple[str, str]:
    if hint is int:
        lo, hi = int(meta["minimum"]), int(meta["maximum"])
        return f"{name} 应为 {lo} 到 {hi} 之间的整数", f"{name} must be a whole number from {lo} to {hi}"
    if hint is float:
        return f"{name} 应为 0 到 {meta['maximum']:g} 秒", f"{name} must be 0 to {meta['maximum']:g} seconds"
    if typing.get_origin(hint) is Literal:
        choices = typing.get_args(hint)
        return f"{name} 应为 {' 或 '.join(choices)}", f"{name} must be {' or '.join(choices)}"
    return f"{name} 的格式不对（{meta.get('doc') or name}）", f"{name} is not in the right form ({meta.get('doc') or name})"


def query_parameters(cls: type[Any]) -> list[dict[str, Any]]:
    """The OpenAPI query parameters of a read, with their real types."""
    hints = _hints(cls)
    out: list[dict[str, Any]] = []
    for f in dataclasses.fields(cls):
        if not f.metadata.get("query"):
            continue
        hint = _optional(hints[f.name])
        meta = f.metadata
        schema: dict[str, Any]
        if hint in (int, float):
            schema = {"type": "integer" if hint is int else "number"}
            schema.update({k: meta[k] for k in ("minimum", "maximum") if meta.get(k) is not None})
        elif typing.get_origin(hint) is Literal:
            schema = {"enum": list(typing.get_args(hint))}
        else:
            schema = {"type": "string", **({"pattern": meta["pattern"]} if meta.get("pattern") else {})}
        out.append({"name": f.name, "in": "query", "required": False, "schema": schema,
                    **({"description": meta["doc"]} if meta.get("doc") else {})})
    return out


def request_type(op: Any) -> type[Any]:
    """The request class an operation takes (its ``req`` parameter's annotation)."""
    kind: type[Any] = typing.get_type_hints(op)["req"]
    return kind


def _shape_text(name: str, hint: Any, meta: Mapping[str, Any]) -> tuple[str, str]:
    hint = _optional(hint)
    origin = typing.get_origin(hint)
    if hint is int and meta.get("minimum") is not None and meta.get("maximum") is not None:  # a bounded number
        lo, hi = meta["minimum"], meta["maximum"]
        return f"{name} 应为 {lo} 到 {hi} 的整数，请检查后重试。", f"{name} must be a whole number from {lo} to {hi}."
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
