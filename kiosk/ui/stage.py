"""The rest of the hall, played in the demo and the tours: what the apps may ask of an in-process hall
(kiosk/standalone/embedded.py) that plays the other people — citizens taking tickets elsewhere, clerks at
other windows, the registration system, the booking system. The apps only hold one as ``app.demo`` (None
against a real hall) and the tours call it; the ui never imports the hall itself.
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Any, Protocol

DEMO_CLERK = ("8001", "王晓明", "2468")  # the demo's and the tours' clerk: id, name, PIN
OPEN_MONDAY = "2026-11-23T10:00:00+08:00"  # a moment the example hall is open (the tours' clock)


class Stage(Protocol):
    def sample_appointment(self, business: str = "D") -> str:
        """An online appointment starting now; its QR text."""
    def prepare_counter(self, window: int) -> str:
        """The demo clerk, and citizens waiting for this window ("" or why the queue is empty)."""
    def prepare_duty(self) -> None: ...
    def report(self, category: str, description: str, ticket: str | None = None) -> None: ...
    def typed_burst(self, kiosk: str = "kiosk-2") -> None: ...
    def held_booking(self, holder: str, kiosk: str = "kiosk-2") -> str: ...
    def crowd(self, business: str, people: int, now: datetime | None = None) -> list[str]: ...
    def call_next(self, window: int) -> str: ...
    def close_window(self, window: int) -> None: ...
    def recall(self, window: int) -> None: ...
    def progress_case(self, number: str, stage: str, note: str) -> None: ...
    def serve(self, number: str, window: int = 2, accepted: bool = False,
              now: datetime | None = None) -> dict[str, Any] | None: ...


class LocalHall(Stage, Protocol):
    """A hall started in this process for an app (kiosk/standalone/: the embedded default, the tours)."""

    url: str  # where it listens, on loopback
    data: Path  # its data folder (a window's own folder goes beside it)

    def token(self, role: str) -> str:
        """This process's device token for a role."""
    def stop(self) -> None:
        """Stop serving and close the store (a tour's throwaway folder is removed)."""
