"""Modbus RTU framing, pure: CRC-16/MODBUS, request and response codecs, and resync.

Only the functions a keypad needs: 03 read holding, 04 read input, 06 write single,
16 (0x10) write multiple registers. Used by the keypad host driver and its simulator.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass

from drivers.errors import ProtocolError

READ_HOLDING = 0x03
READ_INPUT = 0x04
WRITE_SINGLE = 0x06
WRITE_MULTIPLE = 0x10
EXCEPTION_NAMES = {1: "illegal function", 2: "illegal data address", 3: "illegal data value", 4: "device failure"}


def crc16(data: bytes) -> int:
    crc = 0xFFFF
    for byte in data:
        crc ^= byte
        for _ in range(8):
            crc = (crc >> 1) ^ 0xA001 if crc & 1 else crc >> 1
    return crc


def with_crc(body: bytes) -> bytes:
    return body + struct.pack("<H", crc16(body))


def crc_ok(frame: bytes) -> bool:
    return len(frame) >= 4 and crc16(frame[:-2]) == struct.unpack("<H", frame[-2:])[0]


class CrcError(ProtocolError):
    def __init__(self) -> None:
        super().__init__("数据校验错误（线路干扰或波特率不符）。", "CRC error (line noise or wrong baud rate).")


class ExceptionResponse(ProtocolError):
    def __init__(self, code: int) -> None:
        name = EXCEPTION_NAMES.get(code, "unknown")
        super().__init__(f"设备拒绝了请求（异常码 {code}）。", f"The device refused the request (exception {code}: {name}).")
        self.code = code


# -- requests (host → device) --------------------------------------------------------
def read_request(address: int, function: int, start: int, count: int) -> bytes:
    return with_crc(struct.pack(">BBHH", address, function, start, count))


def write_single_request(address: int, register: int, value: int) -> bytes:
    return with_crc(struct.pack(">BBHH", address, WRITE_SINGLE, register, value & 0xFFFF))


def write_multiple_request(address: int, start: int, values: list[int]) -> bytes:
    body = struct.pack(">BBHHB", address, WRITE_MULTIPLE, start, len(values), 2 * len(values))
    return with_crc(body + b"".join(struct.pack(">H", v & 0xFFFF) for v in values))


@dataclass(frozen=True)
class Request:
    address: int
    function: int
    start: int
    count: int  # registers to read or written
    values: tuple[int, ...] = ()


# Request lengths of the standard functions a keypad does not support, so that a device can still
# recognise them and answer exception 01 (a silent keypad would look unplugged to the tool asking).
FIXED_LENGTHS = {0x01: 8, 0x02: 8, 0x05: 8, 0x07: 4, 0x08: 8, 0x0B: 4, 0x0C: 4, 0x11: 4, 0x16: 10, 0x2B: 7}


def _request_length(buf: bytes) -> int | None:
    """Bytes a request starting at buf[0] needs (0: not enough yet), or None when it cannot be a request."""
    if len(buf) < 2:
        return 0
    fn = buf[1]
    if fn in (READ_HOLDING, READ_INPUT, WRITE_SINGLE):
        return 8
    if fn in (WRITE_MULTIPLE, 0x0F):
        return 9 + buf[6] if len(buf) >= 7 else 0
    if fn == 0x17:  # read/write multiple registers
        return 13 + buf[10] if len(buf) >= 11 else 0
    return FIXED_LENGTHS.get(fn)


def _frame_at(data: bytes, start: int) -> int | None:
    """The length of a complete, CRC-valid request at ``data[start]``; 0 while more bytes could still make one;
    None when none starts there."""
    need = _request_length(data[start:])
    if need is None or need > 260:
        return None
    if need == 0 or len(data) - start < need:
        return 0
    return need if crc_ok(data[start:start + need]) else None


def _overtaken(data: bytes, start: int, length: int) -> bool:
    """Another valid request starts inside this one and reaches at least as far. Noise before a request can
    make, with the request's first bytes, a short frame whose CRC happens to hold (1 in 65536 per position):
    that frame ends inside the request, and the request, which reaches the end, is the one that was sent."""
    for k in range(start + 1, start + length):
        other = _frame_at(data, k)
        if other and k + other >= start + length:
            return True
    return False


def take_request(buf: bytearray, at_gap: bool = False) -> Request | None:
    """Take one valid request off the front of ``buf``; skip garbage byte by byte (resync).

    Modbus RTU frames are delimited by silence (3.5 characters). ``at_gap``: the line has been silent since
    the last byte of ``buf``, so a request still short of its length never will be one, and whatever cannot
    be a request is dropped; without it, a possible request's beginning waits for more bytes. A CRC-valid
    frame is taken only when no longer one overtakes it (``_overtaken``), so that noise cannot swallow a
    real request; a receiver that waits for the silence (the simulator) sees the whole burst at once."""
    data = bytes(buf)
    start = 0
    while start < len(data):
        length = _frame_at(data, start)
        if length == 0 and not at_gap:
            del buf[:start]
            return None
        if length and not _overtaken(data, start, length):
            del buf[:start + length]
            return _decode(data[start:start + length])
        start += 1
    buf.clear()
    return None


def _decode(frame: bytes) -> Request:
    address, fn = frame[0], frame[1]
    if fn not in (READ_HOLDING, READ_INPUT, WRITE_SINGLE, WRITE_MULTIPLE):
        return Request(address, fn, 0, 0)  # a standard function this device does not support
    start, second = struct.unpack(">HH", frame[2:6])
    if fn == WRITE_MULTIPLE:
        values = struct.unpack(f">{second}H", frame[7:7 + 2 * second]) if frame[6] == 2 * second else ()
        return Request(address, fn, start, second, tuple(values))
    if fn == WRITE_SINGLE:
        return Request(address, fn, start, 1, (second,))
    return Request(address, fn, start, second)


# -- responses (device → host) -----------------------------------------------------------
def read_response(address: int, function: int, values: list[int]) -> bytes:
    return with_crc(struct.pack(">BBB", address, function, 2 * len(values)) +
                    b"".join(struct.pack(">H", v & 0xFFFF) for v in values))


def echo_response(request: Request) -> bytes:
    if request.function == WRITE_SINGLE:
        return write_single_request(request.address, request.start, request.values[0])
    return with_crc(struct.pack(">BBHH", request.address, request.function, request.start, request.count))


def exception_response(address: int, function: int, code: int) -> bytes:
    return with_crc(struct.pack(">BBB", address, function | 0x80, code))


def response_length(function: int, count: int) -> int:
    return 5 + 2 * count if function in (READ_HOLDING, READ_INPUT) else 8


def parse_response(frame: bytes, address: int, function: int, count: int) -> list[int]:
    """Registers read (or [] for a write echo); typed errors for anything else."""
    if len(frame) < 5:
        raise ProtocolError("应答不完整。", f"Truncated reply ({len(frame)} bytes).")
    if not crc_ok(frame):
        raise CrcError()
    if frame[0] != address:
        raise ProtocolError("应答来自其他地址的设备（地址冲突？）。", f"Reply from address {frame[0]}, not {address}.")
    if frame[1] == function | 0x80:
        raise ExceptionResponse(frame[2])
    if frame[1] != function:
        raise ProtocolError("应答功能码不符。", f"Reply function {frame[1]:#04x}, expected {function:#04x}.")
    if function in (READ_HOLDING, READ_INPUT):
        if frame[2] != 2 * count or len(frame) != 5 + 2 * count:
            raise ProtocolError("应答长度不符。", "Reply length does not match the request.")
        return list(struct.unpack(f">{count}H", frame[3:3 + 2 * count]))
    return []
