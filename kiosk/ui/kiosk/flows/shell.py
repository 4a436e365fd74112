"""What a flow may ask of the kiosk's shell, and what every flow offers it."""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from drivers.factory import Devices
from kiosk.contract.client import HallClient, Reply
from kiosk.ui.palette import Palette

if TYPE_CHECKING:
    from kiosk.ui.hall_app import Timings

Action = tuple[str, Callable[[], None]]


class Shell(Protocol):
    root: Any  # the ScreenManager
    lang: str
    scale: float
    hall_name: str
    catalog: list[dict[str, Any]]  # the businesses, as the hall's catalog lists them
    catalog_body: dict[str, Any]
    devices: Devices
    client: HallClient
    pollers: ThreadPoolExecutor  # device reads wait on their wires here, never on the hall-call thread
    tour_dir: Path | None
    busy: bool  # a request to the hall is in flight: a second tap does nothing
    palette: Palette  # the colours by role (normal or high contrast)
    timings: Timings  # what the kiosk measures of itself, for bench/

    def tr(self, zh: str, en: str, _lang: str = "") -> str: ...
    def ask(self, work: Callable[[], Reply], on_reply: Callable[[Reply], None]) -> None: ...
    def background(self, work: Callable[[], Any], done: Callable[[Future[Any]], None],
                   pool: ThreadPoolExecutor | None = None) -> None: ...
    def show_message(self, title: str, message: str, message_en: str = "",
                     actions: list[Action] | None = None) -> None: ...
    def show_qr(self, text: str) -> None: ...
    def show_progress(self, text: str) -> None: ...
    def refused(self, title: str, title_en: str, reply: Reply) -> None: ...
    def offline(self) -> None: ...
    def rule(self, name: str, default: int) -> int: ...
    def go_home(self) -> None: ...
    def new_action_key(self) -> str: ...


class Flow(Protocol):
    def build(self, root: Any) -> None:
        """Make the flow's fixed widgets once, when the screens exist."""

    def reset(self) -> None:
        """Forget everything the citizen entered (ID numbers included): the citizen left, or went idle."""
