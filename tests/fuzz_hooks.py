"""Schemathesis hooks for tests/test_fuzz.py (loaded through SCHEMATHESIS_HOOKS).

A display board's long poll waits through other events for a call, and the fuzz hall makes no calls: every
generated ``wait`` near the documented 60 seconds would hold the run for a minute (the coverage phase sends
the boundaries). The fuzz checks what the hall answers to a value, not how long it waits, so a long poll is
cut to a second here; waiting and waking are tested in tests/test_api.py."""

from __future__ import annotations

from typing import Any

import schemathesis

LONGEST = 1.0  # seconds


@schemathesis.hook
def before_call(ctx: Any, case: Any, **kwargs: Any) -> None:
    query = case.query
    if not isinstance(query, dict) or "wait" not in query:
        return
    try:
        wait = float(query["wait"])
    except (TypeError, ValueError):
        return  # not a number: the hall refuses it at once, which is what the fuzz checks
    if wait > LONGEST:
        query["wait"] = LONGEST
