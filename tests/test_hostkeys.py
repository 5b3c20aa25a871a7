"""Host-key trust without a network: the policy's verdicts, OpenSSH known_hosts matching, the
store's host_keys table (schema v7) and the inventory's host_keys / known_hosts settings.

The store's table is tested on both backends (``store_target``: tests/pg/store_fixtures.py); the v7
migration stays SQLite-only."""
from __future__ import annotations

import base64
import hashlib
import hmac
import shutil
import sqlite3
import subprocess

import asyncssh
import pytest
import yaml

from agent.collect.inventory import InventoryError, load_inventory
from agent.core.hostkeys import (
    HostKeyPolicy, KnownHosts, KnownHostsError, PolicyBook, TrustedKey, algorithms, fingerprint, policy_for,
)
from agent.store import SCHEMA_VERSION, Store


def _key(kind="ssh-ed25519") -> tuple[str, str]:
    key_type, blob = asyncssh.generate_private_key(kind).export_public_key().decode().split()[:2]
    return key_type, blob


A, B, R = _key(), _key(), _key("ecdsa-sha2-nistp256")


def test_verdicts_of_each_mode():
    trusted = (TrustedKey(22, *A, "the store", 1.0),)
    tofu = HostKeyPolicy("tofu", trusted)
    assert tofu.verify("h", 22, *A).verdict == "match"
    assert tofu.verify("h", 22, *B).verdict == "changed"
    assert tofu.verify("h", 22, *R).verdict == "changed"
    assert tofu.verify("h", 830, *B).verdict == "new"  # another port: its own first use
    assert tofu.key_types(22) == ("ssh-ed25519",) and tofu.key_types(830) == ()
    strict = HostKeyPolicy("strict", trusted)
    assert strict.verify("h", 830, *B).verdict == "unknown" and not strict.verify("h", 830, *B).ok
    insecure = HostKeyPolicy("insecure", trusted)
    assert insecure.verify("h", 22, *B).verdict == "insecure" and insecure.key_types(22) == ()
    revoked = HostKeyPolicy("tofu", (), frozenset({B[1]}))
    assert revoked.verify("h", 22, *B).verdict == "revoked"
    seen = []
    HostKeyPolicy("tofu", trusted, report=seen.append).verify("h", 22, *B, at=5.0)
    assert [(s.verdict, s.at, s.fingerprint) for s in seen] == [("changed", 5.0, fingerprint(B[1]))]


def test_algorithms_of_key_types():
    assert algorithms(["ssh-rsa", "ssh-ed25519", "ssh-rsa"]) == ["rsa-sha2-512", "rsa-sha2-256", "ssh-rsa",
                                                                  "ssh-ed25519"]


@pytest.mark.skipif(not shutil.which("ssh-keygen"), reason="OpenSSH's ssh-keygen is not installed")
def test_fingerprint_and_hashed_entries_agree_with_openssh(tmp_path):
    kh = tmp_path / "known_hosts"
    kh.write_text(f"[127.0.0.1]:2222 {' '.join(A)}\nlocalhost {' '.join(B)}\n")
    listed = subprocess.run(["ssh-keygen", "-l", "-f", str(kh)], capture_output=True, text=True, check=True).stdout
    assert fingerprint(A[1]) in listed and fingerprint(B[1]) in listed
    subprocess.run(["ssh-keygen", "-H", "-f", str(kh)], capture_output=True, check=True)
    assert "127.0.0.1" not in kh.read_text() and "localhost" not in kh.read_text()  # hashed now
    known = KnownHosts.read([kh])
    assert [k[:2] for k in known.keys_for("127.0.0.1", 2222)] == [A]
    assert [k[:2] for k in known.keys_for("localhost", 22)] == [B]
    assert known.keys_for("127.0.0.1", 22) == [] and known.keys_for("unknown.invalid", 22) == []


def test_known_hosts_patterns_as_openssh_reads_them():
    salt = b"0123456789abcdefghij"
    digest = hmac.new(salt, b"secret-host", hashlib.sha1).digest()
    hashed = f"|1|{base64.b64encode(salt).decode()}|{base64.b64encode(digest).decode()}"
    text = "\n".join([
        "# comment", "",
        f"core-*.example,!core-9.example {' '.join(A)}",
        f"[127.0.0.1]:830 {' '.join(B)}",
        f"127.0.?.9 {' '.join(R)} a comment",
        f"{hashed} {' '.join(B)}",
        f"@revoked * {' '.join(R)}",
        f"@cert-authority *.example {' '.join(B)}",
    ])
    known = KnownHosts.parse(text, "kh")
    assert [k[0:2] for k in known.keys_for("core-1.example", 22)] == [A]
    assert known.keys_for("core-9.example", 22) == []  # negated
    assert known.keys_for("CORE-2.EXAMPLE", 22)[0][2] == "kh:3"  # case-insensitive, file:line
    assert [k[:2] for k in known.keys_for("127.0.0.1", 830)] == [B] and known.keys_for("127.0.0.1", 22) == []
    assert [k[:2] for k in known.keys_for("127.0.7.9", 22)] == [R] and known.keys_for("127.0.17.9", 22) == []
    assert [k[:2] for k in known.keys_for("secret-host", 22)] == [B]
    assert known.revoked() == frozenset({R[1]})  # CA lines never trust anything
    policy = policy_for("127.0.7.9", "tofu", (), known, (22,))
    assert policy.verify("127.0.7.9", 22, *R).verdict == "revoked"


@pytest.mark.parametrize("line, message", [
    ("host ssh-ed25519", "kh:1: expected 'hosts key-type base64-key [comment]'"),
    ("host ssh-ed25519 AAAA", "kh:1: the key is not a valid ssh-ed25519 public key"),
    (f"host ssh-rsa {A[1]}", "kh:1: the key is not a valid ssh-rsa public key"),
    (f"@trusted host {' '.join(A)}", "kh:1: unknown marker @trusted"),
])
def test_bad_known_hosts_lines_name_file_and_line(line, message):
    with pytest.raises(KnownHostsError, match=message.replace("[", r"\[").replace("]", r"\]")):
        KnownHosts.parse(line, "kh")


def test_policy_book_modes_files_and_store(tmp_path):
    kh = tmp_path / "kh"
    kh.write_text(f"h {' '.join(B)}\n")
    stored = {"h": [TrustedKey(22, *A, "the store", 1.0)]}
    book = PolicyBook(stored, "tofu", [str(kh)])
    tofu = book.policy("h", {}, (22,))
    assert {k.key for k in tofu.expected(22)} == {A[1], B[1]}  # the file's key and the store's
    strict = book.policy("h", {"host_keys": "strict"}, (22,))
    assert [k.key for k in strict.expected(22)] == [B[1]]  # never the store's
    with pytest.raises(KnownHostsError, match="strict needs a known_hosts file"):
        PolicyBook(stored, "strict").policy("h", {}, (22,))
    with pytest.raises(KnownHostsError, match="cannot read"):
        PolicyBook(stored).policy("h", {"known_hosts": (str(tmp_path / "missing"),)}, (22,))
    with pytest.raises(ValueError):
        PolicyBook(stored, "trusting")


def test_store_records_first_use_match_change_accept_forget(store_target):
    store = Store(store_target)
    policy = HostKeyPolicy("tofu")
    first = policy.verify("127.0.0.1", 22, *A, at=100.0)
    assert [s.key for s in store.record_host_keys("sw1", [first])] == [A[1]]
    # Another name on the same address racing with another key: it cannot become trusted.
    assert store.record_host_keys("sw1-alias", [policy.verify("127.0.0.1", 22, *B, at=101.0)]) == []
    trusted = HostKeyPolicy("tofu", tuple(store.trusted_host_keys()["127.0.0.1"]))
    store.record_host_keys("sw1", [trusted.verify("127.0.0.1", 22, *A, at=200.0),
                                   trusted.verify("127.0.0.1", 22, *B, at=300.0)])
    rows = [(r["status"], r["key"], r["first_seen"], r["last_seen"], r["device"]) for r in store.host_key_rows()]
    assert rows == [("trusted", A[1], 100.0, 200.0, "sw1"), ("offered", B[1], 101.0, 300.0, "sw1")]
    assert store.accept_host_keys("sw1", 830) == []  # nothing offered on that port
    assert [r["key"] for r in store.accept_host_keys("sw1")] == [B[1]]
    assert [(r["status"], r["key"]) for r in store.host_key_rows()] == [("trusted", B[1])]
    strict = HostKeyPolicy("strict").verify("127.0.0.1", 22, *A)
    assert store.record_host_keys("sw1", [strict]) == [] and len(store.host_key_rows()) == 1  # strict: no writes
    assert store.forget_host_keys("localhost") == 0 and store.forget_host_keys("127.0.0.1") == 1
    assert store.trusted_host_keys() == {}
    store.close()


def test_schema_v7_migrates_a_v6_store_and_is_idempotent(tmp_path):
    assert SCHEMA_VERSION >= 7
    store = Store(tmp_path / "s.db")
    store.record_host_keys("d", [HostKeyPolicy().verify("h", 22, *A, at=1.0)])
    store.close()
    db = sqlite3.connect(tmp_path / "s.db")
    db.execute("UPDATE meta SET value='6' WHERE key='schema_version'")  # as if v7 had never run
    db.commit()
    db.close()
    again = Store(tmp_path / "s.db")
    assert [r["key"] for r in again.host_key_rows()] == [A[1]]
    assert again.db.execute("SELECT value FROM meta WHERE key='schema_version'").fetchone()[0] == str(SCHEMA_VERSION)
    again.close()


def _inventory(tmp_path, host_data, group_data=None):
    inv = tmp_path / "inv"
    inv.mkdir(exist_ok=True)
    host = {"hostname": "127.0.0.1", "platform": "cisco_xe", "username": "u", "password": "${PW}",
            "groups": ["g"], "data": host_data}
    (inv / "hosts.yaml").write_text(yaml.safe_dump({"sw1": host}))
    (inv / "groups.yaml").write_text(yaml.safe_dump({"g": {"data": group_data or {}}}))
    return load_inventory(inv, env={"PW": "x"})


def test_inventory_host_keys_settings(tmp_path):
    (tmp_path / "inv").mkdir()
    (tmp_path / "inv" / "kh").write_text("")
    target = _inventory(tmp_path, {"host_keys": "insecure"}, {"known_hosts": "kh"}).targets[0]
    assert target.options["host_keys"] == "insecure"
    assert target.options["known_hosts"] == (str(tmp_path / "inv" / "kh"),)
    assert _inventory(tmp_path, {}, {"host_keys": "strict"}).targets[0].options["host_keys"] == "strict"
    with pytest.raises(InventoryError, match="per-host opt-in"):
        _inventory(tmp_path, {}, {"host_keys": "insecure"})
    with pytest.raises(InventoryError, match="data.host_keys 'trust-all' is not one of tofu, strict, insecure"):
        _inventory(tmp_path, {"host_keys": "trust-all"})
    with pytest.raises(InventoryError, match="data.known_hosts 'nope': no such file"):
        _inventory(tmp_path, {"known_hosts": "nope"})


def test_a_refused_key_fails_the_device_even_after_another_transport_collected_it():
    """NETCONF collected the device; the SSH complement met a changed key: the device fails
    ``hostkey`` (a possible impostor outranks everything) and SNMP is never asked."""
    import asyncio

    from agent.collect.scan import ScanOptions, _collect_one
    from agent.core.models import Capture, Credential, Target
    from agent.core.redact import Redactor
    from collectors.base import CollectError

    asked = []

    class Fake:
        def __init__(self, transport, error=None):
            self.transport, self.error = transport, error

        async def collect(self, target, sink):
            asked.append(self.transport)
            if self.error:
                raise CollectError("hostkey", self.error)
            sink.append(Capture(target.name, target.platform, "netconf", "netconf:hardware", "<x/>", 0.0, 0.0))

    target = Target("sw1", "127.0.0.1", "cisco_xe", transports=("netconf", "ssh", "snmp"),
                    credential=Credential("u", "p"))
    collectors = {"netconf": Fake("netconf"), "ssh": Fake("ssh", "host key of 127.0.0.1:22 changed"),
                  "snmp": Fake("snmp")}
    outcome = asyncio.run(_collect_one(target, ScanOptions(retries=0), collectors, Redactor()))
    assert asked == ["netconf", "ssh"]
    assert (outcome.result.error_kind, outcome.result.error) == ("hostkey", "host key of 127.0.0.1:22 changed")
    assert outcome.failures == [("ssh", "hostkey", "host key of 127.0.0.1:22 changed")]
    assert [c.command for c in outcome.result.captures] == ["netconf:hardware"]  # evidence kept
