"""``RunState``: what the steps of one run share (spec, folder, journal, split, fit context, the
current incumbent), and the two things every step does: say a line, fit a form."""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from fireform.agent import Proposer, make_proposer
from fireform.fitting import (
    FitContext,
    FitResult,
    HoldoutRead,
    Objective,
    SamplerSpec,
    Split,
    fit,
    fit_key,
    warm_points,
)
from fireform.forms import Form
from fireform.loop.journal import Journal
from fireform.loop.spec import Spec
from fireform.scoring import Benchmark

if TYPE_CHECKING:
    from fireform.drivers import Drivers

__all__ = ["RunState", "fit_id", "fmt"]


def fmt(x) -> str:
    """A score for a summary line: 4 decimals, "nan" when undefined."""
    try:
        return f"{float(x):.4f}"
    except (TypeError, ValueError):
        return "nan"


def fit_id(rec: FitResult) -> int:
    """The journal row of a fit of the run: every fit the steps hold came through the journal."""
    assert rec.id is not None, f"fit of [{rec.form_hash}] was not journaled"
    return rec.id


class RunState:
    """One run in progress. The steps (:mod:`fireform.loop.search`, ``ablate``, ``finish``) read
    and set its fields; everything they decide is also journaled, so a resumed run rebuilds it."""

    def __init__(self, spec: Spec, run_dir: Path, *, echo: Callable[[str], None] | None = None,
                 proposer: Proposer | None = None) -> None:
        self.spec = spec
        self.dir = Path(run_dir)
        self.journal = Journal(self.dir, create=True)
        self.echo = echo or (lambda line: print(line, flush=True))
        self._proposer = proposer
        self.t0 = time.monotonic()
        # None until the step that sets them; read through the properties below, which say so
        self._split: Split | None = None
        self._ctx: FitContext | None = None
        self._baseline: FitResult | None = None
        self._incumbent: FitResult | None = None
        self._final: FitResult | None = None
        self.noise = 0.0
        self.baseline_noise = 0.0
        self.stop_reason = ""
        self.holdout_read: HoldoutRead | None = None  # the last unseal, until journaled
        self.neutral: dict[str, Any] = {}  # term id -> its most constant setting (search.exact_from)
        self.screen_starts: dict[str, dict] = {}  # form hash -> its new term's best screened setting

    # -- shared data ----------------------------------------------------------------------------
    @property
    def split(self) -> Split:
        assert self._split is not None, "the data step has not run"
        return self._split

    @property
    def ctx(self) -> FitContext:
        assert self._ctx is not None, "the data step has not run"
        return self._ctx

    @property
    def train(self) -> Drivers:
        return self.split.train

    @property
    def bench(self) -> Benchmark:
        return self.ctx.benchmark

    def start_fitting(self, split: Split) -> None:
        self._split = split
        o = self.spec.objective
        self._ctx = FitContext(split.train, objective=Objective(convention=o.convention, region=o.region))

    # -- fits the steps set --------------------------------------------------------------------
    @property
    def baseline(self) -> FitResult:
        assert self._baseline is not None, "the baseline step has not run"
        return self._baseline

    @baseline.setter
    def baseline(self, rec: FitResult) -> None:
        self._baseline = rec

    @property
    def incumbent(self) -> FitResult:
        assert self._incumbent is not None, "the baseline step has not run"
        return self._incumbent

    @incumbent.setter
    def incumbent(self, rec: FitResult) -> None:
        self._incumbent = rec

    @property
    def final(self) -> FitResult:
        assert self._final is not None, "the Shapley step has not run"
        return self._final

    @final.setter
    def final(self, rec: FitResult) -> None:
        self._final = rec

    def on_holdout_read(self, read: HoldoutRead) -> None:
        """The Split's callback: the read is journaled with the scores it produces, in one
        transaction (:meth:`Journal.add_holdout_scores`)."""
        self.holdout_read = read

    # -- lines and budgets ----------------------------------------------------------------------
    def say(self, step: str, line: str) -> None:
        text = f"fireform {step} | {line}"
        self.echo(text)
        self.journal.event(step, text)

    def wall_left(self) -> float:
        return self.spec.budget.wall_minutes * 60.0 - (time.monotonic() - self.t0)

    def proposer(self) -> Proposer:
        if self._proposer is None:
            p = self.spec.proposer
            self._proposer = make_proposer(p.name, **p.settings)
        return self._proposer

    # -- fitting --------------------------------------------------------------------------------
    def fit(self, form: Form, *, role: str, seed: int | None = None, trials: int | None = None,
            warm: dict[str, float] | list[dict] | None = None,
            exact: list[dict] | None = None) -> tuple[FitResult, bool]:
        """Fit ``form`` on the training data with the spec's budget, or read the fit back from the
        journal when one with the same key finished before (a resumed run never refits).
        ``exact``: starts evaluated as given (``fit(warm_exact=...)``).
        Returns (journaled fit, whether it came from the journal)."""
        b = self.spec.budget
        seed = self.spec.seed if seed is None else int(seed)
        trials = b.trials if trials is None else int(trials)
        spec = SamplerSpec(b.sampler, seed)
        key = fit_key(form, self.ctx, spec=spec, trials=trials, patience=b.early_stop,
                      warm=warm_points(form, warm or None), warm_exact=warm_points(form, exact or None))
        rec = self.journal.get_fit(key)
        if rec is not None:
            return rec, True
        self.journal.put_form(form)
        res = fit(form, self.ctx, trials=trials, sampler=b.sampler, seed=seed,
                  warm_start=warm or None, warm_exact=exact or None, patience=b.early_stop)
        return self.journal.add_fit(res, role=role), False
