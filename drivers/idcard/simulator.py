"""A simulated ID card reader behind a pseudo-terminal, with cards and faults.

Cards can be placed and removed; faults: checksum errors, truncated frames, noise
before replies, and no reply at all (unplugged).
"""

from __future__ import annotations

import random
from dataclasses import dataclass

from drivers.errors import ProtocolError
from drivers.idcard import protocol as p
from drivers.ptylink import PtyDevice

SAMPLE_CARDS = {
    "zhang": p.CardData("张小三", "1", "01", "19800101", "山东省济南市历下区泉城路1号", "110105198001011238",
                        "济南市公安局历下分局", "20200101", "20400101"),
    "rare": p.CardData("吉𠮷堃喆", "2", "01", "19900505", "北京市东城区东华门大街2号", "110101199005050022",
                       "北京市公安局东城分局", "20150505", "20350505"),
    "elder": p.CardData("王奶奶", "2", "03", "19480315", "山东省青岛市市南区香港中路3号", "370202194803150025",
                        "青岛市公安局市南分局", "20080315", "长期"),
    "expired": p.CardData("李过期", "1", "01", "19850707", "山东省烟台市芝罘区南大街4号", "370602198507070012",
                          "烟台市公安局芝罘分局", "20050707", "20250707"),
}


@dataclass
class ReaderFaults:
    checksum: float = 0.0
    truncate: float = 0.0
    noise: float = 0.0
    unplugged: bool = False


class IdCardSimulator(PtyDevice):
    def __init__(self, faults: ReaderFaults | None = None, seed: int = 0) -> None:
        super().__init__("idcard-sim")
        self._buf = bytearray()
        self.faults = faults or ReaderFaults()
        self.card: p.CardData | None = None
        self._selected = False
        self._random = random.Random(seed)

    def place(self, card: p.CardData | str) -> None:
        self.card = SAMPLE_CARDS[card] if isinstance(card, str) else card
        self._selected = False

    def remove(self) -> None:
        self.card = None
        self._selected = False

    def received(self, chunk: bytes, now: float) -> None:
        self._buf += chunk
        while True:
            try:
                payload = p.take_frame(self._buf)
            except p.ChecksumError:
                self._send(p.response(p.SW_CHECKSUM))
                continue
            except ProtocolError:
                continue
            if payload is None:
                return
            self._send(self._answer(payload))

    def _answer(self, payload: bytes) -> bytes:
        command = tuple(payload[:2])
        if command in (p.RESET, p.SAM_STATUS):
            return p.response(p.SW_OK)
        if command == p.FIND_CARD:
            return p.response(p.SW_CARD_FOUND, b"\x00" * 4) if self.card else p.response(p.SW_FIND_FAILED)
        if command == p.SELECT_CARD:
            self._selected = self.card is not None
            return p.response(p.SW_OK, b"\x00" * 8) if self._selected else p.response(p.SW_SELECT_FAILED)
        if command == p.READ_BASE:
            if not (self._selected and self.card):
                return p.response(p.SW_READ_FAILED)
            return p.response(p.SW_OK, p.read_payload(self.card))
        return p.response(p.SW_COMMAND)

    def _send(self, frame: bytes) -> None:
        f = self.faults
        if f.unplugged:
            return
        if self._random.random() < f.checksum:
            frame = frame[:-1] + bytes([frame[-1] ^ 0xFF])
        if self._random.random() < f.truncate:
            frame = frame[: self._random.randint(1, len(frame) - 1)]
        if self._random.random() < f.noise:
            frame = bytes(self._random.randrange(256) for _ in range(5)) + frame
        self.link.write(frame)
