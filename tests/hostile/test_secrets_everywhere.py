"""No secret on any path (issue 12, item 3): passwords, enable secrets, SNMP communities and v3 keys
never reach anything written, whatever goes wrong.

Four faults, each in a real ``ibagent --debug scan ... -vv --log-file`` process against the lab
(tests/hostile/secrets_child.py injects them): a full disk, a store that turns read-only, a collector
that crashes with secrets in its message and locals (and leaves a failed task nobody awaits and a
thread that dies), and an exception of a kind nobody expects out of the store.  Then everything
written is swept (tests/hostile/secrets_sweep.py): stdout, stderr, the log file, the store's bytes
and every cell, captures decompressed.  The values themselves are :class:`agent.core.secret.Secret`
in memory, whose repr is masked: checked here too, down to a traceback that prints its locals.
"""
from __future__ import annotations

import dataclasses
import io
import logging
import os
import pickle
import secrets as _random
import subprocess
import sys
import traceback
from pathlib import Path

import pytest
import yaml

from agent.core.models import Credential, Target
from agent.core.redact import MASK, RedactingFilter, RedactingFormatter, Redactor
from agent.core.secret import Secret
from lab import fleet
from lab.inventory import write_inventory
from lab.server import LabThread
from secrets_sweep import sweep

REPO = Path(__file__).resolve().parents[2]
CHILD = Path(__file__).with_name("secrets_child.py")
# One run's secrets: random, so nothing else in the output can contain them by chance.
SECRETS = {
    "HOSTILE_PW": "pw-" + _random.token_hex(8),
    "HOSTILE_EN": "en-" + _random.token_hex(8),
    "HOSTILE_COMMUNITY": "comm-" + _random.token_hex(8),
    "HOSTILE_AUTH": "auth-" + _random.token_hex(8),
    "HOSTILE_PRIV": "priv-" + _random.token_hex(8),
}
VALUES = list(SECRETS.values())


@pytest.fixture(scope="module")
def lab():
    specs = [dataclasses.replace(s, password=SECRETS["HOSTILE_PW"], enable_password=SECRETS["HOSTILE_EN"])
             for s in fleet.scale_fleet(12, latency=0.02, jitter=0.1)]
    with LabThread(specs) as running:
        yield running


def _inventory(lab, directory: Path) -> Path:
    write_inventory(lab.devices, directory, password_env="HOSTILE_PW", enable_env="HOSTILE_EN")
    groups = yaml.safe_load((directory / "groups.yaml").read_text())
    # Every host also carries SNMP secrets (resolved into Target.options), though SSH collects it.
    groups["lab"]["data"].update({
        "snmp_community": "${HOSTILE_COMMUNITY}", "snmp_user": "ibagent",
        "snmp_auth_key": "${HOSTILE_AUTH}", "snmp_priv_key": "${HOSTILE_PRIV}",
    })
    (directory / "groups.yaml").write_text(yaml.safe_dump(groups))
    return directory


def _run(lab, tmp: Path, fault: str, quiet: bool = False) -> tuple[subprocess.CompletedProcess, Path, Path]:
    """``ibagent --debug scan ... -vv --log-file`` (or the systemd unit's ``scan ... -q --log-file``)."""
    inv = _inventory(lab, tmp / "inv")
    db, log = tmp / "store.db", tmp / "ibagent.log"
    argv = [sys.executable, str(CHILD), fault, "--", *([] if quiet else ["--debug"]), "scan", "-i", str(inv),
            "--db", str(db), "--log-file", str(log), "--no-progress", "--workers", "4", "--connect-timeout", "5",
            "--deadline", "60", "-q" if quiet else "-vv"]
    env = {**os.environ, **SECRETS, "PYTHONPATH": str(REPO)}
    proc = subprocess.run(argv, cwd=tmp, env=env, capture_output=True, text=True, timeout=240)
    return proc, db, log


def _clean(proc: subprocess.CompletedProcess, tmp: Path) -> None:
    found = sweep(VALUES, paths=[tmp], texts={"stdout": proc.stdout, "stderr": proc.stderr})
    assert found == [], found


def test_disk_full(lab, tmp_path):
    proc, db, log = _run(lab, tmp_path, "disk-full")
    assert proc.returncode == 74, proc.stdout + proc.stderr
    assert "database or disk is full" in proc.stdout and "database or disk is full" in log.read_text()
    _clean(proc, tmp_path)


def test_read_only_store(lab, tmp_path):
    proc, db, log = _run(lab, tmp_path, "read-only")
    assert proc.returncode == 74, proc.stdout + proc.stderr
    assert "readonly database" in proc.stdout + proc.stderr
    _clean(proc, tmp_path)


@pytest.mark.parametrize("quiet", [False, True], ids=["debug", "systemd-quiet"])
def test_collector_crash(lab, tmp_path, quiet):
    """Every third device's collector raises with the password, enable secret, community and v3 keys in
    its message; a task it started fails unobserved (asyncio's handler) and a thread it started dies
    (threading's hook).  ``-q --log-file`` is the systemd unit's way, which wrote 11 communities."""
    proc, db, log = _run(lab, tmp_path, "collector-crash", quiet)
    assert proc.returncode == 1, proc.stdout + proc.stderr  # some devices failed, the scan completed
    text = log.read_text()
    assert "internal error (RuntimeError: collector exploded for Target(" in proc.stdout
    assert f"with {MASK} / " in proc.stdout and f"'snmp_community': '{MASK}'" in proc.stdout  # there, masked
    if not quiet:
        assert "Traceback" in text and "collector exploded" in text  # the debug traceback, scrubbed
        assert "orphan task: collector exploded" in text + proc.stderr  # asyncio's handler
        assert "Exception in thread crash-" in proc.stderr  # threading's hook
    _clean(proc, tmp_path)


def test_unexpected_exception(lab, tmp_path):
    proc, db, log = _run(lab, tmp_path, "unexpected")
    assert proc.returncode == 70, proc.stdout + proc.stderr
    assert "Traceback (most recent call last)" in proc.stderr
    assert f"LookupError: nobody expects this: {MASK} {MASK}" in proc.stderr
    _clean(proc, tmp_path)


# ------------------------------------------------------------------ the secret type


def _target() -> Target:
    return Target(name="r1", host="192.0.2.1", platform="cisco_xe",
                  credential=Credential("admin", SECRETS["HOSTILE_PW"], SECRETS["HOSTILE_EN"]),
                  options={"snmp_community": SECRETS["HOSTILE_COMMUNITY"], "snmp_auth_key": SECRETS["HOSTILE_AUTH"],
                           "snmp_priv_key": SECRETS["HOSTILE_PRIV"], "snmp_port": 161})


def test_no_repr_or_traceback_shows_a_secret():
    target = _target()
    cred = target.credential
    shown = [repr(target), str(target), repr(cred), repr(target.options), f"{cred.password}", str(cred.enable),
             "{}".format(target.options["snmp_community"]), repr(dataclasses.asdict(target))]

    def crash(target=target, password=cred.password):
        raise RuntimeError(f"failed on {target} with {password} and {target.options}")

    try:
        crash()
    except RuntimeError as exc:
        shown.append("".join(traceback.TracebackException.from_exception(exc, capture_locals=True).format()))
    assert sweep(VALUES, texts={f"text {i}": t for i, t in enumerate(shown)}) == []
    assert MASK in shown[-1]
    # The values are there for the collectors, and compare equal to themselves.
    assert cred.password.reveal() == SECRETS["HOSTILE_PW"] and cred.password == SECRETS["HOSTILE_PW"]
    assert target.options["snmp_community"] == SECRETS["HOSTILE_COMMUNITY"] and target.options["snmp_port"] == 161
    assert cred.secrets() == (SECRETS["HOSTILE_PW"], SECRETS["HOSTILE_EN"])
    with pytest.raises(TypeError):
        pickle.dumps(cred.password)
    with pytest.raises(TypeError):
        "x" + cred.password  # noqa: B018 - concatenation must fail, not produce the value
    assert not isinstance(Secret("a"), str)


def test_logging_scrubs_the_traceback_it_formats():
    """The old filter scrubbed the message before logging formatted the traceback: the formatter scrubs
    what it formats, traceback and stack included."""
    redactor = Redactor([SECRETS["HOSTILE_PW"], 'quo"te\\pw'])
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.addFilter(RedactingFilter(redactor))
    handler.setFormatter(RedactingFormatter(redactor, "%(levelname)s %(message)s"))
    log = logging.getLogger("hostile.secrets")
    log.addHandler(handler)
    log.propagate = False
    try:
        try:
            raise ValueError(f"inner {SECRETS['HOSTILE_PW']} {'quo' + chr(34) + 'te' + chr(92) + 'pw'!r}")
        except ValueError:
            log.exception("while scanning", stack_info=True)
    finally:
        log.removeHandler(handler)
    out = stream.getvalue()
    assert "ValueError: inner ********" in out and "Stack (most recent call last)" in out
    assert sweep([SECRETS["HOSTILE_PW"], 'quo"te\\pw', "quo\\\"te\\\\pw"], texts={"log": out}) == []
