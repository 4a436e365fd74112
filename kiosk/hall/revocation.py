"""Withdrawing a device's token, effective at once in a running hall, without a database read per request.

A running hall keeps the devices it has recognised in memory (the token check is on every request's path). Any
change to the devices table moves ``meta.devices_generation`` on, by trigger, in the same transaction as the
change (schema migration 8), whoever makes it: ``kiosk devices revoke``, or a technician's UPDATE by hand.

The generation is mirrored in a small file beside hall.db (``devices.gen``, 8 bytes) that the hall maps into
memory: reading it costs a fraction of a microsecond, where a SELECT costs several. ``kiosk devices revoke``
publishes the new generation there right after its commit, so the token is refused from the next request on;
the hall also compares the two once a second (``sync``), so that a change made by hand is seen within a second.
A remembered device is used only while the generation it was looked up under is still the current one.
"""

from __future__ import annotations

import mmap
import os
import sqlite3
import struct
from pathlib import Path

SIZE = 8
_READ = struct.Struct("<Q").unpack_from


def generation_file(db_path: Path) -> Path:
    return db_path.with_name("devices.gen")


def stored_generation(conn: sqlite3.Connection) -> int:
    row = conn.execute("SELECT value FROM meta WHERE key='devices_generation'").fetchone()
    return int(row[0]) if row else 0


class Generation:
    """The devices' generation as the mirror file holds it, read through a shared memory map."""

    def __init__(self, path: Path) -> None:
        self.path = path
        fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
        try:
            if os.fstat(fd).st_size < SIZE:
                os.pwrite(fd, bytes(SIZE), 0)
            self._map = mmap.mmap(fd, SIZE, mmap.MAP_SHARED, mmap.PROT_READ)
        finally:
            os.close(fd)

    def current(self) -> int:
        value: int = _READ(self._map, 0)[0]
        return value

    def publish(self, value: int) -> None:
        """Make ``value`` the generation every process mapping the file sees (one aligned 8-byte write)."""
        if value == self.current():
            return
        fd = os.open(self.path, os.O_WRONLY)
        try:
            os.pwrite(fd, struct.pack("<Q", value), 0)
        finally:
            os.close(fd)

    def sync(self, conn: sqlite3.Connection) -> None:
        """The mirror brought to the database's generation (a change made by hand, or a command that stopped
        between its commit and its publish)."""
        self.publish(stored_generation(conn))

    def close(self) -> None:
        self._map.close()
