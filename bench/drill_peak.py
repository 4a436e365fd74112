"""A three-times-peak day (config/drills/after_holiday.toml) played by ``kiosk drill`` at a high speed,
with the hall registered with a ledger so that it syncs all day, as a hall in the field does.

Prints the wall time, the hall's response times during the day (p50/p99 over every drill request),
and how many of the day's events the ledger held when the day ended, and after a final catch-up.
Usage: python bench/drill_peak.py [--speed 600] [--seed 1] [--scenario config/drills/after_holiday.toml]
"""

from __future__ import annotations

import argparse
import sqlite3
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import requests

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from kiosk.config_files import DEFAULT_CONFIG  # noqa: E402
from kiosk.drill.play import run_drill  # noqa: E402
from kiosk.standalone.drill_hall import own_hall  # noqa: E402
from kiosk.sync.pusher import save_target  # noqa: E402
from tests.helpers import free_port  # noqa: E402

KIOSK = [sys.executable, "-m", "kiosk.cli"]


def last_line(cmd: list[str]) -> str:
    out = subprocess.run(cmd, capture_output=True, text=True, check=True, cwd=ROOT)
    return out.stdout.strip().splitlines()[-1]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--speed", type=float, default=600)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--scenario", default=str(ROOT / "config" / "drills" / "after_holiday.toml"))
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="bench-drill-"))
    db = f"sqlite:///{work / 'ledger.db'}"
    port = free_port()
    ledger_url = f"http://127.0.0.1:{port}"
    ledger = subprocess.Popen([*KIOSK, "ledger", "serve", "--db", db, "--port", str(port)], cwd=ROOT,
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    hall_token: list[str] = []
    try:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                requests.get(ledger_url + "/health", timeout=1)
                break
            except requests.ConnectionError:
                time.sleep(0.1)

        def register(config: Path, data: Path) -> None:
            key = last_line([*KIOSK, "hall", "public-key", "--config", str(config), "--data", str(data)])
            token = last_line([*KIOSK, "ledger", "halls", "add", "--hall", "demo-hall", "--public-key", key,
                               "--db", db])
            hall_token.append(token)
            save_target(data, ledger_url, token, 1000)  # what `kiosk sync --ledger … --token …` remembers

        keep = work / "hall"
        t0 = time.monotonic()
        summary = run_drill(Path(args.scenario), work / "report", DEFAULT_CONFIG, args.speed, args.seed, [],
                            keep=keep, own_hall=own_hall(prepare=register))
        wall = time.monotonic() - t0
        head = requests.get(f"{ledger_url}/api/v1/halls/demo-hall/head", timeout=10,
                            headers={"Authorization": f"Bearer {hall_token[0]}"}).json()
        with sqlite3.connect(keep / "data" / "hall.db") as conn:
            total = conn.execute("SELECT MAX(seq) FROM events").fetchone()[0]
        t1 = time.monotonic()
        subprocess.run([*KIOSK, "sync", "--once", "--config", str(keep / "config" / "hall.toml"), "--data",
                        str(keep / "data")], cwd=ROOT, capture_output=True, check=True)
        catch_up = time.monotonic() - t1
        print(f"scenario {summary['scenario']} at x{args.speed:g}, seed {args.seed}")
        print(f"  arrivals {summary['arrivals']}, issued {summary['issued']}, served {summary['served']}, "
              f"offered {summary['offered']}, booked {summary['booked']}, honest refused {summary['honest_refused']}")
        print(f"  wall time {wall:.1f} s (day played in {summary['wall_seconds']} s)")
        print(f"  hall during the day: {summary['requests']} requests, p50 {summary['hall_p50_ms']} ms, "
              f"p99 {summary['hall_p99_ms']} ms, errors {summary['hall_errors']}")
        print(f"  events: hall {total}, on the ledger when the day ended {head.get('seq')}, "
              f"all synced after a final kiosk sync --once of {catch_up:.1f} s")
    finally:
        ledger.terminate()
        ledger.wait(10)


if __name__ == "__main__":
    main()
