"""Hand-collected outputs into the store as a collection with transport ``manual``, by the scan's rules.

``agent.collect.manual`` splits the files into pieces; here they become devices and captures, and
go through the same path as a scan's: each device's captures parsed and normalised off the loop
within the parse budget (``agent.collect.parsing``: ``records_from_captures``), then written in
one transaction with ``Store.save_captures`` / ``save_device`` (exact bytes and their sha256,
components, licences, errors, ``inventory_ok``), under the scan lock, in a scan row of its own.

The rules (docs/ARCHITECTURE.md, "Captures collected by hand"):

* **An import is a scan** (status ``completed``; its options say ``"transport": "manual"`` and
  list every file with its sha256), and each device in it an attempt, as for a scan.
* **Platform**: ``--platform``, else a ``# platform:`` header, else the device's ``show version``
  as the platform files describe it (``agent.core.platforms.detect``), else the platform the
  store last knew the device by; otherwise the device is refused, named, with what to do.
* **Commands** are named as the platform's files name them: a typed abbreviation (``sh ver``)
  is the platform command whose words it abbreviates, one and only one, as the device's own CLI
  resolves it; else the parsers' names (``show version | json``).  Anything else (``terminal
  length 0``, ``show running-config``, a filtered ``show inventory | include``) is not stored:
  the import lists it as skipped.  A device's refusal (``% Invalid input``) is a failed capture.
* **Clean means the inventory was read**: a device without a readable ``show inventory`` among
  its outputs gets a problem saying so, so ``inventory_ok`` stays 0: its items stay those of its
  last read inventory and none of them can be claimed not-seen (``show version`` alone would
  otherwise stand in for the whole chassis).
* **Idempotent**: a device whose outputs (commands and bytes) an earlier import already holds is
  not imported again (``again=True`` makes it a new attempt, dated now); old evidence re-imported
  must not become a device's latest attempt.
* **Where**: ``--site``, else a ``# site:`` header, else the site (and contract site ids, age
  limit) of the device's latest row in the store.  A manual device has no address: host '', port 0.
"""
from __future__ import annotations

import asyncio
import hashlib
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from agent.core import platforms
from agent.core.models import Capture, Target
from agent.collect.manual import FileRead, Piece
from agent.collect.parsing import DEFAULT_BUDGET, ParseRunner
from agent.store import Store
from agent.store.manual import MANUAL, imported_sets, latest_rows, names_by_hostname
from parsers import PROMPT, canonical_command

NO_INVENTORY = ("show inventory: not among the outputs imported by hand (or refused): the hardware inventory "
                "was not read, so this attempt proves no absence")
DEADLINE = 600.0  # seconds per device for parsing: a file has no device to wait for, only the parse budget


@dataclass(slots=True)
class ManualDevice:
    name: str
    platform: str
    site: str = ""
    contract_site_ids: tuple[str, ...] = ()
    max_age_days: int | None = None
    captures: list[Capture] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)  # problems kept with its records
    files: list[str] = field(default_factory=list)
    already: int | None = None  # the earlier import scan holding exactly these outputs


@dataclass(slots=True)
class ImportPlan:
    devices: list[ManualDevice] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)  # refusals, each naming its file (and line)
    skipped: list[tuple[str, int, str]] = field(default_factory=list)  # (file, line, command) not read
    refused_files: set[str] = field(default_factory=set)


@dataclass(slots=True)
class ImportSummary:
    scan_id: int | None
    ok: int = 0
    failed: int = 0
    already: list[tuple[str, int]] = field(default_factory=list)  # (device, scan) not imported again
    failures: list[tuple[str, str, str]] = field(default_factory=list)  # (device, kind, reason)
    no_inventory: list[str] = field(default_factory=list)  # imported without a read inventory
    interrupted: bool = False


# ------------------------------------------------------------------ commands, by platform data


def platform_command(typed: str, platform: str) -> str | None:
    """The command a typed line ran, as ``platform``'s file names it (module docstring); None
    for a command ibagent does not read."""
    words = typed.lower().split()
    if not words or any("|" in w for w in words):
        canon = canonical_command(typed)
        return f"{canon[0]} | json" if canon and canon[1] else None
    plat = platforms.get(platform)
    hits = [c for c in plat.ssh.commands
            if len(c.split()) == len(words) and all(full.startswith(w) for w, full in zip(words, c.split()))]
    if len(hits) == 1:
        return hits[0]
    canon = canonical_command(typed)
    if canon is None:
        return None
    return f"{canon[0]} | json" if canon[1] else canon[0]


def _provides(platform: str, command: str) -> tuple[str, ...]:
    base = command.split("|", 1)[0].strip()
    return platforms.get(platform).ssh.provides.get(base, ())


# ------------------------------------------------------------------ pieces -> devices


def plan(reads: Sequence[FileRead], store: Store | None, *, platform: str | None = None, device: str | None = None,
         site: str | None = None, again: bool = False) -> ImportPlan:
    """Group the pieces into devices, name their platform and commands (module docstring).
    Every problem is collected (one run shows them all), each naming its file and line."""
    out = ImportPlan()
    groups: dict[str, list[Piece]] = {}
    for read in reads:
        for piece in read.pieces:
            name = device or piece.device
            if not name:
                if read.name not in out.refused_files:
                    out.problems.append(f"{read.name}, line {piece.line}: no device: nothing names it (a prompt "
                                        "'core-sw1#', a '# device:' header, a directory named after the device, "
                                        "or --device)")
                    out.refused_files.add(read.name)
                continue
            groups.setdefault(name, []).append(piece)
    if device:
        hosts = sorted({p.host for ps in groups.values() for p in ps if p.host})
        if len(hosts) > 1:
            out.problems.append(f"--device {device}: the prompts name {len(hosts)} devices ({', '.join(hosts[:5])}); "
                                "--device can name only one: import their files apart")
            out.refused_files.update(p.file for ps in groups.values() for p in ps)
            return out
    elif store is not None:
        groups = _by_store_name(groups, store)
    known = latest_rows(store, groups) if store is not None else {}
    earlier = imported_sets(store) if store is not None and not again else {}
    now = time.time()
    for name, pieces in groups.items():
        plat = _platform_of(name, pieces, platform, known.get(name), out)
        if plat is None:
            out.refused_files.update(p.file for p in pieces)
            continue
        if not _one_chassis(name, plat, pieces, out):
            continue
        dev = ManualDevice(name, plat, files=list(dict.fromkeys(p.file for p in pieces)))
        _place(dev, pieces, site, known.get(name), out)
        for piece in pieces:
            command = platform_command(piece.command, plat)
            if command is None:
                out.skipped.append((piece.file, piece.line, piece.command))
                continue
            if piece.prompt and not any(c.command == PROMPT for c in dev.captures):
                # The prompt names the host, as the SSH collector's prompt capture does (XR's show
                # version prints none); its bytes are the prompt's slice of the file.
                dev.captures.insert(0, Capture(name, plat, MANUAL, PROMPT, piece.prompt, now, now,
                                               raw=piece.prompt_raw))
            refusal = platforms.refusal(piece.text.lstrip("\n"), plat)
            dev.captures.append(Capture(name, plat, MANUAL, command, piece.text, now, now,
                                        f"device rejected the command: {refusal}" if refusal else None,
                                        "command" if refusal else None, raw=piece.raw))
        if not any(c.command != PROMPT for c in dev.captures):
            out.problems.append(f"{name}: none of its commands in {', '.join(dev.files[:3])} is one ibagent reads "
                                "(show version, show inventory, show license ...): nothing to import")
            out.refused_files.update(dev.files)
            continue
        if not any(c.ok and "inventory" in _provides(plat, c.command) for c in dev.captures):
            dev.notes.append(NO_INVENTORY)
        fingerprint = frozenset((c.command, _sha256(c)) for c in dev.captures)
        dev.already = earlier.get(name, {}).get(fingerprint)
        out.devices.append(dev)
    return out


def _by_store_name(groups: dict[str, list[Piece]], store: Store) -> dict[str, list[Piece]]:
    """A device the store does not know by the name its prompt (or directory) gives, but whose
    latest collection called itself that, keeps the store's name: the same device, another attempt."""
    known = latest_rows(store, groups)
    aliases = names_by_hostname(store) if any(name not in known for name in groups) else {}
    out: dict[str, list[Piece]] = {}
    for name, pieces in groups.items():
        out.setdefault(name if name in known else aliases.get(name.lower(), name), []).extend(pieces)
    return out


def _sha256(cap: Capture) -> str:
    return hashlib.sha256(cap.raw if cap.raw is not None else cap.output.encode("utf-8", "surrogateescape")).hexdigest()


def _platform_of(name: str, pieces: list[Piece], given: str | None, known: dict | None, out: ImportPlan) -> str | None:
    if given:
        return given
    stated = {}
    for p in pieces:
        if p.platform:
            plat = platforms.lookup(p.platform)
            if plat is None:
                out.problems.append(f"{p.file}: '# platform: {p.platform}' is no platform "
                                    f"(known: {', '.join(platforms.names())})")
                return None
            stated.setdefault(plat.name, p.file)
    if len(stated) > 1:
        out.problems.append(f"{name}: its files name several platforms: "
                            + ", ".join(f"{k} ({v})" for k, v in stated.items()))
        return None
    if stated:
        return next(iter(stated))
    seen: dict[str, str] = {}
    for p in pieces:
        canon = canonical_command(p.command)
        if canon and canon[0] == "show version" and not canon[1]:
            found = platforms.detect(p.text)
            if len(found) == 1:
                seen.setdefault(found[0], f"{p.file}, line {p.line}")
    if len(seen) == 1:
        return next(iter(seen))
    if len(seen) > 1:
        out.problems.append(f"{name}: its show version outputs name several platforms: "
                            + ", ".join(f"{k} ({v})" for k, v in seen.items()) + "; give --platform")
        return None
    if known and known.get("platform") in platforms.names():
        return known["platform"]
    files = ", ".join(dict.fromkeys(p.file for p in pieces[:3]))
    out.problems.append(f"{name} ({files}): platform not recognised: no show version that names it, and the store "
                        f"does not know the device; give --platform ({', '.join(platforms.names())}) or a "
                        "'# platform:' header")
    return None


def _one_chassis(name: str, plat: str, pieces: list[Piece], out: ImportPlan) -> bool:
    """False (and a problem) when the device's show version outputs are of different chassis: two
    devices under one name (factory-default 'Switch#' prompts in two pastes, two devices' files in
    one directory), which merged would be one device with both inventories."""
    from parsers import ParseError, parse

    serials: dict[str, str] = {}
    versions = [p for p in pieces if (canonical_command(p.command) or ("",))[0] == "show version"]
    if len(versions) < 2:
        return True
    for p in versions:
        try:
            serial = parse(plat, "show version", p.text).facts.get("chassis_serial", "")
        except ParseError:
            continue
        if serial:
            serials.setdefault(serial.upper(), f"{p.file}, line {p.line}")
    if len(serials) < 2:
        return True
    out.problems.append(f"{name}: its show version outputs are of {len(serials)} chassis ("
                        + "; ".join(f"{k} in {v}" for k, v in serials.items())
                        + "): two devices under one name; name each (--device, '# device:')")
    out.refused_files.update(p.file for p in pieces)
    return False


def _place(dev: ManualDevice, pieces: list[Piece], site: str | None, known: dict | None, out: ImportPlan) -> None:
    stated = sorted({p.site for p in pieces if p.site})
    if len(stated) > 1 and not site:
        out.problems.append(f"{dev.name}: its files name several sites ({', '.join(stated)}); give --site")
        out.refused_files.update(dev.files)
    known = known or {}
    dev.site = site or (stated[0] if stated else "") or known.get("site", "")
    if dev.site == known.get("site", ""):
        dev.contract_site_ids = tuple(known.get("contract_site_ids", ()))
    dev.max_age_days = known.get("max_age_days")


# ------------------------------------------------------------------ into the store


@dataclass(slots=True)
class _Outcome:
    """What ``ParseRunner`` reads of a device (the scan's outcome has the same fields)."""

    captures: list[Capture]
    notes: list[str]
    parts: list = field(default_factory=list)


def import_devices(devices: Sequence[ManualDevice], store: Store, *, inventory: str, options: dict,
                   parse_budget: float = DEFAULT_BUDGET,
                   on_progress: Callable[[ImportSummary], None] | None = None) -> ImportSummary:
    """One scan row holding every device not already imported; the caller holds the store's lock."""
    summary = ImportSummary(None)
    todo = []
    for dev in devices:
        if dev.already is not None:
            summary.already.append((dev.name, dev.already))
        else:
            todo.append(dev)
    if not todo:
        return summary
    summary.scan_id = store.begin_scan(inventory, options, len(todo))
    status, reason = "completed", None
    try:
        asyncio.run(_run(todo, store, summary, parse_budget, on_progress))
    except KeyboardInterrupt:
        status, reason, summary.interrupted = "interrupted", "interrupted (Ctrl-C) while importing", True
        raise
    except BaseException as exc:
        status, reason = "failed", f"{type(exc).__name__}: {exc}"
        raise
    finally:
        try:
            store.end_scan(summary.scan_id, status, reason=reason)
        except Exception:  # noqa: BLE001 - the next writer to take the lock closes it 'interrupted'
            pass
    return summary


async def _run(devices: Sequence[ManualDevice], store: Store, summary: ImportSummary, budget: float,
               on_progress: Callable[[ImportSummary], None] | None) -> None:
    runner = ParseRunner("thread", budget)
    loop = asyncio.get_running_loop()
    try:
        for dev in devices:
            started = time.time()
            target = Target(dev.name, "", dev.platform, port=0, site=dev.site, transports=(MANUAL,),
                            contract_site_ids=dev.contract_site_ids, max_age_days=dev.max_age_days)
            for i, cap in enumerate(dev.captures):
                cap.id = -(i + 1)  # stand-ins until saved (as the scan does)
            outcome = _Outcome(dev.captures, list(dev.notes))
            parsed = await runner.run(target, outcome, loop.time() + DEADLINE, DEADLINE)
            _record(store, summary, dev, target, parsed, started)
            if on_progress is not None:
                on_progress(summary)
    finally:
        runner.close()


def _record(store: Store, summary: ImportSummary, dev: ManualDevice, target: Target, parsed, started: float) -> None:
    """One device in one transaction: captures first (their ids are the records' evidence)."""
    records = parsed.records
    with store.transaction():
        stand_ins = {cap.id: cap for cap in dev.captures}
        store.save_captures(summary.scan_id, dev.captures)
        failures = []
        if records is not None:
            for comp in records.components:
                if comp.capture_id in stand_ins:
                    comp.capture_id = stand_ins[comp.capture_id].id
        else:
            failures = [(MANUAL, parsed.error_kind or "parse", parsed.error or "")]
        store.save_device(summary.scan_id, target, status="ok" if records is not None else "failed",
                          transport=MANUAL, records=records,
                          error_kind=None if records is not None else parsed.error_kind or "parse",
                          error=None if records is not None else parsed.error, started=started, ended=time.time(),
                          attempts=1, failures=failures)
    if records is not None:
        summary.ok += 1
        if NO_INVENTORY in records.problems:
            summary.no_inventory.append(dev.name)
    else:
        summary.failed += 1
        summary.failures.append((dev.name, parsed.error_kind or "parse", parsed.error or ""))
