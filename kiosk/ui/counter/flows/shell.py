"""What a counter flow may ask of the window terminal's shell (counter/app.py), as the kiosk's flows do of
theirs (kiosk/flows/shell.py): the hall's answers, the desk's banner, the question screen, the worker threads.

No Kivy is imported here at run time: the rating relay (rating.py) is driven as a plain process in tests.
"""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from typing import TYPE_CHECKING, Any, Protocol

from drivers.factory import Devices
from kiosk.contract.client import HallClient, Reply

if TYPE_CHECKING:
    from kiosk.ui.choice import ChoicePanel
    from kiosk.ui.hall_app import Timings


class Desk(Protocol):
    root: Any  # the ScreenManager
    client: HallClient  # the window's device, with the clerk's session once signed in
    devices: Devices
    window: int
    window_name: str
    catalog: dict[str, dict[str, Any]]  # the businesses by code
    summary: dict[str, Any]  # the window at a glance, as the hall last answered
    windows: list[dict[str, Any]]  # the hall's windows, for transfers
    clerk: dict[str, str]  # id and name of the clerk signed in
    choices: ChoicePanel
    pollers: ThreadPoolExecutor  # device reads wait on their wires here, never on the hall-call thread
    timings: Timings  # what the window measures of itself, for bench/

    def tr(self, zh: str, en: str, _lang: str = "") -> str: ...
    def ask(self, work: Callable[[], Reply], on_reply: Callable[[Reply], None]) -> None: ...
    def background(self, work: Callable[[], Any], done: Callable[[Future[Any]], None],
                   pool: ThreadPoolExecutor | None = None) -> None: ...
    def later(self, seconds: float, then: Callable[[], None]) -> None:
        """``then`` on the UI thread after ``seconds``."""
    def say(self, text: str, bad: bool = False) -> None:
        """The desk's banner."""
    def back(self, text: str, bad: bool = False) -> None:
        """Back to the desk, saying ``text``."""
    def show_info(self, title: str, body: str) -> None: ...
    def refresh(self, welcome: bool = False) -> None:
        """Ask the hall for the window at a glance again (``welcome``: greet the citizen on the keypad)."""
    def window_send(self, request: object, on_ok: Callable[[Reply], None],
                    on_refused: Callable[[Reply], None] | None = None) -> None:
        """A clerk's action at this window, one key per tap; refused without ``on_refused``: said on the desk."""
