"""Sound made on this machine: Mandarin speech by espeak-ng (offline) and the duty desk's chime, shared by the
board's calls (calls.py) and the kiosk's spoken prompts (prompts.py)."""

from __future__ import annotations

import shutil
import subprocess
import tempfile
import time
from pathlib import Path


def synthesize(text: str, wav: Path, volume: int, speed: int) -> bool:
    """Mandarin speech into ``wav`` by espeak-ng (offline), for the board's calls and the kiosk's prompts."""
    made = subprocess.run(["espeak-ng", "-v", "cmn", "-a", str(volume), "-s", str(speed), "-w", str(wav), text],
                          capture_output=True, timeout=30)
    return made.returncode == 0 and wav.exists()


def duration(wav: Path) -> float:
    import wave

    with wave.open(str(wav)) as w:
        return float(w.getnframes()) / float(w.getframerate())


def chime(record_dir: Path | None = None) -> None:
    """Two short tones for the duty desk (a new report). Played by aplay; kept as a WAV in tours."""
    import wave

    import numpy as np

    rate = 22050
    t = np.arange(int(rate * 0.25)) / rate
    tones = [np.sin(2 * np.pi * f * t) * np.hanning(t.size) for f in (880.0, 660.0)]
    samples = (np.concatenate(tones) * 12000).astype("<i2").tobytes()
    with tempfile.TemporaryDirectory() as tmp:
        wav = Path(tmp) / "chime.wav"
        with wave.open(str(wav), "wb") as w:
            w.setnchannels(1)
            w.setsampwidth(2)
            w.setframerate(rate)
            w.writeframes(samples)
        if record_dir is not None:
            record_dir.mkdir(parents=True, exist_ok=True)
            shutil.copy(wav, record_dir / f"chime-{time.time_ns()}.wav")
        elif shutil.which("aplay"):
            subprocess.run(["aplay", "-q", str(wav)], capture_output=True, timeout=10)
