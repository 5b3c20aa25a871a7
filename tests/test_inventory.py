"""Inventory loading: Nornir shape, inheritance, credentials by reference, clear errors."""
from __future__ import annotations

import os
from pathlib import Path

import pytest

from agent.collect.inventory import InventoryError, load_inventory


def write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return path


@pytest.fixture
def inv_dir(tmp_path: Path) -> Path:
    write(
        tmp_path / "hosts.yaml",
        """
core1:
  hostname: 127.0.0.1
  port: 2201
  groups: [campus]
edge1:
  hostname: 127.0.0.1
  platform: cisco_asa
  groups: [dc]
  data:
    enable_secret: ${ENABLE}
xr1:
  groups: [dc]
  platform: cisco_xr
  data:
    transports: [netconf, ssh]
""",
    )
    write(
        tmp_path / "groups.yaml",
        """
campus:
  platform: cisco_xe
  groups: [emea]
  data:
    site: campus-a
dc:
  data:
    site: dc-1
    contract_site_ids: [55501234]
emea:
  data:
    site: emea-default
    region: emea
""",
    )
    write(
        tmp_path / "defaults.yaml",
        """
username: netops
password: ${IB_PASS}
data:
  transports: [ssh]
""",
    )
    return tmp_path


ENV = {"IB_PASS": "s3cret-pass", "ENABLE": "en-secret"}


def test_inheritance_host_then_groups_then_defaults(inv_dir):
    inv = load_inventory(inv_dir, env=ENV)
    by = {t.name: t for t in inv.targets}
    core = by["core1"]
    assert core.platform == "cisco_xe"  # from group
    assert core.port == 2201
    assert core.site == "campus-a"  # nearer group wins over its parent group
    assert core.options["region"] == "emea"  # inherited from the parent group
    assert core.transports == ("ssh",)  # defaults
    assert core.credential.username == "netops"
    assert core.credential.password == "s3cret-pass"
    assert by["xr1"].host == "xr1"  # no hostname: the name is the address
    assert by["xr1"].transports == ("netconf", "ssh")
    assert by["edge1"].credential.enable == "en-secret"
    assert by["edge1"].contract_site_ids == ("55501234",)
    assert inv.secrets == {"s3cret-pass", "en-secret"}


def test_secret_never_in_repr(inv_dir):
    inv = load_inventory(inv_dir, env=ENV)
    assert "s3cret-pass" not in repr(inv.targets)


def test_single_file_shape(tmp_path):
    f = write(
        tmp_path / "inv.yaml",
        """
hosts:
  r1: {hostname: 127.0.0.1, platform: cisco_nxos}
groups: {}
defaults: {username: u, password: "${IB_PASS}"}
""",
    )
    inv = load_inventory(f, env=ENV)
    assert [t.platform for t in inv.targets] == ["cisco_nxos"]


def test_unknown_platform_names_file_and_host(inv_dir):
    write(inv_dir / "hosts.yaml", "bad1:\n  platform: juniper_junos\n")
    with pytest.raises(InventoryError) as err:
        load_inventory(inv_dir, env=ENV)
    assert "hosts.yaml" in str(err.value) and "bad1" in str(err.value) and "juniper_junos" in str(err.value)


def test_missing_env_credential(inv_dir):
    with pytest.raises(InventoryError) as err:
        load_inventory(inv_dir, env={"ENABLE": "x"})
    assert "IB_PASS" in str(err.value) and "core1" in str(err.value)


def test_clear_text_password_refused_without_echo(inv_dir):
    write(inv_dir / "defaults.yaml", "username: u\npassword: hunter2plain\n")
    with pytest.raises(InventoryError) as err:
        load_inventory(inv_dir, env=ENV)
    assert "clear" in str(err.value)
    assert "hunter2plain" not in str(err.value)


def test_duplicate_host_is_an_error(inv_dir):
    write(inv_dir / "hosts.yaml", "r1:\n  platform: cisco_xe\nr1:\n  platform: cisco_xe\n")
    with pytest.raises(InventoryError) as err:
        load_inventory(inv_dir, env=ENV)
    assert "duplicate" in str(err.value) and "r1" in str(err.value) and "hosts.yaml" in str(err.value)


def test_credentials_file_must_be_0600(inv_dir):
    creds = write(inv_dir / "creds.yaml", "lab: filepass\n")
    write(inv_dir / "defaults.yaml", "username: u\npassword: file:lab\ncredentials_file: creds.yaml\n")
    os.chmod(creds, 0o644)
    with pytest.raises(InventoryError) as err:
        load_inventory(inv_dir, env=ENV)
    assert "0600" in str(err.value) and "0644" in str(err.value)
    os.chmod(creds, 0o600)
    inv = load_inventory(inv_dir, env=ENV)
    assert {t.credential.password for t in inv.targets} == {"filepass"}


def test_unknown_group_and_transport(inv_dir):
    write(inv_dir / "hosts.yaml", "r1:\n  platform: cisco_xe\n  groups: [nope]\n")
    with pytest.raises(InventoryError, match="unknown group 'nope'"):
        load_inventory(inv_dir, env=ENV)
    write(inv_dir / "hosts.yaml", "r1:\n  platform: cisco_xe\n  data: {transports: [rlogin]}\n")
    with pytest.raises(InventoryError, match="unknown transport.*rlogin"):
        load_inventory(inv_dir, env=ENV)


def test_missing_inventory(tmp_path):
    with pytest.raises(InventoryError, match="no such file"):
        load_inventory(tmp_path / "absent", env=ENV)


def test_example_inventories_load():
    root = Path(__file__).resolve().parents[1] / "inventories"
    examples = [p for p in root.iterdir() if p.is_dir() or p.suffix in (".yaml", ".yml")]
    assert examples, "inventories/ should hold examples"
    env = {k: "x" for k in ("IBAGENT_PASSWORD", "IBAGENT_ENABLE", "IBAGENT_SNMP_AUTH", "IBAGENT_SNMP_PRIV")}
    for example in examples:
        inv = load_inventory(example, env=env)
        assert inv.targets
