"""Files that hold people's data or secrets (the hall's database and its WAL, logs, keys, the ledger's database)
are readable by the service's own user only: folders 0700, files 0600, whatever the umask.

A mode passed to open() or mkdir() is filtered by the umask, and a file created 0644 and chmod'ed after was
readable in between; so each file is created with its final mode (O_CREAT with 0600, then fchmod, which the umask
does not touch). SQLite gives a database's -wal and -shm files the mode of the database file itself, so a
database created 0600 keeps its journal 0600 too. Files and folders made before this rule are tightened when the
service opens them.
"""

from __future__ import annotations

import logging.handlers
import os
from pathlib import Path
from typing import Any

DIR_MODE = 0o700
FILE_MODE = 0o600


def private_dir(path: Path, tighten: bool = True) -> Path:
    """``path`` (and its missing parents) as a folder; a folder made here, or an existing one when ``tighten``,
    ends 0700. Parents that already existed are left as they are (they may be shared, such as /var/lib)."""
    created = not path.exists()
    path.mkdir(parents=True, exist_ok=True)
    if created or tighten:
        os.chmod(path, DIR_MODE)
    return path


def private_file(path: Path) -> Path:
    """``path`` exists and is 0600 (created so; an older file is tightened). Its content is left alone."""
    fd = os.open(path, os.O_RDWR | os.O_CREAT, FILE_MODE)
    try:
        os.fchmod(fd, FILE_MODE)
    finally:
        os.close(fd)
    return path


def private_database(path: Path) -> Path:
    """A SQLite database file and its WAL and shared-memory files, 0600 before SQLite opens them.

    An existing database is changed by path only (chmod), never opened here: closing any descriptor of a file
    drops every POSIX lock this process holds on it, the locks of SQLite's own connections included (SQLite's
    "How to corrupt" §2.2). A new one is created 0600 before any connection of this process can have it open."""
    if path.exists():
        os.chmod(path, FILE_MODE)
    else:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT, FILE_MODE)
        try:
            os.fchmod(fd, FILE_MODE)
        finally:
            os.close(fd)
    for suffix in ("-wal", "-shm", "-journal"):
        companion = path.with_name(path.name + suffix)
        if companion.exists():
            os.chmod(companion, FILE_MODE)
    return path


def write_private(path: Path, data: bytes) -> Path:
    """Replace ``path`` with ``data`` atomically; the file is 0600 from its first byte."""
    private_dir(path.parent, tighten=False)
    tmp = path.with_name(path.name + ".tmp")
    tmp.unlink(missing_ok=True)
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, FILE_MODE)
    try:
        os.fchmod(fd, FILE_MODE)
        os.write(fd, data)
        os.fsync(fd)
    finally:
        os.close(fd)
    tmp.replace(path)
    return path


class PrivateRotatingFileHandler(logging.handlers.RotatingFileHandler):
    """A rotating log whose every file (the first, and each one started after a rotation) is 0600."""

    def _open(self) -> Any:
        private_file(Path(self.baseFilename))
        return super()._open()
