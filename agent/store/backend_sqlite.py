"""The store on SQLite (the embedded default): opening a file (created and migrated for a writer,
read-only for a reader: ``opening``), its pragmas, its file locks beside the store, and its size.

``Store`` talks to its backend through the few methods this class and ``backend_pg.PgBackend``
share (open, try_lock/unlock, size/reclaim, the errors of a write); the SQL is the same for both.
"""
from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import fcntl
import os
import sqlite3
from pathlib import Path

from agent.store import opening
from agent.store.errors import StoreError, StoreWriteError
from agent.store.schema import _MIGRATIONS, BASE, SCHEMA_VERSION

# Lock name -> the file beside the store that holds it.  One writer per file: the scan lock
# ignores the agent scope (a SQLite store has one writer at a time anyway).
_LOCK_SUFFIX = {"scan": ".lock", "slp": ".slp.lock"}


class SqliteBackend:
    kind = "sqlite"
    # The scan lock excludes every other writer of the file, whatever its scope: every scan still
    # 'running' when a writer holds it is dead.
    one_writer = True

    def begin_write(self, db) -> None:
        """A write transaction that holds the file's write lock from its first statement."""
        db.execute("BEGIN IMMEDIATE")

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self.shown = str(self.path)
        self._fds: dict[str, int] = {}

    # ------------------------------------------------------------------ opening

    def connect(self, readonly: bool):
        if readonly:
            db = opening.connect_readonly(self.path)
            with self._closed_on_refusal(db):
                version = opening.schema_version(db, self.path, True)
            if version < SCHEMA_VERSION:
                db.close()
                raise StoreError(opening.too_old(self.path, version))
            return db
        if self.path.parent and not self.path.parent.exists():
            self.path.parent.mkdir(parents=True, exist_ok=True)
        try:
            db = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False)
        except sqlite3.Error as exc:
            raise StoreError(f"cannot open store {self.path}: {exc}") from None
        db.row_factory = sqlite3.Row
        return db

    def prepare(self, store) -> None:
        """A writer's connection: another application's database refused untouched, then WAL and
        the migrations."""
        db = store.db
        with self._closed_on_refusal(db):
            version = opening.schema_version(db, self.path, False)  # before any write
            db.execute("PRAGMA journal_mode=WAL")
            # NORMAL in WAL mode loses at most the last transactions on power loss, never consistency.
            db.execute("PRAGMA synchronous=NORMAL")
            db.execute("PRAGMA foreign_keys=ON")
            db.execute("PRAGMA busy_timeout=10000")
            if version < SCHEMA_VERSION:
                self._migrate(store, version)

    @contextmanager
    def _closed_on_refusal(self, db) -> Iterator[None]:
        """While opening: a refusal closes the connection; SQLite's own refusal is said in words."""
        try:
            yield
        except StoreError:
            db.close()
            raise
        except sqlite3.DatabaseError as exc:
            db.close()
            raise StoreError(opening.unusable(self.path, exc)) from None

    def _migrate(self, store, version: int) -> None:
        db = store.db
        with store.transaction():
            # A version with no migration here is another branch's (see schema._MIGRATIONS).
            scripts = [*BASE] + [_MIGRATIONS[v] for v in range(max(version, 1) + 1, SCHEMA_VERSION + 1)
                                   if v in _MIGRATIONS]
            for script in scripts:
                if callable(script):
                    script(db)
                    continue
                for statement in script.split(";"):
                    if statement.strip():
                        db.execute(statement)
            db.execute("INSERT INTO meta(key, value) VALUES ('schema_version', ?)"
                       " ON CONFLICT(key) DO UPDATE SET value = excluded.value", (str(SCHEMA_VERSION),))

    def temp_tables(self, db, statements) -> None:
        """Nothing ahead: a reading SQLite connection may create TEMP tables as they are first used."""

    # ------------------------------------------------------------------ writes

    WRITE_ERRORS = (sqlite3.OperationalError,)

    def write_error(self, exc: Exception) -> StoreWriteError:
        readonly = (getattr(exc, "sqlite_errorname", "") or "").startswith("SQLITE_READONLY")
        return StoreWriteError(f"cannot write the store {self.path}: "
                               + (f"it is read-only ({exc})" if readonly else str(exc)))

    # ------------------------------------------------------------------ locks: files beside the store

    def lock_file(self, suffix: str) -> Path:
        """The lock file beside the store's real file: the path is resolved first, so a store
        reached through a symlink (or '..') takes the same lock as the file itself."""
        real = self.path.resolve()
        return real.with_name(real.name + suffix)

    def try_lock(self, name: str, scope: str = "", *, everything: bool = False) -> str | None:
        """None when the lock is taken, else who holds it."""
        fd = os.open(self.lock_file(_LOCK_SUFFIX[name]), os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = os.pread(fd, 64, 0).decode(errors="replace").strip()
            os.close(fd)
            return f"pid {holder}" if holder else "pid another process"
        os.ftruncate(fd, 0)
        os.pwrite(fd, str(os.getpid()).encode(), 0)
        self._fds[name] = fd
        return None

    def unlock(self, name: str) -> None:
        fd = self._fds.pop(name, None)
        if fd is not None:
            fcntl.flock(fd, fcntl.LOCK_UN)
            os.close(fd)

    def holds(self, name: str) -> bool:
        return name in self._fds

    # ------------------------------------------------------------------ size (prune-history)

    def size(self, db) -> int:
        wal = self.path.with_name(self.path.name + "-wal")
        return self.path.stat().st_size + (wal.stat().st_size if wal.exists() else 0)

    def reclaim(self, db, vacuum: bool) -> int:
        """Free pages after a prune (bytes), then VACUUM and a WAL checkpoint when asked."""
        freed = db.execute("PRAGMA freelist_count").fetchone()[0] * db.execute("PRAGMA page_size").fetchone()[0]
        if vacuum:
            db.execute("VACUUM")
            db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        return freed
