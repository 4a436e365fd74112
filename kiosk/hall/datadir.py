"""The hall's data directory: its database, its secret key and its logs.

The same ``--config/--data`` pair always means the same hall; the key is made on first
use and never leaves the directory (mode 0600).
"""

from __future__ import annotations

import logging
import logging.handlers
import os
import secrets
from pathlib import Path

from kiosk.domain.config import HallConfig
from kiosk.hall.service import HallService
from kiosk.store.db import Store

DEFAULT_DATA = Path("data")


def master_key(data: Path) -> bytes:
    keyfile = data / "secrets" / "hall.key"
    if not keyfile.exists():
        keyfile.parent.mkdir(parents=True, exist_ok=True)
        os.chmod(keyfile.parent, 0o700)
        tmp = keyfile.with_suffix(".tmp")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as fh:
            fh.write(secrets.token_hex(32))
            fh.flush()
            os.fsync(fh.fileno())
        try:
            os.link(tmp, keyfile)  # never overwrite a key another process made first
        except FileExistsError:
            pass
        tmp.unlink(missing_ok=True)
    return bytes.fromhex(keyfile.read_text().strip())


def open_hall(config: HallConfig, data: Path, synchronous: str = "FULL") -> HallService:
    data.mkdir(parents=True, exist_ok=True)
    store = Store(data / "hall.db", synchronous)
    province = data / "secrets" / "province-identity.key"  # installed by the province's technician, if any
    identity_key = bytes.fromhex(province.read_text().strip()) if province.exists() else None
    return HallService(config, store, master_key(data), identity_key)


def setup_logging(data: Path) -> None:
    logs = data / "logs"
    logs.mkdir(parents=True, exist_ok=True)
    handler = logging.handlers.RotatingFileHandler(logs / "hall.log", maxBytes=10_000_000, backupCount=5,
                                                   encoding="utf-8")
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s %(message)s"))
    root = logging.getLogger("kiosk")
    root.setLevel(logging.INFO)
    root.addHandler(handler)
