"""The keypad host driver against simulated keypads on real pseudo-terminals."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from pymodbus.client import ModbusSerialClient

from drivers.keypad import protocol as p
from drivers.keypad.driver import KeypadBus, KeypadOffline, KeypadOnline, KeyPress, RatingTimedOut
from drivers.keypad.simulator import Faults, KeypadBusSimulator


@pytest.fixture
def line() -> Iterator[KeypadBusSimulator]:
    with KeypadBusSimulator([1, 2, 3]) as sim:
        yield sim


def rate(bus: KeypadBus, sim: KeypadBusSimulator, address: int, key: int) -> list[object]:
    bus.please_rate(address, "李四", 1007, address)
    bus.poll_once()
    assert sim.keypad(address).mode == p.Mode.PLEASE_RATE
    assert sim.press(address, key)
    presses = [e for e in bus.poll_once() if isinstance(e, KeyPress)]
    for e in presses:
        bus.acknowledge(e.address, e.seq)  # stored
    return presses


def test_a_rating_round_trip(line: KeypadBusSimulator) -> None:
    bus = KeypadBus(line.path, [1, 2, 3])
    assert bus.poll_once() == []
    bus.please_rate(2, "王晓明", 1001, 3, timeout_s=45)
    bus.poll_once()
    keypad = line.keypad(2)
    assert keypad.clerk_name == "王晓明" and keypad.holding[p.H_CLERK_NUMBER] == 1001
    assert keypad.holding[p.H_RATE_TIMEOUT] == 45 and keypad.mode == p.Mode.PLEASE_RATE
    assert line.press(2, 2)
    assert not line.press(2, 5)  # one rating per service: the keypad stopped listening
    assert bus.poll_once() == [KeyPress(2, 1, 2)]
    # not acknowledged before the host has stored it: the keypad keeps it, and it is not reported twice
    assert list(keypad.queue) == [(1, 2)] and keypad.mode == p.Mode.THANK_YOU
    assert bus.poll_once() == []
    bus.acknowledge(2, 1)
    assert bus.poll_once() == []
    assert list(keypad.queue) == []
    bus.stop()


def test_a_press_survives_a_host_that_dies_before_storing_it(line: KeypadBusSimulator) -> None:
    first = KeypadBus(line.path, [1])
    first.please_rate(1, "李四", 7, 1)
    first.poll_once()
    assert line.press(1, 4)
    assert first.poll_once() == [KeyPress(1, 1, 4)]
    first.stop()  # killed before the hall stored the rating: no acknowledgement was sent
    second = KeypadBus(line.path, [1])
    assert second.poll_once() == [KeyPress(1, 1, 4)]  # the restarted host sees the same press again
    second.acknowledge(1, 1)
    second.poll_once()
    assert list(line.keypad(1).queue) == []
    second.stop()


def test_a_lost_acknowledgement_is_repeated_not_counted_again(line: KeypadBusSimulator) -> None:
    bus = KeypadBus(line.path, [1], reply_timeout=0.05, offline_after=5)
    bus.please_rate(1, "李四", 7, 1)
    bus.poll_once()
    assert line.press(1, 5)
    assert bus.poll_once() == [KeyPress(1, 1, 5)]
    line.faults.unplugged.add(1)  # the acknowledgement never reaches the keypad
    bus.acknowledge(1, 1)
    bus.poll_once()
    bus._commands.clear()  # the host gave up on that write (as after a restart): only the poll can repair it
    line.faults.unplugged.clear()
    assert list(line.keypad(1).queue) == [(1, 5)]
    assert bus.poll_once() == []  # shown again: acknowledged again, no second event
    assert list(line.keypad(1).queue) == []
    bus.stop()


def test_presses_outside_please_rate_are_ignored(line: KeypadBusSimulator) -> None:
    bus = KeypadBus(line.path, [1])
    assert not line.press(1, 5)
    assert bus.poll_once() == []
    bus.stop()


def test_two_presses_between_polls_are_both_counted(line: KeypadBusSimulator) -> None:
    keypad = line.keypad(1)
    for key in (4, 1):  # two services finished and rated before the host polled
        keypad.write(p.H_MODE, (int(p.Mode.PLEASE_RATE),), 0.0)
        assert line.press(1, key)
    bus = KeypadBus(line.path, [1])
    first = bus.poll_once()
    assert first == [KeyPress(1, 1, 4)]
    bus.acknowledge(1, 1)
    second = bus.poll_once()
    assert second == [KeyPress(1, 2, 1)]
    bus.stop()


def test_no_press_lost_or_counted_twice_on_a_bad_line() -> None:
    faults = Faults(noise=0.3, drop=0.2, corrupt=0.2)
    with KeypadBusSimulator([5, 9], faults=faults, seed=7) as sim:
        bus = KeypadBus(sim.path, [5, 9], reply_timeout=0.1, offline_after=50, retries=2)
        pressed: list[tuple[int, int]] = []
        seen: list[KeyPress] = []

        def store(presses: list[KeyPress]) -> list[KeyPress]:
            for e in presses:
                bus.acknowledge(e.address, e.seq)
            return presses

        for i in range(12):
            address = (5, 9)[i % 2]
            bus.please_rate(address, "张三", 1, 1)
            for _ in range(40):  # the command is retried until the keypad shows please-rate
                seen += store([e for e in bus.poll_once() if isinstance(e, KeyPress)])
                if sim.keypad(address).mode == p.Mode.PLEASE_RATE:
                    break
            assert sim.press(address, i % 5 + 1)
            pressed.append((address, i % 5 + 1))
        faults.noise = faults.drop = faults.corrupt = 0.0
        for _ in range(30):
            seen += store([e for e in bus.poll_once() if isinstance(e, KeyPress)])
        assert sorted((e.address, e.level) for e in seen) == sorted(pressed)
        assert len({(e.address, e.seq) for e in seen}) == len(seen)
        assert bus.errors > 0  # the line really was bad
        bus.stop()


def test_rating_timeout_is_reported(line: KeypadBusSimulator) -> None:
    bus = KeypadBus(line.path, [1])
    bus.please_rate(1, "李四", 7, 1)
    bus.poll_once()
    line.keypad(1).expire()
    assert bus.poll_once() == [RatingTimedOut(1)]
    assert bus.poll_once() == []
    bus.stop()


def test_one_keypad_unplugged_the_others_still_work(line: KeypadBusSimulator) -> None:
    bus = KeypadBus(line.path, [1, 2, 3], reply_timeout=0.05, offline_after=2)
    line.faults.unplugged.add(3)
    events = bus.poll_once() + bus.poll_once()
    offline = [e for e in events if isinstance(e, KeypadOffline)]
    assert len(offline) == 1 and offline[0].address == 3 and "3 号评价器没有应答" in offline[0].reason
    assert rate(bus, line, 1, 5) == [KeyPress(1, 1, 5)]
    line.faults.unplugged.clear()
    assert KeypadOnline(3) in bus.poll_once()
    bus.stop()


def test_whole_line_unplugged_and_replugged(tmp_path: Path) -> None:
    link = tmp_path / "ttyKEYPAD"
    first = KeypadBusSimulator([1])
    first.start()
    os.symlink(first.path, link)
    bus = KeypadBus(str(link), [1], reply_timeout=0.05, offline_after=2)
    assert bus.poll_once() == []
    first.stop()  # the USB adapter is pulled out
    events = bus.poll_once() + bus.poll_once() + bus.poll_once()
    assert any(isinstance(e, KeypadOffline) for e in events)
    second = KeypadBusSimulator([1])
    second.start()
    link.unlink()
    os.symlink(second.path, link)  # plugged back in
    assert KeypadOnline(1) in bus.poll_once() + bus.poll_once()
    assert rate(bus, second, 1, 3) == [KeyPress(1, 1, 3)]
    bus.stop()
    second.stop()


def test_a_standard_modbus_tool_can_drive_a_keypad_from_the_documented_map(line: KeypadBusSimulator) -> None:
    client = ModbusSerialClient(port=line.path, baudrate=9600, timeout=1)
    assert client.connect()
    status, seq, key, pending, mode, device_id, _fw = client.read_input_registers(0, count=7, device_id=2).registers
    assert (status & 1, seq, key, pending, mode, device_id) == (1, 0, 0, 0, 0, 0x4B50)
    assert not client.write_registers(16, [0x738B, 0x4E94] + [0] * 14, device_id=2).isError()  # 王五
    assert not client.write_register(0, 2, device_id=2).isError()  # please rate
    assert line.keypad(2).clerk_name == "王五"
    assert line.press(2, 4)
    status, seq, key, pending, mode, *_ = client.read_input_registers(0, count=7, device_id=2).registers
    assert (status & 2, seq, key, pending, mode) == (2, 1, 4, 1, 3)
    assert not client.write_register(4, seq, device_id=2).isError()  # acknowledge
    assert client.read_input_registers(1, count=1, device_id=2).registers == [0]
    assert client.read_input_registers(50, count=1, device_id=2).isError()  # outside the map: exception 02
    client.close()


def test_the_loop_polls_waiting_keypads_every_pass_and_the_rest_in_turn() -> None:
    bus = KeypadBus("loop://", list(range(1, 11)))
    bus.armed = {3, 7}
    passes = [bus._due(everyone=False) for _ in range(8)]
    assert all(due[:2] == [3, 7] and len(due) == 3 for due in passes)
    assert {due[2] for due in passes} == {1, 2, 4, 5, 6, 8, 9, 10}  # every idle keypad checked in turn
    assert bus._due(everyone=True) == list(range(1, 11))


def test_a_standard_modbus_tool_gets_the_documented_exceptions(line: KeypadBusSimulator) -> None:
    """docs/keypad-protocol.md: unsupported functions answer 01, registers outside the map 02, bad values 03.
    A keypad that stays silent instead would look unplugged to the technician's tool."""
    client = ModbusSerialClient(port=line.path, baudrate=9600, timeout=1, retries=0)
    assert client.connect()
    for request in (lambda: client.read_coils(0, count=1, device_id=1),
                    lambda: client.write_coil(0, True, device_id=1),
                    lambda: client.read_device_information(device_id=1),
                    lambda: client.read_exception_status(device_id=1)):
        reply = request()
        assert reply.isError() and reply.exception_code == 1, reply
    for register in (5, 15, 32, 200):  # the reserved 5-15 and beyond the map
        reply = client.write_register(register, 1, device_id=1)
        assert reply.isError() and reply.exception_code == 2, (register, reply)
    reply = client.write_registers(14, [0, 0, 0x738B], device_id=1)  # runs into the name from a reserved one
    assert reply.isError() and reply.exception_code == 2
    reply = client.write_register(0, 9, device_id=1)  # mode 9 does not exist
    assert reply.isError() and reply.exception_code == 3
    assert client.read_holding_registers(5, count=11, device_id=1).registers == [0] * 11  # reserved read as 0
    assert not client.write_register(1, 45, device_id=1).isError()  # and the keypad still works
    client.close()
