"""The keypad register map (docs/keypad-protocol.md), pure: what the host writes and reads.

Presses are queued in the keypad with a sequence number and stay there until the host
acknowledges that sequence number, so a press is neither lost between polls nor counted
twice when an acknowledgement is lost.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import IntEnum

from drivers import modbus

DEVICE_ID = 0x4B50  # "KP"
NAME_REGISTERS = 16


class Mode(IntEnum):
    IDLE = 0
    WELCOME = 1
    PLEASE_RATE = 2
    THANK_YOU = 3
    PAUSED = 4


# holding registers (host writes; function 03/06/16)
H_MODE = 0
H_RATE_TIMEOUT = 1
H_CLERK_NUMBER = 2
H_WINDOW = 3
H_ACK_SEQ = 4
H_CLERK_NAME = 16  # 16 registers of UTF-16 code units, 0-terminated
HOLDING_SIZE = H_CLERK_NAME + NAME_REGISTERS
RESERVED = range(H_ACK_SEQ + 1, H_CLERK_NAME)  # 5-15: read as 0, not writable (exception 02)


def writable(register: int) -> bool:
    return 0 <= register < HOLDING_SIZE and register not in RESERVED

# input registers (host reads; function 04)
I_STATUS = 0
I_PRESS_SEQ = 1
I_PRESS_KEY = 2
I_PENDING = 3
I_MODE = 4
I_DEVICE_ID = 5
I_FIRMWARE = 6
INPUT_SIZE = 7

STATUS_READY = 0x01
STATUS_PRESS_PENDING = 0x02
STATUS_TIMED_OUT = 0x04
STATUS_FAULT = 0x08



def encode_name(name: str) -> list[int]:
    raw = name.encode("utf-16-be")
    units = [int.from_bytes(raw[i:i + 2], "big") for i in range(0, len(raw), 2)][:NAME_REGISTERS]
    return units + [0] * (NAME_REGISTERS - len(units))


def decode_name(registers: list[int]) -> str:
    units = []
    for r in registers:
        if r == 0:
            break
        units.append(r.to_bytes(2, "big"))
    return b"".join(units).decode("utf-16-be", errors="replace")


@dataclass(frozen=True)
class KeypadStatus:
    ready: bool
    timed_out: bool
    fault: bool
    press_seq: int  # 0: no press waiting
    press_key: int
    pending: int
    mode: Mode
    device_id: int
    firmware: int


def parse_status(registers: list[int]) -> KeypadStatus:
    status, seq, key, pending, mode, device_id, firmware = registers[:INPUT_SIZE]
    try:
        mode_value = Mode(mode)
    except ValueError:
        mode_value = Mode.IDLE
    return KeypadStatus(bool(status & STATUS_READY), bool(status & STATUS_TIMED_OUT), bool(status & STATUS_FAULT),
                        seq, key, pending, mode_value, device_id, firmware)


def poll_request(address: int) -> bytes:
    return modbus.read_request(address, modbus.READ_INPUT, 0, INPUT_SIZE)


def ack_request(address: int, seq: int) -> bytes:
    return modbus.write_single_request(address, H_ACK_SEQ, seq)


def mode_request(address: int, mode: Mode) -> bytes:
    return modbus.write_single_request(address, H_MODE, int(mode))


def details_requests(address: int, clerk_name: str, clerk_number: int, window: int, timeout_s: int) -> list[bytes]:
    """What to write before switching to WELCOME or PLEASE_RATE: the mode is written last."""
    return [
        modbus.write_multiple_request(address, H_RATE_TIMEOUT, [timeout_s, clerk_number, window]),
        modbus.write_multiple_request(address, H_CLERK_NAME, encode_name(clerk_name)),
    ]
