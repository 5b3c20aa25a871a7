"""The installed package carries everything it runs: build the wheel, install it into a fresh
venv and run ``ibagent demo`` from there, far from the source tree.

The venv sees the already-installed third-party libraries (``--system-site-packages``) so the
test needs no download of them; the check that matters is that ``agent`` and ``lab`` (with the
lab's device profiles, package data) are imported from the venv's copy and not from this
checkout, which is asserted before the demo runs.
"""
from __future__ import annotations

import os
import shutil
import subprocess
import sys
import venv
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def _run(cmd, cwd, timeout, env=None):
    return subprocess.run(cmd, cwd=cwd, capture_output=True, text=True, timeout=timeout, env=env)


@pytest.fixture(scope="module")
def installed(tmp_path_factory):
    work = tmp_path_factory.mktemp("wheel")
    # Build from a copy: setuptools leaves build/ behind and reuses it, so a stale module from an
    # earlier build in this checkout could end up in the wheel and hide a missing file.
    source = work / "src"
    shutil.copytree(ROOT, source, ignore=shutil.ignore_patterns(
        ".git", "build", "dist", "*.egg-info", "__pycache__", ".pytest_cache", ".hypothesis", "ibagent-demo"))
    dist = work / "dist"
    built = _run([sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w", str(dist), str(source)], work, 600)
    assert built.returncode == 0, built.stderr[-3000:]
    wheels = list(dist.glob("ibagent-*.whl"))
    assert len(wheels) == 1, wheels
    env_dir = work / "venv"
    venv.EnvBuilder(system_site_packages=True, with_pip=False, symlinks=True).create(env_dir)
    py = env_dir / "bin" / "python"
    # pip of the running interpreter installs into the venv's site-packages via --target-free
    # --prefix: the venv has no pip of its own (with_pip=False saves ~10 s).
    site = _run([str(py), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"], work, 60).stdout.strip()
    done = _run([sys.executable, "-m", "pip", "install", "-q", "--no-deps", "--no-compile", "--target", site,
                 str(wheels[0])], work, 600)
    assert done.returncode == 0, done.stderr[-3000:]
    return work, env_dir, Path(site)


def _clean_env():
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "IBAGENT_LAB_FIXTURES")}
    env["PYTHONNOUSERSITE"] = "1"
    return env


def test_wheel_carries_the_lab_profiles(installed):
    work, env_dir, site = installed
    probe = ("import agent, lab.profiles, lab.entities;"
             "print(agent.__file__); print(lab.profiles.fixtures_dir()); print(lab.entities.PEERS_DIR);"
             "print(sorted(lab.profiles.names()) if hasattr(lab.profiles, 'names') else '')")
    out = _run([str(env_dir / "bin" / "python"), "-c", probe], work, 60, _clean_env())
    assert out.returncode == 0, out.stderr
    agent_file, profiles, peers = out.stdout.splitlines()[:3]
    assert Path(agent_file).is_relative_to(site), agent_file  # the wheel's copy, not this checkout
    assert Path(profiles).is_relative_to(site) and (Path(profiles) / "c9300_stack3" / "profile.yaml").is_file()
    assert Path(peers).is_relative_to(site) and any(Path(peers).glob("*.yaml"))


def test_installed_wheel_runs_the_demo(installed):
    work, env_dir, site = installed
    script = [str(env_dir / "bin" / "python"), "-c", "import sys; from agent.cli import main; sys.exit(main())"]
    out_dir = work / "demo-out"
    done = _run(script + ["demo", "--out", str(out_dir)], work, 600, _clean_env())
    # Exit 1 is the demo's documented outcome: its faulty lab devices fail on purpose.
    assert done.returncode == 1, (done.returncode, done.stdout[-2000:], done.stderr[-3000:])
    assert "Traceback" not in done.stderr
    for name in ("devices.csv", "devices.json", "ibagent.db", "slp-report.html"):
        assert (out_dir / name).is_file(), name
    assert (out_dir / "reports").is_dir() and any((out_dir / "reports").glob("*.csv"))
    assert len((out_dir / "devices.csv").read_text().splitlines()) > 50
