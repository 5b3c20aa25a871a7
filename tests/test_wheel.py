"""The installed package carries everything it runs: build the wheel, install it into a fresh
venv and run ``ibagent demo`` from there, far from the source tree.

The venv borrows the third-party libraries already installed for the tests, so the test needs no
download of them: a ``.pth`` file lists the running interpreter's site-packages directories.  A
path line in a ``.pth`` adds the directory only, without running the ``.pth`` hooks inside it, so an
editable install of this checkout there (``pip install -e``, README's test command) cannot leak
into the venv; and unlike ``--system-site-packages`` this works when the tests themselves run in a
venv.  The check that matters is that ``agent`` and ``lab`` (with the lab's device profiles,
package data) are imported from the venv's copy and that no directory of this checkout is on
``sys.path``, which is asserted before the demo runs.  ``.ci/run`` then does the same with the
dependencies installed from the registry, which proves they are declared.
"""
from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import sysconfig
import tomllib
import venv
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def _run(cmd, cwd, timeout, env=None):
    return subprocess.run(cmd, cwd=cwd, capture_output=True, text=True, timeout=timeout, env=env)


def _library_dirs() -> list[str]:
    """Where the running interpreter finds its third-party libraries (a ``.venv`` inside this
    checkout included: README's test command makes one), never the checkout's own root, from
    which ``agent`` itself would be imported."""
    dirs = {sysconfig.get_paths()[k] for k in ("purelib", "platlib")}
    return sorted(d for d in dirs if Path(d).is_dir() and Path(d).resolve() != ROOT.resolve())


@pytest.fixture(scope="module")
def installed(tmp_path_factory):
    work = tmp_path_factory.mktemp("wheel")
    # Build from a copy: setuptools leaves build/ behind and reuses it, so a stale module from an
    # earlier build in this checkout could end up in the wheel and hide a missing file.
    source = work / "src"
    shutil.copytree(ROOT, source, ignore=shutil.ignore_patterns(
        ".git", ".venv", "build", "dist", "*.egg-info", "__pycache__", ".pytest_cache", ".hypothesis",
        "ibagent-demo"))
    dist = work / "dist"
    built = _run([sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w", str(dist), str(source)], work, 600)
    assert built.returncode == 0, built.stderr[-3000:]
    wheels = list(dist.glob("ibagent-*.whl"))
    assert len(wheels) == 1, wheels
    env_dir = work / "venv"
    venv.EnvBuilder(system_site_packages=False, with_pip=False, symlinks=True).create(env_dir)
    py = env_dir / "bin" / "python"
    site = _run([str(py), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"], work, 60).stdout.strip()
    (Path(site) / "_borrowed_libraries.pth").write_text("".join(f"{d}\n" for d in _library_dirs()))
    # The running pip installs into the venv as its own interpreter would (--python): console
    # script included, without giving the venv a pip of its own (with_pip=False saves ~10 s).
    done = _run([sys.executable, "-m", "pip", "--python", str(py), "install", "-q", "--no-deps", "--no-compile",
                 str(wheels[0])], work, 600)
    assert done.returncode == 0, done.stderr[-3000:]
    return work, env_dir, Path(site)


def _clean_env():
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "IBAGENT_LAB_FIXTURES")}
    env["PYTHONNOUSERSITE"] = "1"
    return env


def test_wheel_carries_the_lab_profiles(installed):
    work, env_dir, site = installed
    probe = ("import sys, agent, lab.profiles, lab.entities;"
             "print(agent.__file__); print(lab.profiles.fixtures_dir()); print(lab.entities.PEERS_DIR);"
             "import json; print(json.dumps(sys.path))")
    out = _run([str(env_dir / "bin" / "python"), "-c", probe], work, 60, _clean_env())
    assert out.returncode == 0, out.stderr
    agent_file, profiles, peers, path = out.stdout.splitlines()[:4]
    # No entry but the venv's own from which an 'agent' package could be imported (this checkout's
    # root, another copy); '' is the cwd, a tmp dir.
    others = [p for p in json.loads(path)
              if p and (Path(p) / "agent" / "cli").is_dir() and Path(p).resolve() != site.resolve()]
    assert not others, path
    assert Path(agent_file).is_relative_to(site), agent_file  # the wheel's copy, not this checkout
    assert Path(profiles).is_relative_to(site) and (Path(profiles) / "c9300_stack3" / "profile.yaml").is_file()
    assert Path(peers).is_relative_to(site) and any(Path(peers).glob("*.yaml"))


def test_installed_version_comes_from_the_package_metadata(installed):
    work, env_dir, site = installed
    expected = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["version"]
    out = _run([str(env_dir / "bin" / "ibagent"), "--version"], work, 60, _clean_env())
    assert (out.returncode, out.stdout.strip()) == (0, f"ibagent {expected}"), out.stderr


def test_installed_wheel_runs_the_demo(installed):
    work, env_dir, site = installed
    out_dir = work / "demo-out"
    done = _run([str(env_dir / "bin" / "ibagent"), "demo", "--out", str(out_dir)], work, 600, _clean_env())
    # Exit 1 is the demo's documented outcome: its faulty lab devices fail on purpose.
    assert done.returncode == 1, (done.returncode, done.stdout[-2000:], done.stderr[-3000:])
    assert "Traceback" not in done.stderr
    for name in ("devices.csv", "devices.json", "ibagent.db", "slp-report.html", "report.html"):
        assert (out_dir / name).is_file(), name
    assert (out_dir / "reports").is_dir() and any((out_dir / "reports").glob("*.csv"))
    assert len((out_dir / "devices.csv").read_text().splitlines()) > 50


def test_version_from_a_checkout_names_the_checkout(tmp_path):
    """Run from source (PYTHONPATH), the checkout's own version is told, never that of some other
    copy installed in the same environment."""
    expected = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["version"]
    env = {**_clean_env(), "PYTHONPATH": str(ROOT)}
    out = _run([sys.executable, "-m", "agent.cli", "--version"], tmp_path, 60, env)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == f"ibagent {expected} (source tree {ROOT})"


def test_readme_starts_with_two_commands_and_ci_runs_the_second_verbatim():
    """README command 1 installs and runs the demo, command 2 installs and runs the tests, each in a
    venv (a stock Debian/Ubuntu Python refuses pip outside one); .ci/run runs command 2 as written."""
    readme = (ROOT / "README.md").read_text()
    head = readme[: readme.index("\n---\n")]
    blocks = head.split("```")[1::2]
    assert len(blocks) == 2, blocks
    demo, tests = (b.strip() for b in blocks)
    assert demo.startswith("python3 -m venv .venv && . .venv/bin/activate && ") and demo.endswith("ibagent demo")
    assert "pip install ." in demo and "-e" not in demo.split()  # the demo proves the package, not a checkout
    assert tests.startswith("python3 -m venv .venv && . .venv/bin/activate && ") and "pytest" in tests
    ci = (ROOT / ".ci" / "run").read_text().splitlines()
    assert tests in ci, "'.ci/run' must run README command 2 verbatim"
