"""Find secret values anywhere a run wrote them: a reusable sweep for tests (issue 12, item 3).

    from secrets_sweep import sweep
    assert sweep(["pw-value", "community"], paths=[tmp_path], texts={"stdout": out}) == []

``sweep`` looks in every file under each path (raw bytes, as UTF-8 and UTF-16), in every cell of
every table of each SQLite store it finds there (text, and bytes both as stored and
zlib-decompressed, which is how captures are kept), in zip members (XLSX reports) decompressed,
and in the given texts (a process's stdout and stderr).  It returns one line per finding, naming
the place and the secret by its position in the list (never the value, so a failing assertion does
not print it either).
"""
from __future__ import annotations

import sqlite3
import zipfile
import zlib
from collections.abc import Iterable, Mapping
from pathlib import Path

SQLITE_MAGIC = b"SQLite format 3\x00"


def _needles(secrets: Iterable[str]) -> list[tuple[int, list[bytes]]]:
    out = []
    for i, s in enumerate(secrets):
        if not s:
            continue
        out.append((i, [s.encode("utf-8"), s.encode("utf-16-le")]))
    return out


def _hits(data: bytes, needles, where: str) -> list[str]:
    return [f"{where}: secret #{i}" for i, forms in needles if any(f in data for f in forms)]


def _inflate(data: bytes) -> bytes | None:
    try:
        return zlib.decompress(data)
    except zlib.error:
        return None


def _sweep_sqlite(path: Path, needles) -> list[str]:
    found: list[str] = []
    con = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        tables = [r[0] for r in con.execute("SELECT name FROM sqlite_master WHERE type='table'")]
        for table in tables:
            for row in con.execute(f'SELECT * FROM "{table}"'):  # noqa: S608 - names from sqlite_master
                for value in row:
                    if isinstance(value, str):
                        found += _hits(value.encode("utf-8"), needles, f"{path.name} table {table}")
                    elif isinstance(value, bytes):
                        found += _hits(value, needles, f"{path.name} table {table}")
                        inflated = _inflate(value)
                        if inflated is not None:
                            found += _hits(inflated, needles, f"{path.name} table {table} (zlib)")
    except sqlite3.DatabaseError:
        # A store the hostile tests damaged on purpose: its raw bytes were swept (_sweep_file); its
        # zlib blobs cannot be reached through SQLite, so every zlib stream in the file is tried.
        found += _sweep_zlib_streams(path.read_bytes(), needles, f"{path.name} (damaged, zlib scan)")
    finally:
        con.close()
    return found


def _sweep_zlib_streams(data: bytes, needles, where: str) -> list[str]:
    found: list[str] = []
    start = data.find(b"\x78\x9c")
    while start >= 0:
        inflated = _inflate_prefix(data[start:])
        if inflated:
            found += _hits(inflated, needles, where)
        start = data.find(b"\x78\x9c", start + 2)
    return sorted(set(found))


def _inflate_prefix(data: bytes) -> bytes | None:
    try:
        return zlib.decompressobj().decompress(data, 64 * 2**20)
    except zlib.error:
        return None


def _sweep_file(path: Path, needles) -> list[str]:
    data = path.read_bytes()
    found = _hits(data, needles, str(path))
    if data.startswith(SQLITE_MAGIC):
        found += _sweep_sqlite(path, needles)
    elif data.startswith(b"PK\x03\x04"):
        try:
            with zipfile.ZipFile(path) as zf:
                for name in zf.namelist():
                    found += _hits(zf.read(name), needles, f"{path}!{name}")
        except zipfile.BadZipFile:
            pass
    return found


def sweep(secrets: Iterable[str], *, paths: Iterable[str | Path] = (),
          texts: Mapping[str, str | bytes] | None = None) -> list[str]:
    """Every place one of ``secrets`` appears (module docstring); ``[]`` when none does."""
    needles = _needles(secrets)
    assert needles, "nothing to look for"
    found: list[str] = []
    for root in paths:
        root = Path(root)
        files = [root] if root.is_file() else sorted(p for p in root.rglob("*") if p.is_file())
        for path in files:
            found += _sweep_file(path, needles)
    for name, text in (texts or {}).items():
        data = text.encode("utf-8") if isinstance(text, str) else text
        found += _hits(data, needles, name)
    return found
