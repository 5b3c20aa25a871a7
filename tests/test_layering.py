"""The import layering of docs/ARCHITECTURE.md, checked against every import statement in the tree.

The table in the doc ("Who may import whom") is the source: this test parses it, so the doc and
the code cannot drift apart.  Every import counts, including the lazy ones inside functions (a
lazy import is still a dependency; it only defers the cost).
"""
from __future__ import annotations

import ast
import re
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
DOC = ROOT / "docs" / "ARCHITECTURE.md"
OURS = ("agent", "parsers", "collectors", "lab")
MARKER = "<!-- layering table: read by tests/test_layering.py -->"


def layering_table() -> dict[str, set[str]]:
    """``package -> packages it may import`` from the doc's table (backticked names only)."""
    text = DOC.read_text(encoding="utf-8")
    assert MARKER in text, f"{DOC} lost its layering table marker"
    rows = text.split(MARKER, 1)[1].strip().splitlines()
    table: dict[str, set[str]] = {}
    for line in rows[2:]:  # header and |---| rule
        if not line.startswith("|"):
            break
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        packages = re.findall(r"`([\w.]+)`", cells[0])
        allowed = set(re.findall(r"`([\w.]+)`", cells[1]))
        for package in packages:
            table[package] = allowed
    return table


def module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def source_files() -> list[Path]:
    return sorted(p for top in OURS for p in (ROOT / top).rglob("*.py") if "__pycache__" not in p.parts)


def imports_of(path: Path) -> list[tuple[int, str]]:
    """Every module a file imports: ``(line, dotted name)``; ``from X import y`` counts as X.y
    (y may be a module), relative imports resolved against the file's package."""
    name = module_name(path)
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found: list[tuple[int, str]] = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), str(path))):
        if isinstance(node, ast.Import):
            found += [(node.lineno, alias.name) for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")
                anchor = anchor[: len(anchor) - (node.level - 1)]
                base = ".".join(anchor + ([base] if base else []))
            found += [(node.lineno, f"{base}.{alias.name}") for alias in node.names]
    return [(line, mod) for line, mod in found if mod.split(".")[0] in OURS]


def owner(module: str, table: dict[str, set[str]]) -> str | None:
    """The table row a module belongs to: the longest package name that is a prefix of it."""
    best = None
    for package in table:
        if (module == package or module.startswith(package + ".")) and (best is None or len(package) > len(best)):
            best = package
    return best


def test_the_table_covers_every_package_in_the_tree():
    table = layering_table()
    missing = []
    for path in source_files():
        mod = module_name(path)
        if mod in ("agent",):  # the namespace itself holds nothing
            continue
        if owner(mod, table) in (None, "agent"):
            missing.append(mod)
    assert not missing, f"modules in no row of the layering table in {DOC.name}: {missing}"
    for package, allowed in table.items():
        unknown = allowed - set(table)
        assert not unknown, f"{package} may import {unknown}, which the table does not define"


def test_every_import_follows_the_layering_table():
    table = layering_table()
    wrong = []
    for path in source_files():
        src = owner(module_name(path), table)
        for line, target in imports_of(path):
            dst = owner(target, table)
            if dst is None or dst == src or dst == "agent" and target == "agent":
                continue
            if dst not in table[src]:
                wrong.append(f"{path.relative_to(ROOT)}:{line}: {src} imports {target} ({dst})")
    assert not wrong, "imports against the layering table:\n" + "\n".join(wrong)


def test_no_lower_stage_imports_the_cli():
    offenders = [
        f"{path.relative_to(ROOT)}:{line}"
        for path in source_files() if not module_name(path).startswith("agent.cli")
        for line, target in imports_of(path) if target == "agent.cli" or target.startswith("agent.cli.")
    ]
    assert not offenders, offenders


def test_every_stage_package_says_what_it_holds_and_whom_it_may_import():
    for package in layering_table():
        init = ROOT.joinpath(*package.split(".")) / "__init__.py"
        if not init.exists():
            continue  # a single-module row
        doc = ast.get_docstring(ast.parse(init.read_text(encoding="utf-8"))) or ""
        assert len(doc) > 80, f"{init.relative_to(ROOT)} needs a docstring saying what it holds"
        assert re.search(r"import", doc, re.I), f"{init.relative_to(ROOT)}'s docstring does not say whom it may import"


def test_the_checker_sees_a_violation(tmp_path):
    """The layering check is not vacuous: an upward import in a parser is named."""
    table = layering_table()
    assert owner("parsers.version", table) == "parsers"
    assert owner("agent.store", table) not in table["parsers"]
    fake = ROOT / "parsers" / "_layering_probe.py"
    fake.write_text("def f():\n    from agent.store import Store\n", encoding="utf-8")
    try:
        assert imports_of(fake) == [(2, "agent.store.Store")]
        with pytest.raises(AssertionError, match="parsers imports agent.store.Store"):
            test_every_import_follows_the_layering_table()
    finally:
        fake.unlink()


def test_reconcile_imports_without_the_parsing_stack():
    """The pure stage does not drag in textfsm or lxml (what ``parsers`` and NETCONF need)."""
    probe = textwrap.dedent("""
        import sys
        from importlib.abc import MetaPathFinder
        class Refuse(MetaPathFinder):
            def find_spec(self, name, path=None, target=None):
                if name.split(".")[0] in ("textfsm", "lxml", "ntc_templates", "parsers"):
                    raise ImportError("blocked for the test: " + name)
        sys.meta_path.insert(0, Refuse())
        from datetime import date
        from agent.reconcile import reconcile, FleetItem, DeviceScanState
        from agent.contracts import ContractLine, EoxIndex, load_contracts
        rows = reconcile([FleetItem(serial="FOC1", base_pid="C9300-48P", device="d1")],
                         [DeviceScanState(device="d1")], [], EoxIndex(), as_of=date(2026, 1, 1))
        print(rows[0].status)
    """)
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, cwd=ROOT, timeout=60)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "uncovered"
