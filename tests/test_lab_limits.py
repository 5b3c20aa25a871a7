"""The lab lifts its soft open-files limit for its listeners, and says which limit stops it when even
the hard one is too low (issue 15's 50,000-device run: one descriptor per device and transport)."""
from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def _run(code: str) -> str:
    # A child of its own: the limits changed are that process's, never the test run's.
    out = subprocess.run([sys.executable, "-c", textwrap.dedent(code)], cwd=REPO, capture_output=True, text=True,
                         timeout=60)
    assert out.returncode == 0, out.stderr
    return out.stdout.strip()


def test_soft_limit_lifted_to_what_the_listeners_need():
    out = _run("""
        import resource
        from lab.main import FD_MARGIN, raise_fd_limit
        resource.setrlimit(resource.RLIMIT_NOFILE, (256, 8000))
        print(raise_fd_limit(1000), resource.getrlimit(resource.RLIMIT_NOFILE), FD_MARGIN)
    """)
    why, limits, margin = out.split(" ", 1)[0], out.split(" ", 1)[1].rsplit(" ", 1)[0], int(out.rsplit(" ", 1)[1])
    assert why == "None"
    assert limits == f"({1000 + margin}, 8000)"


def test_a_hard_limit_too_low_is_named_with_the_way_out():
    out = _run("""
        import resource
        from lab.main import raise_fd_limit
        resource.setrlimit(resource.RLIMIT_NOFILE, (256, 4000))
        print(raise_fd_limit(3000))
        print(resource.getrlimit(resource.RLIMIT_NOFILE))
    """)
    assert "3,000 listening sockets" in out and "4,000 (ulimit -Hn)" in out and "--lab-processes" in out
    assert out.splitlines()[-1] == "(256, 4000)"  # nothing changed


def test_lab_command_refuses_a_fleet_over_the_hard_limit():
    out = subprocess.run([sys.executable, "-c", "import resource, sys; "
                          "resource.setrlimit(resource.RLIMIT_NOFILE, (256, 2500)); "
                          "from lab.main import run; sys.exit(run(['--fleet', 'scale', '--count', '1000']))"],
                         cwd=REPO, capture_output=True, text=True, timeout=60)
    assert out.returncode == 2
    assert "1,000 listening sockets" in out.stderr and "Traceback" not in out.stderr
