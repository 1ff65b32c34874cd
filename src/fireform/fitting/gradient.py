"""The ``lsq+cmaes`` fitter's first phase: bounded Gauss-Newton multi-start on a smooth surrogate.

Phase 1 (:func:`presolve`, here): the warm-start points are evaluated as trials (as every
sampler evaluates them); then from each of ``starts`` points (the warm-start points first,
re-levelled as :func:`fireform.fitting.fit.rescaled` does, then a Latin hypercube drawn from the
seed), ``scipy.optimize.least_squares`` (trust-region reflective, bounds [0, 1]^n in Optuna's
normalised space) minimises the :class:`~fireform.fitting.surrogate.Surrogate`'s residuals with
their JAX Jacobian for at most ``lsq_evals`` residual evaluations. Each end point is evaluated
on the exact objective (C kernel -> Benchmark.score -> Objective.value) and told to the Optuna
study as a trial (``enqueue_trial`` + ask/tell, user attribute ``phase="lsq"``), so the cache,
storages, warm starts and the holdout guard see an ordinary study.

Phase 2 (:class:`fireform.fitting.fit._LocalPhase` with no TPE part): a small-step local CMA-ES
from the best trial (``sigma0`` 0.02 in the normalised space by default), restarted with a
doubled population after 4 generations without gain, for the rest of the trial budget. It
polishes on the exact objective, which the surrogate only approximates (the kinks of
exp(-|err|/sigma), the seasonal phase score, noise).

Counting: ``trials`` counts exact-objective evaluations, as for every sampler (with the option
``count_surrogate=True`` it is a budget of all evaluations: the local phase gets what the
surrogate left). The surrogate's
own work is reported next to it in ``FitResult.extra["lsq"]``: residual evaluations
(``surrogate_calls``), Jacobian evaluations (``jacobians``, forward mode, one pass carrying n
tangents) and their seconds. ``evaluations`` = trials + surrogate calls + jacobians is the count
the benchmark reports against "evaluations to 0.99".
"""

from __future__ import annotations

import math
import time
import warnings
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import numpy as np
import optuna
from scipy.optimize import least_squares
from scipy.stats import qmc

from fireform.exceptions import FitError
from fireform.fitting.cma_direct import record_trial
from fireform.fitting.samplers import SamplerSpec, cma_popsize, hybrid_options
from fireform.fitting.surrogate import from_unit, surrogate, to_unit

__all__ = ["LSQ_DEFAULTS", "lsq_options", "presolve", "evaluations"]

# options of the lsq+cmaes fitter that are not local-CMA-ES options (HYBRID_DEFAULTS)
LSQ_DEFAULTS: dict[str, object] = {"starts": 8, "agree": 2, "lsq_evals": 100, "spatial_weight": 1.0,
                                    "max_cells": 2000, "x_scale": 1.0, "count_surrogate": False,
                                    "polish_runs": 3}


def lsq_options(options) -> dict[str, Any]:
    out: dict[str, Any] = dict(LSQ_DEFAULTS)
    out.update({k: v for k, v in dict(options).items() if k in LSQ_DEFAULTS})
    if int(out["starts"]) < 1:
        raise FitError(f"sampler option starts must be >= 1, got {out['starts']}")
    if int(out["lsq_evals"]) < 2:
        raise FitError(f"sampler option lsq_evals must be >= 2, got {out['lsq_evals']}")
    if int(out["agree"]) < 1:
        raise FitError(f"sampler option agree must be >= 1, got {out['agree']}")
    if float(out["spatial_weight"]) < 0:
        raise FitError(f"sampler option spatial_weight must be >= 0, got {out['spatial_weight']}")
    return out


def _starts(form, warm, n: int, seed: int) -> list[np.ndarray]:
    out = [to_unit(form, form.theta_vector(p)) for p in warm][:n]
    k = max(n - len(out), 0)
    if k:
        lhs = qmc.LatinHypercube(d=len(form.params), seed=np.random.default_rng(seed))
        out.extend(0.05 + 0.9 * lhs.random(k))  # inside the box: the solver reflects at walls
    return out


def _evaluate(form, ctx, study, tr, names):
    try:
        return ctx.evaluate(form, np.array([tr.params[n] for n in names]))
    except Exception as e:
        study.tell(tr, state=optuna.trial.TrialState.FAIL)
        raise FitError(f"evaluating form {form.hash} at trial {tr.number} failed: "
                       f"{type(e).__name__}: {e}") from e


def presolve(form, ctx, study, space, *, seed: int, budget: int, warm, options, timing: dict) -> dict:
    """Phase 1 (module docstring): tells at most ``budget`` trials into ``study``; returns the
    phase's record (per start: trial, surrogate cost, loss, exact value). ``warm``: warm-start
    points, already re-levelled (``fit.rescaled``)."""
    o = lsq_options(options)
    t0 = time.perf_counter()
    sur = surrogate(form, ctx, spatial_weight=float(o["spatial_weight"]),
                    max_cells=None if o["max_cells"] is None else int(o["max_cells"]))
    cnt = {"f": 0, "j": 0}  # this fit's own count (a cached surrogate serves other fits too)

    def fun(u):
        cnt["f"] += 1
        return sur.residuals(u)

    def jac(u):
        cnt["j"] += 1
        return sur.jacobian(u)

    setup_s = time.perf_counter() - t0
    names = list(space)
    rec: dict[str, Any] = {"starts": [], "setup_seconds": setup_s, "n_residuals": sur.n_residuals}
    lsq_s = 0.0
    used = 0
    # the warm points themselves first, as trials (as every sampler evaluates them): a parent's
    # optimum stays reachable even where the surrogate's optimum scores lower (a misspecified
    # form, a noisy target)
    for p in warm:
        if used >= budget:
            break
        study.enqueue_trial(dict(p))  # warm_points() has dropped duplicates
        tr = study.ask(space)
        tr.set_user_attr("phase", "warm")
        ev = _evaluate(form, ctx, study, tr, names)
        study.tell(tr, ev.value)
        timing[tr.number] = (0.0, ev.seconds, ev.raw)
        used += 1
    for u0 in _starts(form, warm, int(o["starts"]), seed):
        if used >= budget:
            break
        used += 1
        t = time.perf_counter()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)
            r = least_squares(fun, np.clip(u0, 0.0, 1.0), jac=jac, bounds=(0.0, 1.0),
                              method="trf", max_nfev=int(o["lsq_evals"]), xtol=1e-10, ftol=1e-12,
                              gtol=1e-12, x_scale=o["x_scale"])
        ds = time.perf_counter() - t
        lsq_s += ds
        theta = from_unit(form, r.x)
        params = {n: float(v) for n, v in zip(names, theta)}
        study.enqueue_trial(params)
        tr = study.ask(space)
        tr.set_user_attr("phase", "lsq")
        tr.set_user_attr("surrogate_calls", cnt["f"])
        tr.set_user_attr("jacobians", cnt["j"])
        ev = _evaluate(form, ctx, study, tr, names)
        study.tell(tr, ev.value)
        timing[tr.number] = (ds, ev.seconds, ev.raw)
        rec["starts"].append({"trial": tr.number, "loss": float(r.cost), "nfev": int(r.nfev),
                              "njev": int(r.njev or 0), "status": int(r.status), "value": ev.value,
                              "seconds": ds, "surrogate_calls": cnt["f"],
                              "jacobians": cnt["j"]})
        # the best end point reached by `agree` starts (to 1e-4): further starts would find it again
        vals = [x["value"] for x in rec["starts"]]
        if sum(v >= max(vals) - 1e-4 for v in vals) >= int(o["agree"]):
            break
    # count_surrogate: the trial budget is an evaluation budget, surrogate evaluations included
    calls, jacs = cnt["f"], cnt["j"]
    rec["charge"] = calls + jacs if o["count_surrogate"] else 0
    rec.update(surrogate_calls=calls, jacobians=jacs, lsq_seconds=lsq_s,
               best=max((s["value"] for s in rec["starts"]), default=-math.inf))
    return rec


def evaluations(result) -> np.ndarray:
    """Per completed trial of ``result`` (a FitResult, rows of ``result.trials``), the evaluations
    spent up to and including it: trials so far + surrogate residual evaluations + Jacobian
    evaluations made before it (0 for samplers without a surrogate)."""
    n = np.arange(1, len(result.trials) + 1)
    pre = result.extra.get("lsq") if isinstance(result.extra, dict) else None
    if not pre:
        return n
    numbers = result.trials["number"].to_numpy()
    extra = np.zeros(len(numbers))
    for s in pre["starts"]:
        extra[numbers >= s["trial"]] = s["surrogate_calls"] + s["jacobians"]
    return n + extra.astype(int)


def polish(form, ctx, study, space, *, seed: int, budget: int, options, timing: dict,
           patience: int | None, in_flight: int = 1) -> dict:
    """Phase 2 (module docstring): local CMA-ES (the ``cmaes`` package's :class:`cmaes.CMA`, in
    the normalised space, bounds [0, 1]^n) from the best completed trial, at most ``budget``
    trials; restart at the best point with a doubled population (capped at 8x) after
    ``restart_patience`` (default 4 generations of the current population) trials without gain or
    when CMA-ES itself stops; stop (``stopped_early``) once ``polish_runs`` (3; None: never)
    CMA-ES runs in a row gained less than 1e-6: the optimum is polished, the rest of the budget
    would find nothing. Every point is an ordinary trial (added by
    :func:`~fireform.fitting.cma_direct.record_trial` as tell leaves it, ``phase="cmaes"``); with ``in_flight`` > 1 a generation is evaluated by that many threads and
    told in order, so the fit stays a deterministic function of the seed."""
    from cmaes import CMA  # optional dependency (as for Optuna's CmaEsSampler)

    o = hybrid_options(SamplerSpec("lsq+cmaes", seed, tuple(dict(options).items())))
    names = list(space)
    n = len(names)
    done = study.get_trials(deepcopy=False, states=(optuna.trial.TrialState.COMPLETE,))
    best_t = max(done, key=lambda t: (t.value, -t.number)) if done else None
    best = best_t.value if best_t else -math.inf
    u_best = (to_unit(form, [best_t.params[k] for k in names]) if best_t
              else np.full(n, 0.5))
    pop0 = int(o["popsize"] or cma_popsize(n))
    phases: list[dict] = []
    used, since, stopped = 0, 0, False
    o_l = lsq_options(options)
    fruitless, converged = 0, False
    s_sec = e_sec = 0.0
    pool = ThreadPoolExecutor(max_workers=in_flight, thread_name_prefix="ff-polish") if in_flight > 1 else None
    bounds = np.tile([0.0, 1.0], (n, 1))
    try:
        while used < budget and not stopped:
            pop = pop0 * 2 ** min(len(phases), 3)
            rpat = int(o["restart_patience"] or 4 * pop)
            es = CMA(mean=np.clip(u_best, 0.0, 1.0), sigma=float(o["sigma0"]), bounds=bounds,
                     seed=int(seed) + 7919 * len(phases), population_size=pop)
            phases.append({"start": len(done) + used, "popsize": pop})
            gain_at = used
            best_before = best
            while used < budget and not stopped:
                t0 = time.perf_counter()
                xs = [es.ask() for _ in range(min(pop, budget - used))]
                thetas = [from_unit(form, x) for x in xs]
                s_sec += time.perf_counter() - t0
                evs = (list(pool.map(lambda th: ctx.evaluate(form, th), thetas)) if pool is not None
                       else [ctx.evaluate(form, th) for th in thetas])
                t0 = time.perf_counter()
                for x, th, ev in zip(xs, thetas, evs):
                    number = record_trial(study, space, dict(zip(names, th)), ev.value,
                                          user_attrs={"phase": "cmaes"})
                    timing[number] = (0.0, ev.seconds, ev.raw)
                    e_sec += ev.seconds
                    used += 1
                    if ev.value > best:
                        best, u_best, since, gain_at = ev.value, np.asarray(x), 0, used
                    else:
                        since += 1
                        if patience is not None and since >= patience:
                            stopped = True
                if len(xs) == pop:  # a whole generation: CMA-ES learns from it
                    es.tell([(x, -ev.value) for x, ev in zip(xs, evs)])
                s_sec += time.perf_counter() - t0
                if used - gain_at >= rpat or es.should_stop():
                    break
            # converged: `polish_runs` CMA-ES runs in a row gained less than 1e-6
            fruitless = fruitless + 1 if best - best_before < 1e-6 else 0
            if o_l["polish_runs"] is not None and fruitless >= int(o_l["polish_runs"]) and used < budget:
                converged = True
                break
    finally:
        if pool is not None:
            pool.shutdown(wait=True)
    return {"phases": phases, "trials": used, "stopped": stopped or converged, "converged": converged,
            "sampler_seconds": s_sec,
            "eval_seconds": e_sec}
