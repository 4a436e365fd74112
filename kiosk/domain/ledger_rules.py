"""What the central ledger accepts from a hall: a batch that continues the hall's hash chain.

Pure: the caller passes the stored head and a lookup of stored hashes. The order of the checks
is part of the contract's spirit: a body that is not a batch is BATCH_INVALID; an event whose hash
does not match its content is BAD_HASH; then the batch's place in the chain (held already: accepted
0; a gap: CHAIN_GAP; a different event at a stored seq: CHAIN_FORK); the signature last, and only
when there is something new to store.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from kiosk.domain.errors import CATALOGUE
from kiosk.domain.events import GENESIS, canonical_json, event_hash_canonical

FIELDS = {"seq": int, "id": str, "type": str, "at": str, "payload": dict, "prev_hash": str, "hash": str}
MAX_BATCH = 5000
MAX_SEQ = 2**63 - 1  # BIGINT: a seq outside 1..MAX_SEQ is not a place in any chain


@dataclass(frozen=True)
class Verdict:
    code: str | None  # None: acceptable
    status: int = 200
    message: str = ""
    message_en: str = ""
    details: dict[str, Any] = field(default_factory=dict)
    new: list[dict[str, Any]] = field(default_factory=list)  # the events to store, in order
    payloads: list[str] = field(default_factory=list)  # their payloads' canonical JSON, to store as made


def refusal(code: str, zh: str | None = None, en: str | None = None, **details: Any) -> Verdict:
    """A refused batch, with the code's catalogued status (kiosk.domain.errors)."""
    entry = CATALOGUE[code]
    return Verdict(code, entry.status, zh or entry.zh, en or entry.en, details)


def parse_batch(body: object) -> tuple[list[dict[str, Any]], object] | Verdict:
    """(events, signature), or BATCH_INVALID saying what is wrong."""
    if not isinstance(body, dict) or not isinstance(body.get("events"), list) or not body["events"]:
        return refusal("BATCH_INVALID")
    events = body["events"]
    if len(events) > MAX_BATCH:
        return refusal("BATCH_INVALID", f"一个批次最多 {MAX_BATCH} 个事件。", f"At most {MAX_BATCH} events a batch.")
    for i, e in enumerate(events):
        if not isinstance(e, dict):
            return refusal("BATCH_INVALID", f"第 {i + 1} 个事件不是对象。", f"Event {i + 1} is not an object.")
        for name, kind in FIELDS.items():
            value = e.get(name)
            if not isinstance(value, kind) or isinstance(value, bool):
                return refusal("BATCH_INVALID", f"第 {i + 1} 个事件缺少或错误的字段 {name}。",
                               f"Event {i + 1}: missing or wrong field {name}.", field=name)
        if not 1 <= e["seq"] <= MAX_SEQ:
            return refusal("BATCH_INVALID", f"第 {i + 1} 个事件的 seq 超出范围（1 到 2^63-1）。",
                           f"Event {i + 1}: seq out of range (1 to 2^63-1).", field="seq")
        if e.get("device") is not None and not isinstance(e["device"], str):
            return refusal("BATCH_INVALID", f"第 {i + 1} 个事件的 device 应为字符串。",
                           f"Event {i + 1}: device must be a string.", field="device")
    return events, body.get("signature")


def check_batch(events: list[dict[str, Any]], head_seq: int, head_hash: str,
                stored_hash: Callable[[int], str | None]) -> Verdict:
    # 1. every event's hash matches its content (the payload's canonical text is kept for storing)
    texts: list[str] = []
    for e in events:
        try:
            payload_json = canonical_json(e["payload"])
            texts.append(payload_json)
            digest = event_hash_canonical(e["prev_hash"], e["seq"], e["id"], e["type"], e["at"], e.get("device"),
                                          payload_json)
        except (UnicodeEncodeError, ValueError, RecursionError):  # a lone surrogate, NaN or a too-deep payload
            return refusal("BATCH_INVALID", f"事件 {e['seq']} 含有无法编码的内容。",
                           f"Event {e['seq']} holds content that cannot be encoded.", seq=e["seq"])
        if digest != e["hash"]:
            return refusal("BAD_HASH", f"事件 {e['seq']} 的内容与其哈希不符（被改动）。",
                           f"Event {e['seq']}: its content does not match its hash (altered).", seq=e["seq"])
    # 2. the batch is itself a piece of a chain
    for a, b in itertools.pairwise(events):
        if b["seq"] != a["seq"] + 1 or b["prev_hash"] != a["hash"]:
            return refusal("BATCH_INVALID", f"批次内的事件不连续（事件 {b['seq']}）。",
                           f"The batch's events do not chain (event {b['seq']}).", seq=b["seq"])
    # 3. its place in the stored chain
    first = events[0]  # its seq is 1 or more (parse_batch)
    if first["seq"] > head_seq + 1:
        return refusal("CHAIN_GAP", f"缺少事件 {head_seq + 1}–{first['seq'] - 1}：请从账本头之后续传。",
                       f"Events {head_seq + 1}–{first['seq'] - 1} are missing: continue after the head.",
                       head={"seq": head_seq, "hash": head_hash}, expected_seq=head_seq + 1)
    new: list[dict[str, Any]] = []
    payloads: list[str] = []
    for e, text in zip(events, texts, strict=True):
        if e["seq"] <= head_seq:
            if stored_hash(e["seq"]) != e["hash"]:
                return refusal("CHAIN_FORK", f"事件 {e['seq']} 与账本已存的不同（链分叉）。",
                               f"Event {e['seq']} differs from the one stored (a fork).", seq=e["seq"],
                               head={"seq": head_seq, "hash": head_hash})
        else:
            if e["seq"] == head_seq + 1 and e["prev_hash"] != (head_hash if head_seq else GENESIS):
                return refusal("CHAIN_FORK", f"事件 {e['seq']} 没有接上账本的链头。",
                               f"Event {e['seq']} does not continue the stored head (a fork).", seq=e["seq"],
                               head={"seq": head_seq, "hash": head_hash})
            new.append(e)
            payloads.append(text)
    return Verdict(None, new=new, payloads=payloads)
