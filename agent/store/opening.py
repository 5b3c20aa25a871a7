"""Opening a store file: read-only for the commands that only read, the schema version read
and checked, and SQLite's refusals said in words that tell the user what to do.

Reads never create or migrate a store: a reading connection has an authorizer that refuses every
change to the file (``connect_readonly``), so a command that only reads cannot add a table to a
file that is not ours, nor change an older store under the release that wrote it.  Only the writers (``Store(path)``) create and migrate.
"""
from __future__ import annotations

import sqlite3
import urllib.parse
from pathlib import Path

from agent.store.errors import StoreError
from agent.store.schema import SCHEMA_VERSION


# What a reading connection may not do to the store file.  TEMP tables (joins through a list of
# serials) stay allowed: they live in the connection's own temporary database.
_WRITES = frozenset({
    sqlite3.SQLITE_CREATE_INDEX, sqlite3.SQLITE_CREATE_TABLE, sqlite3.SQLITE_CREATE_TRIGGER,
    sqlite3.SQLITE_CREATE_VIEW, sqlite3.SQLITE_DELETE, sqlite3.SQLITE_DROP_INDEX, sqlite3.SQLITE_DROP_TABLE,
    sqlite3.SQLITE_DROP_TRIGGER, sqlite3.SQLITE_DROP_VIEW, sqlite3.SQLITE_INSERT, sqlite3.SQLITE_UPDATE,
    sqlite3.SQLITE_ALTER_TABLE, sqlite3.SQLITE_REINDEX, sqlite3.SQLITE_ANALYZE, sqlite3.SQLITE_CREATE_VTABLE,
    sqlite3.SQLITE_DROP_VTABLE, sqlite3.SQLITE_ATTACH,
})


def _reads_only(action: int, arg1, arg2, dbname, trigger) -> int:
    if action in _WRITES and dbname != "temp":
        return sqlite3.SQLITE_DENY
    if action == sqlite3.SQLITE_PRAGMA and arg2 is not None and arg1 != "busy_timeout":
        return sqlite3.SQLITE_DENY  # journal_mode=WAL, user_version=... change the file
    return sqlite3.SQLITE_OK


def connect_readonly(path: Path) -> sqlite3.Connection:
    """A connection that cannot write the store (an authorizer refuses every change but to TEMP
    tables), opened read-write when it can be.

    Why not plain ``mode=ro``: on a store in WAL mode (every store a scan wrote) a read-only
    connection must create the ``-wal`` and ``-shm`` files to read, and cannot remove them on close
    (only a connection that may checkpoint can), so every ``ibagent devices`` left two files beside
    the store.  A read-write connection with writes refused removes them on close, as any SQLite
    reader does; ``mode=rw`` never creates a missing file.  A directory we may not write (where the
    ``-wal`` cannot be made) falls back to ``mode=ro``, which reads a store nobody is writing.
    """
    if not path.is_file():
        raise StoreError(f"no store at {path}")
    quoted = "file:" + urllib.parse.quote(str(path.resolve()))
    db = None
    for mode in ("rw", "ro"):
        try:
            db = sqlite3.connect(f"{quoted}?mode={mode}", uri=True, isolation_level=None, check_same_thread=False)
            db.execute("PRAGMA busy_timeout=10000")
            db.set_authorizer(_reads_only)
            db.execute("SELECT 1 FROM sqlite_master LIMIT 1").fetchall()
            break
        except sqlite3.DatabaseError as exc:
            if db is not None:
                db.close()
                db = None
            # A file that is not a database is not made one by another mode: say so now.
            if mode == "ro" or not isinstance(exc, sqlite3.OperationalError):
                raise StoreError(unusable(path, exc)) from None
    db.row_factory = sqlite3.Row
    return db


def schema_version(db: sqlite3.Connection, path: Path, readonly: bool) -> int:
    """The store's schema version (0: an empty file, a store to create), or StoreError for a
    file that is not an ibagent store or is newer than this code."""
    tables = {row[0] for row in db.execute("SELECT name FROM sqlite_master WHERE type='table'")}
    if "meta" not in tables:
        if tables:
            shown = ", ".join(sorted(tables)[:5]) + (", ..." if len(tables) > 5 else "")
            raise StoreError(f"{path} is not an ibagent store: an SQLite database of another application "
                             f"(tables {shown}); nothing was read or changed")
        if readonly:
            raise StoreError(f"{path} is an empty SQLite file, not an ibagent store")
        return 0
    row = db.execute("SELECT value FROM meta WHERE key='schema_version'").fetchone()
    try:
        version = int(row[0]) if row else 0
    except (TypeError, ValueError):
        raise StoreError(f"{path}: its schema version {row[0]!r} is not a number: the store is damaged "
                         "or not ibagent's") from None
    if version > SCHEMA_VERSION:
        raise StoreError(f"{path} has schema version {version}, newer than this ibagent ({SCHEMA_VERSION}); upgrade ibagent")
    return version


def too_old(path: Path, version: int) -> str:
    return (f"{path} has schema version {version}, older than this ibagent's ({SCHEMA_VERSION}); commands that only "
            "read never migrate a store: run 'ibagent scan' on it first")


def unusable(path: Path, exc: sqlite3.DatabaseError) -> str:
    """Why SQLite refused the file, in words that say what to do."""
    name = getattr(exc, "sqlite_errorname", "") or ""
    text = str(exc)
    if name.startswith("SQLITE_READONLY") or "readonly" in text:
        return (f"{path} is read-only ({text}): ibagent cannot write it; check the permissions of the file and "
                "its directory (commands that only read, such as 'devices', still work)")
    if name.startswith("SQLITE_CORRUPT") or "malformed" in text:
        return f"{path} is damaged ({text}): restore it from a backup, or start a new store"
    if name.startswith("SQLITE_NOTADB") or "not a database" in text:
        return f"{path} is not an ibagent store: not an SQLite database ({text})"
    if name.startswith(("SQLITE_CANTOPEN", "SQLITE_IOERR", "SQLITE_PERM", "SQLITE_AUTH")):
        return f"cannot open store {path} ({text})"
    return f"{path} is not an ibagent store ({text})"
