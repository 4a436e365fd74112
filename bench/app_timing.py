"""App timings, measured on the real apps during their offscreen tours (embedded hall over
loopback HTTP, simulated devices): cold start to the first usable frame, screen switch (touch to
the first frame showing the new screen); for the kiosk, ID card read to ticket bytes sent to the
printer; for the counter, keypad press to rating stored; for the display, "call next" at a window
to the board showing it.
Cold start runs from the process's start (/proc) to the first frame of the home screen with
the catalog loaded (the embedded hall included).
Usage: python bench/app_timing.py [--app kiosk|counter|duty|display] [--runs 3]
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--app", default="kiosk", choices=["kiosk", "counter", "duty", "display"])
    args = parser.parse_args()
    merged: dict[str, list[float]] = {}
    for _ in range(args.runs):
        with tempfile.TemporaryDirectory() as tmp:
            subprocess.run([sys.executable, "-m", "kiosk.cli", "app", args.app, "--tour", tmp], cwd=ROOT, check=True,
                           capture_output=True)
            timings = json.loads((Path(tmp) / "tour.json").read_text())["_timings"]
            for name, values in timings.items():
                merged.setdefault(name, []).extend(values)
    print(f"{args.app} app, {args.runs} tour runs, offscreen (Mesa llvmpipe), embedded hall, simulated devices")
    for name, values in sorted(merged.items()):
        values.sort()
        print(f"{name:<32} n={len(values):<3} median {statistics.median(values):8.1f}  max {values[-1]:8.1f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
