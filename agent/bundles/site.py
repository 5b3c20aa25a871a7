"""What a site bundle holds and how its members are laid out (``ibagent export --site`` writes one,
``ibagent import`` reads it).  The sealed file itself (signature, sums) is seal.py's; this module
cuts a site's records into members and, on the way back, refuses any member whose content is not
what an exporter writes, naming the member, with memory and time bounded.

Members (names are labels, never file names):

- ``scans/<site scan id>/<nnnn>.json``: ``{"scan": {...}, "devices": [...]}``, a scan row and up
  to DEVICES_PER_MEMBER (and about MEMBER_TARGET bytes) of its site's device records
  (agent/store/site_rows.py says what one holds);
- ``blobs/<nnnn>.idx.json`` + ``blobs/<nnnn>.z``: a pack of blobs (capture bytes, cleaned texts,
  neighbour tables), each a zlib stream, and its index ``[[sha256, size, offset, length], ...]``;
- ``slp.json``: the Smart Licensing runs that touched the site;
- ``retirements.json``: the site's devices taken out of its fleet (``retire``, ``scan --prune``),
  each with the site scan it took effect after.

Bounds on reading (a bundle signed by a trusted key can still be hostile, or a writer's bug): a JSON
member at most JSON_MEMBER_MAX bytes and nested at most 64 deep; every record's fields type-checked
before use; a blob at most BLOB_MAX bytes once inflated, inflated with that cap (a zlib stream that
would inflate further is refused, never inflated whole), its sha256 checked; the blobs of one bundle
at most BLOBS_TOTAL_MAX inflated in all.
"""
from __future__ import annotations

import hashlib
import json
import math
import re
import zlib
from collections.abc import Iterator
from typing import Any

from agent.core.untrusted import InputError, loads_json

JSON_MEMBER_MAX = 32 << 20
MEMBER_TARGET = 4 << 20
BLOB_MAX = 128 << 20
BLOBS_TOTAL_MAX = 16 << 30
PACK_TARGET = 32 << 20
DEVICES_PER_MEMBER = 500
SLP_MEMBER = "slp.json"
RETIREMENTS_MEMBER = "retirements.json"
KIND = "ibagent-site"

_SCAN_MEMBER = re.compile(r"scans/(\d{1,18})/(\d{4,9})\.json\Z")
_PACK = re.compile(r"blobs/(\d{4,9})\.z\Z")
_INDEX = re.compile(r"blobs/(\d{4,9})\.idx\.json\Z")
_SHA = re.compile(r"[0-9a-f]{64}\Z")


class SiteBundleError(ValueError):
    """A member whose content is refused; the message names the member."""


# ------------------------------------------------------------------ writing

class SiteBundleWriter:
    """Cuts records into members of an open seal.BundleWriter (``add_scan``, ``add_blob``,
    ``add_slp``, then ``finish``)."""

    def __init__(self, writer) -> None:
        self.writer = writer
        self._pack: list[bytes] = []
        self._index: list[list] = []
        self._pack_size = 0
        self._packs = 0
        self.blobs: set[str] = set()

    def add_scan(self, scan: dict[str, Any], devices: list[dict[str, Any]]) -> None:
        """The scan row and its devices, cut into members of about MEMBER_TARGET bytes each (a
        reader parses one member at a time), never more than DEVICES_PER_MEMBER devices."""
        head = _dumps(scan)
        chunk: list[str] = []
        size, n = 0, 0
        for dev in devices:
            text = _dumps(dev)
            if len(text) + len(head) + 32 > JSON_MEMBER_MAX:
                raise SiteBundleError(f"scan {scan['site_scan_id']}, device {dev['row']['device']!r}: its records are "
                                      f"{len(text):,} bytes of JSON (limit {JSON_MEMBER_MAX:,})")
            if chunk and (size + len(text) > MEMBER_TARGET or len(chunk) >= DEVICES_PER_MEMBER):
                self._scan_member(scan, head, chunk, n)
                chunk, size, n = [], 0, n + 1
            chunk.append(text)
            size += len(text)
        self._scan_member(scan, head, chunk, n)

    def _scan_member(self, scan: dict[str, Any], head: str, chunk: list[str], n: int) -> None:
        data = ('{"devices":[' + ",".join(chunk) + '],"scan":' + head + "}").encode("utf-8")
        self.writer.add(f"scans/{scan['site_scan_id']}/{n:04d}.json", data)

    def add_blob(self, sha256: str, data: bytes) -> None:
        if sha256 in self.blobs:
            return
        packed = zlib.compress(data, 6)
        self._index.append([sha256, len(data), self._pack_size, len(packed)])
        self._pack.append(packed)
        self._pack_size += len(packed)
        self.blobs.add(sha256)
        if self._pack_size >= PACK_TARGET:
            self._flush()

    def add_slp(self, runs: list[dict[str, Any]]) -> None:
        self._json(SLP_MEMBER, {"runs": runs})

    def add_retirements(self, rows: list[dict[str, Any]]) -> None:
        self._json(RETIREMENTS_MEMBER, {"retirements": rows})

    def finish(self) -> None:
        self._flush()

    def _flush(self) -> None:
        if not self._pack:
            return
        name = f"blobs/{self._packs:04d}"
        self._json(name + ".idx.json", {"blobs": self._index})
        self.writer.add(name + ".z", b"".join(self._pack))
        self._packs += 1
        self._pack, self._index, self._pack_size = [], [], 0

    def _json(self, name: str, doc: Any) -> None:
        data = _dumps(doc).encode("utf-8")
        if len(data) > JSON_MEMBER_MAX:
            raise SiteBundleError(f"member {name} would be {len(data):,} bytes (limit {JSON_MEMBER_MAX:,})")
        self.writer.add(name, data)


def _dumps(doc: Any) -> str:
    return json.dumps(doc, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


# ------------------------------------------------------------------ reading

def member_kind(name: str) -> str:
    """scan | blob-index | blob-pack | slp | retirements; anything else is refused (an exporter
    writes nothing else)."""
    for kind, pattern in (("scan", _SCAN_MEMBER), ("blob-pack", _PACK), ("blob-index", _INDEX)):
        if pattern.match(name):
            return kind
    if name == SLP_MEMBER:
        return "slp"
    if name == RETIREMENTS_MEMBER:
        return "retirements"
    raise SiteBundleError(f"member {name}: not a member a site bundle holds")


def read_json(name: str, data: bytes) -> Any:
    if len(data) > JSON_MEMBER_MAX:
        raise SiteBundleError(f"member {name}: {len(data):,} bytes of JSON (limit {JSON_MEMBER_MAX:,})")
    try:
        return loads_json(data.decode("utf-8"), f"member {name}")
    except UnicodeDecodeError as exc:
        raise SiteBundleError(f"member {name}: not UTF-8 ({exc.reason} at byte {exc.start})") from None
    except json.JSONDecodeError as exc:
        raise SiteBundleError(f"member {name}: bad JSON at line {exc.lineno} column {exc.colno}: {exc.msg}") from None
    except InputError as exc:
        raise SiteBundleError(str(exc)) from None


def pack_name(index_name: str) -> str:
    return index_name.removesuffix(".idx.json") + ".z"


class BlobBudget:
    """The inflated bytes one bundle may still produce (BLOBS_TOTAL_MAX in all)."""

    def __init__(self, total: int = BLOBS_TOTAL_MAX) -> None:
        self.left = total


def unpack(index_name: str, index_doc: Any, pack: bytes, budget: BlobBudget) -> Iterator[tuple[str, bytes]]:
    """(sha256, bytes) of each blob of a pack, each inflated with a cap and checked."""
    entries = index_doc.get("blobs") if isinstance(index_doc, dict) else None
    if not isinstance(entries, list):
        raise SiteBundleError(f"member {index_name}: no blob list")
    for i, e in enumerate(entries, 1):
        where = f"member {index_name}, blob {i}"
        if not (isinstance(e, list) and len(e) == 4 and isinstance(e[0], str) and _SHA.match(e[0])
                and all(type(x) is int and x >= 0 for x in e[1:])):
            raise SiteBundleError(f"{where}: malformed entry")
        sha, size, offset, length = e
        if size > BLOB_MAX:
            raise SiteBundleError(f"{where}: announces {size:,} bytes (limit {BLOB_MAX:,})")
        if offset + length > len(pack):
            raise SiteBundleError(f"{where}: lies outside {pack_name(index_name)} ({len(pack):,} bytes)")
        budget.left -= size
        if budget.left < 0:
            raise SiteBundleError(f"{where}: the bundle's blobs inflate past {BLOBS_TOTAL_MAX:,} bytes in all")
        inflater = zlib.decompressobj()
        try:
            data = inflater.decompress(pack[offset:offset + length], size + 1)
        except zlib.error as exc:
            raise SiteBundleError(f"{where}: not a zlib stream ({exc})") from None
        if len(data) != size or not inflater.eof:
            raise SiteBundleError(f"{where}: inflates to other than the {size:,} bytes announced")
        if hashlib.sha256(data).hexdigest() != sha:
            raise SiteBundleError(f"{where}: its bytes do not match its sha256 {sha}")
        yield sha, data


# ------------------------------------------------------------------ the records' shapes

SCAN_STATUSES = ("completed", "interrupted", "failed")
_T = (str, type(None))
_N = (int, float, type(None))
_I = (int, type(None))
SCAN_SPEC = {"site_scan_id": (int,), "started": (int, float), "ended": _N, "status": (str,), "reason": _T,
             "inventory": _T, "options": _T, "devices_total": _I, "agent": _T, "scope": _T, "origin": _T}
ROW_SPEC = {"device": (str,), "host": _T, "port": _I, "platform": _T, "site": _T, "contract_site_ids": _T,
            "status": (str,), "transport": _T, "error_kind": _T, "error": _T, "hostname": _T, "os_version": _T,
            "version": _T, "chassis_pid": _T, "chassis_serial": _T, "uptime": _T, "roles": _T, "problems": _T,
            "inventory_ok": _I, "version_ok": _I, "licenses_ok": _I, "max_age_days": _I, "started": _N,
            "ended": _N, "attempts": _I}
CAPTURE_SPEC = {"id": (int,), "platform": _T, "transport": _T, "command": _T, "sha256": (str,),
                "text_sha256": _T, "started": _N, "ended": _N, "error": _T, "error_kind": _T}
COMPONENT_TYPES = (_T,) * 9 + (_I, _T, _I, _T, _I)
LICENSE_TYPES = (_T, _T, _I) + (_T,) * 7
ERROR_TYPES = (_T, (str,), (str,), _N)
DEVICE_LISTS = {"components": COMPONENT_TYPES, "licenses": LICENSE_TYPES, "errors": ERROR_TYPES}


_INT_MAX = 1 << 62  # within every store's integer column


def _number_ok(value: Any) -> bool:
    """A number a store column holds: finite (JSON's NaN and Infinity are not times), in range."""
    if isinstance(value, float):
        return math.isfinite(value)
    if isinstance(value, int):
        return -_INT_MAX < value < _INT_MAX
    return True


def check_record(doc: Any, spec: dict[str, tuple], where: str, optional: tuple[str, ...] = ()) -> dict[str, Any]:
    if not isinstance(doc, dict):
        raise SiteBundleError(f"{where}: not an object")
    for key, types in spec.items():
        if key not in doc:
            if key in optional:
                continue
            raise SiteBundleError(f"{where}: no {key!r}")
        if type(doc[key]) is bool or not isinstance(doc[key], types):
            raise SiteBundleError(f"{where}: {key!r} is a {type(doc[key]).__name__}")
        if not _number_ok(doc[key]):
            raise SiteBundleError(f"{where}: {key!r} is {doc[key]!r}, not a number a store holds")
    return doc


def check_tuple(row: Any, types: tuple[tuple, ...], where: str) -> list:
    if not isinstance(row, list) or len(row) != len(types):
        raise SiteBundleError(f"{where}: not a list of {len(types)} fields")
    for i, (value, allowed) in enumerate(zip(row, types)):
        if not isinstance(value, allowed) or not _number_ok(value):
            raise SiteBundleError(f"{where}: field {i + 1} is a {type(value).__name__} ({str(value)[:20]})")
    return row


def check_sha(value: Any, where: str) -> str:
    if not isinstance(value, str) or not _SHA.match(value):
        raise SiteBundleError(f"{where}: not a sha256")
    return value


def _json_text(text: str) -> Any:
    try:
        return loads_json(text, "a scan column")
    except (ValueError, InputError):
        return None


def check_scan_member(name: str, doc: Any, site: str) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """The scan and device records of a scan member, every field type-checked, every device of
    ``site`` (the site the signed manifest names: a bundle speaks for its site only)."""
    if not isinstance(doc, dict) or not isinstance(doc.get("devices"), list):
        raise SiteBundleError(f"member {name}: not a scan member")
    scan = check_record(doc.get("scan"), SCAN_SPEC, f"member {name}, scan")
    if str(scan["site_scan_id"]) != name.split("/")[1]:
        raise SiteBundleError(f"member {name}: holds scan {scan['site_scan_id']}, not the one its name says")
    for key in ("scope", "options"):
        if scan[key] is not None and not isinstance(_json_text(scan[key]), dict):
            raise SiteBundleError(f"member {name}: the scan's {key} is not a JSON object")
    if scan["status"] not in SCAN_STATUSES:
        raise SiteBundleError(f"member {name}: scan status {scan['status']!r} (a bundle holds finished scans)")
    if scan["agent"] is not None and (":" in scan["agent"] or not scan["agent"]):
        raise SiteBundleError(f"member {name}: the scan's agent {scan['agent']!r} cannot be part of an origin")
    for i, dev in enumerate(doc["devices"], 1):
        where = f"member {name}, device {i}"
        if not isinstance(dev, dict):
            raise SiteBundleError(f"{where}: not an object")
        check_record(dev.get("row"), ROW_SPEC, where, optional=tuple(k for k in ROW_SPEC if k not in ("device", "status")))
        where = f"{where} ({dev['row']['device']!r})"
        if dev["row"]["status"] not in ("ok", "failed"):
            raise SiteBundleError(f"{where}: status {dev['row']['status']!r}")
        if dev["row"].get("site") != site:
            raise SiteBundleError(f"{where}: of site {dev['row'].get('site')!r}, in a bundle of site {site!r}")
        for key, types in DEVICE_LISTS.items():
            if not isinstance(dev.get(key), list):
                raise SiteBundleError(f"{where}: no {key} list")
            for j, row in enumerate(dev[key], 1):
                check_tuple(row, types, f"{where}, {key} {j}")
        if not isinstance(dev.get("captures"), list):
            raise SiteBundleError(f"{where}: no captures list")
        for j, cap in enumerate(dev["captures"], 1):
            check_record(cap, CAPTURE_SPEC, f"{where}, capture {j}")
            check_sha(cap["sha256"], f"{where}, capture {j}")
            if cap["text_sha256"] is not None:
                check_sha(cap["text_sha256"], f"{where}, capture {j}")
        for key in ("license_status", "session"):
            if dev.get(key) is not None and not isinstance(dev[key], dict):
                raise SiteBundleError(f"{where}: {key} is not an object")
        if dev.get("session") and not all(isinstance(v, str) for v in dev["session"].values()):
            raise SiteBundleError(f"{where}: session fields are not text")
        if not isinstance(dev.get("findings"), list) or not all(
                isinstance(f, dict) and all(isinstance(f.get(k), str) for k in ("kind", "subject", "value", "why"))
                for f in dev["findings"]):
            raise SiteBundleError(f"{where}: findings malformed")
        if dev.get("neighbours") is not None:
            check_sha(dev["neighbours"], f"{where}, neighbours")
    return scan, doc["devices"]


SLP_RUN_SPEC = {"kind": (str,), "started": (int, float), "ended": _N, "status": (str,), "inventory": _T,
                "options": _T, "devices_ok": _I, "devices_failed": _I}
SLP_EVENT_SPEC = {"device": _T, "at": (int, float), "action": (str,), "status": (str,), "kind": _T, "command": _T,
                  "detail": _T, "output": _T}
SLP_REPORT_SPEC = {"device": (str,), "site": _T, "udi_pid": _T, "udi_serial": _T, "file_name": (str,), "mode": _T,
                   "transfer": _T, "collected_at": (int, float), "report_ids": (list,), "data": (str,)}
SLP_ACK_SPEC = {"device": _T, "file_name": (str,), "status": (str,), "reason": _T, "last_ack_received": _T,
                "next_ack_deadline": _T, "at": (int, float), "udis": (list,), "report_ids": (list,),
                "license_status": (dict, type(None)), "data": (str,)}
_HEX = re.compile(r"(?:[0-9a-f]{2})*\Z")


def _listed(name: str, doc: Any, key: str, what: str) -> Iterator[tuple[str, Any]]:
    """Each entry of the member's ``key`` list with where it is ("member M, WHAT i")."""
    entries = doc.get(key) if isinstance(doc, dict) else None
    if not isinstance(entries, list):
        raise SiteBundleError(f"member {name}: no {what} list")
    for i, entry in enumerate(entries, 1):
        yield f"member {name}, {what} {i}", entry


def check_slp_member(name: str, doc: Any) -> list[dict[str, Any]]:
    """The SLP runs of ``slp.json``, every field type-checked."""
    runs = []
    for where, run in _listed(name, doc, "runs", "run"):
        runs.append(run)
        if not isinstance(run, dict) or type(run.get("site_run_id")) is not int:
            raise SiteBundleError(f"{where}: not a run")
        check_record(run.get("run"), SLP_RUN_SPEC, where)
        for key, spec in (("events", SLP_EVENT_SPEC), ("reports", SLP_REPORT_SPEC), ("acks", SLP_ACK_SPEC)):
            if not isinstance(run.get(key), list):
                raise SiteBundleError(f"{where}: no {key} list")
            for j, rec in enumerate(run[key], 1):
                check_record(rec, spec, f"{where}, {key} {j}")
                if "data" in spec and not _HEX.match(rec["data"]):
                    raise SiteBundleError(f"{where}, {key} {j}: data is not hex")
    return runs


RETIREMENT_SPEC = {"device": (str,), "at": (int, float), "after_site_scan": (int,), "how": (str,),
                   "by_whom": (str,), "why": (str,), "after_agent": (str, type(None))}
RETIREMENT_HOWS = ("retire", "prune", "expiry")


def check_retirements_member(name: str, doc: Any) -> list[dict[str, Any]]:
    """The retirements of ``retirements.json``, every field type-checked."""
    rows = []
    for where, row in _listed(name, doc, "retirements", "retirement"):
        rows.append(check_record(row, RETIREMENT_SPEC, where))
        if row["how"] not in RETIREMENT_HOWS or not row["device"] or row["after_site_scan"] < 0:
            raise SiteBundleError(f"{where}: not a retirement an exporter writes")
    return rows
