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


def drain(buf: bytearray, at_gap: bool) -> list[modbus.Request]:
    found = []
    while (req := modbus.take_request(buf, at_gap=at_gap)) is not None:
        found.append(req)
    return found


POLL = modbus.Request(1, modbus.READ_INPUT, 0, 7)


def test_noise_that_makes_a_crc_valid_frame_with_the_polls_first_bytes_does_not_swallow_the_poll() -> None:
    """Hypothesis's find: `31 03` and the poll's `01 04 00 00` carry a valid CRC (`00 07`); the poll survives."""
    burst = bytes.fromhex("31 03") + p.poll_request(1)
    assert modbus.crc_ok(burst[:8])  # the bogus frame really is CRC-valid
    assert drain(bytearray(burst), at_gap=True) == [POLL]
    assert drain(bytearray(burst), at_gap=False) == [POLL]  # whole in the buffer: the longer frame wins too


def test_a_request_cut_short_by_silence_is_dropped_and_the_next_one_read() -> None:
    buf = bytearray(p.poll_request(1)[:5])
    assert modbus.take_request(buf) is None and len(buf) == 5  # without the silence: more may come
    assert modbus.take_request(buf, at_gap=True) is None and buf == bytearray()  # the silence says it will not
    # an announced long write that never comes does not hold back the poll behind it once the line goes quiet
    buf = bytearray(bytes.fromhex("01 10 00 00 00 20 40") + p.poll_request(1))
    assert drain(buf, at_gap=False) == []
    assert drain(buf, at_gap=True) == [POLL]


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=80), st.integers(0, 60))
def test_parsers_survive_random_and_truncated_input(noise: bytes, cut: int) -> None:
    """Whatever noise comes before a poll on the line, the burst read up to the silence yields the poll, last:
    a frame made of noise and the poll's first bytes ends inside the poll and gives way to it. (It holds for
    every frame no proper suffix of which is a valid request, as for every frame the host sends.)"""
    for fn, count in ((modbus.READ_INPUT, 7), (modbus.WRITE_SINGLE, 0)):
        try:
            modbus.parse_response(noise[:cut], 1, fn, count)
        except ProtocolError:
            pass
    frame = p.poll_request(1)
    assert all(not modbus.take_request(bytearray(frame[k:]), at_gap=True) for k in range(1, len(frame)))
    buf = bytearray(noise + frame)
    found = drain(buf, at_gap=True)
    assert found and found[-1] == POLL
    assert buf == bytearray()  # the silence leaves nothing behind
