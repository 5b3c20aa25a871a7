"""``ibagent keygen`` and ``ibagent bundle show|verify`` as a user runs them: exit codes scripts
can use, refusals that say why, nothing but the key id and paths printed."""
from __future__ import annotations

import json
import os

from agent.bundles import BundleWriter, load_private_key
from agent.cli import main


def _keygen(tmp_path, capsys, name="site.key"):
    assert main(["keygen", "--out", str(tmp_path / name)]) == 0
    return capsys.readouterr().out


def _bundle(tmp_path, key_name="site.key"):
    out = tmp_path / "b.ibb"
    with BundleWriter(out, load_private_key(tmp_path / key_name), {"site": "berlin"}) as w:
        w.add("scans.jsonl", b'{"id": 1}\n')
        w.add("captures/1", b"\x00" * 300)
    return out


def test_keygen_prints_the_key_id_and_never_the_key(tmp_path, capsys):
    out = _keygen(tmp_path, capsys)
    private = (tmp_path / "site.key").read_text()
    assert "key id" in out and "site.key.pub" in out
    assert "PRIVATE KEY" not in out and private.splitlines()[1] not in out
    assert (os.stat(tmp_path / "site.key").st_mode & 0o777) == 0o600
    # A second keygen to the same path is refused (exit 2) and the key is untouched.
    assert main(["keygen", "--out", str(tmp_path / "site.key")]) == 2
    assert "already exists" in capsys.readouterr().err
    assert (tmp_path / "site.key").read_text() == private


def test_show_and_verify_a_good_bundle(tmp_path, capsys):
    _keygen(tmp_path, capsys)
    b = _bundle(tmp_path)
    assert main(["bundle", "verify", str(b), "--trust", str(tmp_path / "site.key.pub"), "--format", "json"]) == 0
    (row,) = json.loads(capsys.readouterr().out)
    assert row["members"] == 2 and row["bytes"] == 310 and row["verified"] == "every member"
    assert json.loads(row["meta"]) == {"site": "berlin"}
    assert main(["bundle", "show", str(b), "--trust", str(tmp_path), "--members", "--format", "csv"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0] == "file,member,member_bytes,sha256" and len(lines) == 3


def test_an_altered_member_fails_verify_but_not_show(tmp_path, capsys):
    """show checks the signature only (cheap); verify reads every member, as import will."""
    _keygen(tmp_path, capsys)
    b = _bundle(tmp_path)
    raw = bytearray(b.read_bytes())
    raw[-1] ^= 0xFF
    b.write_bytes(bytes(raw))
    trust = ["--trust", str(tmp_path / "site.key.pub")]
    assert main(["bundle", "show", str(b), *trust]) == 0
    capsys.readouterr()
    assert main(["bundle", "verify", str(b), *trust]) == 2
    err = capsys.readouterr().err
    assert "member captures/1 does not match" in err and "Traceback" not in err


def test_refusals_exit_2_with_the_reason(tmp_path, capsys):
    _keygen(tmp_path, capsys)
    _keygen(tmp_path, capsys, "other.key")
    b = _bundle(tmp_path)
    assert main(["bundle", "show", str(b)]) == 2
    assert "--trust" in capsys.readouterr().err
    assert main(["bundle", "show", str(b), "--trust", str(tmp_path / "other.key.pub")]) == 2
    assert "not trusted here" in capsys.readouterr().err
    assert main(["bundle", "show", str(tmp_path / "missing.ibb"), "--trust", str(tmp_path)]) == 2
    assert "cannot read" in capsys.readouterr().err
