"""RUM usage files and ACK files: read what is needed to route them, never rewrite them.

A RUM file (``license smart save usage ... file bootflash:x``) is XML holding JSON: a
``<smartLicenseSystemInfo><data>`` block and one ``<RUMReport>`` per report, each a JSON
object whose ``payload`` is itself JSON (IOS XE stores it as an escaped *string*, the NX-OS
guide shows an object: both are accepted) and whose ``signature`` CSSM verifies over the exact
bytes.  So these functions only *read* the bytes (report ids, UDIs, entitlement tags) for the
manifest and for matching; the stored and uploaded file is always the original.

An ACK file (downloaded from CSSM) is ``<smartLicense><smartLicenseRumAck><data>...`` and may
carry a new policy.  Its inner layout is not publicly documented (FORMATS.md 2.9 marks it
UNVERIFIED), so matching is deliberately tolerant: every ``{"udi_pid", "udi_serial_number"}``
object anywhere in it (payload strings decoded, base64 tried), else ``PID:x,SN:y`` texts.

XML from a device or a download is untrusted: DOCTYPE/ENTITY declarations are refused before
parsing (no entity expansion), and files above ``MAX_BYTES`` are refused.
"""
from __future__ import annotations

import base64
import binascii
import json
import re
import xml.etree.ElementTree as ET
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from agent.core.untrusted import InputError, loads_json, read_capped

MAX_BYTES = 64 * 1024 * 1024
_DECLARATION = re.compile(rb"<!\s*(?:DOCTYPE|ENTITY)", re.I)
_UDI_TEXT = re.compile(r"PID:\s*([^,\s]+)\s*,\s*SN:\s*([^,\s\"'<]+)")


class RumError(ValueError):
    """A file that is not a usable RUM or ACK file; the message says why, for a person."""


@dataclass(slots=True)
class RumFile:
    udis: list[tuple[str, str]] = field(default_factory=list)  # (pid, serial); the product instance first
    hostname: str = ""
    report_ids: list[int] = field(default_factory=list)
    entitlement_tags: list[str] = field(default_factory=list)
    software_version: str = ""

    @property
    def udi(self) -> tuple[str, str]:
        return self.udis[0] if self.udis else ("", "")


@dataclass(slots=True)
class AckFile:
    udis: list[tuple[str, str]] = field(default_factory=list)
    report_ids: list[int] = field(default_factory=list)
    acks: int = 0  # smartLicenseRumAck elements
    policies: int = 0  # smartLicensePolicy elements (an ACK may install a new policy)


def _local(tag: str) -> str:
    return tag.rsplit("}", 1)[-1]


def _xml(data: bytes, what: str) -> ET.Element:
    if not isinstance(data, (bytes, bytearray)):
        raise RumError(f"{what}: expected bytes")
    if len(data) > MAX_BYTES:
        raise RumError(f"{what}: {len(data)} bytes is more than any {what} should be ({MAX_BYTES // 2**20} MiB)")
    if not data.strip():
        raise RumError(f"{what}: the file is empty")
    if _DECLARATION.search(data):
        raise RumError(f"{what}: XML DOCTYPE/ENTITY declarations are not accepted")
    try:
        root = ET.fromstring(bytes(data))
    except ET.ParseError as exc:
        line, col = getattr(exc, "position", (0, 0))
        raise RumError(f"{what}: not well-formed XML (line {line}, column {col}): the file is damaged or truncated") from None
    if _local(root.tag) != "smartLicense":
        raise RumError(f"{what}: root element is <{_local(root.tag)}>, not <smartLicense>")
    return root


def _loads(text: str | bytes, what: str) -> Any:
    """JSON from inside a RUM/ACK file; ValueError when it is not JSON, RumError when it nests
    deeper than any report does (JSON_MAX_DEPTH): a hostile file, refused by name."""
    try:
        return loads_json(text, what)
    except InputError as exc:
        raise RumError(str(exc)) from None


def _json(text: str | None, what: str) -> Any:
    if text is None:
        return None
    text = text.strip()
    if not text:
        return None
    try:
        return _loads(text, what)
    except RumError:
        raise
    except ValueError:
        pass
    try:
        decoded = base64.b64decode(text, validate=True)
        return _loads(decoded, what)
    except RumError:
        raise
    except (binascii.Error, ValueError):
        return None


def _expand(value: Any, what: str, depth: int = 0) -> Any:
    """Decode JSON carried as strings (``"payload": "{...}"``), recursively: six levels of
    strings at most, each bounded in depth by ``_loads``, so the result stays shallow."""
    if depth > 6:
        return value
    if isinstance(value, str) and value[:1] in "{[":
        try:
            return _expand(_loads(value, what), what, depth + 1)
        except RumError:
            raise
        except ValueError:
            return value
    if isinstance(value, dict):
        return {k: _expand(v, what, depth + 1) for k, v in value.items()}
    if isinstance(value, list):
        return [_expand(v, what, depth + 1) for v in value]
    return value


def _walk(value: Any):
    """Every node of a decoded document, depth first, without recursion."""
    stack = [value]
    while stack:
        node = stack.pop()
        yield node
        if isinstance(node, dict):
            stack.extend(reversed(list(node.values())))
        elif isinstance(node, list):
            stack.extend(reversed(node))


def _udis(value: Any) -> list[tuple[str, str]]:
    out: list[tuple[str, str]] = []
    for node in _walk(value):
        if isinstance(node, dict) and node.get("udi_serial_number"):
            udi = (str(node.get("udi_pid") or ""), str(node["udi_serial_number"]))
            if udi not in out:
                out.append(udi)
    return out


def _report_ids(value: Any) -> list[int]:
    ids: list[int] = []
    for node in _walk(value):
        if isinstance(node, dict):
            for key in ("report_id", "reportId", "rum_report_id"):
                v = node.get(key)
                if isinstance(v, int) or (isinstance(v, str) and v.isdigit()):
                    if int(v) not in ids:
                        ids.append(int(v))
    return ids


def parse_rum(data: bytes) -> RumFile:
    root = _xml(data, "RUM file")
    out = RumFile()
    reports = 0
    for el in root.iter():
        name = _local(el.tag)
        if name == "smartLicenseSystemInfo":
            info = _expand(_json(el.findtext("data"), "RUM file: system information") or {},
                           "RUM file: system information")
            if isinstance(info, dict):
                out.hostname = str(info.get("hostname") or "")
                for udi in _udis(info.get("sudi") or {}):
                    if udi not in out.udis:
                        out.udis.insert(0, udi)
        elif name == "RUMReport":
            reports += 1
            what = f"RUM file: report {reports}"
            doc = _expand(_json(el.text, what), what)
            if not isinstance(doc, dict) or "payload" not in doc:
                raise RumError(f"RUM file: report {reports} is not a JSON object with a payload")
            payload = doc["payload"]
            meta = payload.get("meta", {}) if isinstance(payload, dict) else {}
            rid = meta.get("report_id")
            if isinstance(rid, int) or (isinstance(rid, str) and rid.isdigit()):
                out.report_ids.append(int(rid))
            tag = meta.get("entitlement_tag")
            if tag and tag not in out.entitlement_tags:
                out.entitlement_tags.append(str(tag))
            out.software_version = out.software_version or str(meta.get("software_version") or "")
            for udi in _udis(doc):
                if udi not in out.udis:
                    out.udis.append(udi)
    if reports == 0 and not out.udis:
        raise RumError("RUM file: neither system information nor any <RUMReport> in it")
    return out


def read_file(path: str | Path, what: str = "ACK file") -> bytes:
    """A RUM or ACK file's bytes, its size checked before it is read (``MAX_BYTES``): RumError
    when it is larger; OSError passes through."""
    try:
        return read_capped(path, MAX_BYTES, what)
    except InputError as exc:
        raise RumError(str(exc)) from None


def parse_ack(data: bytes) -> AckFile:
    root = _xml(data, "ACK file")
    out = AckFile()
    for el in root.iter():
        name = _local(el.tag)
        if name == "smartLicenseRumAck":
            out.acks += 1
            what = f"ACK file: acknowledgement {out.acks}"
            content = _expand(_json(el.findtext("data"), what), what)
            if content is None:
                text = "".join(el.itertext())
                out.udis += [u for u in ((p, s) for p, s in _UDI_TEXT.findall(text)) if u not in out.udis]
                continue
            out.udis += [u for u in _udis(content) if u not in out.udis]
            out.report_ids += [r for r in _report_ids(content) if r not in out.report_ids]
            if not _udis(content):
                text = json.dumps(content)
                out.udis += [u for u in _UDI_TEXT.findall(text) if u not in out.udis]
        elif name == "smartLicensePolicy":
            out.policies += 1
    if out.acks == 0:
        raise RumError("ACK file: no <smartLicenseRumAck> element: this is not an acknowledgement from CSSM")
    if not out.udis:
        raise RumError("ACK file: names no product instance (no UDI found): cannot tell which device it is for")
    return out
