"""`kiosk demo` without a screen: the hall service alone with the example config, demo devices and a clerk,
everything on this machine, with the tokens printed to try it (with a screen, `kiosk demo` opens the kiosk on
the embedded hall: apps.py)."""

from __future__ import annotations

import json
from pathlib import Path

from kiosk.clock import HallClock
from kiosk.config_files import DEFAULT_CONFIG, load_config
from kiosk.hall import enrolment
from kiosk.hall.datadir import open_hall
from kiosk.hall.server import serve


def run_demo(data: Path, port: int) -> int:
    config = load_config(DEFAULT_CONFIG)
    tokens_file = data / "demo-tokens.json"
    if not tokens_file.exists():
        service = open_hall(config, data)
        now = HallClock(config.calendar.tz).now()
        tokens = {role: enrolment.enroll_device(service, role, f"demo-{role}", now)
                  for role in ("kiosk", "counter", "display", "supervisor")}
        enrolment.add_clerk(service, "1001", "王晓明", "2468", now)
        service.store.close()
        tokens_file.write_text(json.dumps(tokens, indent=2))
        tokens_file.chmod(0o600)
    tokens = json.loads(tokens_file.read_text())
    print("演示大厅 Demo hall — 设备令牌 device tokens (also in", tokens_file, "):")
    for role, token in tokens.items():
        print(f"  {role:<10} {token}")
    print("  窗口人员 clerk: 工号 id 1001, PIN 2468")
    print(f"  OpenAPI: http://127.0.0.1:{port}/openapi.json")
    print(f"  试一试 try: curl -s -H 'Authorization: Bearer {tokens['kiosk']}' "
          f"http://127.0.0.1:{port}/api/v1/catalog")
    return serve(config, data, "127.0.0.1", port)
