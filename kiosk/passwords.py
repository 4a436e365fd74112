"""Secrets people type (clerk PINs, supervisors' passwords): stored only as scrypt hashes; and the secrets the
product makes (tokens, session keys), which never begin with a dash.

The cost is stored with each hash so that it can be raised later without invalidating old ones.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets

COST = 2**14  # scrypt N


def new_secret(nbytes: int = 32) -> str:
    """A URL-safe random secret that does not begin with '-': printed alone on a line and pasted after
    ``--token``, a leading dash would make it an option (argparse: "expected one argument"), one time in 64."""
    while True:
        token = secrets.token_urlsafe(nbytes)
        if not token.startswith("-"):
            return token


def _digest(secret: str, salt: bytes, n: int) -> bytes:
    return hashlib.scrypt(secret.encode(), salt=salt, n=n, r=8, p=1, dklen=32)


def hash_secret(secret: str, salt: bytes | None = None, cost: int | None = None) -> str:
    salt = salt or secrets.token_bytes(16)
    n = cost or COST
    return f"scrypt${n}${salt.hex()}${_digest(secret, salt, n).hex()}"


def check_secret(secret: str, stored: str) -> bool:
    try:
        _, n, salt_hex, _ = stored.split("$")
        return hmac.compare_digest(hash_secret(secret, bytes.fromhex(salt_hex), int(n)), stored)
    except ValueError:
        return False


# Peppered hashes: HMAC(pepper, scrypt(secret, salt)). The pepper is a key of the hall that never enters the
# database, so that a copy of hall.db alone is not enough to try the 10^4-10^12 PINs offline. An unpeppered
# hash (``scrypt$…``) becomes a peppered one without the secret: the HMAC of its digest (``pepper_hash``).
PEPPERED = "scrypt+hmac"


def _pepper(pepper: bytes, digest: bytes) -> str:
    return hmac.new(pepper, digest, hashlib.sha256).hexdigest()


def hash_peppered(secret: str, pepper: bytes, salt: bytes | None = None, cost: int | None = None) -> str:
    salt = salt or secrets.token_bytes(16)
    n = cost or COST
    return f"{PEPPERED}${n}${salt.hex()}${_pepper(pepper, _digest(secret, salt, n))}"


def pepper_hash(stored: str, pepper: bytes) -> str:
    """An unpeppered ``scrypt$N$salt$digest`` as the peppered hash of the same secret (one-way upgrade)."""
    scheme, n, salt_hex, digest_hex = stored.split("$")
    if scheme != "scrypt":
        return stored
    return f"{PEPPERED}${n}${salt_hex}${_pepper(pepper, bytes.fromhex(digest_hex))}"


def check_peppered(secret: str, stored: str, pepper: bytes) -> bool:
    try:
        scheme, n, salt_hex, expected = stored.split("$")
        if scheme == "scrypt":  # not yet upgraded (the hall upgrades every such hash when it opens)
            return check_secret(secret, stored)
        if scheme != PEPPERED:
            return False
        return hmac.compare_digest(_pepper(pepper, _digest(secret, bytes.fromhex(salt_hex), int(n))), expected)
    except ValueError:
        return False
