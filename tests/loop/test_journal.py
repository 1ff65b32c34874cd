import sqlite3

import numpy as np
import pandas as pd
import pytest

from fireform.exceptions import SpecError
from fireform.fitting import fit
from fireform.forms import Form
from fireform.testing import tiny_drivers
from fireform.loop.journal import Journal
from fireform.loop.results_table import write_results_tsv
from fireform.loop.spec import parse_spec

SPEC = {"name": "j", "split": {"train_years": [2001, 2002], "holdout_years": [2003, 2003]}}


def test_wal_and_items_are_durable(tmp_path):
    j = Journal(tmp_path, create=True)
    spec = parse_spec(SPEC)
    j.start(spec)
    assert j.db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    form = Form.from_mechanisms(["rh_limiter", "temperature_ignition"])
    j.put_form(form)
    res = fit(form, tiny_drivers(), trials=6, seed=0)
    rec = j.add_fit(res, role="baseline")
    j.add_proposal(1, proposer="heuristic", action="add", rationale="because it rains less",
                   data={"mechanisms": ["rh_limiter"]}, status="reject", reasons=["r1", "r2"])
    j.put_array("a", np.arange(3.0))
    j.close()
    # another connection (as after a kill) sees everything that was committed
    j2 = Journal(tmp_path)
    back = j2.get_fit(res.cache_key)
    assert back.id == rec.id and j2.form(form.hash) == form
    # the journaled record is the whole FitResult: the same numbers, the same trials
    assert back.params == res.params and back.value == res.value and back.cache_key == res.cache_key
    pd.testing.assert_frame_equal(back.trials, res.trials, check_dtype=False)
    assert back.overall("ilamb2") == res.overall("ilamb2")
    assert j2.vector(rec.id)["bias"] == res.scores.get("bias")
    assert j2.proposal(1)["reasons"] == ["r1", "r2"]
    assert np.array_equal(j2.get_array("a"), np.arange(3.0))
    with pytest.raises(sqlite3.IntegrityError):  # a fit key is unique: never stored twice
        j2.add_fit(res, role="baseline")
    p = write_results_tsv(j2)
    df = pd.read_csv(p, sep="\t")
    assert list(df.status) == ["reject"] and "r1 | r2" in df.reasons[0]


def test_changed_spec_refused_with_difference(tmp_path):
    j = Journal(tmp_path, create=True)
    j.start(parse_spec(SPEC))
    with pytest.raises(SpecError, match=r"budget.iterations: 12 -> 3"):
        j.start(parse_spec({**SPEC, "budget": {"iterations": 3}}))
    j.start(parse_spec(SPEC))  # the same spec resumes
    assert j.run()["resumes"] == 1
