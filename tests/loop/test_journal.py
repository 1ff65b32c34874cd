import sqlite3

import numpy as np
import pandas as pd
import pytest

from fireform.exceptions import SpecError
from fireform.forms.form import Form
from fireform.loop.journal import Journal
from fireform.loop.spec import parse_spec

SPEC = {"name": "j", "split": {"train_years": [2001, 2002], "holdout_years": [2003, 2003]}}


def test_wal_and_items_are_durable(tmp_path):
    j = Journal(tmp_path, create=True)
    spec = parse_spec(SPEC)
    j.start(spec)
    assert j.db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    form = Form.from_mechanisms(["rh_limiter", "temperature_ignition"])
    j.put_form(form)
    scores = pd.DataFrame({"region": ["global", "global"], "component": ["bias", "rmse"], "value": [0.5, np.nan]})
    rec = j.add_fit("k1", role="baseline", form_hash=form.hash, seed=0, trials=10, value=0.6,
                    theta={"scale": 0.1}, scores=scores)
    j.add_proposal(1, proposer="heuristic", action="add", rationale="because it rains less",
                   data={"mechanisms": ["rh_limiter"]}, status="reject", reasons=["r1", "r2"])
    j.put_array("a", np.arange(3.0))
    j.close()
    # another connection (as after a kill) sees everything that was committed
    j2 = Journal(tmp_path)
    assert j2.get_fit("k1") == rec and j2.form(form.hash) == form
    assert j2.vector(rec.id)["bias"] == 0.5 and np.isnan(j2.vector(rec.id)["rmse"])
    assert j2.proposal(1)["reasons"] == ["r1", "r2"]
    assert np.array_equal(j2.get_array("a"), np.arange(3.0))
    with pytest.raises(sqlite3.IntegrityError):  # a fit key is unique: never stored twice
        j2.add_fit("k1", role="baseline", form_hash=form.hash, seed=0, trials=10, value=0.7, theta={})
    p = j2.write_results_tsv()
    df = pd.read_csv(p, sep="\t")
    assert list(df.status) == ["reject"] and "r1 | r2" in df.reasons[0]


def test_changed_spec_refused_with_difference(tmp_path):
    j = Journal(tmp_path, create=True)
    j.start(parse_spec(SPEC))
    with pytest.raises(SpecError, match=r"budget.iterations: 12 -> 3"):
        j.start(parse_spec({**SPEC, "budget": {"iterations": 3}}))
    j.start(parse_spec(SPEC))  # the same spec resumes
    assert j.run()["resumes"] == 1
