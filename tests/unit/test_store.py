"""The durable store: journal replay, torn writes, crash during compaction, plain TinyDB reads."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from tinydb import TinyDB

from emulator.store import Store, StoreCorrupt, StoreLocked


def crash(store: Store) -> None:
    """Drop the store as a killed process would: no compaction, no clean close."""
    store._journal.close()
    os.close(store._lock_fd)
    store._lock_fd = -1


def test_writes_survive_a_crash_through_the_journal(tmp_path: Path) -> None:
    store = Store(tmp_path)
    users = store.table("galaxy_users")
    ids = [users.insert({"userName": f"u{i}"}) for i in range(5)]
    users.remove(ids[1])
    users.put(ids[2], {"userName": "renamed"})
    crash(store)
    again = Store(tmp_path)
    assert [d["userName"] for d in again.table("galaxy_users").values()] == ["u0", "renamed", "u3", "u4"]
    assert again.table("galaxy_users").insert({"userName": "next"}) == 6
    again.close()


def test_a_torn_last_journal_line_is_dropped_and_the_rest_loads(tmp_path: Path) -> None:
    store = Store(tmp_path)
    store.table("t").insert({"a": 1})
    journal = store._journal.path
    crash(store)
    with open(journal, "ab") as fh:
        fh.write(b'["t", 2, {"a": ')  # the write a kill -9 interrupted
    again = Store(tmp_path)
    assert again.table("t").values() == [{"a": 1}]
    again.table("t").insert({"a": 2})
    again.close()
    assert TinyDB(tmp_path / "data.json").table("t").all() == [{"a": 1}, {"a": 2}]


def test_a_crash_in_the_middle_of_compaction_loses_nothing(tmp_path: Path) -> None:
    store = Store(tmp_path)
    store.table("t").insert({"a": 1})
    store.compact()
    store.table("t").insert({"a": 2})
    old_journal = store._journal.path
    crash(store)
    # As if the next compaction died after opening the new journal and writing a temp file.
    (tmp_path / "data.json.tmp").write_text('{"t": {"1": {"a": 1}')
    (tmp_path / f"journal.{int(old_journal.name.split('.')[1]) + 1}.log").write_bytes(b'["t", 3, {"a": 3}]\n')
    again = Store(tmp_path)
    assert again.table("t").values() == [{"a": 1}, {"a": 2}, {"a": 3}]
    again.close()


def test_clear_and_clean_close_leave_a_plain_tinydb_document(tmp_path: Path) -> None:
    store = Store(tmp_path)
    store.table("gone").insert({"x": 1})
    store.table("gone").clear()
    store.table("kept").insert({"x": 2})
    store.close()
    db = TinyDB(tmp_path / "data.json")
    assert db.table("kept").all() == [{"x": 2}] and db.table("gone").all() == []


def test_indexes_follow_every_change(tmp_path: Path) -> None:
    store = Store(tmp_path)
    users = store.table("u")
    users.add_index("name", lambda d: d["name"].lower())
    users.add_index("groups", lambda d: d.get("groups", ()), multi=True)
    a = users.insert({"name": "Ada", "groups": ["g1", "g2"]})
    b = users.insert({"name": "Bob", "groups": ["g2"]})
    assert users.lookup("name", "ada") == [a] and users.lookup("groups", "g2") == [a, b]
    users.put(a, {"name": "Ann", "groups": ["g1"]})
    assert users.lookup("name", "ada") == [] and users.lookup("groups", "g2") == [b]
    users.remove(b)
    assert users.lookup("groups", "g2") == []
    store.close()


def test_a_second_process_cannot_open_a_held_folder(tmp_path: Path) -> None:
    store = Store(tmp_path)
    with pytest.raises(StoreLocked, match="in use"):
        Store(tmp_path)
    store.close()
    Store(tmp_path).close()


def test_an_unreadable_data_file_is_a_clear_error(tmp_path: Path) -> None:
    (tmp_path / "data.json").write_text("{not json")
    with pytest.raises(StoreCorrupt, match="not a valid TinyDB JSON document"):
        Store(tmp_path)


def test_write_cost_does_not_depend_on_the_table_size(tmp_path: Path) -> None:
    """One write appends one line: the journal grows by the same amount at 1 or 20,000 docs."""
    store = Store(tmp_path)
    table = store.table("t")
    before = store._journal.size
    table.insert({"n": 0})
    small = store._journal.size - before
    for i in range(20_000):
        table.insert({"n": i % 10})
    before = store._journal.size
    table.insert({"n": 0})
    assert store._journal.size - before <= small + len("20002")  # only the id got longer
    store.close()


@pytest.mark.parametrize("content", ["[1]", '{"t": [1, 2]}', '{"t": {"x": {}}}', '{"_store": 5}'])
def test_a_data_file_of_the_wrong_shape_is_a_clear_error(tmp_path: Path, content: str) -> None:
    (tmp_path / "data.json").write_text(content)
    with pytest.raises(StoreCorrupt, match="not a valid TinyDB JSON document"):
        Store(tmp_path)


async def test_a_growing_journal_is_folded_into_the_data_file_while_writes_go_on(tmp_path: Path) -> None:
    store = Store(tmp_path, min_compact_bytes=4096)
    table = store.table("t")
    for i in range(2000):
        table.insert({"n": i, "pad": "x" * 50})
        await store.commit()
    assert store.generation > 2, "compacted several times"
    journals = sorted(p.name for p in tmp_path.glob("journal.*.log"))
    assert journals == [f"journal.{store.generation}.log"]
    assert (tmp_path / "data.json").stat().st_size < 200_000
    crash(store)
    again = Store(tmp_path)
    assert len(again.table("t")) == 2000 and again.table("t").get(2000)["n"] == 1999
    again.close()
