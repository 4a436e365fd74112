"""GA/T 467 serial framing of resident ID card readers, pure.

Request  ``AA AA AA 96 69 | LEN(2, big-endian) | CMD | PARA | DATA | CHK``
Response ``AA AA AA 96 69 | LEN | SW1 SW2 SW3 | DATA | CHK``
LEN counts everything after itself including CHK; CHK is the XOR of every byte after the
preamble except itself. The card's text block is 256 bytes of UCS-2LE (UTF-16LE here, so
that a rare character outside the BMP such as 𠮷 survives), space padded.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass, field
from datetime import date
from functools import reduce

from drivers.errors import ProtocolError

PREAMBLE = b"\xaa\xaa\xaa\x96\x69"
RESET = (0x10, 0xFF)
SAM_STATUS = (0x11, 0xFF)
FIND_CARD = (0x20, 0x01)
SELECT_CARD = (0x20, 0x02)
READ_BASE = (0x30, 0x01)

SW_OK = 0x90
SW_CARD_FOUND = 0x9F
SW_FIND_FAILED = 0x80
SW_SELECT_FAILED = 0x81
SW_CHECKSUM = 0x10
SW_LENGTH = 0x11
SW_COMMAND = 0x21
SW_READ_FAILED = 0x41
STATUS_TEXT = {
    SW_OK: ("成功", "OK"),
    SW_CARD_FOUND: ("找到身份证", "card found"),
    SW_FIND_FAILED: ("未放身份证", "no card on the reader"),
    SW_SELECT_FAILED: ("选卡失败，请重新放置身份证", "could not select the card; place it again"),
    SW_CHECKSUM: ("校验和错误", "checksum error"),
    SW_LENGTH: ("长度错误", "length error"),
    SW_COMMAND: ("命令错误", "command error"),
    SW_READ_FAILED: ("读卡失败，请重新放置身份证", "reading failed; place the card again"),
}

# text block: field, bytes
LAYOUT = (("name", 30), ("sex", 2), ("nation", 4), ("birth", 16), ("address", 70), ("id_number", 36),
          ("authority", 30), ("valid_from", 16), ("valid_to", 16), ("reserved", 36))
TEXT_SIZE = 256
PHOTO_SIZE = 1024
NATIONS = {"01": "汉", "02": "蒙古", "03": "回", "04": "藏", "05": "维吾尔", "06": "苗", "07": "彝", "08": "壮",
           "09": "布依", "10": "朝鲜", "11": "满", "12": "侗", "13": "瑶", "14": "白", "15": "土家", "16": "哈尼",
           "17": "哈萨克", "18": "傣", "19": "黎", "22": "畲", "25": "水", "28": "纳西"}


def checksum(data: bytes) -> int:
    return reduce(lambda a, b: a ^ b, data, 0)


def request(command: tuple[int, int], data: bytes = b"") -> bytes:
    body = struct.pack(">H", len(data) + 3) + bytes(command) + data
    return PREAMBLE + body + bytes([checksum(body)])


def response(sw3: int, data: bytes = b"") -> bytes:
    body = struct.pack(">H", len(data) + 4) + bytes([0, 0, sw3]) + data
    return PREAMBLE + body + bytes([checksum(body)])


class ChecksumError(ProtocolError):
    def __init__(self) -> None:
        super().__init__("读卡器数据校验错误（线路干扰或波特率不符）。", "Checksum error (line noise or wrong baud rate).")


class TruncatedFrame(ProtocolError):
    def __init__(self) -> None:
        super().__init__("读卡器数据不完整。", "Truncated frame from the reader.")


def take_frame(buf: bytearray) -> bytes | None:
    """Take one complete frame's payload (after LEN, without CHK) off ``buf``.

    Bytes before a preamble are noise and dropped. Returns None while a frame is still
    incomplete; raises ChecksumError for a complete frame whose checksum fails (it is
    dropped, so the next call resynchronises).
    """
    start = buf.find(PREAMBLE)
    if start < 0:
        del buf[:max(0, len(buf) - len(PREAMBLE) + 1)]
        return None
    del buf[:start]
    if len(buf) < 7:
        return None
    length = struct.unpack(">H", buf[5:7])[0]
    if length < 2 or length > 4096:
        del buf[:1]
        raise ProtocolError("读卡器数据长度异常。", f"Implausible frame length {length}.")
    end = 7 + length
    if len(buf) < end:
        return None
    frame = bytes(buf[:end])
    del buf[:end]
    if checksum(frame[5:-1]) != frame[-1]:
        raise ChecksumError()
    return frame[7:-1]


def _field(block: bytes, offset: int, size: int) -> str:
    return block[offset:offset + size].decode("utf-16-le", errors="replace").rstrip(" \x00")


@dataclass(frozen=True)
class CardData:
    """What the chip says. Raw personal data: kept in memory only, never logged (repr is masked)."""

    name: str = field(repr=False)
    sex: str  # "1" male, "2" female
    nation: str
    birth: str = field(repr=False)
    address: str = field(repr=False)
    id_number: str = field(repr=False)
    authority: str
    valid_from: str
    valid_to: str  # YYYYMMDD or 长期

    def __repr__(self) -> str:
        return f"CardData({self.id_number[:4]}**********{self.id_number[-4:]}, valid to {self.valid_to})"

    def expired(self, today: date) -> bool:
        if self.valid_to.startswith("长期"):
            return False
        try:
            return date(int(self.valid_to[:4]), int(self.valid_to[4:6]), int(self.valid_to[6:8])) < today
        except ValueError:
            return True

    def identity(self) -> dict[str, str]:
        """The hall API's identity object; nothing else of the card leaves the reader's caller. The card's
        valid-until date travels with it, so that the hall (not a screen) refuses an expired card."""
        long_term = self.valid_to.startswith("长期")
        until = "长期" if long_term else f"{self.valid_to[:4]}-{self.valid_to[4:6]}-{self.valid_to[6:8]}"
        return {"id_number": self.id_number, "name": self.name, "source": "card", "valid_until": until}

    @property
    def nation_name(self) -> str:
        return NATIONS.get(self.nation, self.nation)


def parse_text(block: bytes) -> CardData:
    if len(block) != TEXT_SIZE:
        raise ProtocolError("身份证文字信息长度不符。", f"Text block of {len(block)} bytes, expected {TEXT_SIZE}.")
    values: dict[str, str] = {}
    offset = 0
    for name, size in LAYOUT:
        values[name] = _field(block, offset, size)
        offset += size
    del values["reserved"]
    if not values["id_number"] or not values["name"]:
        raise ProtocolError("身份证信息为空，请重新放置身份证。", "The card's text is empty; place it again.")
    return CardData(**values)


def encode_text(card: CardData) -> bytes:
    out = b""
    for name, size in LAYOUT:
        value = getattr(card, name, "") if name != "reserved" else ""
        raw = value.encode("utf-16-le")[:size]
        out += raw + " ".encode("utf-16-le") * ((size - len(raw)) // 2)
    return out


def parse_read(payload: bytes) -> CardData:
    """Payload of a READ_BASE response: SW(3), text length, photo length, text, photo."""
    if len(payload) < 7:
        raise TruncatedFrame()
    text_len, photo_len = struct.unpack(">HH", payload[3:7])
    if text_len != TEXT_SIZE or len(payload) < 7 + text_len + photo_len:
        raise TruncatedFrame()
    return parse_text(payload[7:7 + text_len])


def read_payload(card: CardData, photo: bytes = b"\x00" * PHOTO_SIZE) -> bytes:
    return struct.pack(">HH", TEXT_SIZE, len(photo)) + encode_text(card) + photo
