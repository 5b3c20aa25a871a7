"""The air-gapped round trip: collect RUM files over SSH, bundle them for CSSM, import ACKs.

``collect``     on each SLP device: ``license smart save usage <mode> file <flash>:<name>``, then
                read the file back by SCP (exact bytes) or, without an SCP server, by ``more``
                accepted only when its size equals what ``dir`` lists.  The bytes are stored as
                read: CSSM verifies each report's signature, so nothing is ever re-serialised.
``bundle``      the newest not-yet-acknowledged RUM file of each device, written byte for byte
                to a directory with ``manifest.json`` / ``manifest.csv`` (device, UDI, report
                ids, sha256) for CSSM's *Upload Usage Data*.
``import_acks`` (``agent.slp.ack_import``) match each ACK to its devices by the UDIs it names, SCP it to the device,
                ``license smart import``, require ``Import Data Successful``, re-read
                ``show license status`` and record the new last ACK and deadline.  Failures are
                per device and final: nothing is retried blindly (an import is not idempotent
                in the operator's eyes, and a wrong file must be looked at by a person).

Which devices are SLP: the newest stored licence status says so; a device with none is asked
by trying the save command, and one that refuses it is reported ``refused`` with the device's
own words (classic IOS, IOS XR 7.x and ASA have no such command).  A device the store knows as
SLP that refuses is ``failed``.

Every device action is an ``slp_events`` row (command, outcome, device output with secrets
scrubbed); runs are ``slp_runs`` rows; one ``flock`` per store keeps two round-trip commands
from interleaving on the same devices.
"""
from __future__ import annotations

import asyncio
import csv
import dataclasses
import hashlib
import io
import json
import logging
import re
import time
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Sequence

from agent.core import platforms
from agent.core.hostkeys import HostKeySeen, KnownHostsError, PolicyBook
from agent.core.models import Capture, LicenseStatus, Target
from agent.core.redact import Redactor
from agent.store import Store

from .clock import iso
from .rum import RumError, parse_rum
from .status import reporting_state

log = logging.getLogger("ibagent.slp")

SUCCESS = "Import Data Successful"
MODES = ("unreported", "all", "days")


@dataclass(slots=True)
class ActionOptions:
    workers: int = 20
    connect_timeout: float = 15.0
    command_timeout: float = 60.0
    deadline: float = 180.0  # per device, all its actions included
    host_keys: str = "tofu"  # as a scan's (agent.core.hostkeys): SSH and SCP check the same host keys
    known_hosts: tuple[str, ...] = ()

    def public(self) -> dict[str, Any]:
        return {"workers": self.workers, "connect_timeout": self.connect_timeout,
                "command_timeout": self.command_timeout, "deadline": self.deadline,
                "host_keys": self.host_keys, "known_hosts": list(self.known_hosts)}


@dataclass(slots=True)
class Outcome:
    device: str
    status: str  # collect: collected|skipped|refused|failed; import: imported|failed|unmatched|invalid
    site: str = ""
    kind: str = ""
    reason: str = ""
    file: str = ""
    sha256: str = ""
    size: int | None = None
    report_ids: list[int] = field(default_factory=list)
    transfer: str = ""
    udi: str = ""
    last_ack: str = ""
    next_ack_deadline: str = ""
    warning: str = ""  # import: confirmed by the device, but something after it went wrong

    def as_dict(self) -> dict[str, Any]:
        return {k: getattr(self, k) for k in self.__slots__}


@dataclass(slots=True)
class RunResult:
    run_id: int
    kind: str
    outcomes: list[Outcome] = field(default_factory=list)
    interrupted: bool = False

    @property
    def failed(self) -> list[Outcome]:
        return [o for o in self.outcomes if o.status in ("failed", "unmatched", "invalid")]


def mode_words(mode: Sequence[str] | str) -> str:
    """'unreported', 'all' or 'days N' from CLI words; ValueError with a readable message."""
    words = mode.split() if isinstance(mode, str) else [str(w) for w in mode]
    if words in (["unreported"], ["all"]):
        return words[0]
    if len(words) == 2 and words[0] == "days" and words[1].isdigit() and 1 <= int(words[1]) <= 3650:
        return f"days {int(words[1])}"
    raise ValueError("--mode must be 'unreported', 'all' or 'days N' (N from 1 to 3650)")


def flash(platform: str) -> str:
    """The file system for files we write on a ``platform`` device (``flash:`` in its platform file).
    IOS XE and NX-OS are the SLP platforms; on the others only the refusal the device prints matters."""
    try:
        return platforms.get(platform).flash
    except platforms.UnknownPlatform:
        return "flash:"


def file_name(name: str, prefix: str = "", suffix: str = "_rum.txt") -> str:
    """A flash-safe file name from an inventory name (IOS file names: no spaces, no colons).
    Unique per device's own flash only; bundle files use ``bundle_name``."""
    safe = re.sub(r"[^A-Za-z0-9._-]+", "_", name).strip("._") or "device"
    return f"{prefix}{safe[:48]}{suffix}"


def bundle_name(device: str, suffix: str = "_rum.txt") -> str:
    """The bundle file name of a device's RUM file: readable (the cleaned inventory name, cut)
    and unique (a hash of the raw name), stable from bundle to bundle.  Cleaning alone let
    'site-a/core 1' and 'site-a_core_1', or two names sharing their first 48 characters,
    overwrite each other's file while the manifest listed both."""
    safe = re.sub(r"[^A-Za-z0-9._-]+", "_", device).strip("._") or "device"
    digest = hashlib.sha256(device.encode("utf-8", "surrogatepass")).hexdigest()[:12]
    return f"{safe[:40]}-{digest}{suffix}"


class SlpLock:
    """One round-trip command per store at a time (an SQLite store's ``<db>.slp.lock``, an
    advisory lock on PostgreSQL: ``Store.named_lock``); not the scan lock."""

    def __init__(self, store: Store) -> None:
        self.store = store
        self._held = None

    def __enter__(self) -> "SlpLock":
        held = self.store.named_lock(
            "slp", f"another 'ibagent slp' command is working on {self.store.path}; try again later")
        held.__enter__()
        self._held = held
        self.store.interrupt_stale_slp_runs()
        return self

    def __exit__(self, *exc: object) -> None:
        if self._held is not None:
            self._held.__exit__(None, None, None)
            self._held = None


# ------------------------------------------------------------------ per-device event log


class _Log:
    """Events of one device, written together with its outcome (one transaction per device)."""

    def __init__(self, device: str, redactor: Redactor) -> None:
        self.device = device
        self.redactor = redactor
        self.events: list[dict[str, Any]] = []

    def add(self, action: str, status: str, *, kind: str | None = None, command: str | None = None,
            detail: str | None = None, output: str | None = None) -> None:
        self.events.append({"action": action, "status": status, "kind": kind, "command": command,
                            "detail": self.redactor.scrub(detail), "output": self.redactor.scrub(output),
                            "at": time.time()})

    def capture(self, action: str, cap: Capture, status: str | None = None, detail: str | None = None) -> None:
        self.add(action, status or ("ok" if cap.ok else "failed"), kind=cap.error_kind, command=cap.command,
                 detail=detail or cap.error, output=cap.output)

    def flush(self, store: Store, run_id: int) -> None:
        for e in self.events:
            store.add_slp_event(run_id, self.device, e["action"], e["status"], kind=e["kind"], command=e["command"],
                                detail=e["detail"], output=e["output"], at=e["at"])


class Trust:
    """Host-key trust for a round trip, as for a scan (agent.collect.trust): each device's SSH
    and SCP connections check its key against the store and the known_hosts files before any
    credential, and what they were shown is recorded in the device's transaction."""

    def __init__(self, store: Store, options: ActionOptions) -> None:
        self.book = PolicyBook(store.trusted_host_keys(), options.host_keys, options.known_hosts)
        self.seen: dict[str, list[HostKeySeen]] = {}

    def attach(self, target: Target) -> Target:
        """``target`` with its policy (KnownHostsError: its known_hosts file cannot be used)."""
        seen = self.seen.setdefault(target.name, [])
        policy = self.book.policy(target.host, target.options, (target.port,), seen.append)
        if policy.mode == "insecure":
            log.warning("%s: host key NOT checked (data.host_keys: insecure in the inventory)", target.name)
        return dataclasses.replace(target, host_keys=policy)

    def flush(self, store: Store, device: str) -> None:
        store.record_host_keys(device, self.seen.pop(device, ()))


async def _per_device(targets: Sequence[Target], options: ActionOptions, job) -> list[Any]:
    gate = asyncio.Semaphore(max(1, options.workers))

    async def one(target: Target):
        async with gate:
            return await job(target)

    return await asyncio.gather(*(one(t) for t in targets))


# ------------------------------------------------------------------ collect


async def collect(
    targets: Sequence[Target], store: Store, *, mode: Sequence[str] | str = "unreported", site: str | None = None,
    options: ActionOptions | None = None, redactor: Redactor | None = None, inventory: str = "",
) -> RunResult:
    from collectors.base import CollectError
    from collectors.ssh_actions import CliSession

    options = options or ActionOptions()
    redactor = redactor or Redactor()
    words = mode_words(mode)
    chosen = [t for t in targets if site is None or t.site == site]
    known = store.latest_license_statuses()
    trust = Trust(store, options)
    run_id = store.begin_slp_run("collect", inventory, {**options.public(), "mode": words, "site": site})
    result = RunResult(run_id, "collect")

    async def job(target: Target, out: Outcome, log: _Log) -> tuple[bytes, Any] | None:
        try:
            target = trust.attach(target)
        except KnownHostsError as exc:
            out.kind, out.reason = "config", str(exc)
            log.add("session", "failed", kind="config", detail=out.reason)
            return None
        entry = known.get(target.name)
        if entry is not None and entry[2].slp_enabled is not True:
            out.status, out.reason = "skipped", _not_slp(entry[0], entry[2])
            log.add("save-usage", "skipped", detail=out.reason)
            return None
        path = out.file = flash(target.platform) + file_name(target.name)
        try:
            async with asyncio.timeout(options.deadline):
                session = await CliSession.open(target, connect_timeout=options.connect_timeout,
                                                command_timeout=options.command_timeout)
                async with session:
                    cap = await session.run(f"license smart save usage {words} file {path}")
                    refusal = platforms.refusal(cap.output, target.platform) if not cap.ok else None
                    log.capture("save-usage", cap, status="ok" if cap.ok else "refused" if refusal else "failed")
                    if not cap.ok:
                        out.kind = "command"
                        if refusal and entry is None:  # never known as SLP: it just has no SLP
                            out.status = "refused"
                            out.reason = f"device refused the save command (no Smart Licensing Using Policy): {refusal}"
                        else:
                            out.reason = f"save usage failed: {redactor.scrub(cap.error)}"
                        return None
                    data = await _read_back(session, target, path, options, out, log, redactor)
        except CollectError as exc:
            out.kind, out.reason = exc.kind, redactor.scrub(exc.message) or ""
            log.add("session", "failed", kind=exc.kind, detail=exc.message)
            return None
        except TimeoutError:
            out.kind, out.reason = "timeout", f"device deadline of {options.deadline:g}s exceeded"
            log.add("session", "failed", kind="timeout", detail=out.reason)
            return None
        if data is None:
            return None
        try:
            rum = parse_rum(data)
        except RumError as exc:
            out.kind, out.reason = "parse", f"{path} is not a usable RUM file: {exc}"
            log.add("read-file", "failed", kind="parse", detail=out.reason)
            return None
        out.status = "collected"
        out.sha256, out.size, out.report_ids = hashlib.sha256(data).hexdigest(), len(data), rum.report_ids
        out.udi = f"PID:{rum.udi[0]},SN:{rum.udi[1]}" if rum.udi[1] else ""
        out.reason = f"{len(rum.report_ids)} report(s), {len(data)} bytes by {out.transfer}"
        return data, rum

    async def job_and_record(target: Target) -> None:
        out, log = Outcome(target.name, "failed", site=target.site), _Log(target.name, redactor)
        try:
            got = await job(target, out, log)
        except Exception as exc:  # a bug of ours must not end the run for every other device
            out.kind, out.reason = "internal", f"internal error ({type(exc).__name__}: {exc}); please report it"
            got = None
        # Written as each device finishes (one transaction each), so Ctrl-C keeps what was done.
        with store.transaction():
            log.flush(store, run_id)
            trust.flush(store, target.name)
            if got is not None:
                data, rum = got
                store.save_slp_report(run_id, out.device, site=out.site, udi_pid=rum.udi[0], udi_serial=rum.udi[1],
                                      file_name=out.file, mode=words, transfer=out.transfer, data=data,
                                      report_ids=out.report_ids, collected_at=time.time())
        result.outcomes.append(out)

    await _finish(store, result, _per_device(chosen, options, job_and_record), "collected")
    order = {t.name: i for i, t in enumerate(chosen)}
    result.outcomes.sort(key=lambda o: order[o.device])
    return result


async def _read_back(session, target: Target, path: str, options: ActionOptions, out: Outcome, log: _Log,
                     redactor: Redactor) -> bytes | None:
    """The saved file's exact bytes: SCP, else ``more`` when its size matches ``dir``; None (``out`` says why)."""
    from collectors.base import CollectError
    from collectors.ssh_actions import file_size, read_file_cli, scp_get

    size, dir_cap = await file_size(session, path)
    log.capture("verify", dir_cap, detail=f"listed size {size}" if size is not None else "file not listed")
    try:
        data = await scp_get(target, path, connect_timeout=options.connect_timeout, timeout=options.command_timeout)
        out.transfer = "scp"
        log.add("read-file", "ok", command=f"scp -f {path}", detail=f"{len(data)} bytes by SCP")
    except CollectError as exc:
        log.add("read-file", "failed", kind=exc.kind, command=f"scp -f {path}", detail=exc.message)
        data, more = await read_file_cli(session, path)
        log.capture("read-file", more, detail=None if more.ok else more.error)
        if data is None:
            out.kind, out.reason = "command", f"cannot read {path} back: {redactor.scrub(more.error)}"
            return None
        out.transfer = "cli"
        if size is None or len(data) != size:
            out.kind = "garbage"
            out.reason = (f"read {path} through 'more' ({len(data)} bytes) but cannot prove it is byte-exact "
                          f"(device lists {size if size is not None else 'no'} size); "
                          "enable the device's SCP server and collect again")
            return None
    if size is not None and len(data) != size:
        out.kind, out.reason = "garbage", f"read {len(data)} bytes of {path} but the device lists {size}"
        return None
    return data


async def _finish(store: Store, result: RunResult, work, ok_status: str) -> None:
    """Run ``work`` and close the run row whatever happens: completed, interrupted (Ctrl-C) or
    failed (an error that ended the run), with what got done; never left ``running``."""
    status = "completed"
    try:
        await work
    except asyncio.CancelledError:
        result.interrupted = True
        raise
    except BaseException:
        status = "failed"
        raise
    finally:
        ok = sum(1 for o in result.outcomes if o.status == ok_status)
        store.end_slp_run(result.run_id, "interrupted" if result.interrupted else status, ok, len(result.failed))


def _not_slp(scan_id: int, st: LicenseStatus) -> str:
    return f"not an SLP device per scan {scan_id}: {reporting_state(st, datetime.now(timezone.utc).date()).reason}"


# ------------------------------------------------------------------ bundle


@dataclass(slots=True)
class BundleResult:
    run_id: int
    out_dir: Path
    files: list[dict[str, Any]] = field(default_factory=list)
    skipped: list[tuple[str, str]] = field(default_factory=list)  # (device, why)
    manifest: Path | None = None


MANIFEST_COLUMNS = ("file", "device", "hostname", "site", "udi_pid", "udi_serial", "report_ids", "report_count",
                    "sha256", "size", "collected_at", "transfer")


def bundle(store: Store, out_dir: str | Path, *, site: str | None = None, include_acknowledged: bool = False) -> BundleResult:
    from agent.reports.tabular import atomic_write, neutralise

    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    run_id = store.begin_slp_run("bundle", "", {"out": str(out), "site": site, "all": include_acknowledged})
    result = BundleResult(run_id, out)
    events: list[tuple[str, str, str]] = []
    status = "failed"
    try:
        _bundle_files(store, out, site, include_acknowledged, result, events, atomic_write)
        manifest = {"created": iso(datetime.now(timezone.utc)),
                    "site": site, "upload": "CSSM > Smart Software Licensing > Reports > Usage Data Files > "
                                            "Upload Usage Data, one file at a time, then download each ACK",
                    "files": result.files}
        text = json.dumps(manifest, indent=1) + "\n"
        atomic_write(out / "manifest.json", lambda tmp: tmp.write_text(text, encoding="utf-8"))
        buf = io.StringIO()
        writer = csv.writer(buf, lineterminator="\n")
        writer.writerow(MANIFEST_COLUMNS)
        # Host names and sites come from devices and inventories: a cell a spreadsheet would run as
        # a formula ('=cmd|...') is written as text.
        for f in result.files:
            writer.writerow([neutralise(" ".join(map(str, f[c])) if c == "report_ids" else f[c])
                             for c in MANIFEST_COLUMNS])
        atomic_write(out / "manifest.csv", lambda tmp: tmp.write_text(buf.getvalue(), encoding="utf-8"))
        result.manifest = out / "manifest.json"
        status = "completed"
    finally:
        with store.transaction():
            for device, state, detail in events:
                store.add_slp_event(run_id, device, "bundle", state, detail=detail)
            for device, why in result.skipped:
                store.add_slp_event(run_id, device, "bundle", "skipped", detail=why)
        store.end_slp_run(run_id, status, len(result.files), 0)
    return result


def _bundle_files(store: Store, out: Path, site: str | None, include_acknowledged: bool, result: BundleResult,
                  events: list[tuple[str, str, str]], atomic_write) -> None:
    """Write each device's newest RUM file under its own name; ``result.files`` lists exactly
    the files written (a file that cannot be written is skipped with the reason)."""
    acked_at: dict[str, float] = {}
    for row in store.slp_acks():
        if row["status"] == "imported" and row["device"]:
            acked_at[row["device"]] = max(acked_at.get(row["device"], 0.0), row["at"])
    taken: dict[str, str] = {}  # file name -> device
    for row in store.latest_slp_reports():
        device = row["device"]
        if site is not None and row["site"] != site:
            continue
        ids = json.loads(row["report_ids"])
        if not include_acknowledged and acked_at.get(device, 0.0) > row["collected_at"]:
            result.skipped.append((device, "already acknowledged (an ACK was imported after this file was collected)"))
            continue
        if not ids:
            result.skipped.append((device, "the file holds no usage report (nothing unreported on the device)"))
            continue
        data = bytes(row["data"])
        if hashlib.sha256(data).hexdigest() != row["sha256"]:
            result.skipped.append((device, "stored file does not match its recorded sha256: not bundled"))
            continue
        name = bundle_name(device)
        if name in taken:  # two raw names with one 48-bit digest: never seen, never overwritten
            result.skipped.append((device, f"its bundle file name {name} is taken by {taken[name]}: not bundled"))
            continue
        try:
            atomic_write(out / name, lambda tmp, data=data: tmp.write_bytes(data))
        except OSError as exc:
            result.skipped.append((device, f"cannot write {out / name}: {exc.strerror or exc}"))
            continue
        taken[name] = device
        try:
            hostname = parse_rum(data).hostname
        except RumError:
            hostname = ""
        result.files.append({
            "file": name, "device": device, "hostname": hostname, "site": row["site"] or "",
            "udi_pid": row["udi_pid"] or "", "udi_serial": row["udi_serial"] or "", "report_ids": ids,
            "report_count": len(ids), "sha256": row["sha256"], "size": row["size"],
            "collected_at": iso(datetime.fromtimestamp(row["collected_at"], timezone.utc)),
            "transfer": row["transfer"] or "",
        })
        events.append((device, "ok", f"{name} ({len(ids)} reports) -> {out}"))


def outcome_rows(result: RunResult) -> list[dict[str, Any]]:
    return [o.as_dict() for o in result.outcomes]


__all__ = ["ActionOptions", "BundleResult", "Outcome", "RunResult", "SlpLock", "bundle", "bundle_name", "collect", "file_name",
           "mode_words", "outcome_rows"]
