"""Corpus walking and expected-value extraction, shared by tests/test_conformance.py and
bench/corpus_report.py.

Corpus root: env ``IBAGENT_CORPUS``, default ``<repo>/../shared/corpus``.

Each ``*.expected.yml`` holds what the source project's parser made of a capture; schemas
differ per source (ntc-templates parsed_sample list, Genie dict, NAPALM get_facts, ttp).
The extractors below pull the values we can check from each schema and tag them with a
kind: ``serial``, ``pid``, ``pair`` (PID and serial of one inventory row, on one of our
rows), ``model`` (descriptive hardware text), ``version``,
``hostname``, ``license`` (license / entitlement names) and ``status`` (Smart Licensing
timestamps and states).  :func:`compare` checks every one against our ``ParseResult``.
"""
from __future__ import annotations

import os
import re
import sys
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any, Iterator

import yaml

REPO = Path(__file__).resolve().parents[1]
if str(REPO) not in sys.path:  # plain 'pytest' without an installed package
    sys.path.insert(0, str(REPO))
PLATFORMS = {"ios": "cisco_ios", "iosxe": "cisco_xe", "nxos": "cisco_nxos", "iosxr": "cisco_xr", "asa": "cisco_asa"}
# command slug -> command sent to parsers.parse
COMMANDS = {
    "show_version": "show version",
    "show_inventory": "show inventory",
    "admin_show_inventory": "admin show inventory",
    "show_license_summary": "show license summary",
    "show_license_usage": "show license usage",
    "show_license_status": "show license status",
    "show_license_udi": "show license udi",
    "show_license_all": "show license all",
    "show_license": "show license",
    "show_inventory_json": "show inventory | json",
    "show_version_json": "show version | json",
    # Issue 17: none in the corpus yet; a capture added under these names is run like the others.
    "show_cdp_neighbors_detail": "show cdp neighbors detail",
    "show_lldp_neighbors_detail": "show lldp neighbors detail",
}


def corpus_root() -> Path:
    return Path(os.environ.get("IBAGENT_CORPUS") or (REPO.parent / "shared" / "corpus")).resolve()


def use_corpus(override: str | None) -> Path | None:
    """For the benchmarks: point every corpus reader at ``override`` when given; the corpus root,
    or None (said on stderr) when there is none."""
    if override:
        os.environ["IBAGENT_CORPUS"] = override
    root = corpus_root()
    if not root.is_dir():
        print(f"corpus not found: {root}", file=sys.stderr)
        return None
    return root


@dataclass(frozen=True)
class Case:
    platform_dir: str  # ios / iosxe / ...
    platform: str  # cisco_ios / ...
    slug: str  # show_version ...
    command: str
    path: Path

    @property
    def rel(self) -> str:
        return f"{self.platform_dir}/{self.slug}/{self.path.name}"

    @property
    def expected_path(self) -> Path | None:
        stem = self.path.name.rsplit(".", 1)[0]
        p = self.path.with_name(stem + ".expected.yml")
        return p if p.is_file() else None

    @property
    def expected_rel(self) -> str | None:
        p = self.expected_path
        return f"{self.platform_dir}/{self.slug}/{p.name}" if p else None


def iter_cases(root: Path | None = None) -> Iterator[Case]:
    root = root or corpus_root()
    for pdir, platform in PLATFORMS.items():
        for slug, command in COMMANDS.items():
            d = root / pdir / slug
            if not d.is_dir():
                continue
            for p in sorted(d.iterdir()):
                if p.name.endswith(".expected.yml") or p.suffix not in (".txt", ".json"):
                    continue
                yield Case(pdir, platform, slug, command, p)


# ------------------------------------------------------------------ expected values


@dataclass(frozen=True)
class Expected:
    kind: str
    field: str  # key path in the expected file, for reports and exceptions
    key: str  # last key
    value: str
    # The record the value sits in (its sibling keys, and the record's own key as 'title'), so a
    # field is compared with the same record of ours: the inventory row, the licence block.
    context: tuple[tuple[str, str], ...] = ()

    @property
    def group(self) -> dict[str, str]:
        return dict(self.context)


def _schema(header: str) -> tuple[str, str]:
    """(source, schema name) from the expected file's first comment line."""
    h = header.lstrip("# ").strip()
    m = re.search(r"ntc-templates TextFSM template (\S+)\.textfsm", h)
    if m:
        return "ntc", m.group(1)
    m = re.search(r"Genie parser (\S+) (\w+) schema", h)
    if m:
        return "genie", f"{m.group(1)}:{m.group(2)}"
    if "Genie parser nxos schema (old unittest test_show_version" in h:
        return "genie", "nxos:ShowVersion"
    if h.startswith("expected values: NAPALM") or "NAPALM" in h:
        return "napalm", "get_facts"
    if "ttp_templates" in h:
        return "ttp", h
    return "unknown", h


# Which key is compared with which field of ours, and why the others are not: tests/corpus_fields.py.
_GENERIC_NXOS = "nxos-generic"


def _walk(obj: Any, path: str = "") -> Iterator[tuple[str, str, Any]]:
    if isinstance(obj, dict):
        for k, v in obj.items():
            p = f"{path}.{k}" if path else str(k)
            if isinstance(v, (dict, list)):
                yield from _walk(v, p)
            else:
                yield p, str(k), v
    elif isinstance(obj, list):
        for i, v in enumerate(obj):
            p = f"{path}[{i}]"
            if isinstance(v, (dict, list)):
                yield from _walk(v, p)
            else:
                yield p, path.rsplit(".", 1)[-1].split("[")[0], v


_NAME_KEY = re.compile(r"(?:^|\.)name\.([^.]+)$")


def _record_keys(data: Any) -> dict[str, dict[str, str]]:
    """parent path -> its scalar children (str), for every dict / list record in the file."""
    groups: dict[str, dict[str, str]] = {}
    for fpath, key, value in _walk(data):
        if value is None or isinstance(value, (bool, dict, list)):
            continue
        parent = fpath.rsplit(".", 1)[0] if "." in fpath else ""
        if fpath.endswith("]"):
            continue
        groups.setdefault(parent, {})[key] = str(value).strip()
    return groups


def _context(parent: str, siblings: dict[str, str]) -> tuple[tuple[str, str], ...]:
    ctx = dict(siblings)
    title = parent.rsplit(".", 1)[-1].rstrip(":").strip() if parent else ""
    if title and not title.startswith("["):
        ctx.setdefault("title", title)
    m = _NAME_KEY.search(parent)
    if m:  # genie NX-OS: 'name.<NAME>.pid'
        ctx.setdefault("name", m.group(1))
    if "serial_number" in ctx:
        ctx.setdefault("sn", ctx["serial_number"])
    if "module" in ctx:
        ctx.setdefault("pid", ctx["module"])
    if "serial" in ctx:
        ctx.setdefault("sn", ctx["serial"])
    return tuple(sorted(ctx.items()))


@lru_cache(maxsize=None)
def stated_keys(path: str) -> tuple[tuple[str, str, str, str], ...]:
    """(source, schema, field path, key) of every non-empty value the expected file states."""
    text = Path(path).read_text()
    source, schema = _schema(text.split("\n", 1)[0])
    out = []
    for fpath, key, value in _walk(yaml.safe_load(text)):
        if value is None or str(value).strip().lower() in ("", "none", "n/a", "<none>", "''", "<empty>"):
            continue
        out.append((source, schema, fpath, key))
    return tuple(out)


@lru_cache(maxsize=None)
def expected_values(path: str, platform: str) -> tuple[Expected, ...]:
    import corpus_fields as cf

    text = Path(path).read_text()
    header = text.split("\n", 1)[0]
    source, schema = _schema(header)
    data = yaml.safe_load(text)
    groups = _record_keys(data)
    out = []
    for fpath, key, value in _walk(data):
        kind = cf.rule_for(source, schema, key, fpath)
        if source == "genie" and schema.endswith("ShowVersion") and platform == "cisco_xe" and key == "platform":
            kind = None
        if source == "genie" and schema == "generic/rv1:ShowVersion" and platform == "cisco_nxos" and key == "pid":
            kind = "model"  # genie's generic parser reports 'C9396PX' for N9K-C9396PX
        if not kind or value is None or isinstance(value, bool):
            continue
        v = str(value).strip()
        if not v or v.lower() in ("none", "n/a", "<none>", "''"):
            continue
        if kind == "version" and key == "version" and source == "genie" and not re.search(r"\d", v):
            continue
        parent = fpath.rsplit(".", 1)[0] if "." in fpath else ""
        out.append(Expected(kind, fpath, key, v, _context(parent, groups.get(parent, {}))))
    # Inventory rows: the PID and the serial stated in one record must sit on one of our rows.
    rows: dict[str, dict[str, Expected]] = {}
    for e in out:
        if e.kind in ("pid", "serial") and e.key in ("pid", "sn", "serial_number", "module", "serial"):
            parent = e.field.rsplit(".", 1)[0] if "." in e.field else ""
            rows.setdefault(parent, {})[e.kind] = e
    for parent, pair in rows.items():
        if "pid" in pair and "serial" in pair and source != "napalm":
            out.append(Expected("pair", f"{parent}.(pid,sn)", "pid+sn", f"{pair['pid'].value}|{pair['serial'].value}"))
    return tuple(out)


# ------------------------------------------------------------------ our values


@dataclass
class Ours:
    serial: set[str] = field(default_factory=set)
    pid: set[str] = field(default_factory=set)
    pair: set[tuple[str, str]] = field(default_factory=set)
    model: list[str] = field(default_factory=list)
    version: set[str] = field(default_factory=set)
    hostname: set[str] = field(default_factory=set)
    license: set[str] = field(default_factory=set)
    status: set[str] = field(default_factory=set)
    result: Any = None  # the ParseResult itself, for the field-specific rules (corpus_fields.check)


def our_values(result, platform: str) -> Ours:
    from agent.normalize import canonical_serial, canonical_version

    o = Ours(result=result)
    f = result.facts
    for c in result.components:
        o.pair.add((c.pid.strip(), canonical_serial(c.serial)))
        o.serial.add(canonical_serial(c.serial))
        o.pid.add(c.pid.strip())
        o.model.append(c.descr)
    for k in ("chassis_serial", "processor_board_id", "license_serial"):
        if f.get(k):
            o.serial.add(canonical_serial(f[k]))
    for k in ("serials", "motherboard_serials"):
        for s in f.get(k, []):
            o.serial.add(canonical_serial(s))
    for m in f.get("stack_members", []):
        o.serial.add(canonical_serial(m.get("serial")))
        o.serial.add(canonical_serial(m.get("mb_serial")))
        o.pid.add(m.get("pid", ""))
    if f.get("chassis_pid"):
        o.pid.add(f["chassis_pid"])
    for k in ("models", "hardware"):
        for m in f.get(k, []):
            o.pid.add(m)
            o.model.append(m)
    for k in ("model", "chassis_descr", "chassis_pid", "model_id"):
        if f.get(k):
            o.model.append(f[k])
    for v in [f.get("os_version", "")] + list(f.get("versions_seen", [])):
        if v:
            o.version.add(canonical_version(platform, v))
    if f.get("hostname"):
        o.hostname.add(f["hostname"])
    st = result.license_status
    for lic in result.licenses:
        o.license.update({lic.license, lic.entitlement_tag, lic.description, lic.entitlement_tag.rstrip(".")})
        o.serial.add(canonical_serial(lic.udi_serial))
        o.pid.add(lic.udi_pid)
    if st is not None:
        o.serial.add(canonical_serial(st.udi_serial))
        o.pid.add(st.udi_pid)
        o.pair.add((st.udi_pid, canonical_serial(st.udi_serial)))
        for u in list(st.ha_udis) + list(st.trust_codes):
            o.serial.add(canonical_serial(u.get("udi_serial")))
            o.pid.add(u.get("udi_pid", ""))
            o.pair.add((u.get("udi_pid", ""), canonical_serial(u.get("udi_serial"))))
        for v in (st.last_ack_received, st.next_ack_deadline, st.last_report_push, st.next_report_push,
                  st.reporting_push_interval, st.transport_type, st.registration_status,
                  st.authorization_status, st.policy_name):
            if v:
                o.status.add(_norm_status(v))
    o.serial.discard("")
    o.pid.discard("")
    o.license.discard("")
    return o


def _norm_status(v: str) -> str:
    v = " ".join(str(v).split())
    return "" if v.lower() in ("<none>", "<empty>", "none") else v


def agrees(exp: Expected, ours: Ours, platform: str) -> bool:
    from agent.normalize import canonical_serial, canonical_version

    v = exp.value
    if exp.kind == "serial":
        c = canonical_serial(v)
        return not c or c in ours.serial
    if exp.kind == "pid":
        return v.strip() in ours.pid
    if exp.kind == "pair":
        pid, sn = v.split("|", 1)
        return (pid.strip(), canonical_serial(sn)) in ours.pair
    if exp.kind == "model":
        low = " ".join(v.split()).lower()
        # ntc's ASA template keeps the whole 'Hardware:' line: its first field is the model.
        return (any(low in " ".join(m.split()).lower() for m in ours.model if m) or v in ours.pid
                or v.split(",")[0].strip() in ours.pid)
    if exp.kind == "version":
        return canonical_version(platform, v) in ours.version
    if exp.kind == "hostname":
        return v in ours.hostname
    if exp.kind == "license":
        return v in ours.license or v.rstrip(".") in ours.license
    if exp.kind == "status":
        n = _norm_status(v)
        return not n or n in ours.status or any(s.startswith(n + " ") for s in ours.status)
    import corpus_fields as cf

    return cf.check(exp.kind, exp, ours.result, platform)


# ------------------------------------------------------------------ exceptions


@lru_cache(maxsize=None)
def exceptions() -> tuple[dict, ...]:
    path = REPO / "tests" / "corpus_exceptions.yaml"
    if not path.is_file():
        return ()
    data = yaml.safe_load(path.read_text()) or []
    return tuple(data)


def excepted(rel_expected: str, exp: Expected) -> dict | None:
    for e in exceptions():
        if e.get("file") != rel_expected:
            continue
        if e.get("field") not in (exp.field, exp.key):
            continue
        if "value" in e and str(e["value"]) != exp.value:
            continue
        return e
    return None


# ------------------------------------------------------------------ one case


@dataclass
class Outcome:
    case: Case
    parsed: bool
    error: str = ""
    refusal: bool = False
    records: int = 0
    compared: int = 0
    agreed: int = 0
    excepted: int = 0
    mismatches: list[Expected] = field(default_factory=list)
    used_exceptions: list[dict] = field(default_factory=list)


def run_case(case: Case) -> Outcome:
    import parsers
    from agent.core.platforms import refusal as cli_error
    from parsers._util import clean

    text = case.path.read_text(errors="replace")
    try:
        result = parsers.parse(case.platform, case.command, text)
    except parsers.ParseError as exc:
        refusal = cli_error(clean(text)) is not None
        return Outcome(case, parsed=False, error=str(exc), refusal=refusal)
    n = len(result.components) + len(result.licenses) + (1 if result.facts else 0) + (1 if result.license_status else 0)
    n += len(result.neighbours) + len(result.neighbour_status)
    out = Outcome(case, parsed=True, records=n)
    exp_path = case.expected_path
    if exp_path is None:
        return out
    ours = our_values(result, case.platform)
    for exp in expected_values(str(exp_path), case.platform):
        out.compared += 1
        if agrees(exp, ours, case.platform):
            out.agreed += 1
            continue
        ex = excepted(case.expected_rel or "", exp)
        if ex is not None:
            out.excepted += 1
            out.used_exceptions.append(ex)
        else:
            out.mismatches.append(exp)
    return out
