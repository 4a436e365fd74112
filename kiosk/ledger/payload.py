"""An event payload read for the ledger's facts: each field checked against what the ledger's columns can hold,
so a hall that sends a malformed payload gets its event kept and quarantined, never a broken fact."""

from __future__ import annotations

import json
import re
from typing import Any

from kiosk.domain.errors import KioskError


class FactInvalid(KioskError, ValueError):
    """A payload field a fact needs is missing or of the wrong kind: ``field: why``."""


_MISSING = object()
DAY = re.compile(r"^\d{4}-\d{2}-\d{2}$")


class Payload:
    """Typed reads of an event payload for the facts, each refusing what the ledger's columns cannot hold."""

    def __init__(self, payload: dict[str, Any]) -> None:
        self.p = payload

    def text(self, key: str, default: Any = _MISSING, limit: int = 200) -> Any:
        value = self.p.get(key, default)
        if value is _MISSING or (value is not default and (not isinstance(value, str) or len(value) > limit)):
            raise FactInvalid(f"{key}: 应为不超过 {limit} 字的文本 expected text")
        return value

    def integer(self, key: str, lo: int, hi: int) -> int:
        value = self.p.get(key)
        if isinstance(value, bool) or not isinstance(value, int) or not lo <= value <= hi:
            raise FactInvalid(f"{key}: 应为 {lo} 到 {hi} 的整数 expected an integer {lo}..{hi}")
        return value

    def window(self, key: str = "window") -> int | None:
        value = self.p.get(key)
        return None if value is None else self.integer(key, 0, 99999)

    def reasons(self) -> str | None:
        """A rating's chosen reasons as JSON text (the 好差评 export's 评价内容), None when there are none."""
        value = self.p.get("reasons") or []
        if not isinstance(value, list) or len(value) > 20 or not all(isinstance(r, str) and len(r) <= 200 for r in value):
            raise FactInvalid("reasons: 应为文本列表 expected a list of texts")
        return json.dumps(value, ensure_ascii=False) if value else None

    def minutes(self, key: str) -> float | None:
        """A duration in minutes (a wait), or None when the payload does not say."""
        value = self.p.get(key)
        if value is None:
            return None
        if isinstance(value, bool) or not isinstance(value, int | float) or not 0 <= value <= 100000:
            raise FactInvalid(f"{key}: 应为分钟数 expected minutes")
        return float(value)

    def flag(self, key: str) -> bool:
        value = self.p.get(key, False)
        if not isinstance(value, bool):
            raise FactInvalid(f"{key}: 应为 true/false expected a boolean")
        return value

    def day(self) -> str:
        value = self.text("day")
        if not DAY.match(value):
            raise FactInvalid("day: 应为日期 YYYY-MM-DD expected a date")
        return str(value)
