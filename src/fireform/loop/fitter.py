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
            storage_dir=None) -> Fitted:
    """Fit through ``fireform.fitting.fit`` on the training drivers."""
    t0 = time.perf_counter()
    try:
        from fireform.fitting import fit
    except ImportError:
        fit = None
    kw = dict(trials=int(trials), sampler=sampler, seed=int(seed))
    if fit is None:  # stopgap until fireform.fitting lands: a plain Optuna study, same contract
        res = _optuna_fit(form, drivers, bench, convention=convention, region=region, warm=warm, **kw)
    else:
        res = _call_fit(fit, form, drivers, convention=convention, region=region, warm=warm,
                        early_stop=early_stop, storage_dir=storage_dir, **kw)
    theta = _theta_of(res, form)
    value = _objective_value(form, theta, drivers, bench, convention, region)
    if not np.isfinite(value):
        raise FitError(f"fit of form {form.hash} gave a non-finite training objective")
    timing = {k: float(getattr(res, k, 0.0) or 0.0) for k in ("sampler_time", "eval_time")}
    return Fitted(theta=theta, value=value, wall=time.perf_counter() - t0, **timing,
                  extra={"n_trials": int(getattr(res, "n_trials", trials) or trials)})


def _call_fit(fit, form, drivers, *, convention, region, warm, early_stop, storage_dir, **kw):
    import inspect

    params = inspect.signature(fit).parameters
    extra = {}
    if "objective" in params:
        extra["objective"] = _make_objective(convention, region)
    if warm and "warm_start" in params:
        extra["warm_start"] = warm
    if early_stop and "early_stop" in params:
        extra["early_stop"] = early_stop
    if storage_dir is not None and "storage" in params:
        pass  # the journal is the loop's store; Optuna studies stay in memory
    return fit(form, drivers, **kw, **extra)


def _make_objective(convention: str, region: str):
    try:
        from fireform.fitting import Objective  # type: ignore[attr-defined]
    except ImportError:
        return convention
    try:
        return Objective(convention=convention, region=region)
    except TypeError:
        return convention


def _theta_of(res, form) -> dict[str, float]:
    for name in ("theta", "best_params", "params"):
        v = getattr(res, name, None)
        if v is not None:
            if isinstance(v, dict):
                return {k: float(x) for k, x in form.theta_dict(v).items()}
            return form.theta_dict(np.asarray(v, dtype=float))
    raise FitError(f"fit result {type(res).__name__} has no parameters (theta/best_params)")


@dataclass(frozen=True)
class _PlainFit:
    theta: dict
    sampler_time: float
    eval_time: float
    n_trials: int


def _optuna_fit(form, drivers, bench, *, convention, region, warm, trials, sampler, seed) -> _PlainFit:
    """A plain Optuna fit (TPE/CMA-ES/random) of ``form`` on the training drivers."""
    import optuna

    from fireform.forms.kernel import compile_kernel

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    kern = compile_kernel(form, drivers)
    specs = form.params
    samplers = {
        "tpe": lambda: optuna.samplers.TPESampler(seed=seed, multivariate=True, n_startup_trials=min(20, trials // 4)),
        "cmaes": lambda: optuna.samplers.CmaEsSampler(seed=seed),
        "random": lambda: optuna.samplers.RandomSampler(seed=seed),
    }
    study = optuna.create_study(direction="maximize", sampler=samplers[sampler]())
    default = form.theta_dict(form.default_theta())
    study.enqueue_trial({**default, **{k: v for k, v in (warm or {}).items() if k in default}})
    t_eval = 0.0
    t0 = time.perf_counter()

    def objective(trial):
        nonlocal t_eval
        vec = [trial.suggest_float(p.name, p.lo, p.hi, log=p.log) for p in specs]
        te = time.perf_counter()
        v = bench.score(kern(vec)).overall(convention, region)
        t_eval += time.perf_counter() - te
        return float(v) if np.isfinite(v) else -1.0

    study.optimize(objective, n_trials=int(trials))
    total = time.perf_counter() - t0
    return _PlainFit(theta=dict(study.best_params), sampler_time=total - t_eval, eval_time=t_eval,
                     n_trials=len(study.trials))
