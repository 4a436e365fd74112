"""The store's writer: a change that raises leaves nothing behind, whether it ran alone or in a group."""

from __future__ import annotations

import threading
from collections.abc import Callable
from pathlib import Path

import pytest

from kiosk.store.db import Store, Tx


def _put(key: str, fail: bool = False, wait: threading.Event | None = None) -> Callable[[Tx], str]:
    def change(tx: Tx) -> str:
        if wait is not None:
            assert wait.wait(10)
        tx.execute("INSERT INTO meta (key, value) VALUES (?, 'x')", (key,))
        tx.emit("test.put", "2026-11-23T09:00:00.000+08:00", None, {"key": key})
        if fail:
            raise ValueError(key)
        return key

    return change


def _kept(store: Store) -> tuple[list[str], list[str]]:
    conn = store.reader()
    meta = [r[0] for r in conn.execute("SELECT key FROM meta WHERE key LIKE 't%' ORDER BY key")]
    events = [e["payload"]["key"] for e in store.events_after(0, 100)]
    return meta, events


def test_a_change_alone_that_raises_leaves_nothing(tmp_path: Path) -> None:
    store = Store(tmp_path / "hall.db")
    try:
        assert store.write(_put("t1")) == "t1"
        with pytest.raises(ValueError):
            store.write(_put("t2", fail=True))
        assert store.write(_put("t3")) == "t3"
        assert _kept(store) == (["t1", "t3"], ["t1", "t3"])
        conn = store.reader()
        rows = conn.execute("SELECT seq, prev_hash, hash FROM events ORDER BY seq").fetchall()
        assert [r[0] for r in rows] == [1, 2] and rows[1][1] == rows[0][2]  # the chain goes on from t1
    finally:
        store.close()


def test_a_change_that_raises_in_a_group_leaves_the_others(tmp_path: Path) -> None:
    store = Store(tmp_path / "hall.db")
    try:
        go = threading.Event()
        first = store.submit(_put("t0", wait=go))  # holds the writer while the group forms behind it
        group = [store.submit(_put("t1")), store.submit(_put("t2", fail=True)), store.submit(_put("t3"))]
        go.set()
        assert first.result(10) == "t0"
        assert group[0].result(10) == "t1" and group[2].result(10) == "t3"
        with pytest.raises(ValueError):
            group[1].result(10)
        assert _kept(store) == (["t0", "t1", "t3"], ["t0", "t1", "t3"])
        seqs = [e["seq"] for e in store.events_after(0, 100)]
        assert seqs == [1, 2, 3]
    finally:
        store.close()


def test_an_idle_writer_lets_the_caller_commit_and_a_busy_one_keeps_the_order(tmp_path: Path) -> None:
    """A quiet hall's change is committed on the caller's thread (the answer is there at once, and durable);
    while the writer holds a group, or changes wait for it, the caller is told to queue, and the chain stays one
    chain whichever thread wrote each event."""
    store = Store(tmp_path / "hall.db")
    try:
        threads: list[str] = []

        def here(tx: Tx) -> str:
            threads.append(threading.current_thread().name)
            return _put("t1")(tx)

        done = store.write_now(here)
        assert done is not None and done.done() and done.result() == "t1"
        assert threads == [threading.current_thread().name]
        assert store.write_now(_put("t2", fail=True)) is not None  # refused alone: nothing of it is kept
        go = threading.Event()
        first = store.submit(_put("t3", wait=go))  # the writer is busy with it
        queued = store.submit(_put("t4"))
        assert store.write_now(_put("t5")) is None  # busy: the caller must queue behind t3 and t4
        go.set()
        assert first.result(10) == "t3" and queued.result(10) == "t4"
        assert store.write(_put("t5")) == "t5"
        assert _kept(store) == (["t1", "t3", "t4", "t5"], ["t1", "t3", "t4", "t5"])
        rows = store.reader().execute("SELECT prev_hash, hash FROM events ORDER BY seq").fetchall()
        assert all(rows[i][0] == rows[i - 1][1] for i in range(1, len(rows)))
    finally:
        store.close()


def test_serial_numbers_follow_the_counter_row_whatever_the_process_remembers(tmp_path: Path) -> None:
    """next_serial guesses the row's value from the number it handed out last; the row decides. A rolled-back
    change, a second hall's database in the same process and a change by another connection all leave the
    guess stale, and the numbers still go on from the row, each handed out once."""
    from kiosk.hall.context import next_serial

    one, two = Store(tmp_path / "one.db"), Store(tmp_path / "two.db")
    try:
        serial = lambda tx: next_serial(tx, "2026-11-23", "A")  # noqa: E731
        assert [one.write(serial) for _ in range(3)] == [1, 2, 3]
        assert [two.write(serial) for _ in range(2)] == [1, 2]  # the same day and series in another database
        assert one.write(serial) == 4

        def rolled_back(tx: Tx) -> None:
            assert next_serial(tx, "2026-11-23", "A") == 5
            raise ValueError("undone")

        with pytest.raises(ValueError):
            one.write(rolled_back)
        assert one.write(serial) == 5  # 5 was never kept: handed out again, once
        conn = one.reader()
        conn.execute("UPDATE counters SET last=last+10 WHERE day='2026-11-23' AND business='A'")
        assert one.write(serial) == 16
        assert two.write(serial) == 3
        assert one.write(lambda tx: next_serial(tx, "2026-11-24", "A")) == 1  # a new day starts at 1
    finally:
        one.close()
        two.close()
