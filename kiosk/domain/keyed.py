"""HMAC-SHA256 under the hall's few long-lived keys (the identity key, the codes key), for the hot path: every
ticket hashes an identity and signs its slip's code.

The result is RFC 2104's, byte for byte (``hmac.digest(key, message, "sha256")``). What differs is the work per
call: the two SHA-256 states after the padded key are made once per key and copied, instead of building an
OpenSSL HMAC context for every message, which costs twice the hashing itself.
"""

from __future__ import annotations

import hashlib
from typing import Any

_BLOCK = 64  # SHA-256's block size
_IPAD = bytes(x ^ 0x36 for x in range(256))
_OPAD = bytes(x ^ 0x5C for x in range(256))
_PADDED: dict[bytes, tuple[Any, Any]] = {}  # key -> (inner, outer) states, never updated once made
_KEYS_KEPT = 16  # a hall has two such keys; tests make many, and this stays small


def _padded(key: bytes) -> tuple[Any, Any]:
    if len(key) > _BLOCK:
        key = hashlib.sha256(key).digest()
    key = key.ljust(_BLOCK, b"\0")
    return hashlib.sha256(key.translate(_IPAD)), hashlib.sha256(key.translate(_OPAD))


def hmac_sha256(key: bytes, message: bytes) -> bytes:
    states = _PADDED.get(key)
    if states is None:
        states = _padded(key)
        if len(_PADDED) >= _KEYS_KEPT:
            _PADDED.clear()
        _PADDED[key] = states
    inner = states[0].copy()
    inner.update(message)
    outer = states[1].copy()
    outer.update(inner.digest())
    digest: bytes = outer.digest()
    return digest
