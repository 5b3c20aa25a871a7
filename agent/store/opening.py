"""Opening a store file: read-only for the commands that only read, the schema version read
and checked, and SQLite's refusals said in words that tell the user what to do.

Reads never create or migrate a store: SQLite opens the file with ``mode=ro``, so a command that
only reads cannot add a table to a file that is not ours, nor change an older store under the
release that wrote it.  Only the writers (``Store(path)``) create and migrate.
"""
from __future__ import annotations

import sqlite3
import urllib.parse
from pathlib import Path

from agent.store.errors import StoreError
from agent.store.schema import SCHEMA_VERSION


def connect_readonly(path: Path) -> sqlite3.Connection:
    if not path.is_file():
        raise StoreError(f"no store at {path}")
    uri = "file:" + urllib.parse.quote(str(path.resolve())) + "?mode=ro"
    try:
        db = sqlite3.connect(uri, uri=True, isolation_level=None, check_same_thread=False)
    except sqlite3.Error as exc:
        raise StoreError(f"cannot open store {path}: {exc}") from None
    db.row_factory = sqlite3.Row
    db.execute("PRAGMA busy_timeout=10000")
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
