"""The event hash chain (hall-api.md, Events): anyone can recompute it from the fields."""

from __future__ import annotations

import hashlib
import json
import re
from _json import make_encoder
from typing import Any

GENESIS = "0" * 64
_JSON = json.JSONEncoder(sort_keys=True, separators=(",", ":"), ensure_ascii=False)
# json.dumps with these options builds an encoder, then its C encoder, for every call: built once here, with
# the very arguments JSONEncoder.iterencode gives it (no circular check: an event's payload is a tree)
_ENCODE = make_encoder(None, _JSON.default, json.encoder.encode_basestring, None, ":", ",", True, False, True)


def canonical_json(value: Any) -> str:
    """What ``json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)`` writes, made by
    the same C encoder without building it anew at every call (every event, and the ledger's ingest)."""
    return "".join(_ENCODE(value, 0))


def event_hash(prev_hash: str, seq: int, event_id: str, type_: str, at: str, device: str | None,
               payload: dict[str, Any]) -> str:
    return event_hash_canonical(prev_hash, seq, event_id, type_, at, device, canonical_json(payload))


_ESCAPED = re.compile(r'["\\\x00-\x1f]')  # what JSON writes otherwise than as itself (ensure_ascii=False)


def _scalar_json(value: object) -> str:
    """canonical_json of a string, an int or None, without the encoder where the text needs no escape: the
    ledger hashes five of these per event, and json.dumps was a fifth of its ingest time."""
    if isinstance(value, str) and _ESCAPED.search(value) is None:
        return f'"{value}"'
    if value is None:
        return "null"
    if type(value) is int:
        return str(value)
    return canonical_json(value)


def event_hash_canonical(prev_hash: str, seq: int, event_id: str, type_: str, at: str, device: str | None,
                         payload_json: str) -> str:
    """The same hash, from the payload's canonical JSON already made (the ledger stores that text too, so it
    serialises each payload once). The body is assembled in canonical key order: at, device, id, payload,
    seq, type; each value written as canonical_json would write it. Plain texts and a whole seq (every event
    the hall writes) are checked for escapes in one search and written as they are."""
    if (type(seq) is int and type(at) is str and type(event_id) is str and type(type_) is str
            and (device is None or type(device) is str)
            and _ESCAPED.search(f"{at}{device or ''}{event_id}{type_}") is None):
        on = "null" if device is None else f'"{device}"'
        body = (f'{{"at":"{at}","device":{on},"id":"{event_id}","payload":{payload_json},"seq":{seq},'
                f'"type":"{type_}"}}')
    else:
        body = (f'{{"at":{_scalar_json(at)},"device":{_scalar_json(device)},"id":{_scalar_json(event_id)},'
                f'"payload":{payload_json},"seq":{_scalar_json(seq)},"type":{_scalar_json(type_)}}}')
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
