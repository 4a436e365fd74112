"""The event hash chain (hall-api.md, Events): anyone can recompute it from the fields."""

from __future__ import annotations

import hashlib
import json
from typing import Any

GENESIS = "0" * 64


def canonical_json(value: Any) -> str:
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def event_hash(prev_hash: str, seq: int, event_id: str, type_: str, at: str, device: str | None,
               payload: dict[str, Any]) -> str:
    body = canonical_json(
        {"seq": seq, "id": event_id, "type": type_, "at": at, "device": device, "payload": payload}
    )
    return hashlib.sha256(f"{prev_hash}\n{body}".encode()).hexdigest()


def verify_chain(events: list[dict[str, Any]], prev_hash: str = GENESIS, first_seq: int = 1) -> int | None:
    """Return the seq of the first event that breaks the chain, or None when all hold."""
    expected_seq = first_seq
    for e in events:
        if e["seq"] != expected_seq or e["prev_hash"] != prev_hash:
            return int(e["seq"])
        h = event_hash(prev_hash, e["seq"], e["id"], e["type"], e["at"], e["device"], e["payload"])
        if h != e["hash"]:
            return int(e["seq"])
        prev_hash = h
        expected_seq += 1
    return None
