"""The apps as installed, on real X servers with no window manager (as on a hall's standing kiosk).

- `kiosk app kiosk --fullscreen` fills the screen, portrait and landscape (screenshots in build/session/);
- the system stops every app with SIGTERM, as systemd does: a deployed kiosk refuses a window close, not this;
- a kiosk whose screen cannot be reached says so and stops, rather than run on invisibly;
- the README's first command shows the kiosk on a screen, and runs the hall alone when the screen is gone;
- each app starts on a day the hall is closed.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import time
from collections import Counter
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
import requests
from PIL import Image, ImageGrab

from kiosk.ui.palette import NORMAL
from tests.helpers import KIOSK_BIN, ROOT, free_port

ARTEFACTS = ROOT / "build" / "session"
pytestmark = pytest.mark.skipif(shutil.which("Xvfb") is None, reason="Xvfb is installed by the test set-up")


def free_display() -> int:
    for n in range(60, 160):
        if not Path(f"/tmp/.X11-unix/X{n}").exists() and not Path(f"/tmp/.X{n}-lock").exists():
            return n
    raise RuntimeError("no free X display number")


@pytest.fixture
def x_server(request: pytest.FixtureRequest) -> Iterator[tuple[str, tuple[int, int]]]:
    width, height = request.param
    number = free_display()
    server = subprocess.Popen(["Xvfb", f":{number}", "-screen", "0", f"{width}x{height}x24", "-nolisten", "tcp"],
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 20
    while not Path(f"/tmp/.X11-unix/X{number}").exists():
        assert time.monotonic() < deadline and server.poll() is None, "Xvfb did not start"
        time.sleep(0.05)
    yield f":{number}", (width, height)
    server.terminate()
    server.wait(10)


def background_share(image: Image.Image) -> float:
    """The share of the screen in the kiosk's ground colour (black is what X shows where no window is)."""
    ground = tuple(round(c * 255) for c in NORMAL.background[:3])
    counts = Counter(image.convert("RGB").resize((image.width // 8, image.height // 8)).get_flattened_data())
    total = sum(counts.values())
    return sum(n for colour, n in counts.items() if max(abs(a - b) for a, b in zip(colour, ground, strict=True)) < 6) / total


def black_share(image: Image.Image) -> float:
    counts = Counter(image.convert("L").resize((image.width // 8, image.height // 8)).get_flattened_data())
    return sum(n for value, n in counts.items() if value < 8) / sum(counts.values())


def look(display: str) -> Image.Image | None:
    """The X root as it is drawn now, or None when the grab met a reset (it had been the server's last client)."""
    try:
        return ImageGrab.grab(xdisplay=display)
    except OSError:
        return None


def app_env(display: str) -> dict[str, str]:
    """The environment of an app shown on ``display``, with SDL's driver left to the product to choose."""
    env = {**os.environ, "DISPLAY": display}
    env.pop("SDL_VIDEODRIVER", None)
    return env


def home_screen(display: str, size: tuple[int, int], app: subprocess.Popen[bytes], said: Callable[[], str],
                wait: float = 60) -> Image.Image | None:
    """The X root as soon as the kiosk's home screen is drawn on it (its ground fills the corners), or the last
    look at it when ``wait`` runs out."""
    width, height = size
    shot: Image.Image | None = None
    deadline = time.monotonic() + wait
    while time.monotonic() < deadline:
        shot = look(display)
        if shot is not None:
            corners = [shot.getpixel((x, y)) for x, y in ((2, 2), (width - 3, 2), (2, height - 3),
                                                          (width - 3, height - 3))]
            if black_share(shot) < 0.01 and all(max(c[:3]) > 200 for c in corners):
                return shot
        assert app.poll() is None, said()
        time.sleep(0.5)
    return shot


def stops_on_sigterm(app: subprocess.Popen[bytes], said: Callable[[], str]) -> None:
    """systemd stopping the app: a deployed kiosk refuses a window close, but not this."""
    app.terminate()
    try:
        code = app.wait(30)
    except subprocess.TimeoutExpired:
        pytest.fail("the app ignored SIGTERM: systemd would wait 90 s and kill it mid-print")
    assert code == 0, said()


def start(args: list[str], display: str, log: Path) -> tuple[subprocess.Popen[bytes], Callable[[], str]]:
    with log.open("wb") as out:
        app = subprocess.Popen([*KIOSK_BIN, *args], env=app_env(display), cwd=ROOT, stdout=out,
                               stderr=subprocess.STDOUT)

    def said() -> str:
        return log.read_text(encoding="utf-8", errors="replace")[-4000:]

    return app, said


@pytest.mark.parametrize("x_server", [(1080, 1920), (1920, 1080)], indirect=True, ids=["portrait", "landscape"])
def test_fullscreen_fills_the_screen_on_a_bare_x_server(x_server: tuple[str, tuple[int, int]],
                                                         tmp_path: Path) -> None:
    display, (width, height) = x_server
    app, said = start(["app", "kiosk", "--fullscreen", "--data", str(tmp_path / "hall")], display,
                      tmp_path / "app.log")
    try:
        shot = home_screen(display, (width, height), app, said)
        assert shot is not None
        ARTEFACTS.mkdir(parents=True, exist_ok=True)
        shot.save(ARTEFACTS / f"kiosk-{width}x{height}.png")
        assert shot.size == (width, height)
        assert black_share(shot) < 0.01, said()  # nothing of the bare X root shows: the window covers the screen
        assert background_share(shot) > 0.05  # and it is the kiosk's home screen that covers it
        stops_on_sigterm(app, said)
    finally:
        if app.poll() is None:
            app.kill()


@pytest.mark.parametrize("x_server", [(1280, 800)], indirect=True, ids=["desktop"])
def test_the_demo_command_shows_the_kiosk_on_a_screen(x_server: tuple[str, tuple[int, int]], tmp_path: Path) -> None:
    """The README's first command (scripts/demo.sh runs `kiosk demo`) on a machine with a screen."""
    display, size = x_server
    app, said = start(["demo", "--data", str(tmp_path / "demo")], display, tmp_path / "demo.log")
    try:
        shot = home_screen(display, size, app, said)
        assert shot is not None and background_share(shot) > 0.05, said()
        ARTEFACTS.mkdir(parents=True, exist_ok=True)
        shot.save(ARTEFACTS / "demo-1280x800.png")
        assert "Traceback" not in said()
        stops_on_sigterm(app, said)
    finally:
        if app.poll() is None:
            app.kill()


SATURDAY = "2026-11-28T15:00:00+08:00"  # the example hall is closed


@pytest.mark.parametrize("x_server", [(1366, 768)], indirect=True, ids=["window-pc"])
@pytest.mark.parametrize("app_args", [["kiosk"], ["counter", "--window", "2"], ["duty"], ["display", "--voice", "off"]],
                         ids=["kiosk", "counter", "duty", "display"])
def test_every_app_starts_on_a_closed_day_and_stops_when_told(x_server: tuple[str, tuple[int, int]],
                                                              app_args: list[str], tmp_path: Path) -> None:
    """Each app, on its embedded hall, on a Saturday: it draws its screen, says nothing went wrong, and ends
    on SIGTERM. (The counter used to stop at start, because its demo queue could not be made.)"""
    display, _size = x_server
    app, said = start(["app", *app_args, "--data", str(tmp_path / "hall"), "--now", SATURDAY], display,
                      tmp_path / "app.log")
    try:
        deadline = time.monotonic() + 60
        drawn = False
        while not drawn and time.monotonic() < deadline:
            assert app.poll() is None, said()
            shot = look(display)
            drawn = shot is not None and black_share(shot) < 0.5
            time.sleep(0.3)
        assert drawn, said()
        assert "✗" not in said() and "Traceback" not in said()
        stops_on_sigterm(app, said)
    finally:
        if app.poll() is None:
            app.kill()


def test_the_demo_command_without_a_reachable_screen_runs_the_hall_alone(tmp_path: Path) -> None:
    """A DISPLAY that points nowhere (an X session that ended): the hall service, and a line saying why."""
    port = free_port()
    app, said = start(["demo", "--data", str(tmp_path / "demo"), "--port", str(port)], f":{free_display()}",
                      tmp_path / "demo.log")
    try:
        deadline = time.monotonic() + 60
        healthy = False
        while not healthy and time.monotonic() < deadline:
            assert app.poll() is None, said()
            try:
                healthy = requests.get(f"http://127.0.0.1:{port}/health", timeout=2).ok
            except requests.ConnectionError:
                time.sleep(0.2)
        assert healthy, said()
        assert "连接不上" in said() and "hall service only" in said()
    finally:
        app.terminate()
        try:
            app.wait(30)
        except subprocess.TimeoutExpired:
            app.kill()


def test_a_kiosk_that_cannot_reach_its_screen_says_so_and_stops(tmp_path: Path) -> None:
    """It used to run on, invisible: SDL, refused by X, fell back to its offscreen driver and the panel stayed
    black. Now it stops with the reason (systemd starts it again), in Chinese and English, with no traceback."""
    result = subprocess.run([*KIOSK_BIN, "app", "kiosk", "--fullscreen", "--data", str(tmp_path / "hall")],
                            env=app_env(f":{free_display()}"),  # no X server there
                            cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert result.returncode == 2
    assert "无法连接显示服务器" in result.stderr and "cannot reach the display server" in result.stderr
    assert "Traceback" not in result.stderr
    assert not (tmp_path / "hall").exists()  # it stopped before starting anything
