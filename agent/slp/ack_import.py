"""Importing ACK files: match each acknowledgement to the devices whose UDI it names, copy it to
the device's flash, run ``license smart import`` and re-read the licence status, recording every
step per device in the store.  The shared run machinery (options, outcomes, the lock, the per-device
event log) is ``agent.slp.offline``'s.
"""
from __future__ import annotations

import asyncio
import hashlib
from collections import defaultdict
from dataclasses import asdict
from pathlib import Path
from typing import Any, Sequence

from agent.core.hostkeys import KnownHostsError
from agent.core.models import LicenseStatus, Target
from agent.core.redact import Redactor
from agent.store import Store

from .offline import SUCCESS, ActionOptions, Outcome, RunResult, Trust, _finish, _Log, _per_device, file_name, flash
from .rum import AckFile, RumError, parse_ack, read_file

def _serial_key(serial: str) -> str:
    return serial.strip().upper()


def udi_index(store: Store) -> dict[str, set[str]]:
    """UDI serial -> devices known to carry it (licence status UDI, HA members, trust codes, RUM files)."""
    index: dict[str, set[str]] = defaultdict(set)
    for device, (_, _, st) in store.latest_license_statuses().items():
        for serial in [st.udi_serial] + [u.get("udi_serial", "") for u in list(st.ha_udis) + list(st.trust_codes)]:
            if serial:
                index[_serial_key(serial)].add(device)
    for row in store.latest_slp_reports():
        if row["udi_serial"]:
            index[_serial_key(row["udi_serial"])].add(row["device"])
    return index


async def import_acks(
    targets: Sequence[Target], store: Store, files: Sequence[str | Path], *, options: ActionOptions | None = None,
    redactor: Redactor | None = None, inventory: str = "",
) -> RunResult:
    from collectors.base import CollectError
    from collectors.ssh_actions import CliSession, scp_put

    import parsers

    options = options or ActionOptions()
    redactor = redactor or Redactor()
    by_name = {t.name: t for t in targets}
    index = udi_index(store)
    known = store.latest_license_statuses()
    trust = Trust(store, options)
    run_id = store.begin_slp_run("import-ack", inventory, {**options.public(), "files": [str(f) for f in files]})
    result = RunResult(run_id, "import-ack")
    jobs: dict[str, list[tuple[Path, bytes, AckFile]]] = defaultdict(list)
    rows: list[tuple[str | None, dict[str, Any]]] = []  # slp_acks rows to write for files that reach no device

    async def work() -> None:
        # Inside _finish: whatever happens from here on, the run row is closed.
        for f in files:
            _read_one(Path(f), index, by_name, jobs, rows, result)
        with store.transaction():
            for device, row in rows:
                store.save_slp_ack(run_id, device, **row)
        await _per_device([by_name[d] for d in sorted(jobs)], options, job_and_record)

    async def import_one(target: Target, path: Path, data: bytes, ack: AckFile, out: Outcome, log: _Log,
                         row: dict[str, Any]) -> None:
        dest = flash(target.platform) + file_name(path.name, suffix="")
        status_cap = None
        try:
            async with asyncio.timeout(options.deadline):
                await scp_put(target, data, dest, connect_timeout=options.connect_timeout,
                              timeout=options.command_timeout)
                log.add("push-file", "ok", command=f"scp -t {dest}", detail=f"{len(data)} bytes")
                session = await CliSession.open(target, connect_timeout=options.connect_timeout,
                                                command_timeout=options.command_timeout)
                async with session:
                    cap = await session.run(f"license smart import {dest}")
                    success = cap.ok and SUCCESS in cap.output
                    log.capture("import", cap, status="ok" if success else "failed")
                    if not success:
                        said = next((ln.strip() for ln in cap.output.splitlines() if ln.strip()), "no answer")
                        out.kind, out.reason = "command", f"device did not accept {dest}: {redactor.scrub(said)}"
                        return
                    # The device confirmed: the import happened, whatever the re-read below does.  A
                    # failed re-read is its own warning; recording the import as failed would send
                    # the same usage again with the next bundle.
                    out.status = row["status"] = "imported"
                    out.reason = SUCCESS
                    status_cap = await session.run("show license status")
                    log.capture("verify", status_cap, status="ok" if status_cap.ok else "warning")
        except CollectError as exc:
            if out.status == "imported":
                _warn(out, log, f"re-reading 'show license status' failed: {redactor.scrub(exc.message)}", exc.kind)
                return
            out.kind, out.reason = exc.kind, redactor.scrub(exc.message) or ""
            log.add("session" if log.events else "push-file", "failed", kind=exc.kind, detail=exc.message)
            return
        except TimeoutError:
            if out.status == "imported":
                _warn(out, log, f"the device deadline of {options.deadline:g}s ran out while re-reading "
                      "'show license status'", "timeout")
                return
            out.kind, out.reason = "timeout", f"device deadline of {options.deadline:g}s exceeded"
            log.add("session", "failed", kind="timeout", detail=out.reason)
            return
        if status_cap is None:
            return
        if not status_cap.ok:
            _warn(out, log, f"re-reading 'show license status' failed: {redactor.scrub(status_cap.error)}",
                  status_cap.error_kind or "command", logged=True)
            return
        try:
            st = parsers.parse(target.platform, "show license status", status_cap.output).license_status
        except parsers.ParseError as exc:
            _warn(out, log, f"'show license status' could not be read after the import: {exc.reason}", "parse")
            return
        if st is None:
            _warn(out, log, "'show license status' showed no licence state after the import", "parse")
            return
        out.last_ack, out.next_ack_deadline = st.last_ack_received, st.next_ack_deadline
        before = known.get(target.name)
        unchanged = before is not None and before[2].last_ack_received == st.last_ack_received
        out.reason = (f"Import Data Successful; last ACK {st.last_ack_received or '<none>'}, "
                      f"next deadline {st.next_ack_deadline or '<none>'}"
                      + ("; note: the last-ACK time did not change" if unchanged else ""))
        row.update(last_ack_received=st.last_ack_received, next_ack_deadline=st.next_ack_deadline,
                   license_status=LicenseStatus(**{**asdict(st), "device": target.name}))

    async def job(target: Target) -> list[tuple[Outcome, _Log, dict[str, Any]]]:
        done = []
        try:
            target = trust.attach(target)
            untrusted = None
        except KnownHostsError as exc:
            untrusted = str(exc)
        # One file after the other on a device: imports are not run side by side on one box.
        for path, data, ack in jobs[target.name]:
            log = _Log(target.name, redactor)
            out = Outcome(target.name, "failed", site=target.site, file=str(path),
                          udi=", ".join(f"PID:{p},SN:{s}" for p, s in ack.udis), report_ids=list(ack.report_ids),
                          sha256=hashlib.sha256(data).hexdigest(), size=len(data))
            row = {"file_name": path.name, "data": data, "udis": [list(u) for u in ack.udis],
                   "report_ids": ack.report_ids, "status": "failed"}
            try:
                if untrusted:
                    out.kind, out.reason = "config", untrusted
                else:
                    await import_one(target, path, data, ack, out, log, row)
            except Exception as exc:  # a bug of ours must not end the run for every other device
                problem = f"internal error ({type(exc).__name__}: {exc}); please report it"
                if out.status == "imported":  # confirmed by the device before the bug: still imported
                    _warn(out, log, problem, "internal")
                else:
                    out.status, out.kind, out.reason = "failed", "internal", problem
                    row["status"] = "failed"
            row["reason"] = out.reason + (f"; warning: {out.warning}" if out.warning else "")
            done.append((out, log, row))
        return done

    async def job_and_record(target: Target) -> None:
        for out, log, row in await job(target):
            with store.transaction():
                log.flush(store, run_id)
                trust.flush(store, target.name)
                store.save_slp_ack(run_id, out.device, **row)
            result.outcomes.append(out)

    await _finish(store, result, work(), "imported")
    return result


def _warn(out: Outcome, log: _Log, text: str, kind: str, logged: bool = False) -> None:
    """A problem after the device confirmed the import: the import stands, the problem is said."""
    out.warning = text
    if not logged:
        log.add("verify", "warning", kind=kind, detail=text)


def _read_one(path: Path, index: dict[str, set[str]], by_name: dict[str, Target],
              jobs: dict[str, list[tuple[Path, bytes, AckFile]]], rows: list[tuple[str | None, dict[str, Any]]],
              result: RunResult) -> None:
    """Read, check and route one ACK file.  Each file stands alone: one that is unreadable,
    oversized or hostile is an ``invalid`` outcome naming it, and the others go on."""
    try:
        data = read_file(path)
    except OSError as exc:
        result.outcomes.append(Outcome("-", "invalid", file=str(path), kind="config",
                                       reason=f"cannot read {path}: {exc.strerror or exc}"))
        return
    except RumError as exc:  # larger than any ACK: refused before reading it
        result.outcomes.append(Outcome("-", "invalid", file=str(path), kind="parse",
                                       reason=f"{path.name}: {exc}; nothing was sent to any device"))
        return
    try:
        ack = parse_ack(data)
    except Exception as exc:  # noqa: BLE001 - RumError, or a bug of ours: this file only
        why = str(exc) if isinstance(exc, RumError) else f"internal error ({type(exc).__name__}: {exc}); please report it"
        reason = f"{path.name}: {why}; nothing was sent to any device"
        result.outcomes.append(Outcome("-", "invalid", file=str(path), kind="parse" if isinstance(exc, RumError)
                                       else "internal", reason=reason, sha256=hashlib.sha256(data).hexdigest()))
        rows.append((None, {"file_name": path.name, "data": data, "udis": [], "report_ids": [],
                            "status": "invalid", "reason": reason}))
        return
    devices = sorted({d for _, serial in ack.udis for d in index.get(_serial_key(serial), ())})
    udis = ", ".join(f"PID:{p},SN:{s}" for p, s in ack.udis)
    if not devices:
        reason = f"{path.name}: no device in the store has UDI {udis}; nothing was sent to any device"
        result.outcomes.append(Outcome("-", "unmatched", file=str(path), kind="config", reason=reason, udi=udis))
        rows.append((None, {"file_name": path.name, "data": data, "udis": [list(u) for u in ack.udis],
                            "report_ids": ack.report_ids, "status": "unmatched", "reason": reason}))
        return
    for device in devices:
        if device not in by_name:
            reason = f"{path.name} is for {device} (UDI {udis}), which is not in this inventory"
            result.outcomes.append(Outcome(device, "failed", file=str(path), kind="config", reason=reason, udi=udis))
            rows.append((device, {"file_name": path.name, "data": data, "udis": [list(u) for u in ack.udis],
                                  "report_ids": ack.report_ids, "status": "failed", "reason": reason}))
        else:
            jobs[device].append((path, data, ack))


__all__ = ["import_acks", "udi_index"]
