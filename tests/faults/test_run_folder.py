"""Faults around a run folder: two writers, Ctrl-C, forged files, secrets in a spec, inputs that
change under a run, and bad command-line values. Every case ends in a clear message, never a
traceback, and nothing already computed is lost."""

from __future__ import annotations

import os
import pickle
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
from tests.loop.helpers import small_spec
from typer.testing import CliRunner

import fireform as ff
from fireform.cli import app
from fireform.exceptions import SpecError
from fireform.loop import Journal
from fireform.twin import DEMO_TRUTH, add_truth, make_world, write_world

ROOT = Path(__file__).resolve().parents[2]
runner = CliRunner()


def _no_traceback(r) -> None:
    assert "Traceback" not in r.output and not isinstance(r.exception, (AssertionError, TypeError,
                                                                        KeyError, IndexError)), r.output


def _started(rd: Path) -> bool:
    if not ((rd / "run.lock").exists() and (rd / "journal.sqlite").exists()):
        return False
    j = Journal(rd, readonly=True)
    try:
        return j._one("SELECT id FROM run WHERE id = 1") is not None
    finally:
        j.close()


def test_a_journal_interrupted_before_its_first_record_can_be_started(tmp_path):
    # Ctrl-C between the journal's creation and its run record leaves an empty journal: nothing
    # is frozen, so resume may start it, and reading it says how
    rd = tmp_path / "run"
    rd.mkdir()
    Journal(rd, create=True).close()
    spec = small_spec()
    (rd / "spec.toml").write_text(spec.to_toml())
    with pytest.raises(ff.FireformError) as e:
        ff.open_run(rd)
    assert "interrupted before the run started" in str(e.value) and f"fireform resume {rd}" in str(e.value)
    j = Journal(rd)
    j.check_spec(spec)  # nothing frozen: accepted
    j.start(spec)
    assert j.frozen_spec().hash == spec.hash
    other = small_spec(budget={"iterations": 7})
    with pytest.raises(SpecError):
        j.check_spec(other)
    j.close()


def test_second_writer_refused_and_ctrl_c_says_how_to_resume(tmp_path):
    # a budget far longer than the test: the run is surely still going when Ctrl-C arrives
    spec = small_spec(budget={"iterations": 50, "trials": 3000, "repeats": 2, "wall_minutes": 30.0,
                              "sampler": "cmaes"},
                      shapley={"enabled": False})
    spec_file = tmp_path / "spec.toml"
    spec_file.write_text(spec.to_toml())
    rd = tmp_path / "run"
    # SIGINT's default disposition restored in the child: a test runner's worker (xdist) may ignore
    # SIGINT, and an ignored signal stays ignored across exec, as a shell's Ctrl-C never is
    proc = subprocess.Popen([sys.executable, "-m", "fireform.cli", "run", str(spec_file), "--run-dir", str(rd)],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=ROOT,
                            env={**os.environ, "PYTHONUNBUFFERED": "1"},
                            preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
    try:
        deadline = time.monotonic() + 120
        while not _started(rd):  # its first record written: Ctrl-C before it is the next test's case
            assert time.monotonic() < deadline and proc.poll() is None, "the run never started"
            time.sleep(0.05)
        second = runner.invoke(app, ["run", str(spec_file), "--run-dir", str(rd)])
        assert second.exit_code == 2 and "being written by process" in second.output
        _no_traceback(second)
        again = runner.invoke(app, ["resume", str(rd)])
        assert again.exit_code == 2 and "one writer per run folder" in again.output
    finally:
        proc.send_signal(signal.SIGINT)
        out, err = proc.communicate(timeout=120)
    assert proc.returncode == 130, (proc.returncode, err[-2000:])
    assert f"interrupted; resume with: fireform resume {rd}" in err and "Traceback" not in err
    run = ff.open_run(rd)
    assert run.status == "stopped"  # not "failed": the second writer touched nothing
    assert not (rd / "run.lock").exists()


def test_forged_pickle_in_a_run_folder_is_never_executed(tmp_path):
    marker = tmp_path / "pwned"

    class Payload:
        def __reduce__(self):
            return (os.system, (f"touch {marker}",))

    rd = tmp_path / "run"
    for sub in ("fits", "studies", "shapley/fits"):
        (rd / sub).mkdir(parents=True, exist_ok=True)
        (rd / sub / "0123456789abcdef0123.pkl").write_bytes(pickle.dumps(Payload()))
    d = ff.load_drivers(write_world(tmp_path / "w.nc", add_truth(make_world(res=5.0, years=(2001, 2002)),
                                                                 ff.Form.from_json(DEMO_TRUTH), sigma=0.1)))
    form = ff.Form.from_mechanisms(["gpp_gating"])
    (tmp_path / "form.json").write_text(form.to_json())
    r = runner.invoke(app, ["fit", str(tmp_path / "form.json"), "--data", str(tmp_path / "w.nc"),
                            "--trials", "5", "--run-dir", str(rd)])
    assert r.exit_code == 0, r.output
    # a forged fit record where the cache looks is a clear error, not code run or a crash
    key = ff.fit(form, d, trials=5, cache=rd).cache_key
    (rd / "fits" / f"{key}.json").write_text('{"form_hash": "x"}')
    forged = runner.invoke(app, ["fit", str(tmp_path / "form.json"), "--data", str(tmp_path / "w.nc"),
                                 "--trials", "5", "--run-dir", str(rd)])
    assert forged.exit_code == 2 and "not a fit record" in forged.output
    assert not marker.exists()


def test_key_in_a_spec_refused_before_anything_is_written(tmp_path):
    key = "sk-test" + "0123456789abcdefghij"
    spec = tmp_path / "leak.toml"
    text = small_spec().to_toml()
    text = text.replace('[proposer]\nname = "heuristic"\nsettings = {}\n',
                        f'[proposer]\nname = "openai"\nsettings = {{ api_key = "{key}" }}\n')
    assert key in text
    spec.write_text(text)
    r = runner.invoke(app, ["run", str(spec), "--root", str(tmp_path / "runs")])
    assert r.exit_code == 2 and "secrets do not belong in a spec" in r.output
    assert not (tmp_path / "runs").exists() or not any((tmp_path / "runs").rglob("*"))
    assert key not in r.output


def test_resume_refuses_changed_input_file_naming_it(tmp_path):
    world = add_truth(make_world(res=5.0, years=(2001, 2003), seed=1), ff.Form.from_json(DEMO_TRUTH), sigma=0.1)
    nc = write_world(tmp_path / "world.nc", world)
    spec = small_spec(data={"source": "files", "paths": [str(nc)]},
                      split={"train_years": [2001, 2002], "holdout_years": [2003, 2003]},
                      budget={"iterations": 0, "trials": 8, "repeats": 2},
                      shapley={"enabled": False}, deploy={"fortran": False})
    res = ff.run(spec, run_dir=tmp_path / "run", report=False, echo=lambda s: None)
    assert res.status == "finished"
    n_fits = len(Journal(tmp_path / "run").fits())
    changed = world.copy(deep=True)
    changed["tas"] = (changed["tas"] + np.float32(0.5)).assign_attrs(changed["tas"].attrs)
    write_world(nc, changed)
    r = runner.invoke(app, ["resume", str(tmp_path / "run")])
    assert r.exit_code == 2 and "changed since it started" in r.output and str(nc) in r.output
    _no_traceback(r)
    assert len(Journal(tmp_path / "run").fits()) == n_fits  # nothing refitted on the new data


def test_bad_values_give_messages_not_tracebacks(tmp_path):
    bad = tmp_path / "latin1.toml"
    bad.write_bytes('name = "caf\xe9"\n'.encode("latin-1"))
    for args, words in ((["run", str(bad)], "not UTF-8"),
                        (["synth", "--res", "0", "--out", str(tmp_path / "x.nc")], "resolution res=0"),
                        (["synth", "--years", "2016-2001", "--out", str(tmp_path / "x.nc")], "before the first"),
                        (["synth", "--res", "0.25", "--years", "1901-2020", "--out", str(tmp_path / "x.nc")],
                         "GiB of memory")):
        r = runner.invoke(app, args)
        assert r.exit_code == 2 and words in r.output, (args, r.output)
        _no_traceback(r)


def test_reading_a_run_never_writes_to_it(tmp_path):
    spec = small_spec(budget={"iterations": 0, "trials": 8, "repeats": 2}, shapley={"enabled": False},
                      deploy={"fortran": False})
    res = ff.run(spec, run_dir=tmp_path / "run", report=False, echo=lambda s: None)
    def state():  # SQLite's WAL index (-shm) is read-side bookkeeping, not journal content
        return {p.name: (p.stat().st_mtime_ns, p.stat().st_size) for p in res.run_dir.iterdir()
                if not p.name.endswith(("-shm", "-wal"))}

    before = state()
    run = ff.open_run(res.run_dir)
    assert run.status == "finished" and run.final is not None and not run.leaderboard.empty
    run.close()
    r = runner.invoke(app, ["runs", "list", "--root", str(tmp_path)])
    assert r.exit_code == 0 and "finished" in r.output
    assert state() == before
