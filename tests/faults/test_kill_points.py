"""kill -9 at four moments of a run (during the baseline fits, the iterations, the Shapley
ablation and right after the holdout read): every finished fit survives, none is redone, and
the holdout is never read twice. Slow: `make test-slow`."""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

import fireform as ff
from fireform.loop import Journal
from tests.loop.helpers import small_spec

ROOT = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.slow


def _count(db: Path, sql: str) -> int:
    try:
        return int(sqlite3.connect(str(db)).execute(sql).fetchone()[0])
    except sqlite3.Error:
        return 0


MOMENTS = {  # when each moment has come, judged from the run folder
    "baseline": lambda rd: _count(rd / "journal.sqlite", "SELECT count(*) FROM fits") >= 1,
    "iterations": lambda rd: _count(rd / "journal.sqlite", "SELECT count(*) FROM proposals") >= 1,
    "shapley": lambda rd: len(list((rd / "shapley" / "fits").glob("*.json"))) >= 1,
    "holdout": lambda rd: _count(rd / "journal.sqlite", "SELECT count(*) FROM holdout_reads") >= 1,
}


@pytest.mark.parametrize("moment", list(MOMENTS))
def test_kill_at_a_moment_and_resume(moment, tmp_path):
    spec = small_spec(budget={"iterations": 2, "trials": 40, "repeats": 2})
    spec_file = tmp_path / "spec.toml"
    spec_file.write_text(spec.to_toml())
    rd = tmp_path / "run"
    proc = subprocess.Popen([sys.executable, "-m", "fireform.cli", "run", str(spec_file), "--run-dir", str(rd)],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, cwd=ROOT,
                            env={**os.environ, "PYTHONUNBUFFERED": "1"})
    db = rd / "journal.sqlite"
    deadline = time.monotonic() + 600
    while time.monotonic() < deadline and proc.poll() is None:
        if db.exists() and MOMENTS[moment](rd):
            break
        time.sleep(0.02)
    assert proc.poll() is None, f"the run ended (exit {proc.returncode}) before the {moment} moment"
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    before = Journal(rd).fits()[["id", "key", "t"]]
    reads = len(Journal(rd).holdout_reads())
    assert ff.open_run(rd).status == "interrupted"
    res = ff.resume(rd, echo=lambda s: None, report=False)
    assert res.status == "finished"
    after = Journal(rd).fits()[["id", "key", "t"]]
    kept = before.merge(after, on="key", suffixes=("_b", "_a"))
    assert len(kept) == len(before) and (kept.t_b == kept.t_a).all()  # none lost, none redone
    assert after.key.is_unique
    if reads:  # read before the kill: not read again
        assert len(Journal(rd).holdout_reads()) == reads
