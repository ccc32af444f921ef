"""index/backends/embedded/rwlock.py: readers share, a writer is alone, a waiting writer is
not starved."""

from __future__ import annotations

import threading
import time

from index.backends.embedded.rwlock import ReadWriteLock


def test_readers_share_and_a_writer_waits_for_them_then_goes_before_new_readers() -> None:
    lock = ReadWriteLock()
    events: list[str] = []
    both_reading = threading.Barrier(2, timeout=5)
    release_readers = threading.Event()

    def reader(name: str) -> None:
        with lock.reading():
            events.append(f"{name} in")
            both_reading.wait()  # fails unless two readers hold the lock at once
            release_readers.wait(5)
            events.append(f"{name} out")  # still holding the lock

    def writer() -> None:
        with lock.writing():
            events.append("writer in")

    def late_reader() -> None:
        with lock.reading():
            events.append("late reader in")

    readers = [threading.Thread(target=reader, args=(n,)) for n in ("r1", "r2")]
    for thread in readers:
        thread.start()
    while sum(e.endswith(" in") for e in events) < 2:
        time.sleep(0.01)
    writing = threading.Thread(target=writer)
    writing.start()
    time.sleep(0.1)
    late = threading.Thread(target=late_reader)
    late.start()
    time.sleep(0.1)
    assert "writer in" not in events and "late reader in" not in events
    release_readers.set()
    for thread in [*readers, writing, late]:
        thread.join(5)
    assert events.index("writer in") > max(events.index("r1 out"), events.index("r2 out"))
    assert events.index("late reader in") > events.index("writer in")
