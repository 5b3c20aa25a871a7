"""Platform definitions: every platform_defs/*.yaml fits the schema kept in agent/core/platforms.py,
and the facts read from them are the only ones the code applies (aliases, version schemes, flash,
the datum each command answers, refusal lines)."""
from __future__ import annotations

import copy

import pytest
import yaml

import parsers
from agent.core import platforms

FILES = sorted(platforms._DEFS.glob("*.yaml"))
PLATFORM_FILES = [p for p in FILES if not p.stem.startswith("_")]


def _data(name: str) -> dict:
    return yaml.safe_load((platforms._DEFS / f"{name}.yaml").read_text())


@pytest.mark.parametrize("path", PLATFORM_FILES, ids=[p.name for p in PLATFORM_FILES])
def test_every_platform_file_fits_the_schema(path):
    assert platforms.problems(yaml.safe_load(path.read_text()), path.stem) == []
    plat = platforms.get(path.stem)
    assert plat.name == path.stem and plat.version_scheme in platforms.VERSION_SCHEMES


def test_shared_file_fits_its_schema():
    assert platforms.validate(_data("_shared"), platforms.SHARED_SCHEMA) == []
    assert "_shared" not in platforms.names()


def test_schema_is_json_schema_where_jsonschema_is_installed():
    jsonschema = pytest.importorskip("jsonschema")
    jsonschema.Draft202012Validator.check_schema(platforms.SCHEMA)
    for path in PLATFORM_FILES:
        jsonschema.validate(yaml.safe_load(path.read_text()), platforms.SCHEMA)
    jsonschema.validate(_data("_shared"), platforms.SHARED_SCHEMA)


@pytest.mark.parametrize("change,expected", [
    (lambda d: d.pop("flash"), "missing required key 'flash'"),
    (lambda d: d.update(colour="blue"), "unknown key 'colour'"),
    (lambda d: d["ssh"].update(timeout=3), "unknown key 'timeout'"),
    (lambda d: d.update(version_scheme="junos"), "'junos' is not one of"),
    (lambda d: d["ssh"].update(enable="sometimes"), "'sometimes' is not one of"),
    (lambda d: d.update(aliases="iosxe"), "aliases: expected array"),
    (lambda d: d["snmp"].update(port="161"), "snmp.port: expected integer"),
    (lambda d: d["snmp"].update(port=True), "snmp.port: expected integer"),
    (lambda d: d["ssh"]["provides"].update({"show version": ["serials"]}), "'serials' is not one of"),
    (lambda d: d["ssh"]["provides"].pop("show inventory"), "says nothing of 'show inventory'"),
    (lambda d: d["ssh"]["optional"].append("show running-config"), "'show running-config' is not in ssh.commands"),
    (lambda d: d["netconf"]["collect"].append("bgp"), "'bgp' has no filter"),  # ('cdp' has one since issue 17)
    (lambda d: d.update(refusals=["% Invalid ("]), "not a regular expression"),
    (lambda d: d.update(name="cisco_ios"), "differs from the file name"),
])
def test_schema_catches(change, expected):
    data = copy.deepcopy(_data("cisco_xe"))
    change(data)
    found = platforms.problems(data, "cisco_xe")
    assert any(expected in p for p in found), found


def test_names_and_aliases_resolve_to_one_platform():
    seen: dict[str, str] = {}
    for name in platforms.names():
        for key in (name, *platforms.get(name).aliases):
            assert seen.setdefault(key.lower(), name) == name, key
            assert platforms.lookup(key).name == name
            assert platforms.lookup(f" {key.upper()} ").name == name
    assert platforms.lookup("junos") is None and platforms.lookup("") is None and platforms.lookup(None) is None
    # The parsers accept exactly the platforms there are files for, under the same names.
    assert set(parsers.PLATFORMS) == set(platforms.names())
    assert all(parsers.canonical_platform(k) == v for k, v in seen.items())


def test_every_version_scheme_has_rules():
    from agent.core import versions

    assert set(versions.SCHEMES) == set(platforms.VERSION_SCHEMES)


@pytest.mark.parametrize("text,platform,expected", [
    ("          ^\n% Invalid input detected at '^' marker.\n", "cisco_xe", "% Invalid input detected at '^' marker."),
    ("          ^\nERROR: % Invalid input detected at '^' marker.\n", "cisco_asa",
     "ERROR: % Invalid input detected at '^' marker."),
    ("% Invalid command at '^' marker.", "cisco_nxos", "% Invalid command at '^' marker."),
    ("% Incomplete command.", None, "% Incomplete command."),
    ("Syntax error while parsing 'show x'", "junos", "Syntax error while parsing 'show x'"),
    ("Cisco IOS XE Software, Version 17.09.04a\n", "cisco_xe", None),
    ("\n" * 8 + "% Invalid input detected at '^' marker.", "cisco_xe", None),  # not at once: an answer's text
])
def test_one_refusal_detector(text, platform, expected):
    assert platforms.refusal(text, platform) == expected
