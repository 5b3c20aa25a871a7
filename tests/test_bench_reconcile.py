"""The reconcile benchmark still runs end to end (tiny sizes; figures are not checked here)."""
from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def test_reconcile_bench_runs_and_reports_every_status():
    proc = subprocess.run([sys.executable, str(ROOT / "bench" / "reconcile.py"), "--items", "4000", "--lines", "4800",
                           "--repeat", "2", "--skip-pandas"], capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr
    out = proc.stdout
    assert re.search(r"^ibagent\s+\d+\.\d\d \(", out, re.M) and re.search(r"^floor\s+\d+\.\d\d \(", out, re.M)
    statuses = re.search(r"^ibagent statuses: (\{.*\})$", out, re.M)
    assert statuses, out
    counts = json.loads(statuses[1])
    assert all(counts[s] > 0 for s in ("covered", "expiring", "lapsed", "uncovered", "not-seen", "unverified",
                                       "rma-swap", "end-of-support")), counts
    assert "takes" in out and "the floor's time" in out
