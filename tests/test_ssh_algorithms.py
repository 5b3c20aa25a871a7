"""data.ssh_algorithms profiles, weak-crypto findings, the v9 store tables and the replay shell
(no sshd needed: tests/interop/ runs the real servers)."""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from agent.collect.inventory import InventoryError, load_inventory
from agent.core import ssh_algorithms as algs
from agent.core.models import Target
from agent.store import SCHEMA_VERSION, Store
from agent.store import sessions as store_sessions

REPO = Path(__file__).resolve().parents[1]


def test_named_profiles_widen_the_drivers_defaults_and_never_reorder_them():
    defaults = ["curve25519-sha256", "diffie-hellman-group14-sha256"]
    implemented = frozenset(defaults + ["diffie-hellman-group14-sha1", "diffie-hellman-group1-sha1"])
    assert algs.merged(defaults, algs.parse(None), "kex", implemented) == defaults
    assert algs.merged(defaults, algs.parse("legacy"), "kex", implemented) == defaults + ["diffie-hellman-group14-sha1"]
    assert algs.merged(defaults, algs.parse("Ancient"), "kex", implemented) == defaults + [
        "diffie-hellman-group14-sha1", "diffie-hellman-group1-sha1"]
    # What a driver does not implement is left out rather than offered.
    assert algs.merged(defaults, algs.parse("ancient"), "kex", frozenset(defaults)) == defaults


def test_explicit_lists_replace_only_their_category():
    profile = algs.parse({"kex": ["diffie-hellman-group1-sha1"], "ciphers": "3des-cbc, aes128-cbc"})
    assert profile.name == "custom"
    impl = frozenset(["diffie-hellman-group1-sha1", "curve25519-sha256", "3des-cbc", "aes128-cbc", "hmac-sha1"])
    assert algs.merged(["curve25519-sha256"], profile, "kex", impl) == ["diffie-hellman-group1-sha1"]
    assert algs.merged([], profile, "ciphers", impl) == ["3des-cbc", "aes128-cbc"]
    assert algs.merged(["hmac-sha1"], profile, "macs", impl) == ["hmac-sha1"]


@pytest.mark.parametrize("value, message", [
    ("vintage", "not one of modern, legacy, ancient"),
    ({"kex": ["diffie-hellman-group1-sha"]}, "unknown 'diffie-hellman-group1-sha'"),
    ({"cipher": ["aes128-cbc"]}, "unknown category 'cipher'"),
    ({"macs": []}, "non-empty list"),
    (["legacy"], "profile name or a mapping"),
])
def test_bad_values_are_refused_with_what_is_wrong(value, message):
    with pytest.raises(algs.AlgorithmError, match=message):
        algs.parse(value)


def test_step_down_order_and_flag():
    assert algs.step_down_order(algs.parse("modern")) == ("legacy", "ancient")
    assert algs.step_down_order(algs.parse("legacy")) == ("ancient",)
    assert algs.step_down_order(algs.parse("ancient")) == ()
    assert algs.step_down_order(algs.parse({"kex": ["curve25519-sha256"]})) == ()
    assert algs.step_down_enabled({"ssh_step_down": True}) and not algs.step_down_enabled({})
    with pytest.raises(algs.AlgorithmError):
        algs.step_down_enabled({"ssh_step_down": "yes"})


def test_weak_ssh_findings():
    ancient = {"kex": "diffie-hellman-group1-sha1", "cipher": "3des-cbc", "mac": "hmac-sha1", "hostkey": "ssh-rsa"}
    found = {(f.subject, f.value): f.why for f in algs.weak_ssh(ancient)}
    assert set(found) == {("ssh kex", "diffie-hellman-group1-sha1"), ("ssh cipher", "3des-cbc"),
                          ("ssh mac", "hmac-sha1"), ("ssh host key", "ssh-rsa")}
    assert "1024-bit" in found[("ssh kex", "diffie-hellman-group1-sha1")] and "3DES" in found[("ssh cipher", "3des-cbc")]
    legacy = {"kex": "diffie-hellman-group14-sha1", "cipher": "aes256-cbc", "mac": "hmac-sha2-256", "hostkey": "rsa-sha2-512"}
    assert [(f.subject, f.why) for f in algs.weak_ssh(legacy)] == [("ssh kex", "SHA-1 key exchange hash"),
                                                                   ("ssh cipher", "CBC mode cipher")]
    modern = {"kex": "curve25519-sha256", "cipher": "aes128-gcm@openssh.com", "mac": "", "hostkey": "ssh-ed25519"}
    assert algs.weak_ssh(modern) == []


def test_weak_snmp_and_transport_findings():
    assert [f.value for f in algs.weak_snmp({"snmp_version": "1"})] == ["v1"]
    assert algs.weak_snmp({"snmp_version": "2c"}) == []  # the common baseline is not flagged
    assert [f.value for f in algs.weak_snmp({"snmp_version": "3"})] == ["noAuthNoPriv"]
    v3 = {"snmp_version": "3", "snmp_auth_key": "x" * 8, "snmp_auth_proto": "md5",
          "snmp_priv_key": "y" * 8, "snmp_priv_proto": "DES"}
    assert [f.subject for f in algs.weak_snmp(v3)] == ["snmp auth", "snmp privacy"]
    assert [f.value for f in algs.weak_snmp({"snmp_version": "3", "snmp_auth_key": "x" * 8})] == ["authNoPriv"]
    # SNMP findings only when SNMP is one of the device's transports; telnet when collected over it.
    assert algs.device_findings({"snmp_version": "1"}, ("ssh",), "ssh", None) == []
    assert [f.value for f in algs.device_findings({"snmp_version": "1"}, ("ssh", "snmp"), "ssh+snmp", None)] == ["v1"]
    assert [f.value for f in algs.device_findings({}, ("telnet",), "telnet", None)] == ["telnet"]


def _inventory(tmp_path, data: str) -> Path:
    (tmp_path / "hosts.yaml").write_text(
        "sw:\n  hostname: sw.invalid\n  platform: cisco_ios\n  username: u\n  password: ${IB_TEST_PW}\n"
        f"  data:\n{data}")
    return tmp_path


def test_inventory_validates_the_profile_and_the_step_down_flag(tmp_path, monkeypatch):
    monkeypatch.setenv("IB_TEST_PW", "x")
    inv = load_inventory(_inventory(tmp_path, "    ssh_algorithms: legacy\n    ssh_step_down: true\n"))
    assert inv.targets[0].options["ssh_algorithms"] == "legacy"
    with pytest.raises(InventoryError, match=r"hosts.yaml.*host 'sw'.*'vintage' is not one of"):
        load_inventory(_inventory(tmp_path, "    ssh_algorithms: vintage\n"))
    with pytest.raises(InventoryError, match="ssh_step_down"):
        load_inventory(_inventory(tmp_path, "    ssh_step_down: sometimes\n"))


def test_store_keeps_sessions_and_findings(tmp_path):
    store = Store(tmp_path / "ib.db")
    try:
        target = Target("sw", "sw.invalid", "cisco_ios", transports=("ssh", "snmp"), options={"snmp_version": "1"})
        session = {"driver": "netmiko", "profile": "ancient", "stepped_down_from": "modern",
                   "kex": "diffie-hellman-group1-sha1", "cipher": "aes128-cbc", "mac": "hmac-sha1", "hostkey": "ssh-rsa"}
        with store.transaction():
            texts = store_sessions.record(store, 7, target, "ssh", session)
            store_sessions.record(store, 7, Target("quiet", "q.invalid", "cisco_ios"), "ssh", None)
        assert len(texts) == 5 and texts[0].startswith("ssh kex diffie-hellman-group1-sha1: ")
        assert store_sessions.sessions_of(store, [(7, "sw"), (7, "quiet")]) == {(7, "sw"): session}
        found = store_sessions.findings_of(store, [(7, "sw"), (7, "quiet")])
        assert [f["value"] for f in found[(7, "sw")]] == ["diffie-hellman-group1-sha1", "aes128-cbc", "hmac-sha1",
                                                           "ssh-rsa", "v1"]
        assert (7, "quiet") not in found
        # Saving a device again (a re-run of the same scan row) replaces its findings.
        with store.transaction():
            store_sessions.record(store, 7, target, "ssh", None)
        assert [f["value"] for f in store_sessions.findings_of(store, [(7, "sw")])[(7, "sw")]] == ["v1"]
    finally:
        store.close()


def _replay(args: list[str], stdin: bytes, env: dict | None = None) -> str:
    proc = subprocess.run([sys.executable, "-W", "ignore", "-m", "lab.replay_shell", *args], input=stdin,
                          capture_output=True, timeout=30, cwd=REPO,
                          env={**os.environ, "PYTHONPATH": str(REPO), **(env or {})})
    return proc.stdout.decode()


def test_replay_shell_login_re_prompts_and_gives_up_after_three_tries():
    out = _replay(["c9300_stack3", "--login", "--username", "op", "--password", "pw", "--motd", "Hello\\nthere"],
                  b"op\nbad\nop\npw\nshow version\nexit\n")
    assert out.startswith("Hello\r\nthere\r\n")
    assert out.count("Username: ") == 2 and "% Authentication failed" in out
    assert "Cisco IOS XE Software" in out
    out = _replay(["c9300_stack3", "--login", "--username", "op", "--password", "pw"], b"op\nx\nop\ny\nop\nz\nshow version\n")
    assert out.count("% Authentication failed") == 3 and "Cisco IOS XE Software" not in out


def test_replay_shell_pages_when_terminal_length_is_refused():
    out = _replay(["c9300_stack3", "--no-term-length"], b"terminal length 0\nshow version\n" + b" " * 20 + b"exit\n")
    assert "% Invalid input detected" in out
    assert out.count("--More--") >= 1
    full = _replay(["c9300_stack3"], b"terminal length 0\nshow version\nexit\n")
    assert "--More--" not in full and "% Invalid" not in full
    # Any other key at --More-- ends the listing early.
    cut = _replay(["c9300_stack3", "--no-term-length"], b"show version\nq" + b"exit\n")
    assert len(cut) < len(full) and cut.count("--More--") == 1


def test_replay_shell_authorization_failures():
    out = _replay(["c2960x_stack2", "--authz-fail"], b"enable\nshow version\nexit\n")
    assert out.count("% Authorization failed.") == 1 and "Cisco IOS Software" in out and "#" not in out
    out = _replay(["c9300_stack3", "--authz-fail"], b"show inventory\nshow version\nexit\n")
    assert out.count("% Authorization failed.") == 1 and "NAME:" not in out and "Cisco IOS XE Software" in out


def test_replay_shell_exec_request_runs_one_command():
    out = _replay(["c9300_stack3"], b"", env={"SSH_ORIGINAL_COMMAND": "show inventory"})
    assert out.startswith("NAME:") and "#" not in out.splitlines()[-1]


def test_the_old_release_store_migrates_to_v9_with_the_new_tables(tmp_path):
    import shutil

    fixture = REPO / "fixtures" / "stores" / "v4_release_7198eac.db"
    path = tmp_path / "old.db"
    shutil.copy(fixture, path)
    for _ in range(2):  # migrating, then opening the migrated store again
        store = Store(path)
        try:
            tables = {r[0] for r in store.db.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
            assert {"sessions", "findings"} <= tables
            assert store.db.execute("SELECT value FROM meta WHERE key = 'schema_version'").fetchone()[0] == str(SCHEMA_VERSION)
            assert store.db.execute("SELECT COUNT(*) FROM findings").fetchone()[0] == 0
        finally:
            store.close()
