"""A real PostgreSQL server for the tests: a throwaway cluster in a temporary folder, run as the
``postgres`` system user (the server refuses root), reached over a Unix socket in that folder."""

from __future__ import annotations

import glob
import os
import shutil
import subprocess
import tempfile
import uuid
from pathlib import Path


class PostgresServer:
    def __init__(self) -> None:
        found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"))
        if not found:
            raise RuntimeError("PostgreSQL is not installed: run the README's test command (it installs it)")
        self.bin = Path(found[-1]).parent
        self.dir = Path(tempfile.mkdtemp(prefix="kiosk-pg-"))
        os.chmod(self.dir, 0o777)
        self.data = self.dir / "data"
        self.port = 5400 + os.getpid() % 500

    def _as_postgres(self, *args: str) -> subprocess.CompletedProcess[str]:
        prefix = ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []
        return subprocess.run([*prefix, *args], capture_output=True, text=True, timeout=120)

    def start(self) -> None:
        out = self._as_postgres(str(self.bin / "initdb"), "-D", str(self.data), "-A", "trust", "-U", "postgres",
                                "--no-sync", "-E", "UTF8", "--locale=C.UTF-8")
        assert out.returncode == 0, out.stderr
        out = self._as_postgres(str(self.bin / "pg_ctl"), "-D", str(self.data), "-w", "-l", str(self.dir / "log"),
                                "-o", f"-k {self.dir} -p {self.port} -c listen_addresses='' -c fsync=on", "start")
        assert out.returncode == 0, out.stderr + (self.dir / "log").read_text()

    def url(self, db: str = "postgres") -> str:
        return f"postgresql://postgres@/{db}?host={self.dir}&port={self.port}"

    def new_database(self) -> str:
        import psycopg

        name = "t_" + uuid.uuid4().hex[:12]
        with psycopg.connect(self.url(), autocommit=True) as conn:
            conn.execute(f"CREATE DATABASE {name}")
        return self.url(name)

    def stop(self) -> None:
        self._as_postgres(str(self.bin / "pg_ctl"), "-D", str(self.data), "-m", "immediate", "stop")
        shutil.rmtree(self.dir, ignore_errors=True)
