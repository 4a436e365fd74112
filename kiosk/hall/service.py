"""The hall service: every operation of the hall, one room per responsibility.

The operations live in modules by what they are about, each building on the ones before it
(core → capacity → issuing → booking → casework → counter → feedback → appeals → supervision); HallService is all
of them, so the API, the CLI, the demo, the drill and the tests call one object as before.
"""

from __future__ import annotations

from kiosk.hall.core import (
    PIN_COST,
    RATING_LEVELS,
    ROLES,
    WAITING,
    Call,
    Device,
    Reply,
    check_pin,
    hash_pin,
    token_hash,
)
from kiosk.hall.credentials import DeviceAdmin
from kiosk.hall.supervision import Supervision

__all__ = ["PIN_COST", "RATING_LEVELS", "ROLES", "WAITING", "Call", "Device",
           "HallService", "Reply", "check_pin", "hash_pin", "token_hash"]


class HallService(DeviceAdmin, Supervision):
    """The hall's operations over its configuration, store and keys (see kiosk/hall/core.py)."""

