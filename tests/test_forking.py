"""Jobs in forked children: results are files, failures come back as text."""
from __future__ import annotations

import os
import threading

import pytest

from agent.reports.forking import JobError, can_fork, run_jobs


def _writer(path, text):
    def job():
        path.write_text(text + f" {os.getpid()}")
    return job


def _failing(message):
    def job():
        raise ValueError(message)
    return job


@pytest.mark.skipif(not can_fork(), reason="no fork here")
def test_jobs_run_in_children_and_their_files_stay(tmp_path):
    paths = [tmp_path / f"{i}.txt" for i in range(5)]
    run_jobs([_writer(p, f"job {i}") for i, p in enumerate(paths)], workers=2)
    texts = [p.read_text().split() for p in paths]
    assert [t[:2] for t in texts] == [["job", str(i)] for i in range(5)]
    assert all(int(t[2]) != os.getpid() for t in texts)  # written by other processes


@pytest.mark.skipif(not can_fork(), reason="no fork here")
def test_every_failure_is_reported_and_the_other_jobs_finish(tmp_path):
    ok = tmp_path / "ok.txt"
    with pytest.raises(JobError) as info:
        run_jobs([_failing("first broke"), _writer(ok, "fine"), _failing("third broke"),
                  lambda: open(tmp_path / "missing" / "x.txt", "w")], workers=2)
    assert set(info.value.failures) == {0, 2, 3}
    assert info.value.failures[0] == "ValueError: first broke"
    assert "missing/x.txt: No such file or directory" in info.value.failures[3]
    assert ok.read_text().startswith("fine")


def test_one_worker_runs_in_this_process(tmp_path):
    path = tmp_path / "here.txt"
    with pytest.raises(JobError) as info:
        run_jobs([_writer(path, "here"), _failing("nope")], workers=1)
    assert info.value.failures == {1: "ValueError: nope"}
    assert path.read_text() == f"here {os.getpid()}"


def test_no_fork_while_another_thread_runs(tmp_path):
    stop = threading.Event()
    t = threading.Thread(target=stop.wait)
    t.start()
    try:
        assert not can_fork()
        path = tmp_path / "x.txt"
        run_jobs([_writer(path, "a"), _writer(tmp_path / "y.txt", "b")], workers=2)
        assert path.read_text() == f"a {os.getpid()}"  # ran here, not in a child
    finally:
        stop.set()
        t.join()
