"""The loop end to end on a coarse twin world: journal, holdout seal, kill/resume, spec refusal."""

import json
import os
import re
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from fireform.agent.base import Proposer
from fireform.agent.proposal import Proposal
from fireform.exceptions import SpecError
from fireform.loop.journal import Journal
import fireform as ff
from fireform import resume, run
from tests.loop.helpers import small_spec


def test_run_journals_every_step(finished_run):
    res, lines = finished_run
    assert res.status == "finished" and res.report is not None and res.report.exists()
    j = Journal(res.run_dir)
    assert j.run()["status"] == "finished"
    steps = [ln.split(" | ")[0] for ln in lines]
    for step in ("fireform start", "fireform data", "fireform check", "fireform baseline",
                 "fireform noise", "fireform iter", "fireform holdout", "fireform deploy", "fireform decision"):
        assert step in steps, step
    # one greppable line per step, all journaled too
    assert list(j.events().line) == lines
    props = j.proposals()
    assert len(props) == 3 and set(props.status) <= {"keep", "discard", "reject", "crash"}
    assert all(isinstance(r, str) and len(r) > 10 for r in props.rationale)
    assert (res.run_dir / "results.tsv").read_text().startswith("iteration\tstatus")
    assert j.input_check()["ok"] is True
    dep = j.get_state("deploy")
    assert dep["ok"] is True and dep["max_rel"] <= 1e-5
    assert dep["full_chain"] is True and dep["first_fail"] is None  # raw drivers -> derived -> formula
    dec = j.get_state("decision")
    assert set(dec["conventions"]) == {"ilamb2", "ilamb2_iav", "ilamb3", "worst", "geometric"}


def test_holdout_read_once_and_only_at_the_end(finished_run):
    res, lines = finished_run
    j = Journal(res.run_dir)
    reads = j.holdout_reads()
    assert len(reads) >= 2 and reads.purpose.str.contains("final scoring").all()
    last_fit = j.fits().t.max()
    assert (reads.t >= last_fit).all()  # no fit happened after the holdout was opened
    hold = j.scores(period="holdout")
    assert set(hold.fit_id) == set(reads.fit_id)
    # a resume of a finished run does not read the holdout again
    n_before = len(reads)
    resume(res.run_dir, echo=lambda s: None, report=False)
    assert len(Journal(res.run_dir).holdout_reads()) == n_before


def _numbers(obj, out):
    if isinstance(obj, dict):
        for k, v in obj.items():
            assert "holdout" not in str(k).lower(), f"holdout-derived field {k!r} in the context"
            _numbers(v, out)
    elif isinstance(obj, list):
        for v in obj:
            _numbers(v, out)
    elif isinstance(obj, float):
        out.append(obj)


def test_holdout_never_in_context(tmp_path):
    """A twin world whose holdout year carries a planted, distinctive burned area: neither the
    planted values nor any holdout score appears in any context given to the proposer."""
    import xarray as xr

    from fireform.twin import add_truth, make_world, write_world
    from fireform.forms.form import Form
    from fireform.twin import DEMO_TRUTH

    ds = add_truth(make_world(res=5.0, years=(2001, 2004), seed=2), Form.from_json(DEMO_TRUTH), seed=2)
    bf = ds["burned_fraction"].values.copy()
    hold = np.asarray(ds.time.dt.year == 2004)
    PLANT = 0.3141592
    land = np.isfinite(bf[hold])
    bf[hold] = np.where(land, bf[hold] * 3.7, np.nan)
    idx = tuple(np.argwhere(land)[0])
    sub = bf[hold]
    sub[idx] = PLANT
    bf[hold] = sub
    ds["burned_fraction"] = (("time", "lat", "lon"), bf.astype(np.float32), ds["burned_fraction"].attrs)
    path = write_world(tmp_path / "world.nc", ds)
    spec = small_spec(data={"source": "files", "paths": [str(path)], "regions": "ilamb"},
                      budget={"iterations": 2, "trials": 16, "repeats": 2},
                      shapley={"enabled": False})
    seen: list = []

    class Spy(Proposer):  # a real proposer (the heuristic) whose inputs we keep
        name = "spy"

        def propose(self, context):
            from fireform.agent.heuristic import HeuristicProposer

            seen.append(context.to_json())
            return HeuristicProposer().propose(context)

    res = run(spec, run_dir=tmp_path / "run", echo=lambda s: None, proposer=Spy(), report=False)
    j = Journal(res.run_dir)
    hold_scores = j.scores(period="holdout").value.dropna().to_numpy()
    assert hold_scores.size > 0
    contexts = list(j.messages().query("role == 'context'").content)
    assert contexts and len(seen) == len(contexts) == 2
    for text in contexts + seen:
        assert re.search(r"3141592|0\.31415", text) is None
        nums: list = []
        _numbers(json.loads(text), nums)
        nums = np.array(nums)
        nums = nums[np.isfinite(nums)]
        for h in hold_scores:
            assert not np.any(np.isclose(nums, h, rtol=1e-9, atol=0)), h
        ctx = json.loads(text)
        assert ctx["objective"]["train_years"] == [2001, 2003]


class Scripted(Proposer):
    """Replays fixed answers, as a misbehaving LLM would give them."""

    name = "scripted"

    def __init__(self, answers):
        super().__init__()
        self.answers = list(answers)

    def propose(self, context):
        a = self.answers.pop(0)
        self.record("response", a if isinstance(a, str) else json.dumps(a))
        return a


RAT = "A rationale long enough to pass the schema."


def _term(expr, params=()):
    return {"name": "bad", "expression": expr, "params": list(params),
            "rationale": "because the diagnostics say so", "references": ["Li2012"]}


def test_malicious_and_malformed_proposals_rejected_and_journaled(tmp_path):
    answers = [
        {"mechanisms": [], "new_terms": [_term("__import__('os').system('touch /tmp/pwned')")], "rationale": RAT},
        {"mechanisms": [], "new_terms": [_term("vpd ^ 1000")], "rationale": RAT},
        {"mechanisms": ["rh_limiter"], "new_terms": [_term("clip(magma_flux / 2)")], "rationale": RAT},
        "this is not json at all",
        {"mechanisms": ["agb_linear", "no_such_mechanism"], "rationale": RAT},
        {"mechanisms": ["agb_linear"], "rationale": RAT, "params": {"agb_linear.agb_max": 3.0}},
    ]
    spec = small_spec(budget={"iterations": len(answers), "trials": 16, "repeats": 2},
                      shapley={"enabled": False}, deploy={"fortran": False}, identify={"enabled": False},
                      proposer={"name": "scripted"})
    res = run(spec, run_dir=tmp_path / "run", echo=lambda s: None, proposer=Scripted(answers), report=False)
    j = Journal(res.run_dir)
    props = j.proposals()
    assert list(props.status) == ["reject"] * len(answers)
    assert all(len(r) >= 1 for r in props.reasons)
    assert "unknown mechanisms" in props.reasons[4][0] and "schema" in props.reasons[3][0]
    assert "params" in props.reasons[5][0]
    # nothing but the baseline repeats was fitted, nothing was executed
    assert set(j.fits().role) == {"baseline", "repeat"}
    assert not Path("/tmp/pwned").exists()
    assert len(j.messages().query("role == 'response'")) == len(answers)


def test_changed_spec_refused_on_resume(finished_run, tmp_path):
    res, _ = finished_run
    spec_file = res.run_dir / "spec.toml"
    text = spec_file.read_text()
    changed = text.replace("trials = 24", "trials = 25")
    assert changed != text
    other = tmp_path / "other.toml"
    other.write_text(changed)
    with pytest.raises(SpecError, match=r"budget.trials: 24 -> 25"):
        resume(res.run_dir, spec=other)
    with pytest.raises(SpecError, match="differs from the one frozen"):
        run(other, run_dir=res.run_dir)


def test_kill_and_resume_loses_no_finished_fit(tmp_path):
    spec = small_spec(budget={"iterations": 3, "trials": 40, "repeats": 2}, shapley={"enabled": False})
    spec_file = tmp_path / "spec.toml"
    spec_file.write_text(spec.to_toml())
    rd = tmp_path / "run"
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    proc = subprocess.Popen([sys.executable, "-m", "fireform.cli", "run", str(spec_file), "--run-dir", str(rd)],
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, env=env,
                            cwd=Path(__file__).resolve().parents[2])
    db = rd / "journal.sqlite"
    deadline = time.monotonic() + 120
    n = 0
    while time.monotonic() < deadline:
        if db.exists():
            try:
                n = sqlite3.connect(str(db)).execute("SELECT count(*) FROM fits").fetchone()[0]
            except sqlite3.Error:
                n = 0
        if n >= 3 or proc.poll() is not None:
            break
        time.sleep(0.05)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    assert proc.returncode == -signal.SIGKILL, "the run finished before it could be killed"
    j = Journal(rd)
    before = j.fits()[["id", "key", "value", "theta", "t"]]
    assert len(before) >= 3
    assert j.run()["status"] == "running"  # killed, not finished ...
    assert ff.open_run(rd).status == "interrupted"  # ... and shown as such (its writer is gone)
    res = resume(rd, echo=lambda s: None, report=False)
    assert res.status == "finished"
    after = Journal(rd).fits()[["id", "key", "value", "theta", "t"]]
    merged = before.merge(after, on="key", suffixes=("_b", "_a"))
    assert len(merged) == len(before)  # every finished fit is still there ...
    assert (merged.id_b == merged.id_a).all() and (merged.t_b == merged.t_a).all()  # ... not redone
    assert np.allclose(merged.value_b, merged.value_a)
    assert after.key.is_unique and len(after) > len(before)
    props = Journal(rd).proposals()
    assert list(props.iteration) == [1, 2, 3] and "pending" not in set(props.status)


def test_export_run_fortran_folder(finished_run, tmp_path):
    """``fireform export RUN --fortran --out DIR`` writes the whole Fortran export."""
    from typer.testing import CliRunner

    from fireform.cli import app

    res, _ = finished_run
    out = tmp_path / "fortran"
    r = CliRunner().invoke(app, ["export", str(res.run_dir), "--fortran", "--out", str(out)])
    assert r.exit_code == 0, r.output
    names = {p.name for p in out.iterdir()}
    assert {"fireform_fire.f90", "fireform_step.f90", "fireform_driver.f90", "Makefile.fireform",
            "README.md"} <= names
    dep = Journal(res.run_dir).get_state("deploy")
    assert {f"fireform_{n}.f90" for n in dep["chain"]["derived"]} <= names
