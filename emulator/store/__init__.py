"""The durable document store; the only package that imports TinyDB."""

from emulator.store.store import Store, StoreCorrupt, StoreLocked, Table

__all__ = ["Store", "StoreCorrupt", "StoreLocked", "Table"]
