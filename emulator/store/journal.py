"""The append-only journal that makes every acknowledged write durable at constant cost.

Each mutation is one line `[table, doc_id, document]` (`document` null for a delete, `doc_id`
null for "clear the table") written with a single `os.write` before the write is acknowledged:
once that call returns, the bytes belong to the kernel and survive a `kill -9` of the server.
`sync()` adds an fsync for power loss, shared by every writer waiting at the same moment (group
commit), so concurrent clients pay for one fsync between them rather than one each.
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import Iterator
from pathlib import Path

import orjson

Record = tuple[str, int | None, dict | None]


class Journal:
    """One generation's journal file, opened for appending."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
        self.size = os.fstat(self._fd).st_size
        self._written = 0
        self._synced = 0
        self._inflight: asyncio.Future | None = None

    def append(self, table: str, doc_id: int | None, doc: dict | None) -> None:
        line = orjson.dumps([table, doc_id, doc]) + b"\n"
        view = memoryview(line)
        while view:  # a regular file takes it whole; loop only for the pathological short write
            view = view[os.write(self._fd, view) :]
        self.size += len(line)
        self._written += 1

    async def sync(self) -> None:
        """Return once everything appended before the call is on stable storage."""
        target = self._written
        loop = asyncio.get_running_loop()
        while self._synced < target:
            if self._inflight is None:
                mark = self._written
                self._inflight = loop.run_in_executor(None, os.fdatasync, self._fd)
                try:
                    await asyncio.shield(self._inflight)
                finally:
                    self._inflight = None
                self._synced = max(self._synced, mark)
            else:
                await asyncio.shield(self._inflight)

    def sync_now(self) -> None:
        os.fdatasync(self._fd)
        self._synced = self._written

    def close(self) -> None:
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
        with open(path, "r+b") as fh:
            fh.truncate(good)
