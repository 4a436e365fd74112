"""The hall's data directory: its database, its secret key and its logs.

The same ``--config/--data`` pair always means the same hall; the key is made on first
use and never leaves the directory (mode 0600).
"""

from __future__ import annotations

import logging
import os
import secrets
from pathlib import Path

from kiosk.domain.config import HallConfig
from kiosk.files import PrivateRotatingFileHandler, private_dir
from kiosk.hall.context import HallContext
from kiosk.store.db import Store

DEFAULT_DATA = Path("data")


def hall_dir(data: Path) -> Path:
    """The data folder, 0700 (kiosk/files.py): tightened when it is a hall's folder (or new), never otherwise (a
    --data that names a shared folder by mistake keeps its mode)."""
    is_hall = not data.exists() or (data / "hall.db").exists() or (data / "secrets").exists()
    return private_dir(data, tighten=is_hall)


def master_key(data: Path) -> bytes:
    keyfile = data / "secrets" / "hall.key"
    hall_dir(data)
    private_dir(keyfile.parent)
    if not keyfile.exists():
        tmp = keyfile.with_suffix(".tmp")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        os.fchmod(fd, 0o600)
        with os.fdopen(fd, "w") as fh:
            fh.write(secrets.token_hex(32))
            fh.flush()
            os.fsync(fh.fileno())
        try:
            os.link(tmp, keyfile)  # never overwrite a key another process made first
        except FileExistsError:
            pass
        tmp.unlink(missing_ok=True)
    os.chmod(keyfile, 0o600)
    return bytes.fromhex(keyfile.read_text().strip())


def open_hall(config: HallConfig, data: Path, synchronous: str = "FULL") -> HallContext:
    hall_dir(data)
    store = Store(data / "hall.db", synchronous)
    province = data / "secrets" / "province-identity.key"  # installed by the province's technician, if any
    identity_key = bytes.fromhex(province.read_text().strip()) if province.exists() else None
    return HallContext(config, store, master_key(data), identity_key)


def setup_logging(data: Path) -> None:
    logs = private_dir(data / "logs")
    for old in logs.glob("hall.log*"):  # written before logs were kept private
        os.chmod(old, 0o600)
    handler = PrivateRotatingFileHandler(logs / "hall.log", maxBytes=10_000_000, backupCount=5, encoding="utf-8")
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s %(message)s"))
    root = logging.getLogger("kiosk")
    root.setLevel(logging.INFO)
    root.addHandler(handler)
