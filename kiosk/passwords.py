"""Secrets people type (clerk PINs, supervisors' passwords): stored only as scrypt hashes.

The cost is stored with each hash so that it can be raised later without invalidating old ones.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets

COST = 2**14  # scrypt N


def hash_secret(secret: str, salt: bytes | None = None, cost: int | None = None) -> str:
    salt = salt or secrets.token_bytes(16)
    n = cost or COST
    digest = hashlib.scrypt(secret.encode(), salt=salt, n=n, r=8, p=1, dklen=32)
    return f"scrypt${n}${salt.hex()}${digest.hex()}"


def check_secret(secret: str, stored: str) -> bool:
    try:
        _, n, salt_hex, _ = stored.split("$")
        return hmac.compare_digest(hash_secret(secret, bytes.fromhex(salt_hex), int(n)), stored)
    except ValueError:
        return False
