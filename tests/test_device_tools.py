"""Technician tools against the simulators, as a technician would run them."""

from __future__ import annotations

import subprocess
from collections.abc import Iterator
from contextlib import contextmanager

from drivers.idcard.simulator import SAMPLE_CARDS
from tests.helpers import KIOSK_BIN, ROOT


@contextmanager
def simulator(*args: str) -> Iterator[tuple[subprocess.Popen[str], str]]:
    proc = subprocess.Popen([*KIOSK_BIN, "devices", "simulate", *args], stdin=subprocess.PIPE,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=ROOT)
    assert proc.stdout is not None
    first = proc.stdout.readline()
    path = next(word for word in first.split() if word.startswith("/dev/"))
    proc.stdout.readline()  # the command help line
    try:
        yield proc, path
    finally:
        if proc.poll() is None:
            assert proc.stdin is not None
            proc.stdin.write("quit\n")
            proc.stdin.flush()
            proc.wait(10)


def send(proc: subprocess.Popen[str], line: str) -> str:
    assert proc.stdin is not None and proc.stdout is not None
    proc.stdin.write(line + "\n")
    proc.stdin.flush()
    return proc.stdout.readline()


def kiosk(*args: str, timeout: float = 30) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*KIOSK_BIN, "devices", *args], capture_output=True, text=True, cwd=ROOT, timeout=timeout)


def test_watch_keypad_presses_live() -> None:
    with simulator("keypad", "--addresses", "1,2") as (sim, path):
        watch = subprocess.Popen([*KIOSK_BIN, "devices", "watch-keypad", "--port", path, "--addresses", "1,2",
                                  "--arm", "--count", "2"], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                 text=True, cwd=ROOT)
        assert watch.stdout is not None
        assert "watching" in watch.stdout.readline()
        # the watcher arms the keypads; the simulator reports each change it sees (the name may land in one
        # frame and the mode in the next): wait until both keypads ask for a rating
        assert sim.stdout is not None
        armed: set[str] = set()
        while armed != {"1:", "2:"}:
            line = sim.stdout.readline()
            assert line, "the simulator stopped before both keypads were armed"
            if "PLEASE_RATE" in line:
                armed.add(line.split()[1])
        assert "counted" in send(sim, "press 2 1")
        assert "counted" in send(sim, "press 1 5")
        out, err = watch.communicate(timeout=20)
        assert watch.returncode == 0, err
        assert "keypad 2: 按键 key 1 非常不满意" in out and "keypad 1: 按键 key 5 非常满意" in out


def test_probe_keypad_names_the_one_that_does_not_answer() -> None:
    with simulator("keypad", "--addresses", "1,2") as (sim, path):
        send(sim, "unplug 2")
        out = kiosk("probe", "keypad", "--port", path, "--addresses", "1,2")
        assert out.returncode == 1
        assert "✓ 1 号评价器应答正常" in out.stdout and "✗ 2 号评价器没有应答" in out.stdout
        assert "Traceback" not in out.stdout + out.stderr


def test_read_id_shows_masked_data_only() -> None:
    with simulator("idcard") as (sim, path):
        empty = kiosk("read-id", "--port", path)
        assert empty.returncode == 1 and "没有身份证" in empty.stdout
        assert "placed" in send(sim, "place rare")
        out = kiosk("read-id", "--port", path)
        assert out.returncode == 0, out.stderr
        card = SAMPLE_CARDS["rare"]
        assert "1101**********0022" in out.stdout and "吉**喆" in out.stdout
        assert card.id_number not in out.stdout and card.name not in out.stdout and card.address not in out.stdout
        send(sim, "place expired")
        assert "已过期 EXPIRED" in kiosk("read-id", "--port", path).stdout
        send(sim, "unplug")
        dead = kiosk("read-id", "--port", path)
        assert dead.returncode == 1 and "没有应答" in dead.stderr and "Traceback" not in dead.stderr


def test_probe_idcard() -> None:
    with simulator("idcard") as (_sim, path):
        out = kiosk("probe", "idcard", "--port", path)
        assert out.returncode == 0 and "读卡器正常" in out.stdout
