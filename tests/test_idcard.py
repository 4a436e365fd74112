"""ID card reader: golden frames, the text block, fuzzed parsing, and pty round trips with faults."""

from __future__ import annotations

from datetime import date

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from drivers.errors import DeviceTimeout, ProtocolError
from drivers.idcard import protocol as p
from drivers.idcard.driver import CardReadError, IdCardReader
from drivers.idcard.simulator import SAMPLE_CARDS, IdCardSimulator, ReaderFaults
from kiosk.domain.identity import validate_number


@pytest.mark.parametrize(("command", "golden"), [
    (p.RESET, "aa aa aa 96 69 00 03 10 ff ec"),
    (p.SAM_STATUS, "aa aa aa 96 69 00 03 11 ff ed"),
    (p.FIND_CARD, "aa aa aa 96 69 00 03 20 01 22"),
    (p.SELECT_CARD, "aa aa aa 96 69 00 03 20 02 21"),
    (p.READ_BASE, "aa aa aa 96 69 00 03 30 01 32"),
])
def test_golden_request_frames(command: tuple[int, int], golden: str) -> None:
    assert p.request(command).hex(" ") == golden


def test_read_response_layout() -> None:
    frame = p.response(p.SW_OK, p.read_payload(SAMPLE_CARDS["zhang"]))
    assert frame[5:7] == b"\x05\x08" and len(frame) == 1295  # LEN 0x0508, as real readers send
    buf = bytearray(b"\x13\x37" + frame)
    card = p.parse_read(p.take_frame(buf) or b"")
    assert (card.name, card.sex, card.nation_name, card.birth) == ("张小三", "1", "汉", "19800101")
    assert card.valid_to == "20400101" and not buf


def test_sample_cards_carry_valid_numbers_and_masked_repr() -> None:
    for card in SAMPLE_CARDS.values():
        assert validate_number(card.id_number, date(2026, 11, 23)) == card.id_number
        assert card.id_number not in repr(card) and card.name not in repr(card)


def test_expiry_and_long_term_validity() -> None:
    today = date(2026, 11, 23)
    assert SAMPLE_CARDS["expired"].expired(today)
    assert not SAMPLE_CARDS["zhang"].expired(today)
    assert not SAMPLE_CARDS["elder"].expired(today)  # 长期


def test_checksum_error_then_resync() -> None:
    good = p.response(p.SW_OK)
    bad = good[:-1] + bytes([good[-1] ^ 1])
    buf = bytearray(bad + good)
    with pytest.raises(p.ChecksumError):
        p.take_frame(buf)
    assert p.take_frame(buf) == b"\x00\x00\x90"


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=400), st.integers(0, 1400))
def test_parsers_survive_random_and_truncated_input(noise: bytes, cut: int) -> None:
    frame = p.response(p.SW_OK, p.read_payload(SAMPLE_CARDS["rare"]))
    for data in (noise, frame[:cut], noise + frame[:cut]):
        buf = bytearray(data)
        for _ in range(5):
            try:
                if p.take_frame(buf) is None:
                    break
            except ProtocolError:
                continue
        try:
            p.parse_read(data)
        except ProtocolError:
            pass
    buf = bytearray(noise + frame)  # after any garbage the real frame is still found
    payloads = []
    for _ in range(50):
        try:
            got = p.take_frame(buf)
        except ProtocolError:
            continue
        if got is None:
            break
        payloads.append(got)
    assert payloads and p.parse_read(payloads[-1]).name == "吉𠮷堃喆"


def test_reading_cards_over_a_pty() -> None:
    with IdCardSimulator() as sim:
        reader = IdCardReader(sim.path)
        assert "OK" in reader.probe()
        assert reader.read_card() is None  # nothing on the reader
        sim.place("rare")
        card = reader.read_card()
        assert card is not None and card.name == "吉𠮷堃喆" and card.identity()["id_number"] == "110101199005050022"
        sim.place("expired")
        card = reader.read_card()
        assert card is not None and card.expired(date(2026, 11, 23))
        sim.remove()
        assert reader.read_card() is None
        reader.close()


def test_line_faults_are_retried_or_reported_typed() -> None:
    with IdCardSimulator(ReaderFaults(checksum=0.3, truncate=0.2, noise=0.3), seed=3) as sim:
        sim.place("zhang")
        reader = IdCardReader(sim.path, timeout=0.3, retries=3)
        outcomes = {"ok": 0, "typed": 0}
        for _ in range(15):
            try:
                card = reader.read_card()
                assert card is not None and card.name == "张小三"  # never a wrong card
                outcomes["ok"] += 1
            except (ProtocolError, DeviceTimeout, CardReadError) as exc:
                assert exc.message and exc.message_en
                outcomes["typed"] += 1
        assert outcomes["ok"] >= 5
        reader.close()


def test_unplugged_reader_says_what_to_check() -> None:
    with IdCardSimulator(ReaderFaults(unplugged=True)) as sim:
        reader = IdCardReader(sim.path, timeout=0.1)
        with pytest.raises(DeviceTimeout) as err:
            reader.read_card()
        assert "没有应答" in err.value.message and "115200" in err.value.message
        reader.close()
