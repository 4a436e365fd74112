"""One small interface per device kind. The apps depend on these only, so every screen runs
against a simulator exactly as against the real device."""

from __future__ import annotations

from collections.abc import Callable
from typing import Protocol

from drivers.idcard.protocol import CardData
from drivers.keypad.driver import KeypadEvent
from drivers.printer.connection import PrinterStatus
from drivers.printer.layouts import Element


class TicketPrinter(Protocol):
    def status(self) -> PrinterStatus: ...

    def print_slip(self, elements: list[Element]) -> None: ...


class IdReader(Protocol):
    def read_card(self) -> CardData | None: ...


class CodeScanner(Protocol):
    def read_code(self, timeout: float) -> str | None: ...

    def flush(self) -> None: ...


class KeypadLine(Protocol):
    def please_rate(self, address: int, clerk_name: str, clerk_number: int, window: int, timeout_s: int = 30) -> None:
        ...

    def poll_once(self) -> list[KeypadEvent]: ...

    def start(self, interval: float = 0.02) -> None: ...

    def stop(self) -> None: ...


EventSink = Callable[[KeypadEvent], None]
