"""The loop's view of parameter fitting: one call, journaled and cached by key.

``fit_form`` fits a form on the *training* drivers through ``fireform.fitting.fit`` and returns a
:class:`Fitted` (parameters by name, training objective, timings). Before fitting it looks the
key up in the journal: a fit that finished before a kill is never run again (resume).

Key = sha256 of (form hash, training-data fingerprint, convention, region, sampler, trials,
seed, warm-start parameters): the same inputs give the same key on every machine.
"""

from __future__ import annotations

import hashlib
import json
import time
from dataclasses import dataclass, field

import numpy as np

from fireform.exceptions import FitError

__all__ = ["Fitted", "fit_key", "run_fit"]


@dataclass(frozen=True)
class Fitted:
    theta: dict[str, float]
    value: float
    wall: float
    sampler_time: float = 0.0
    eval_time: float = 0.0
    extra: dict = field(default_factory=dict)


def fit_key(form, fingerprint: str, *, convention: str, region: str, sampler: str, trials: int,
            seed: int, warm: dict | None = None, early_stop: int | None = None) -> str:
    d = {"form": form.hash, "data": fingerprint, "convention": convention, "region": region,
         "sampler": sampler, "trials": int(trials), "seed": int(seed), "early_stop": early_stop,
         "warm": {k: round(float(v), 12) for k, v in sorted((warm or {}).items())}}
    return hashlib.sha256(json.dumps(d, sort_keys=True).encode()).hexdigest()[:24]


def _objective_value(form, theta, drivers, bench, convention, region) -> float:
    pred = form.evaluate(theta, drivers)
    v = bench.score(pred).overall(convention, region)
    return float(v)


def run_fit(form, drivers, bench, *, convention: str, region: str, sampler: str, trials: int,
            seed: int, warm: dict | None = None, early_stop: int | None = None,
            storage_dir=None, context=None) -> Fitted:
    """Fit through ``fireform.fitting.fit`` on the training drivers (or a FitContext of them).

    The training objective is recomputed here from the loop's own training benchmark, so the
    journal's value and score vector do not depend on how the fitting layer reports them.
    """
    from fireform.fitting import Objective, fit

    t0 = time.perf_counter()
    data = context if context is not None else drivers
    res = fit(form, data, objective=None if context is not None else Objective(convention=convention, region=region),
              trials=int(trials), sampler=sampler, seed=int(seed), warm_start=warm or None,
              patience=early_stop)
    theta = {k: float(v) for k, v in form.theta_dict(np.asarray(res.theta, dtype=float)).items()}
    value = _objective_value(form, theta, drivers, bench, convention, region)
    if not np.isfinite(value):
        raise FitError(f"fit of form {form.hash} gave a non-finite training objective")
    return Fitted(theta=theta, value=value, wall=time.perf_counter() - t0,
                  sampler_time=float(res.sampler_seconds), eval_time=float(res.eval_seconds),
                  extra={"n_trials": int(res.n_trials), "stopped_early": bool(res.stopped_early),
                         "fit_value": float(res.value), "cache_key": res.cache_key})
