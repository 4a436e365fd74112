"""Modbus RTU codec: golden bytes, CRC vectors, typed errors, and resync after garbage."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from drivers import modbus
from drivers.errors import ProtocolError
from drivers.keypad import protocol as p


def test_crc_vectors() -> None:
    assert modbus.crc16(b"123456789") == 0x4B37
    assert modbus.read_request(1, modbus.READ_HOLDING, 0, 1).hex(" ") == "01 03 00 00 00 01 84 0a"


@pytest.mark.parametrize(("frame", "golden"), [
    (p.poll_request(1), "01 04 00 00 00 07 b1 c8"),
    (p.mode_request(1, p.Mode.PLEASE_RATE), "01 06 00 00 00 02 08 0b"),
    (p.ack_request(1, 5), "01 06 00 04 00 05 08 08"),
    (p.mode_request(17, p.Mode.IDLE), "11 06 00 00 00 00 8b 5a"),
])
def test_golden_bytes_of_every_host_command(frame: bytes, golden: str) -> None:
    assert frame.hex(" ") == golden


def test_details_write_name_as_utf16_units() -> None:
    timing, name = p.details_requests(3, "张𠮷", 1007, 4, 30)
    assert timing.hex(" ")[:26] == "03 10 00 01 00 03 06 00 1e"
    assert name[:7] == bytes([3, 0x10, 0, 16, 0, 16, 32])
    units = [int.from_bytes(name[7 + 2 * i:9 + 2 * i], "big") for i in range(16)]
    assert units[:3] == [0x5F20, 0xD842, 0xDFB7] and units[3:] == [0] * 13
    assert p.decode_name(units) == "张𠮷"


def test_response_errors_are_typed() -> None:
    good = modbus.read_response(1, modbus.READ_INPUT, [1, 2])
    assert modbus.parse_response(good, 1, modbus.READ_INPUT, 2) == [1, 2]
    with pytest.raises(modbus.CrcError):
        modbus.parse_response(good[:-1] + b"\x00", 1, modbus.READ_INPUT, 2)
    with pytest.raises(modbus.ExceptionResponse) as err:
        modbus.parse_response(modbus.exception_response(1, 4, 2), 1, modbus.READ_INPUT, 2)
    assert err.value.code == 2 and "异常码" in err.value.message
    with pytest.raises(ProtocolError):
        modbus.parse_response(good, 2, modbus.READ_INPUT, 2)  # another address answered
    with pytest.raises(ProtocolError):
        modbus.parse_response(good[:3], 1, modbus.READ_INPUT, 2)


def test_take_request_resyncs_after_garbage() -> None:
    buf = bytearray(b"\x00\xff\x13\x01\x04" + p.poll_request(7) + b"\x99" + p.ack_request(7, 3))
    first = modbus.take_request(buf)
    second = modbus.take_request(buf)
    assert first == modbus.Request(7, modbus.READ_INPUT, 0, 7)
    assert second == modbus.Request(7, modbus.WRITE_SINGLE, 4, 1, (3,))
    assert modbus.take_request(buf) is None


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=80), st.integers(0, 60))
def test_parsers_survive_random_and_truncated_input(noise: bytes, cut: int) -> None:
    for fn, count in ((modbus.READ_INPUT, 7), (modbus.WRITE_SINGLE, 0)):
        try:
            modbus.parse_response(noise[:cut], 1, fn, count)
        except ProtocolError:
            pass
    buf = bytearray(noise + p.poll_request(1))
    found = []
    while (req := modbus.take_request(buf)) is not None:
        found.append(req)
    assert modbus.Request(1, modbus.READ_INPUT, 0, 7) in found or len(noise) > 0
    assert found[-1] == modbus.Request(1, modbus.READ_INPUT, 0, 7) if found else True
