"""SQL statements the writer runs per ticket issued, and what they are.

(SQLite's trace repeats a statement for each trigger it fires; a statement repeated at once is counted once.)

Issues tickets for distinct people through the real operation table on a real SQLite store (no HTTP), with the
writer connection traced, and prints the statements of one steady-state issue (after a warm-up, so that what
is cached once a minute or once a version is not counted) and the mean per ticket. Usage:
python bench/issue_statements.py [--tickets 200]
"""

from __future__ import annotations

import argparse
import dataclasses
import sys
import tempfile
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.helpers import Hall, example_config  # noqa: E402


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--tickets", type=int, default=200)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        config = example_config()  # as bench/issue_tickets.py: no kiosk burst, no booking offers
        config = dataclasses.replace(config, limits=dataclasses.replace(config.limits, kiosk_burst=None),
                                     booking=dataclasses.replace(config.booking, offers=False))
        hall = Hall(Path(tmp), config)
        seen: list[str] = []
        try:
            for i in range(20):  # warm-up: the caches fill
                hall.issue("ABCDEFGHJKQX"[i % 12], 100000 + i)
            hall.store._conn.set_trace_callback(lambda sql: None if seen and seen[-1] == sql else seen.append(sql))
            last: list[str] = []
            for i in range(args.tickets):
                start = len(seen)
                status, body = hall.issue("ABCDEFGHJKQX"[i % 12], i + 1)
                assert status == 201, body
                last = seen[start:]
        finally:
            hall.store._conn.set_trace_callback(None)
            hall.close()
    group = {"BEGIN IMMEDIATE", "COMMIT", "SAVEPOINT change", "RELEASE change"}
    own = [s for s in seen if s.strip() not in group and not s.startswith("SELECT seq, hash FROM events")]
    print("statements of the last issue (the writer's group statements left out):")
    for s in last:
        if s.strip() not in group:
            print("  ", " ".join(s.split())[:150])
    print(f"mean per ticket over {args.tickets}: {len(own) / args.tickets:.1f} "
          f"(with the group's BEGIN/SAVEPOINT/RELEASE/COMMIT: {len(seen) / args.tickets:.1f})")
    kinds = Counter(s.split()[0].upper() for s in own)
    print("by kind:", dict(kinds))
    return 0


if __name__ == "__main__":
    sys.exit(main())
