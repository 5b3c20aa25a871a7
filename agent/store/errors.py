"""The store's errors (in their own module so that ``opening`` and ``db`` share them)."""
from __future__ import annotations


class StoreError(RuntimeError):
    pass


class StoreLocked(StoreError):
    pass


class StoreWriteError(StoreError):
    """The store could not be written (disk full, read-only file or directory, I/O error, still
    locked by another writer after the busy timeout): SQLite's OperationalError out of a write
    transaction, with the store's path.  A scan ends ``failed`` on it, never ``completed``."""
