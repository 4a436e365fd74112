"""A simulated ESC/POS printer: it interprets the byte stream into a PNG that looks like the
slip (text sizes, alignment, raster images and QR codes, cuts) and answers status requests
with switchable faults (paper low, paper out, cover open, unplugged). A TCP front end makes
it a network printer (port 9100 style) that real drivers can print to."""

from __future__ import annotations

import socket
import threading
from dataclasses import dataclass, field
from pathlib import Path

from PIL import Image, ImageDraw

from drivers.printer.fonts import cjk_font
from drivers.printer.render import BASE_PX, PAPER_PX
from drivers.ptylink import PtyDevice


@dataclass
class PaperState:
    paper_low: bool = False
    paper_out: bool = False
    cover_open: bool = False
    unplugged: bool = False


@dataclass
class PrinterSimulator:
    paper: int = 80
    state: PaperState = field(default_factory=PaperState)
    received: bytearray = field(default_factory=bytearray)
    cuts: int = 0
    texts: list[str] = field(default_factory=list)  # every text line printed, decoded

    def __post_init__(self) -> None:
        self._pending = b""
        self.width = PAPER_PX[self.paper]
        self.rows: list[Image.Image] = []
        self._reset_style()
        self._text = bytearray()

    def _reset_style(self) -> None:
        self.align = "left"
        self.bold = False
        self.height = 1
        self.chinese = False

    # -- status -----------------------------------------------------------------------
    def status_reply(self, n: int) -> bytes:
        s = self.state
        if n == 2:
            return bytes([0x12 | (0x04 if s.cover_open else 0) | (0x20 if s.paper_out else 0)])
        if n == 4:
            return bytes([0x12 | (0x0C if s.paper_low or s.paper_out else 0) | (0x60 if s.paper_out else 0)])
        return bytes([0x12])

    # -- interpretation ---------------------------------------------------------------------
    def feed(self, data: bytes) -> bytes:
        """Consume bytes; return what the printer answers (status replies)."""
        self.received += data
        data = self._pending + data
        self._pending = b""
        answers = bytearray()
        i = 0
        while i < len(data):
            b = data[i]
            nxt = data[i + 1] if i + 1 < len(data) else None
            if b in (0x1B, 0x1D, 0x1C, 0x10) and not self._complete(data, i):
                self._pending = data[i:]  # a command split across reads: finish it with the next bytes
                break
            if b == 0x1B and nxt == 0x40:  # ESC @
                self._flush()
                self._reset_style()
                i += 2
            elif b == 0x1B and nxt == 0x61:  # ESC a n
                self.align = {0: "left", 1: "center", 2: "right"}.get(data[i + 2] % 48, "left")
                i += 3
            elif b == 0x1B and nxt == 0x45:  # ESC E n
                self.bold = bool(data[i + 2] & 1)
                i += 3
            elif b == 0x1B and nxt == 0x64:  # ESC d n
                self._flush()
                self._blank(data[i + 2] * BASE_PX)
                i += 3
            elif b == 0x1D and nxt == 0x21:  # GS ! n
                self.height = (data[i + 2] & 0x0F) + 1
                i += 3
            elif b == 0x1C and nxt == 0x21:  # FS ! n
                i += 3
            elif b == 0x1C and nxt == 0x26:  # FS &
                self.chinese = True
                i += 2
            elif b == 0x1C and nxt == 0x2E:  # FS .
                self.chinese = False
                i += 2
            elif b == 0x1D and nxt == 0x56:  # GS V m [n]
                self._flush()
                self._cut()
                i += 4 if data[i + 2] in (65, 66) else 3
            elif b == 0x1D and nxt == 0x76:  # GS v 0 m xL xH yL yH
                self._flush()
                xb = data[i + 4] | data[i + 5] << 8
                h = data[i + 6] | data[i + 7] << 8
                raw = data[i + 8:i + 8 + xb * h]
                img = Image.frombytes("1", (xb * 8, h), bytes(x ^ 0xFF for x in raw))
                self._row(img)
                i += 8 + xb * h
            elif b == 0x10 and nxt == 0x04:  # DLE EOT n
                answers += self.status_reply(data[i + 2])
                i += 3
            elif b == 0x0A:
                self._flush(force=True)
                i += 1
            elif b < 0x20:
                i += 1  # other control bytes: ignored, as a printer would
            else:
                self._text.append(b)
                i += 1
        return bytes(answers)

    @staticmethod
    def _complete(data: bytes, i: int) -> bool:
        """Whether the command starting at data[i] is all there."""
        if i + 1 >= len(data):
            return False
        b, nxt = data[i], data[i + 1]
        need = 2
        if (b, nxt) in ((0x1B, 0x61), (0x1B, 0x45), (0x1B, 0x64), (0x1D, 0x21), (0x1C, 0x21), (0x10, 0x04)):
            need = 3
        elif (b, nxt) == (0x1D, 0x56):
            if i + 2 >= len(data):
                return False
            need = 4 if data[i + 2] in (65, 66) else 3
        elif (b, nxt) == (0x1D, 0x76):
            if i + 8 > len(data):
                return False
            need = 8 + (data[i + 4] | data[i + 5] << 8) * (data[i + 6] | data[i + 7] << 8)
        return i + need <= len(data)

    def _flush(self, force: bool = False) -> None:
        if not self._text and not force:
            return
        text = bytes(self._text).decode("gb18030" if self.chinese or any(c > 0x7F for c in self._text) else "ascii",
                     errors="replace")
        self._text.clear()
        self.texts.append(text)
        font = cjk_font(BASE_PX * self.height)
        img = Image.new("1", (self.width, int(BASE_PX * self.height * 1.3)), 1)
        draw = ImageDraw.Draw(img)
        w = draw.textlength(text, font=font)
        x = {"left": 0, "center": (self.width - w) / 2, "right": self.width - w}[self.align]
        draw.text((max(0, x), 0), text, font=font, fill=0, stroke_width=1 if self.bold else 0, stroke_fill=0)
        self._row(img)

    def _row(self, img: Image.Image) -> None:
        self.rows.append(img.crop((0, 0, self.width, img.height)) if img.width != self.width else img)

    def _blank(self, height: int) -> None:
        if height:
            self.rows.append(Image.new("1", (self.width, height), 1))

    def _cut(self) -> None:
        self.cuts += 1
        img = Image.new("1", (self.width, 12), 1)
        draw = ImageDraw.Draw(img)
        for x in range(0, self.width, 12):
            draw.line((x, 6, x + 6, 6), fill=0)
        self.rows.append(img)

    def image(self) -> Image.Image:
        self._flush()
        height = sum(r.height for r in self.rows) + 32
        page = Image.new("L", (self.width + 32, height), 255)
        y = 16
        for row in self.rows:
            page.paste(row.convert("L"), (16, y))
            y += row.height
        return page

    def save_png(self, path: Path | str) -> None:
        self.image().save(path)


class SimulatedPrinter:
    """A simulated printer plugged in under a name (``simulator://NAME``; the empty name by default), as the
    ports see it: its paper and faults, every byte it was sent, and an output tray where each job is drawn as
    a PNG (the demo's and the tours' printed slips)."""

    def __init__(self, paper: int = 80, state: PaperState | None = None, tray: Path | None = None) -> None:
        self.sim = PrinterSimulator(paper, state or PaperState())
        self.tray = tray
        self.jobs = 0

    @property
    def state(self) -> PaperState:
        return self.sim.state

    @property
    def received(self) -> bytearray:
        return self.sim.received

    def ask(self, request: bytes) -> bytes:
        return self.sim.feed(request)

    def print_job(self, data: bytes) -> None:
        """One job, drawn on its own (a slip), and kept among the bytes received."""
        self.sim.received += data
        self.jobs += 1
        if self.tray is not None:
            job = PrinterSimulator(self.sim.paper)
            job.feed(data)
            self.tray.mkdir(parents=True, exist_ok=True)
            job.save_png(self.tray / f"slip-{self.jobs:04d}.png")


_PLUGGED: dict[str, SimulatedPrinter] = {}


def plug_in(name: str, printer: SimulatedPrinter) -> SimulatedPrinter:
    """A terminal's devices plug in a fresh simulated printer each time they are opened (fresh paper, no
    faults), replacing any earlier one of that name."""
    _PLUGGED[name] = printer
    return printer


def plugged(name: str, paper: int) -> SimulatedPrinter:
    return _PLUGGED.get(name) or plug_in(name, SimulatedPrinter(paper))


class NetworkPrinterSimulator:
    """The simulator behind a TCP port, as a network printer on 9100 is."""

    def __init__(self, simulator: PrinterSimulator | None = None, host: str = "127.0.0.1", port: int = 0) -> None:
        self.sim = simulator or PrinterSimulator()
        self.server = socket.create_server((host, port))
        self.host, self.port = self.server.getsockname()[:2]
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._serve, name="printer-sim", daemon=True)

    def __enter__(self) -> NetworkPrinterSimulator:
        self._thread.start()
        return self

    def __exit__(self, *_exc: object) -> None:
        self._stop.set()
        self.server.close()
        self._thread.join(timeout=2)

    def _serve(self) -> None:
        self.server.settimeout(0.1)
        while not self._stop.is_set():
            try:
                conn, _ = self.server.accept()
            except OSError:
                continue
            with conn:
                if self.sim.state.unplugged:
                    continue
                conn.settimeout(0.2)
                while not self._stop.is_set():
                    try:
                        data = conn.recv(65536)
                    except TimeoutError:
                        continue
                    except OSError:
                        break
                    if not data:
                        break
                    reply = self.sim.feed(data)
                    if reply:
                        conn.sendall(reply)


class SerialPrinterSimulator(PtyDevice):
    """The simulator behind a pseudo-terminal, as a serial printer is."""

    def __init__(self, simulator: PrinterSimulator | None = None) -> None:
        super().__init__("printer-pty-sim")
        self.sim = simulator or PrinterSimulator()

    def received(self, chunk: bytes, now: float) -> None:
        if not self.sim.state.unplugged:
            reply = self.sim.feed(chunk)
            if reply:
                self.link.write(reply)
