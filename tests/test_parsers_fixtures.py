"""Fixture tests: every fixtures/parsers/<platform>/<command_slug>/<case>.txt parses to exactly
what <case>.yml states (adding a case = adding those two files).  Also checks the template
index: every own template compiles, is listed in the index and has fixtures."""
from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest
import yaml

import corpus_util  # noqa: F401 - puts the repo on sys.path
import parsers
from agent.core.models import Facts
from model_checks import typed_dict_problems
from parsers import _fsm

REPO = Path(__file__).resolve().parents[1]
FIXTURES = REPO / "fixtures" / "parsers"
CASES = sorted(FIXTURES.glob("*/*/*.txt"))


def _as_dict(result) -> dict:
    d: dict = {}
    if result.facts:
        d["facts"] = result.facts
    if result.components:
        rows = []
        for c in result.components:
            row = dataclasses.asdict(c)
            for k in ("physical_class", "parent_ref", "source_index"):
                if not row[k]:
                    del row[k]
            rows.append(row)
        d["components"] = rows
    if result.licenses:
        d["licenses"] = [{k: v for k, v in dataclasses.asdict(x).items()
                          if k not in ("device", "transport") and v not in ("", None)} for x in result.licenses]
    if result.license_status is not None:
        st = {k: v for k, v in dataclasses.asdict(result.license_status).items()
              if k not in ("device", "transport") and v not in ("", None, [], {})}
        if "policy" in st:
            st["policy"] = {k: {a: list(b) for a, b in v.items()} for k, v in st["policy"].items()}
        d["license_status"] = st
    if result.neighbours:  # CDP / LLDP entries (issue 17): what each announced, and the derived forms
        d["neighbours"] = [{k: list(v) if isinstance(v, tuple) else v for k, v in dataclasses.asdict(n).items()
                            if k != "local_device" and v not in ("", (), None)} for n in result.neighbours]
    if result.neighbour_status:
        d["neighbour_status"] = [{k: v for k, v in dataclasses.asdict(s).items() if v != ""}
                                 for s in result.neighbour_status]
    return d


def test_fixtures_exist():
    assert len(CASES) >= 40
    for txt in CASES:
        assert txt.with_suffix(".yml").is_file(), f"{txt} has no .yml beside it"


@pytest.mark.parametrize("txt", CASES, ids=[str(p.relative_to(FIXTURES)) for p in CASES])
def test_fixture(txt: Path):
    platform, slug = txt.parent.parent.name, txt.parent.name
    expected = yaml.safe_load(txt.with_suffix(".yml").read_text()) or {}
    result = parsers.parse(platform, slug.replace("_", " "), txt.read_text())
    assert _as_dict(result) == expected


@pytest.mark.parametrize("txt", CASES, ids=[str(p.relative_to(FIXTURES)) for p in CASES])
def test_fixture_facts_fit_the_model(txt: Path):
    """Every facts dict has only keys agent.core.models.Facts lists, each value of its declared type."""
    platform, slug = txt.parent.parent.name, txt.parent.name
    result = parsers.parse(platform, slug.replace("_", " "), txt.read_text())
    assert typed_dict_problems(result.facts, Facts) == []


def neighbour_problems(result) -> list[str]:
    """Every Neighbour and NeighbourStatus of a result holds the types and values the model declares."""
    from agent.core.models import NEIGHBOUR_PROTOCOLS, NEIGHBOUR_STATES, Neighbour, NeighbourStatus

    out = []
    for i, n in enumerate(result.neighbours):
        if not isinstance(n, Neighbour):
            out.append(f"neighbours[{i}]: {type(n).__name__}, not Neighbour")
            continue
        for f in dataclasses.fields(n):
            v = getattr(n, f.name)
            want = {"bool": bool, "tuple[str, ...]": tuple}.get(str(f.type), str)
            if not isinstance(v, want) or (want is tuple and not all(isinstance(x, str) for x in v)):
                out.append(f"neighbours[{i}].{f.name}: {v!r} is not {f.type}")
        if n.protocol not in NEIGHBOUR_PROTOCOLS:
            out.append(f"neighbours[{i}].protocol: {n.protocol!r}")
        if n.serial_source not in ("", "device-id", "lldp-med") or bool(n.serial) != bool(n.serial_source):
            out.append(f"neighbours[{i}].serial_source: {n.serial_source!r} for serial {n.serial!r}")
    for i, st in enumerate(result.neighbour_status):
        if not isinstance(st, NeighbourStatus) or st.protocol not in NEIGHBOUR_PROTOCOLS or st.state not in NEIGHBOUR_STATES:
            out.append(f"neighbour_status[{i}]: {st!r}")
        elif (st.state == "read") == bool(st.detail):
            out.append(f"neighbour_status[{i}]: a refusal names its line, a read table none: {st!r}")
    if result.neighbours and not any(st.state == "read" for st in result.neighbour_status):
        out.append("neighbours without a 'read' status")
    return out


@pytest.mark.parametrize("txt", CASES, ids=[str(p.relative_to(FIXTURES)) for p in CASES])
def test_fixture_neighbours_fit_the_model(txt: Path):
    platform, slug = txt.parent.parent.name, txt.parent.name
    result = parsers.parse(platform, slug.replace("_", " "), txt.read_text())
    assert neighbour_problems(result) == []
    if "neighbors" in slug:  # a neighbour command always says whether its table was read
        assert len(result.neighbour_status) == 1


def test_neighbour_check_catches_wrong_shapes():
    from agent.core.models import Neighbour, NeighbourStatus, ParseResult

    bad = ParseResult(neighbours=[Neighbour("cdpx", "Gi1", "sw1", capabilities=["Router"])],  # type: ignore[arg-type]
                      neighbour_status=[NeighbourStatus("cdp", "read", "% CDP is not enabled")])
    assert neighbour_problems(bad) == [
        "neighbours[0].capabilities: ['Router'] is not tuple[str, ...]", "neighbours[0].protocol: 'cdpx'",
        "neighbour_status[0]: a refusal names its line, a read table none: "
        "NeighbourStatus(protocol='cdp', state='read', detail='% CDP is not enabled')"]
    assert neighbour_problems(ParseResult(neighbours=[Neighbour("lldp", "Gi1", "sw1")])) == [
        "neighbours without a 'read' status"]


def test_facts_check_catches_unknown_keys_and_wrong_types():
    assert typed_dict_problems({"hostname": "r1", "serials": ["A"], "multiple_context": True}, Facts) == []
    found = typed_dict_problems({"hostname": 1, "colour": "red", "serials": "A", "multiple_context": "yes",
                                 "stack_members": [{"switch": "1", "pid": "C9300-24T", "serial": "X"}]}, Facts)
    assert found == ["facts.hostname: int 1, not str", "facts: unknown key 'colour' (not in Facts)",
                     "facts.serials: str, not a list", "facts.multiple_context: str 'yes', not bool",
                     "facts.stack_members[0]: missing 'role'", "facts.stack_members[0]: missing 'sw_version'"]


def test_fixture_crlf_variant_parses_the_same():
    """Captures arrive with CRLF line endings; the result must not change."""
    for txt in CASES:
        platform, slug = txt.parent.parent.name, txt.parent.name
        text = txt.read_text()
        a = parsers.parse(platform, slug.replace("_", " "), text)
        b = parsers.parse(platform, slug.replace("_", " "), text.replace("\n", "\r\n"))
        assert _as_dict(a) == _as_dict(b), txt


def _index_rows() -> list[tuple[str, str, str]]:
    rows = []
    for line in (_fsm.OWN_INDEX).read_text().splitlines():
        if not line.strip() or line.startswith("#") or line.startswith("Template,"):
            continue
        template, _host, platform, command = [p.strip() for p in line.split(",", 3)]
        rows.append((template, platform, command))
    return rows


def test_every_template_is_indexed_compiles_and_has_fixtures():
    indexed = {t for t, _, _ in _index_rows()}
    for path in _fsm.own_templates():
        assert path.name in indexed, f"{path.name} missing from parsers/templates/index"
        _fsm.fsm(path)  # compiles
    for template, platform_re, _ in _index_rows():
        assert (_fsm.OWN_DIR / template).is_file(), template
        covered = [d for d in FIXTURES.glob("*/*") if d.is_dir() and _fsm.template_path(d.parent.name, d.name.replace("_", " ")) == _fsm.OWN_DIR / template]
        assert covered, f"{template} has no fixture directory"


@pytest.mark.parametrize("platform,command,template", [
    ("cisco_xe", "show version", "cisco_ios_show_version.textfsm"),
    ("cisco_ios", "sh ver", "cisco_ios_show_version.textfsm"),
    ("cisco_nxos", "show version", "cisco_nxos_show_version.textfsm"),
    ("cisco_xr", "show version", "cisco_xr_show_version.textfsm"),
    ("cisco_asa", "show version", "cisco_asa_show_version.textfsm"),
    ("cisco_xr", "admin show inventory", "cisco_common_show_inventory.textfsm"),
    ("cisco_asa", "show inventory", "cisco_common_show_inventory.textfsm"),
])
def test_index_lookup(platform, command, template):
    assert _fsm.template_path(platform, command) == _fsm.OWN_DIR / template
