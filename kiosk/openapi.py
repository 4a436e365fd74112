"""One way for both services (the hall and the ledger) to publish an OpenAPI document a standard tool can use
as served: every path parameter declared, the bearer security scheme, and every error answer with the
shared error shape. Handlers parse bodies by hand (so that bad input maps to a contract code with a Chinese
message); this completes what FastAPI cannot infer from them."""

from __future__ import annotations

import re
from typing import Any

from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi

ERROR = {"type": "object", "required": ["error"], "properties": {"error": {
    "type": "object", "required": ["code", "message", "message_en"],
    "properties": {"code": {"type": "string"}, "message": {"type": "string"}, "message_en": {"type": "string"}}}}}
ERRORS = {"401": "no or unknown token", "403": "not this role's", "404": "no such thing", "405": "method not allowed",
          "409": "refused by a rule (limits, state, chain)", "413": "body too large",
          "422": "malformed or invalid input", "429": "locked for a while", "503": "storage unavailable"}


def publish(app: FastAPI, public: tuple[str, ...] = ("/health",), extra: dict[str, dict[str, Any]] | None = None) -> None:
    """Replace ``app.openapi`` with the completed document. ``extra``: per "METHOD path", operation fields to
    merge (request bodies, parameters), and whole operations for routes FastAPI does not know of."""

    def openapi() -> dict[str, Any]:
        if app.openapi_schema:
            return app.openapi_schema
        schema = get_openapi(title=app.title, version=app.version, description=app.description, routes=app.routes)
        for key in extra or {}:  # routes registered from a table rather than by FastAPI are documented from it
            method, path = key.split(" ", 1)
            schema.setdefault("paths", {}).setdefault(path, {}).setdefault(method.lower(), {})
        components = schema.setdefault("components", {})
        components.setdefault("securitySchemes", {})["bearer"] = {"type": "http", "scheme": "bearer"}
        components.setdefault("schemas", {})["Error"] = ERROR
        error_body = {"content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}}
        for path, operations in schema.get("paths", {}).items():
            for method, op in operations.items():
                for key, value in (extra or {}).get(f"{method.upper()} {path}", {}).items():
                    op[key] = value
                if path not in public:
                    op["security"] = [{"bearer": []}]
                params = op.setdefault("parameters", [])
                for name in re.findall(r"{(\w+)}", path):
                    if not any(p.get("name") == name and p.get("in") == "path" for p in params):
                        params.append({"name": name, "in": "path", "required": True,
                                       "schema": {"type": "string", "minLength": 1, "maxLength": 40}})
                if not params:
                    op.pop("parameters")
                responses = op.setdefault("responses", {})
                responses.pop("default", None)
                ok = responses.get("200") or {"description": "OK"}
                responses["200"] = ok
                if method == "post":
                    responses.setdefault("201", {"description": "created", "content": ok.get("content", {})})
                page = "text/html" in ok.get("content", {})  # a page answers a person: its errors are pages too
                for code, text in ERRORS.items():
                    content = dict(error_body["content"])
                    if page:
                        content["text/html"] = {"schema": {"type": "string"}}
                    responses[code] = {"description": text, "content": content}
        app.openapi_schema = schema
        return schema

    app.openapi = openapi  # type: ignore[method-assign]


def allowed_methods(app: FastAPI, path: str) -> str:
    """The Allow header of a 405: every method some route offers on this path. A literal route (/tickets/verify)
    wins over a parameter (/tickets/{number}) that would also match it, as it does when routing."""
    from starlette.routing import Route

    routes = [r for r in app.routes if isinstance(r, Route) and r.path_regex.match(path)]
    literal = [r for r in routes if r.path == path]
    methods = {m for r in (literal or routes) for m in (r.methods or set()) if m != "HEAD"}
    return ", ".join(sorted(methods))
