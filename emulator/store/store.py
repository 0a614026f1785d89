"""The emulator's durable document store: TinyDB's file format, a journal, and dict indexes.

Why not TinyDB's tables directly: `Table.insert` re-reads and re-writes the whole database on
every call (83 inserts/s at 2,000 users with JSONStorage, and O(n) key conversions even on
MemoryStorage). Instead:

* All documents live in memory as `{table: {doc_id: document}}`, the exact layout of a TinyDB
  database, with dict indexes in front for the lookups SCIM clients make all the time.
* A mutation updates memory and appends one line to the journal (see `journal.py`) before it is
  acknowledged: constant cost, whatever the number of stored documents. Once appended it
  survives a `kill -9`; `sync_writes` also waits for an fdatasync, against power loss.
* The data file `data.json` is a TinyDB JSON document, read at start with TinyDB's own
  `JSONStorage`. Compaction folds the journal into it: a new journal generation is opened, the
  whole state is written to a temporary file, fsynced and atomically renamed over `data.json`,
  and only then is the older journal deleted. A crash at any point leaves either the old file
  plus both journals or the new file plus the new journal; replaying full-document records is
  idempotent, so both load to the same state. Compaction runs on a clean close and whenever the
  journal outgrows twice the data file, which keeps its amortised cost per write constant.
* The data file records the journal generation it includes in a `_store` table, so a person (or
  plain TinyDB) can open it and see ordinary tables named by side: `galaxy_users`, ...

All mutations are synchronous: a read-modify-write never spans an `await`, so concurrent
requests on the event loop cannot lose updates.
"""

from __future__ import annotations

import asyncio
import fcntl
import os
import threading
from collections.abc import Callable, Hashable, Iterable, Iterator
from pathlib import Path

import orjson
from tinydb.storages import JSONStorage

from emulator.store.journal import Journal, read_journal

DATA_FILE = "data.json"
LOCK_FILE = "store.lock"
META_TABLE = "_store"
MIN_COMPACT_BYTES = 16 * 1024 * 1024

KeyFunc = Callable[[dict], Hashable | Iterable[Hashable] | None]


class StoreLocked(Exception):
    """Another process (a running server) holds this data folder."""


class StoreCorrupt(Exception):
    """The data file cannot be read; raised with a message a person can act on."""


class Index:
    """A dict from a key computed from each document to the ids of the documents having it.

    With `multi`, the key function returns several keys per document (e.g. the member ids of a
    group), which makes reverse lookups such as "the groups this user belongs to" cheap.
    """

    def __init__(self, key: KeyFunc, multi: bool = False) -> None:
        self.key = key
        self.multi = multi
        self.entries: dict[Hashable, set[int]] = {}

    def _keys(self, doc: dict) -> Iterable[Hashable]:
        k = self.key(doc)
        if k is None:
            return ()
        return k if self.multi else (k,)

    def add(self, doc_id: int, doc: dict) -> None:
        for k in self._keys(doc):
            self.entries.setdefault(k, set()).add(doc_id)

    def discard(self, doc_id: int, doc: dict) -> None:
        for k in self._keys(doc):
            ids = self.entries.get(k)
            if ids is not None:
                ids.discard(doc_id)
                if not ids:
                    del self.entries[k]


class Table:
    """A named table of documents keyed by integer ids, as TinyDB numbers them.

    Documents handed out are the stored objects themselves: treat them as read-only and write
    changes back with `put`.
    """

    def __init__(self, store: Store, name: str, docs: dict[int, dict]) -> None:
        self.store = store
        self.name = name
        self.docs = docs
        self.indexes: dict[str, Index] = {}
        self._next_id = max(docs, default=0) + 1
        self._listing: list[dict] | None = None

    def add_index(self, name: str, key: KeyFunc, multi: bool = False) -> None:
        index = Index(key, multi)
        for doc_id, doc in self.docs.items():
            index.add(doc_id, doc)
        self.indexes[name] = index

    def __len__(self) -> int:
        return len(self.docs)

    def get(self, doc_id: int) -> dict | None:
        return self.docs.get(doc_id)

    def lookup(self, index: str, key: Hashable) -> list[int]:
        """Ids of the documents whose `index` key equals `key`, in insertion order."""
        ids = self.indexes[index].entries.get(key)
        if not ids:
            return []
        return sorted(ids) if len(ids) > 1 else list(ids)

    def find_one(self, index: str, key: Hashable) -> tuple[int, dict] | None:
        ids = self.lookup(index, key)
        return (ids[0], self.docs[ids[0]]) if ids else None

    def all(self) -> Iterator[tuple[int, dict]]:
        return iter(self.docs.items())

    def values(self) -> list[dict]:
        """Every document in insertion order; the list is shared and rebuilt only after a
        change, so paging through a large unchanged table costs O(page), not O(table)."""
        if self._listing is None:
            self._listing = list(self.docs.values())
        return self._listing

    def insert(self, doc: dict) -> int:
        doc_id = self._next_id
        self.put(doc_id, doc)
        return doc_id

    def put(self, doc_id: int, doc: dict) -> None:
        self.store._journal.append(self.name, doc_id, doc)
        self._apply(doc_id, doc)

    def remove(self, doc_id: int) -> None:
        if doc_id in self.docs:
            self.store._journal.append(self.name, doc_id, None)
            self._apply(doc_id, None)

    def clear(self) -> None:
        self.store._journal.append(self.name, None, None)
        self._apply(None, None)

    def _apply(self, doc_id: int | None, doc: dict | None) -> None:
        self._listing = None
        if doc_id is None:
            self.docs.clear()
            for index in self.indexes.values():
                index.entries.clear()
            return
        old = self.docs.get(doc_id)
        if old is not None:
            for index in self.indexes.values():
                index.discard(doc_id, old)
        if doc is None:
            self.docs.pop(doc_id, None)
            return
        self.docs[doc_id] = doc
        for index in self.indexes.values():
            index.add(doc_id, doc)
        if doc_id >= self._next_id:
            self._next_id = doc_id + 1


class Store:
    """The data folder: its lock, its TinyDB data file, its journal and the tables in memory."""

    def __init__(
        self, folder: Path | str, *, sync_writes: bool = False, min_compact_bytes: int = MIN_COMPACT_BYTES
    ) -> None:
        self.folder = Path(folder)
        self.sync_writes = sync_writes
        self.min_compact_bytes = min_compact_bytes
        self.folder.mkdir(parents=True, exist_ok=True)
        self._lock_fd = _lock(self.folder / LOCK_FILE)
        try:
            self._load()
        except BaseException:
            os.close(self._lock_fd)
            raise

    # -- loading ---------------------------------------------------------------------------

    def _load(self) -> None:
        path = self.folder / DATA_FILE
        self._tables: dict[str, Table] = {}
        self.generation = 1
        if path.exists():
            self._load_snapshot(path)
        for gen, journal_path in self._journals():
            if gen < self.generation:
                journal_path.unlink()
                continue
            for table, doc_id, doc in read_journal(journal_path):
                self.table(table)._apply(doc_id, doc)
        for table in self._tables.values():
            table._next_id = max(table.docs, default=0) + 1
        self._snapshot_size = path.stat().st_size if path.exists() else 0
        self._written_generation = self.generation
        self._compacting = False
        self._snapshot_lock = threading.Lock()
        self._journal = Journal(self._journal_path(self.generation), self.sync_writes)

    def _load_snapshot(self, path: Path) -> None:
        """Read data.json with TinyDB's own reader; any shape TinyDB would not accept is a
        StoreCorrupt naming the file, never a traceback."""
        try:
            storage = JSONStorage(str(path), access_mode="r")
            try:
                raw = storage.read() or {}
            finally:
                storage.close()
            if not isinstance(raw, dict):
                raise ValueError("the top level must be an object of tables")
            meta = raw.pop(META_TABLE, {}).get("1", {})
            self.generation = int(meta.get("generation", 1))
            for name, docs in raw.items():
                if not isinstance(docs, dict):
                    raise ValueError(f"table {name!r} must be an object of documents")
                self.table(name).docs.update({int(k): v for k, v in docs.items()})
        except (ValueError, TypeError, AttributeError) as exc:
            raise StoreCorrupt(f"{path} is not a valid TinyDB JSON document: {exc}") from exc

    def _journals(self) -> list[tuple[int, Path]]:
        found = []
        for p in self.folder.glob("journal.*.log"):
            try:
                found.append((int(p.name.split(".")[1]), p))
            except ValueError:
                continue
        return sorted(found)

    def _journal_path(self, generation: int) -> Path:
        return self.folder / f"journal.{generation}.log"

    # -- use -------------------------------------------------------------------------------

    def table(self, name: str) -> Table:
        table = self._tables.get(name)
        if table is None:
            table = self._tables[name] = Table(self, name, {})
        return table

    @property
    def tables(self) -> dict[str, Table]:
        return self._tables

    async def commit(self) -> None:
        """Make every write so far durable (see `Journal.sync`), then fold the journal into the
        data file if it has grown large: serialised on the event loop (a consistent state), the
        file written and fsynced by a worker thread, so requests keep flowing meanwhile."""
        await self._journal.sync()
        if not self._compacting and self._journal.size > max(self.min_compact_bytes, 2 * self._snapshot_size):
            self._compacting = True
            try:
                snapshot = self._begin_compaction()
                await asyncio.get_running_loop().run_in_executor(None, self._write_snapshot, *snapshot)
            finally:
                self._compacting = False

    def compact(self) -> None:
        """Write the whole state as a TinyDB document and start a fresh journal (see module doc)."""
        self._write_snapshot(*self._begin_compaction())

    def _begin_compaction(self) -> tuple[int, bytes, Journal]:
        old = self._journal
        old.sync_now()  # the file stays until the snapshot that includes it is in place
        old.close()
        self.generation += 1
        self._journal = Journal(self._journal_path(self.generation), self.sync_writes)
        data: dict = {name: t.docs for name, t in self._tables.items()}
        data[META_TABLE] = {"1": {"generation": self.generation}}
        return self.generation, orjson.dumps(data, option=orjson.OPT_NON_STR_KEYS), old

    def _write_snapshot(self, generation: int, blob: bytes, old: Journal) -> None:
        """Atomically replace data.json, then drop the journal it includes. A snapshot older
        than one already written is dropped, so a slow background write never wins a race."""
        with self._snapshot_lock:
            if generation > self._written_generation:
                path = self.folder / DATA_FILE
                tmp = path.with_suffix(".json.tmp")
                with open(tmp, "wb") as fh:
                    fh.write(blob)
                    fh.flush()
                    os.fsync(fh.fileno())
                os.replace(tmp, path)
                _fsync_dir(self.folder)
                self._written_generation = generation
                self._snapshot_size = len(blob)
            old.path.unlink(missing_ok=True)

    def close(self) -> None:
        """Compact and release the folder; after a clean close plain TinyDB reads `data.json`."""
        if self._lock_fd < 0:
            return
        self.compact()
        self._journal.close()
        os.close(self._lock_fd)
        self._lock_fd = -1


def _lock(path: Path) -> int:
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        os.close(fd)
        raise StoreLocked(f"{path.parent} is in use by another scim-emulator process") from None
    return fd


def _fsync_dir(folder: Path) -> None:
    fd = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
