"""One error type for every rule the hall enforces.

The code is the stable, machine-readable contract (hall-api.md); the messages are what
a citizen or clerk reads, Chinese first. HTTP status lives here too so that every
front end answers the same refusal the same way.
"""

from __future__ import annotations

from typing import Any


class DomainError(Exception):
    def __init__(
        self,
        code: str,
        message: str,
        message_en: str,
        status: int = 409,
        **details: Any,
    ) -> None:
        super().__init__(f"{code}: {message_en}")
        self.code = code
        self.message = message
        self.message_en = message_en
        self.status = status
        self.details = details

    def body(self) -> dict[str, Any]:
        return {
            "error": {
                "code": self.code,
                "message": self.message,
                "message_en": self.message_en,
                **self.details,
            }
        }


def bad_request(message: str, message_en: str, **details: Any) -> DomainError:
    return DomainError("BAD_REQUEST", message, message_en, status=422, **details)
