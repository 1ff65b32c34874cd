"""The proposer contract, as a reusable pytest suite (like Optuna's sampler suites).

Subclass :class:`ProposerContract` in a test module, give it ``make_proposer(self)`` (and set
``deterministic = False`` for a sampling proposer); pytest collects every ``test_*`` below for
that implementation. The contract, for every proposer:

- ``propose(context)`` returns a :class:`~fireform.agent.Proposal` or ``None``; it does not raise
  for a bad model answer (a malformed one surfaces as a Proposal the grounding checks reject, or
  as ``ProposalError``, which the loop journals as a rejection);
- the proposal is data that round-trips through the answer schema: mechanism ids and new terms
  with bounds, never parameter values;
- whatever it records goes through the bound :class:`~fireform.agent.Recorder` with a role;
- it sees training-side information only: the context it is given has no holdout field, and
  the same context gives the same proposal when ``deterministic``.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from fireform.agent import (
    AgentContext,
    Proposal,
    Proposer,
    Recorder,
    TrainingView,
    build_context,
    ground,
    parse_proposal,
)
from fireform.exceptions import ProposalError
from fireform.fitting import fit
from fireform.forms import Form
from fireform.loop import Journal, parse_spec
from fireform.scoring import Benchmark
from fireform.testing.worlds import tiny_drivers

__all__ = ["ProposerContract", "contract_context"]

_SPEC = {"name": "contract", "split": {"train_years": [2001, 2003], "holdout_years": [2004, 2004]}}


def contract_context(folder: Path, *, iteration: int = 1) -> tuple[AgentContext, object]:
    """A real agent context on small drivers: a journaled 2-term incumbent with its fit.
    Returns (context, training drivers)."""
    d = tiny_drivers(years=(2001, 2003))
    j = Journal(folder, create=True)
    j.start(parse_spec(_SPEC))
    form = Form.from_mechanisms(["rh_limiter", "temperature_ignition"])
    j.put_form(form)
    rec = j.add_fit(fit(form, d, trials=8, seed=0), role="baseline")
    assert rec.id is not None  # add_fit returns the fit with its journal id
    ctx = build_context(iteration=iteration, view=TrainingView(j), incumbent_fit_id=rec.id, drivers=d,
                        bench=Benchmark.from_drivers(d), convention="ilamb2", region="global",
                        noise=0.01, n_points=3)
    return ctx, d


class ProposerContract:
    """The contract suite; see the module docstring."""

    deterministic = True

    def make_proposer(self) -> Proposer:
        raise NotImplementedError

    @pytest.fixture
    def context(self, tmp_path):
        return contract_context(tmp_path)

    def _propose(self, context, recorder: Recorder | None = None):
        ctx, drivers = context
        p = self.make_proposer()
        p.bind(recorder or Recorder())
        if hasattr(p, "bind_training"):
            p.bind_training(drivers)
        try:
            return p.propose(ctx)
        except ProposalError as e:  # allowed: the loop journals it as a schema rejection
            return e

    def test_is_a_proposer_with_a_name(self):
        p = self.make_proposer()
        assert isinstance(p, Proposer) and p.name and p.name != "base"

    def test_returns_a_proposal_or_none(self, context):
        out = self._propose(context)
        assert out is None or isinstance(out, (Proposal, ProposalError))

    def test_proposal_is_data_that_round_trips_and_grounds(self, context):
        out = self._propose(context)
        if not isinstance(out, Proposal):
            pytest.skip(f"this proposer gave {type(out).__name__} for the contract context")
        again = parse_proposal(out.model_dump())
        assert again == out
        for t in out.new_terms:  # new terms declare bounds; a value never travels
            assert all(set(p.model_dump()) <= {"name", "lo", "hi", "units", "description", "log"}
                       for p in t.params)
        g = ground(out, drivers=context[1], tried=set())
        assert isinstance(g.ok, bool) and (g.ok or g.reasons)

    def test_records_go_through_the_recorder(self, context) -> None:
        seen: list[dict] = []
        rec = Recorder(sink=lambda it, **kw: seen.append(kw), proposer="contract")
        self._propose(context, rec)
        assert all(r["role"] and isinstance(r["content"], str) for r in seen)
        assert rec.usage.tokens == sum(int(r["tokens_in"]) + int(r["tokens_out"]) for r in seen)

    def test_context_it_sees_has_no_holdout(self, context):
        ctx, _ = context
        assert "holdout" not in ctx.to_json().replace("holdout years", "")

    def test_same_context_same_proposal_when_deterministic(self, context):
        if not self.deterministic:
            pytest.skip("a sampling proposer")
        a, b = self._propose(context), self._propose(context)
        assert (a.model_dump() if isinstance(a, Proposal) else repr(a)) == \
               (b.model_dump() if isinstance(b, Proposal) else repr(b))
