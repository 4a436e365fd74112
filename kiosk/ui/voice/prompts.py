"""语音引导: each kiosk screen's main prompt, spoken when the screen opens and again on 再听一遍.

Prompts wait in one queue and one speaker thread says them, so two never talk over each other; a new
screen cuts the prompt being spoken and drops those waiting (the citizen has moved on). Speech is
espeak-ng, offline, as on the display board. Nothing personal is ever spoken: prompts are fixed texts
per screen, and ``speakable`` refuses any text with an ID number's digits in it.

With ``record_dir`` (tours, tests) each prompt is kept in ``prompts.jsonl`` with its start and end, and
whether it was cut, for as long as saying it would take, instead of being played.
"""

from __future__ import annotations

import json
import queue
import re
import shutil
import subprocess
import tempfile
import threading
import time
from pathlib import Path

from kiosk.ui.voice.sound import duration, synthesize

PROMPTS: dict[str, str] = {
    "home": "欢迎。取号请点取号，预约签到请点预约签到。需要帮助，请点呼叫工作人员。",
    "business": "请选择您要办理的业务。不知道办什么，请点不知道办什么。",
    "identify": "请将身份证平放在读卡区。没有带身份证，可以在下面输入身份证号。",
    "ticket": "取号成功。请取走小票，留意叫号屏和语音叫号。",
    "scan": "请把二维码对准扫码口。",
    "rate": "请为刚才的服务评价，点一个表情。",
    "enquiry": "请在左边选择业务，查看申请材料、办理时限和收费标准。",
    "entry": "请在下面的按键上输入号码，输完点确认。",
    "categories": "请选择遇到的问题类别，我们会专人跟进。",
    "report": "请写下遇到的问题。可以用拼音，也可以点手写，用手指写字。",
    "message": "请看屏幕上的提示。",
}

# an ID number, or any long run of digits, is never spoken (a ticket number such as A012 is fine)
_PERSONAL = re.compile(r"\d{6,}|\d{17}[\dXx]")


def speakable(text: str) -> bool:
    return not _PERSONAL.search(text)


class Guidance:
    def __init__(self, engine: str = "espeak-ng", volume: int = 100, speed: int = 150,
                 record_dir: Path | None = None, enabled: bool = False) -> None:
        self.engine = engine if engine != "off" and shutil.which("espeak-ng") else "off"
        self.volume = max(0, min(200, volume))
        self.speed = speed
        self.record_dir = record_dir
        if record_dir is not None:
            (record_dir / "prompts.jsonl").unlink(missing_ok=True)  # a tour's log is of this tour
        self.enabled = enabled
        self.last = ""
        self._queue: queue.Queue[tuple[int, str, str] | None] = queue.Queue()
        self._generation = 0
        self._cut = threading.Event()
        self._player: subprocess.Popen[bytes] | None = None
        self._lock = threading.Lock()
        self._thread = threading.Thread(target=self._run, name="voice-guide", daemon=True)
        self._thread.start()

    # -- what the kiosk calls ----------------------------------------------------------------------------
    def screen_opened(self, screen: str, text: str) -> None:
        """A new screen: whatever was being said stops; its prompt is said."""
        if not self.enabled:
            return
        self.cut()
        self.say(screen, text)

    def again(self, screen: str) -> None:
        """再听一遍: the last prompt, from the start (said even when guidance is off: it was asked for)."""
        if self.last:
            self.cut()
            self._queue.put((self._generation, screen, self.last))

    def say(self, screen: str, text: str) -> None:
        if not speakable(text):
            text = PROMPTS["message"]
        self.last = text
        self._queue.put((self._generation, screen, text))

    def idle(self) -> bool:
        """Nothing being said and nothing waiting."""
        return self._queue.unfinished_tasks == 0

    def cut(self) -> None:
        with self._lock:
            self._generation += 1
            self._cut.set()
            player = self._player
        if player is not None and player.poll() is None:
            player.terminate()

    def close(self) -> None:
        self.cut()
        self._queue.put(None)
        self._thread.join(timeout=5)

    # -- the speaker thread -----------------------------------------------------------------------------
    def _run(self) -> None:
        while True:
            item = self._queue.get()
            try:
                if item is None:
                    return
                generation, screen, text = item
                with self._lock:
                    if generation != self._generation:
                        continue  # a later screen has opened: this prompt is stale
                    self._cut.clear()
                self._speak(screen, text)
            finally:
                self._queue.task_done()

    def _speak(self, screen: str, text: str) -> None:
        started = time.time()
        with tempfile.TemporaryDirectory() as tmp:
            wav = Path(tmp) / "prompt.wav"
            duration = self._synthesize(text, wav)
            if self.record_dir is not None:
                cut = self._cut.wait(duration)  # as long as saying it would take, unless cut
                self._log(screen, text, started, cut)
                return
            if duration <= 0 or not shutil.which("aplay"):
                return
            with self._lock:
                self._player = subprocess.Popen(["aplay", "-q", str(wav)], stdout=subprocess.DEVNULL,
                                                stderr=subprocess.DEVNULL)
            self._player.wait()
            with self._lock:
                self._player = None

    def _synthesize(self, text: str, wav: Path) -> float:
        """Seconds of speech; without espeak-ng, an estimate (so that a tour's timing still shows order)."""
        if self.engine != "off" and synthesize(text, wav, self.volume, self.speed):
            return duration(wav)
        return 0.25 * len(text) if self.record_dir is not None else 0.0

    def _log(self, screen: str, text: str, started: float, cut: bool) -> None:
        assert self.record_dir is not None
        self.record_dir.mkdir(parents=True, exist_ok=True)
        with (self.record_dir / "prompts.jsonl").open("a", encoding="utf-8") as log:
            log.write(json.dumps({"screen": screen, "text": text, "start": started, "end": time.time(), "cut": cut},
                                 ensure_ascii=False) + "\n")
