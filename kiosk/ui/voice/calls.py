"""The display board's calls, aloud: "请 A012 号 到 3 号窗口", spoken in Mandarin by espeak-ng, one call after another.

One speaker thread takes calls from a queue, so two calls never talk over each other however fast
windows call. Each call is spoken ``repeat`` times. With ``record_dir`` (tours, tests) every
utterance is kept as a WAV with its start and end times instead of being played.
"""

from __future__ import annotations

import json
import queue
import shutil
import subprocess
import tempfile
import threading
import time
from pathlib import Path

from kiosk.ui.voice.sound import duration, synthesize

DIGITS = "零一二三四五六七八九"


def spoken_number(number: str) -> str:
    """Digits read one by one ("A012" → "A 零一二"), as halls call them."""
    letters = "".join(c for c in number if not c.isdigit())
    digits = "".join(DIGITS[int(c)] for c in number if c.isdigit())
    return f"{letters} {digits} 号"


def speech_text(number: str, window: int, recall: bool = False) -> str:
    """The call as the board says it; the window as a number word."""
    again = "再次呼叫，" if recall else ""
    return f"{again}请 {spoken_number(number)}，到 {_window_words(window)} 号窗口"


def _window_words(n: int) -> str:
    if n < 10:
        return DIGITS[n]
    if n < 20:
        return "十" + (DIGITS[n % 10] if n % 10 else "")
    if n < 100:
        return DIGITS[n // 10] + "十" + (DIGITS[n % 10] if n % 10 else "")
    return "".join(DIGITS[int(c)] for c in str(n))


class Voice:
    def __init__(self, engine: str = "espeak-ng", volume: int = 100, repeat: int = 2, speed: int = 170,
                 record_dir: Path | None = None) -> None:
        self.engine = engine if engine != "off" and shutil.which("espeak-ng") else "off"
        self.volume = max(0, min(200, volume))
        self.repeat = max(1, min(5, repeat))
        self.speed = speed
        self.record_dir = record_dir
        self.problem = "" if self.engine != "off" or engine == "off" else "未安装 espeak-ng：叫号不播报语音"
        self._queue: queue.Queue[str | None] = queue.Queue()
        self._count = 0
        self.spoken = 0  # utterances finished
        self._thread = threading.Thread(target=self._run, name="voice", daemon=True)
        self._thread.start()

    def announce(self, number: str, window: int, recall: bool = False) -> None:
        self._queue.put(speech_text(number, window, recall))

    def close(self) -> None:
        """Calls not yet spoken are dropped: a display being shut down does not keep talking."""
        try:
            while True:
                self._queue.get_nowait()
                self._queue.task_done()
        except queue.Empty:
            pass
        self._queue.put(None)
        self._thread.join(timeout=10)

    def _run(self) -> None:
        while True:
            text = self._queue.get()
            try:
                if text is None:
                    return
                for _ in range(self.repeat):
                    self._say(text)
                    self.spoken += 1
            finally:
                self._queue.task_done()

    def _say(self, text: str) -> None:
        if self.engine == "off":
            return
        started = time.time()
        with tempfile.TemporaryDirectory() as tmp:
            wav = Path(tmp) / "call.wav"
            if not synthesize(text, wav, self.volume, self.speed):
                self.problem = "语音合成失败 speech synthesis failed"
                return
            if self.record_dir is None:
                played = subprocess.run(["aplay", "-q", str(wav)], capture_output=True, timeout=60)
                self.problem = "" if played.returncode == 0 else "没有可用的音频设备 no audio device"
                return
            # recorded (tours, tests): kept with its times, as long as playing it would take
            self.record_dir.mkdir(parents=True, exist_ok=True)
            self._count += 1
            kept = self.record_dir / f"{self._count:03d}.wav"
            shutil.copy(wav, kept)
            time.sleep(duration(kept))
            with (self.record_dir / "spoken.jsonl").open("a", encoding="utf-8") as log:
                log.write(json.dumps({"file": kept.name, "text": text, "start": started, "end": time.time()},
                                     ensure_ascii=False) + "\n")
