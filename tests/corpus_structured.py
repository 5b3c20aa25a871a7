"""Structured captures of the corpus: ``*/snmp/*.snmprec`` and ``iosxr/netconf/*.xml``.

Shared by tests/test_conformance_structured.py and bench/corpus_report.py, next to
tests/corpus_util.py (which walks the CLI captures).  Each recording is parsed through
``parsers.parse`` exactly as a scan's capture would be (``snmp:recording`` / ``netconf:get``),
then compared with what the source project published:

* LibreNMS (``*.expected.yml`` beside an snmprec): ``os.serial`` and ``os.hardware`` (chassis
  serial and model) and, per ``entPhysical`` row, its serial, model name, the (model, serial)
  pair and its entPhysicalClass.
* NAPALM ``get_facts`` (beside a NETCONF reply): serial, model, OS version, host name, with
  ``tests/corpus_util.py``'s own extraction.

One rule decides what is comparable, instead of per-value exceptions: a value the source states
that appears nowhere in the recording cannot be stated by any parser of that recording.
LibreNMS names some hardware after the sysObjectID's descriptor in CISCO-PRODUCTS-MIB
(``cat29xxStack``, ``ciscoIE20008TCG``) and lists a few rows its test data got from elsewhere
(the IR809/IR1101 SIM and modem rows are not in the filtered recordings).  Such values are
counted as ``derived`` and listed by bench/corpus_report.py, never silently dropped.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Iterator

import yaml

import corpus_util as cu

# Directory -> platform.  The Firepower recordings (ftd, fxos) run the ASA engine.
PLATFORMS = {**cu.PLATFORMS, "ftd": "cisco_asa", "fxos": "cisco_asa"}
KINDS = {"snmp": ("snmprec", "snmp:recording"), "netconf": ("xml", "netconf:get")}


# Same fields and look-ups as a CLI case: slug is ``snmp`` or ``netconf``, command the pseudo-command.
StructuredCase = cu.Case


def iter_cases(root: Path | None = None) -> Iterator[StructuredCase]:
    root = root or cu.corpus_root()
    for pdir, platform in PLATFORMS.items():
        for slug, (ext, command) in KINDS.items():
            d = root / pdir / slug
            if not d.is_dir():
                continue
            for p in sorted(d.glob(f"*.{ext}")):
                yield StructuredCase(pdir, platform, slug, command, p)


@lru_cache(maxsize=None)
def _recording_text(path: str) -> str:
    """Every value of a recording, decoded: what the device stated, for the 'derived' rule."""
    from parsers.snmp import varbinds

    text = Path(path).read_text(errors="replace")
    return "\n".join(v for _, _, v in varbinds(text))


@lru_cache(maxsize=None)
def librenms_expected(path: str) -> tuple[cu.Expected, ...]:
    data = yaml.safe_load(Path(path).read_text()) or {}
    out: list[cu.Expected] = []
    os_part = data.get("os") or {}
    for key, kind in (("serial", "serial"), ("hardware", "model")):
        value = os_part.get(key)
        if value not in (None, ""):
            out.append(cu.Expected(kind, f"os.{key}", key, str(value).strip()))
    for i, row in enumerate(data.get("entPhysical") or []):
        where = f"entPhysical[{i}]"
        index = str(row.get("entPhysicalIndex"))
        serial = str(row.get("entPhysicalSerialNum") or "").strip()
        model = str(row.get("entPhysicalModelName") or "").strip()
        if serial:
            out.append(cu.Expected("serial", f"{where}.entPhysicalSerialNum", "entPhysicalSerialNum", serial))
        if model:
            out.append(cu.Expected("pid", f"{where}.entPhysicalModelName", "entPhysicalModelName", model))
        if serial and model:
            out.append(cu.Expected("pair", f"{where}.(model,serial)", "pid+sn", f"{model}|{serial}"))
        cls = row.get("entPhysicalClass")
        if (serial or model) and cls:
            out.append(cu.Expected("class", f"{where}.entPhysicalClass", "entPhysicalClass", f"{index}|{cls}"))
    return tuple(out)


@lru_cache(maxsize=None)
def _entity_indexes(path: str) -> frozenset[str]:
    from parsers.snmp import ENT_PHYSICAL_ENTRY, varbinds

    prefix = ENT_PHYSICAL_ENTRY + "."
    return frozenset(oid[len(prefix):].split(".", 1)[1] for oid, _, _ in varbinds(Path(path).read_text(errors="replace"))
                     if oid.startswith(prefix) and oid.count(".") > prefix.count("."))


def _absent(exp: cu.Expected, recorded: str, indexes: frozenset[str]) -> bool:
    """The source states something the recording does not hold at all (see the module docstring)."""
    if exp.kind == "class":
        return exp.value.split("|", 1)[0] not in indexes
    values = exp.value.split("|") if exp.kind == "pair" else [exp.value]
    return any(v.lower() not in recorded.lower() for v in values)


def expected_values(case: StructuredCase) -> tuple[cu.Expected, ...]:
    exp = case.expected_path
    if exp is None:
        return ()
    header = exp.read_text().split("\n", 1)[0]
    if "LibreNMS" in header:
        return librenms_expected(str(exp))
    return cu.expected_values(str(exp), case.platform)


@dataclass
class StructuredOutcome:
    case: StructuredCase
    parsed: bool
    error: str = ""
    components: int = 0
    serials: int = 0
    compared: int = 0
    agreed: int = 0
    derived: int = 0  # stated by the source, absent from the recording (see the module docstring)
    mismatches: list[cu.Expected] = field(default_factory=list)
    derived_values: list[cu.Expected] = field(default_factory=list)


@lru_cache(maxsize=None)
def run_case(case: StructuredCase) -> StructuredOutcome:
    import parsers

    text = case.path.read_text(errors="replace")
    try:
        result = parsers.parse(case.platform, case.command, text)
    except parsers.ParseError as exc:
        return StructuredOutcome(case, parsed=False, error=str(exc))
    out = StructuredOutcome(case, parsed=True, components=len(result.components),
                            serials=sum(1 for c in result.components if c.serial))
    expected = expected_values(case)
    if not expected:
        return out
    ours = cu.our_values(result, case.platform)
    classes = {c.source_index: c.physical_class for c in result.components}
    recorded = _recording_text(str(case.path)) if case.slug == "snmp" else text
    indexes = _entity_indexes(str(case.path)) if case.slug == "snmp" else frozenset()
    for exp in expected:
        if exp.kind == "class":
            index, cls = exp.value.split("|", 1)
            ok = classes.get(index) == cls
        else:
            ok = cu.agrees(exp, ours, case.platform)
        if not ok and _absent(exp, recorded, indexes):
            out.derived += 1
            out.derived_values.append(exp)
            continue
        out.compared += 1
        if ok:
            out.agreed += 1
        else:
            out.mismatches.append(exp)
    return out


def describe(o: StructuredOutcome) -> str:
    return f"{o.case.rel}: {o.components} components ({o.serials} with serial)"


