"""A hall signs each sync batch with its own Ed25519 key; the ledger checks it with the public key
registered for that hall. The key pair is derived from the hall's master key, so it exists from
the hall's first start and is never stored apart from it.

What is signed (documented in docs/ledger.md): the UTF-8 bytes of
``"kiosk-ledger-batch-v1\\n" + hall + "\\n" + "\\n".join(f"{seq}:{hash}" for each event)``.
The event hashes chain every field of every event, so signing them signs the whole batch.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

PREFIX = "ed25519:"


def derive_key(master: bytes, purpose: str) -> bytes:
    """One key per purpose from a hall's master key (identity hashes, signed codes, PIN pepper, event signing):
    none of them can be worked out from another."""
    return hmac.new(master, purpose.encode(), hashlib.sha256).digest()


def event_signing_key(master: bytes) -> Ed25519PrivateKey:
    """The key a hall signs its sync batches with; the ledger holds its public half."""
    return private_key(derive_key(master, "event-signing"))


def private_key(seed: bytes) -> Ed25519PrivateKey:
    return Ed25519PrivateKey.from_private_bytes(seed[:32])


def public_key_text(key: Ed25519PrivateKey) -> str:
    raw = key.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)
    return PREFIX + base64.b64encode(raw).decode()


def parse_public_key(text: str) -> Ed25519PublicKey:
    """``ed25519:BASE64`` (or the bare base64 of the 32 raw bytes); ValueError when it is not one."""
    body = text.strip().removeprefix(PREFIX)
    try:
        raw = base64.b64decode(body, validate=True)
    except (binascii.Error, ValueError):
        raise ValueError("not base64") from None
    if len(raw) != 32:
        raise ValueError("an Ed25519 public key is 32 bytes")
    return Ed25519PublicKey.from_public_bytes(raw)


def batch_message(hall: str, events: list[dict[str, Any]]) -> bytes:
    lines = ["kiosk-ledger-batch-v1", hall, *(f"{e['seq']}:{e['hash']}" for e in events)]
    return "\n".join(lines).encode()


def sign_batch(key: Ed25519PrivateKey, hall: str, events: list[dict[str, Any]]) -> str:
    return base64.b64encode(key.sign(batch_message(hall, events))).decode()


def signature_valid(public: Ed25519PublicKey, hall: str, events: list[dict[str, Any]], signature: object) -> bool:
    if not isinstance(signature, str):
        return False
    try:
        public.verify(base64.b64decode(signature, validate=True), batch_message(hall, events))
    except (InvalidSignature, binascii.Error, ValueError):
        return False
    return True
