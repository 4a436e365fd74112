"""Simulated evaluation keypads: one, or many on an RS-485 bus, behind a pseudo-terminal.

They speak exactly the register map of docs/keypad-protocol.md, so the host driver and
any standard Modbus tool can talk to them. Faults are switched on the simulator:
line noise, dropped or delayed replies, corrupted CRCs, and unplugged keypads.
"""

from __future__ import annotations

import random
import threading
import time
from collections import deque
from dataclasses import dataclass, field

from drivers import modbus
from drivers.keypad import protocol as p
from drivers.ptylink import PtyDevice

MODES = {int(m) for m in p.Mode}


@dataclass
class Faults:
    noise: float = 0.0  # probability of garbage bytes before a reply
    drop: float = 0.0  # probability of no reply at all
    corrupt: float = 0.0  # probability of a reply with a wrong CRC
    delay: float = 0.0  # seconds before every reply
    unplugged: set[int] = field(default_factory=set)  # addresses that do not answer
    line_baud: int = 0  # emulate the wire: a reply takes as long as request and reply need at this baud rate


@dataclass
class SimulatedKeypad:
    address: int
    holding: list[int] = field(default_factory=lambda: [0] * p.HOLDING_SIZE)
    queue: deque[tuple[int, int]] = field(default_factory=deque)
    next_seq: int = 1
    timed_out: bool = False
    armed_at: float | None = None
    firmware: int = 0x0100

    @property
    def mode(self) -> p.Mode:
        return p.Mode(self.holding[p.H_MODE]) if self.holding[p.H_MODE] in MODES else p.Mode.IDLE

    @property
    def clerk_name(self) -> str:
        return p.decode_name(self.holding[p.H_CLERK_NAME:p.H_CLERK_NAME + p.NAME_REGISTERS])

    def press(self, key: int) -> bool:
        """A citizen's finger on key 1–5. Counted only while the keypad asks for a rating."""
        if self.mode != p.Mode.PLEASE_RATE or not 1 <= key <= 5:
            return False
        self.queue.append((self.next_seq, key))
        self.next_seq = self.next_seq % 0xFFFF + 1
        self.holding[p.H_MODE] = int(p.Mode.THANK_YOU)
        return True

    def expire(self) -> None:
        """The rating timeout ran out without a press."""
        if self.mode == p.Mode.PLEASE_RATE:
            self.timed_out = True
            self.holding[p.H_MODE] = int(p.Mode.WELCOME)

    def tick(self, now: float) -> None:
        if self.mode == p.Mode.PLEASE_RATE and self.armed_at is not None:
            if now - self.armed_at >= max(1, self.holding[p.H_RATE_TIMEOUT] or 30):
                self.expire()

    def inputs(self) -> list[int]:
        seq, key = self.queue[0] if self.queue else (0, 0)
        status = p.STATUS_READY | (p.STATUS_PRESS_PENDING if self.queue else 0) | \
            (p.STATUS_TIMED_OUT if self.timed_out else 0)
        return [status, seq, key, len(self.queue), int(self.mode), p.DEVICE_ID, self.firmware]

    def write(self, start: int, values: tuple[int, ...], now: float) -> bool:
        """False for a bad value (an unknown mode); the caller has checked the addresses."""
        for offset, value in enumerate(values):
            register = start + offset
            if register == p.H_ACK_SEQ:
                if self.queue and self.queue[0][0] == value:
                    self.queue.popleft()
                continue
            if register == p.H_MODE:
                if value not in MODES:
                    return False
                self.timed_out = False
                self.armed_at = now if value == p.Mode.PLEASE_RATE else None
            self.holding[register] = value
        return True

    def answer(self, request: modbus.Request, now: float) -> bytes:
        if request.function == modbus.READ_INPUT:
            if request.start + request.count > p.INPUT_SIZE or request.count == 0:
                return modbus.exception_response(self.address, request.function, 2)
            values = self.inputs()[request.start:request.start + request.count]
            return modbus.read_response(self.address, request.function, values)
        if request.function == modbus.READ_HOLDING:
            if request.start + request.count > p.HOLDING_SIZE or request.count == 0:
                return modbus.exception_response(self.address, request.function, 2)
            return modbus.read_response(self.address, request.function,
                                        self.holding[request.start:request.start + request.count])
        if request.function in (modbus.WRITE_SINGLE, modbus.WRITE_MULTIPLE):
            registers = range(request.start, request.start + request.count)
            if request.count == 0 or any(not p.writable(r) for r in registers):
                return modbus.exception_response(self.address, request.function, 2)  # outside the map
            if not request.values or not self.write(request.start, request.values, now):
                return modbus.exception_response(self.address, request.function, 3)  # a bad value or length
            return modbus.echo_response(request)
        return modbus.exception_response(self.address, request.function, 1)


class KeypadBusSimulator(PtyDevice):
    """Serves every simulated keypad on one line; ``path`` is what the host opens."""

    def __init__(self, addresses: list[int] | tuple[int, ...] = (1,), faults: Faults | None = None,
                 seed: int = 0, gap: float = 0.004) -> None:
        super().__init__("keypad-sim")
        self.gap = gap  # 3.5 characters at 9600 baud: a request is what came before the silence
        self._buf = bytearray()
        self.keypads = {a: SimulatedKeypad(a) for a in addresses}
        self.faults = faults or Faults()
        self.requests_seen = 0
        self._random = random.Random(seed)
        self._lock = threading.Lock()

    def press(self, address: int, key: int) -> bool:
        with self._lock:
            return self.keypads[address].press(key)

    def keypad(self, address: int) -> SimulatedKeypad:
        return self.keypads[address]

    def tick(self, now: float) -> None:
        with self._lock:
            for keypad in self.keypads.values():
                keypad.tick(now)

    def received(self, chunk: bytes, now: float) -> None:
        self._buf += chunk

    def silence(self, now: float) -> None:
        """Modbus RTU frames end in silence: the burst is read whole, so that noise before a request cannot
        make a frame of the request's first bytes and swallow it (modbus.take_request)."""
        while (request := modbus.take_request(self._buf, at_gap=True)) is not None:
            self.requests_seen += 1
            self._reply(request, now)

    def _reply(self, request: modbus.Request, now: float) -> None:
        faults = self.faults
        with self._lock:
            keypad = self.keypads.get(request.address)
            if keypad is None or request.address in faults.unplugged:
                return  # on a bus, only the addressed keypad answers
            reply = keypad.answer(request, now)
        if self._random.random() < faults.drop:
            return
        if faults.delay:
            time.sleep(faults.delay)
        if faults.line_baud:  # 10 bits a byte (8N1), request of ~8 bytes plus the reply
            time.sleep((8 + len(reply)) * 10 / faults.line_baud)
        if self._random.random() < faults.corrupt:
            reply = reply[:-1] + bytes([reply[-1] ^ 0x5A])
        if self._random.random() < faults.noise:
            reply = bytes(self._random.randrange(256) for _ in range(self._random.randint(1, 6))) + reply
        self.link.write(reply)
