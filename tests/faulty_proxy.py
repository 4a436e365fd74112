"""A network that misbehaves, between a hall and the ledger: an HTTP proxy (one request per
connection) that drops, delays, duplicates and truncates requests and responses at random."""

from __future__ import annotations

import random
import socket
import threading
import time
from dataclasses import dataclass


@dataclass
class Faults:
    drop: float = 0.0  # close without forwarding
    delay: float = 0.0  # probability of a delay up to max_delay before forwarding
    max_delay: float = 0.5
    duplicate: float = 0.0  # forward the request twice (the ledger sees a retry it did not ask for)
    truncate: float = 0.0  # forward the request, then cut the response short
    cut_request: float = 0.0  # forward half a request, then close

    def off(self) -> None:
        self.drop = self.delay = self.duplicate = self.truncate = self.cut_request = 0.0


def _read_request(conn: socket.socket) -> bytes | None:
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = conn.recv(65536)
        if not chunk:
            return None
        data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    length = 0
    for line in head.split(b"\r\n")[1:]:
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-length":
            length = int(value.strip())
    while len(body) < length:
        chunk = conn.recv(65536)
        if not chunk:
            return None
        body += chunk
    # one request per connection: ask the upstream to close, so its response ends the stream
    head = b"\r\n".join(line for line in head.split(b"\r\n") if not line.lower().startswith(b"connection:"))
    return head + b"\r\nConnection: close\r\n\r\n" + body


def _exchange(upstream: tuple[str, int], request: bytes) -> bytes:
    with socket.create_connection(upstream, timeout=30) as up:
        up.sendall(request)
        out = b""
        while True:
            chunk = up.recv(65536)
            if not chunk:
                return out
            out += chunk


class FaultyProxy:
    def __init__(self, upstream_port: int, faults: Faults, seed: int = 1) -> None:
        self.upstream = ("127.0.0.1", upstream_port)
        self.faults = faults
        self.rng = random.Random(seed)
        self.sock = socket.socket()
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(64)
        self.port = self.sock.getsockname()[1]
        self.url = f"http://127.0.0.1:{self.port}"
        self.counts = {"drop": 0, "delay": 0, "duplicate": 0, "truncate": 0, "cut_request": 0, "ok": 0}
        self._closing = False
        threading.Thread(target=self._accept, daemon=True).start()

    def close(self) -> None:
        self._closing = True
        self.sock.close()

    def _accept(self) -> None:
        while not self._closing:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            threading.Thread(target=self._serve, args=(conn,), daemon=True).start()

    def _roll(self, p: float) -> bool:
        return p > 0 and self.rng.random() < p

    def _serve(self, conn: socket.socket) -> None:
        f = self.faults
        with conn:
            try:
                request = _read_request(conn)
                if request is None:
                    return
                if self._roll(f.drop):
                    self.counts["drop"] += 1
                    return
                if self._roll(f.delay):
                    self.counts["delay"] += 1
                    time.sleep(self.rng.random() * f.max_delay)
                if self._roll(f.cut_request):
                    self.counts["cut_request"] += 1
                    with socket.create_connection(self.upstream, timeout=5) as up:
                        up.sendall(request[: len(request) // 2])
                    return
                response = _exchange(self.upstream, request)
                if self._roll(f.duplicate):
                    self.counts["duplicate"] += 1
                    response = _exchange(self.upstream, request)
                if self._roll(f.truncate):
                    self.counts["truncate"] += 1
                    conn.sendall(response[: len(response) // 2])
                    return
                self.counts["ok"] += 1
                conn.sendall(response)
            except OSError:
                return
