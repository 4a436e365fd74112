"""Host driver for a line of evaluation keypads (one keypad, or many on an RS-485 bus).

It polls every keypad in turn, turns latched presses into events (acknowledged only when the host
says the press is stored: ``acknowledge``), and keeps going
through CRC errors, timeouts and unplugged keypads: a keypad that stops answering is
reported offline, the others are still polled, and it is reported online again when it
answers. Runs on its own thread; the UI only receives events.
"""

from __future__ import annotations

import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass

import serial

from drivers import modbus
from drivers.errors import DeviceAbsent, DeviceError, DeviceTimeout, ProtocolError
from drivers.keypad import protocol as p
from drivers.serialport import PORT_GONE, close_serial, open_serial


@dataclass(frozen=True)
class KeyPress:
    address: int
    seq: int
    level: int  # 5 非常满意 … 1 非常不满意


@dataclass(frozen=True)
class RatingTimedOut:
    address: int


@dataclass(frozen=True)
class KeypadOffline:
    address: int
    reason: str


@dataclass(frozen=True)
class KeypadOnline:
    address: int


KeypadEvent = KeyPress | RatingTimedOut | KeypadOffline | KeypadOnline


class KeypadBus:
    def __init__(self, url: str, addresses: list[int], baudrate: int = 9600, reply_timeout: float = 0.15,
                 offline_after: int = 3, retries: int = 1,
                 on_event: Callable[[KeypadEvent], None] | None = None) -> None:
        if not addresses or any(not 1 <= a <= 247 for a in addresses):
            raise ValueError("keypad addresses must be 1..247")
        self.url = url
        self.addresses = list(addresses)
        self.baudrate = baudrate
        self.reply_timeout = reply_timeout
        self.offline_after = offline_after
        self.retries = retries
        self.on_event = on_event
        self.port: serial.SerialBase | None = None
        self.online: dict[int, bool] = dict.fromkeys(self.addresses, True)
        self.failures: dict[int, int] = dict.fromkeys(self.addresses, 0)
        self.last_seq: dict[int, int] = dict.fromkeys(self.addresses, 0)
        self.acked: dict[int, int] = {}  # per keypad, the last press the host stored and acknowledged
        self.errors = 0
        self.armed: set[int] = set()  # asked for a rating and not answered yet: only these can have a press
        self._health = 0
        self._commands: deque[tuple[int, list[bytes]]] = deque()
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    # -- commands (any thread) --------------------------------------------------------
    def please_rate(self, address: int, clerk_name: str, clerk_number: int, window: int, timeout_s: int = 30) -> None:
        self.armed.add(address)
        self._queue(address, [*p.details_requests(address, clerk_name, clerk_number, window, timeout_s),
                              p.mode_request(address, p.Mode.PLEASE_RATE)])

    def welcome(self, address: int, clerk_name: str, clerk_number: int, window: int) -> None:
        self._queue(address, [*p.details_requests(address, clerk_name, clerk_number, window, 30),
                              p.mode_request(address, p.Mode.WELCOME)])

    def set_mode(self, address: int, mode: p.Mode) -> None:
        self._queue(address, [p.mode_request(address, mode)])

    def acknowledge(self, address: int, seq: int) -> None:
        """The host has stored press ``seq``: only now may the keypad drop it (docs/keypad-protocol.md).
        Until then the keypad keeps showing it, so a host that dies before storing sees it again."""
        self.acked[address] = seq
        self._queue(address, [p.ack_request(address, seq)])

    def _queue(self, address: int, frames: list[bytes]) -> None:
        if address not in self.online:
            raise ValueError(f"keypad {address} is not on this line")
        with self._lock:
            self._commands.append((address, frames))

    # -- the poll loop -------------------------------------------------------------------
    def start(self, interval: float = 0.02) -> None:
        self._thread = threading.Thread(target=self._run, args=(interval,), name="keypad-bus", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=5)
        self._close()

    def _run(self, interval: float) -> None:
        while not self._stop.is_set():
            self.poll_once(everyone=False)
            self._stop.wait(interval)

    def _due(self, everyone: bool) -> list[int]:
        """Who to poll this pass. At 9600 baud a poll costs ~28 ms on the wire, so a 32-keypad bus
        cannot be polled whole several times a second: keypads waiting for a rating are polled
        every pass, and one other keypad in turn, to notice one that was unplugged or came back."""
        if everyone:
            return list(self.addresses)
        idle = [a for a in self.addresses if a not in self.armed]
        due = [a for a in self.addresses if a in self.armed]
        if idle:
            self._health = (self._health + 1) % len(idle)
            due.append(idle[self._health])
        return due

    def poll_once(self, everyone: bool = True) -> list[KeypadEvent]:
        """One pass: pending commands, then keypads' status. Returns (and emits) events."""
        events: list[KeypadEvent] = []
        if self.port is None:
            try:
                self.port = open_serial(self.url, self.baudrate, self.reply_timeout)
            except DeviceAbsent as exc:
                for address in self.addresses:
                    self._failed(address, exc, events, force=True)
                return self._emit(events)
        retry: list[tuple[int, list[bytes]]] = []
        while True:
            with self._lock:
                if not self._commands:
                    break
                address, frames = self._commands.popleft()
            try:
                for frame in frames:
                    self._transact(frame, address, frame[1], 0)
                self._succeeded(address, events)
            except DeviceError as exc:
                self._failed(address, exc, events)
                if self.online[address]:
                    retry.append((address, frames))  # register writes are idempotent: send them again
        with self._lock:
            self._commands.extendleft(reversed(retry))
        for address in self._due(everyone):
            try:
                regs = self._transact(p.poll_request(address), address, modbus.READ_INPUT, p.INPUT_SIZE)
            except DeviceError as exc:
                self._failed(address, exc, events)
                continue
            self._succeeded(address, events)
            status = p.parse_status(regs)
            if status.press_seq:
                seq = status.press_seq
                if seq == self.acked.get(address) or not 1 <= status.press_key <= 5:
                    # stored and acknowledged, but the acknowledgement was lost (or a key outside 1-5):
                    # acknowledge again; the seq keeps it from counting twice
                    self._ack_now(address, seq, events)
                elif seq != self.last_seq[address]:
                    events.append(KeyPress(address, seq, status.press_key))
                    self.armed.discard(address)
                # otherwise: reported already, waiting for the host to store it and call acknowledge()
                self.last_seq[address] = seq
            elif status.timed_out and status.mode == p.Mode.WELCOME:
                events.append(RatingTimedOut(address))
                self.armed.discard(address)
                try:
                    self._transact(p.mode_request(address, p.Mode.WELCOME), address, modbus.WRITE_SINGLE, 0)
                except DeviceError as exc:
                    self._failed(address, exc, events)
        return self._emit(events)

    def _ack_now(self, address: int, seq: int, events: list[KeypadEvent]) -> None:
        try:
            self._transact(p.ack_request(address, seq), address, modbus.WRITE_SINGLE, 0)
        except DeviceError as exc:
            self._failed(address, exc, events)

    def _emit(self, events: list[KeypadEvent]) -> list[KeypadEvent]:
        if self.on_event is not None:
            for event in events:
                self.on_event(event)
        return events

    def _succeeded(self, address: int, events: list[KeypadEvent]) -> None:
        self.failures[address] = 0
        if not self.online[address]:
            self.online[address] = True
            events.append(KeypadOnline(address))

    def _failed(self, address: int, exc: DeviceError, events: list[KeypadEvent], force: bool = False) -> None:
        self.errors += 1
        self.failures[address] += 1
        if self.online[address] and (force or self.failures[address] >= self.offline_after):
            self.online[address] = False
            events.append(KeypadOffline(address, str(exc)))

    def _close(self) -> None:
        close_serial(self.port)
        self.port = None

    def _transact(self, frame: bytes, address: int, function: int, count: int) -> list[int]:
        last: DeviceError | None = None
        for _ in range(self.retries + 1):
            try:
                assert self.port is not None
                self.port.reset_input_buffer()
                self.port.write(frame)
                return self._read_reply(address, function, count)
            except PORT_GONE:
                self._close()  # unplugged adapter: reopen on the next pass
                raise DeviceAbsent("评价器串口已断开，正在重连。", "The keypad port went away; reconnecting.") from None
            except DeviceError as exc:
                last = exc
        assert last is not None
        raise last

    def _read_reply(self, address: int, function: int, count: int) -> list[int]:
        """Read until a valid reply for this request appears; bytes before it are line noise."""
        assert self.port is not None
        deadline = time.monotonic() + self.reply_timeout
        buf = b""
        crc_seen = False
        full = modbus.response_length(function, count)
        while time.monotonic() < deadline:
            buf += self.port.read(max(1, full - len(buf)) if len(buf) < full else 1)
            for start in range(len(buf)):
                if buf[start] != address or start + 1 >= len(buf) or buf[start + 1] not in (function, function | 0x80):
                    continue
                length = 5 if buf[start + 1] & 0x80 else full
                frame = buf[start:start + length]
                if len(frame) < length:
                    continue
                if not modbus.crc_ok(frame):
                    crc_seen = True
                    continue
                return modbus.parse_response(frame, address, function, count)
        if crc_seen:
            raise modbus.CrcError()
        if buf:
            raise ProtocolError(f"{address} 号评价器应答无法识别（波特率或地址设置不符？）。",
                                f"Keypad {address} answered garbage (baud rate or address wrong?).")
        raise DeviceTimeout(f"{address} 号评价器没有应答（未接电、未接线或地址不符）。",
                            f"Keypad {address} did not answer (no power, not wired, or wrong address).")
