"""The append-only journal that makes every acknowledged write durable at constant cost.

Each mutation is one line `[table, doc_id, document]` (`document` null for a delete, `doc_id`
null for "clear the table") written with a single `os.write` before the write is acknowledged:
once that call returns, the bytes belong to the kernel and survive a `kill -9` of the server.
`sync()` adds an fdatasync against power loss: within 50 ms by default, or before the write is
acknowledged when the store is opened with `sync_writes` (one fdatasync shared by every writer
of the same loop iteration). An fdatasync costs a sequential client about half a millisecond
per write here, halving its create rate, which is why it is not the default for an emulator.
"""

from __future__ import annotations

import asyncio
import logging
import os
from collections.abc import Iterator
from pathlib import Path

import orjson

log = logging.getLogger(__name__)

Record = tuple[str, int | None, dict | None]
FLUSH_DELAY = 0.05


class Journal:
    """One generation's journal file, opened for appending."""

    def __init__(self, path: Path, fsync_each: bool = False) -> None:
        self.path = path
        self.fsync_each = fsync_each
        self._timer: asyncio.TimerHandle | None = None
        self._fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
        self.size = os.fstat(self._fd).st_size
        self._written = 0
        self._synced = 0
        self._pending: asyncio.Future | None = None

    def append(self, table: str, doc_id: int | None, doc: dict | None) -> None:
        line = orjson.dumps([table, doc_id, doc]) + b"\n"
        view = memoryview(line)
        try:
            while view:  # a regular file takes it whole; loop only for the pathological short write
                view = view[os.write(self._fd, view) :]
        except OSError:
            # A full disk mid-line: cut the partial line off, so it cannot hide the lines that
            # later writes append, and let the caller fail without touching memory.
            os.ftruncate(self._fd, self.size)
            raise
        self.size += len(line)
        self._written += 1

    async def sync(self) -> None:
        """Make everything appended so far durable to the level this journal promises.

        Without `fsync_each`, the bytes are already safe from a crash of the process (they
        were handed to the kernel by `append`); an fdatasync follows within `FLUSH_DELAY`
        seconds, bounding what a power loss could take. With `fsync_each`, return only after
        the fdatasync, which runs on the event loop at the end of the current iteration once
        for every writer that appended during it (group commit, without a thread hop).
        """
        if self._synced >= self._written:
            return
        loop = asyncio.get_running_loop()
        if not self.fsync_each:
            if self._timer is None:
                self._timer = loop.call_later(FLUSH_DELAY, self._flush_later)
            return
        if self._pending is None:
            self._pending = loop.create_future()
            loop.call_soon(self._flush)
        await asyncio.shield(self._pending)

    def _flush_later(self) -> None:
        self._timer = None
        if self._fd >= 0 and self._synced < self._written:
            self.sync_now()

    def _flush(self) -> None:
        waiting, self._pending = self._pending, None
        try:
            self.sync_now()
        except OSError as exc:
            if waiting is not None and not waiting.done():
                waiting.set_exception(exc)
            return
        if waiting is not None and not waiting.done():
            waiting.set_result(None)

    def sync_now(self) -> None:
        os.fdatasync(self._fd)
        self._synced = self._written

    def close(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        if self._fd >= 0:
            os.close(self._fd)
            self._fd = -1


def read_journal(path: Path) -> Iterator[Record]:
    """Replay a journal, cutting off a torn last line left by a crash in the middle of a write.

    Only the final line can be torn (lines are appended whole, in order), and a torn line was
    never acknowledged, so dropping it loses nothing a client was told had succeeded.
    """
    data = path.read_bytes()
    good = 0
    for line in data.splitlines(keepends=True):
        if not line.endswith(b"\n"):
            break
        try:
            table, doc_id, doc = orjson.loads(line)
        except (orjson.JSONDecodeError, ValueError, TypeError):
            break
        good += len(line)
        yield table, doc_id, doc
    if good < len(data):
        log.warning(
            "%s: dropped a torn last line (%d bytes) left by an interrupted write; it was never acknowledged",
            path,
            len(data) - good,
        )
        with open(path, "r+b") as fh:
            fh.truncate(good)
