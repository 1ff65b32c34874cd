"""``fit``: Optuna chooses a form's numbers, on the training period only.

One fit = one Optuna study driven by ask/tell:

1. ``study.ask(space)``: the sampler proposes theta (``space`` from the form's parameter records);
2. evaluate: ``kernel(theta)`` -> ``Benchmark.score`` -> ``Objective.value`` (:class:`FitContext`);
3. ``study.tell(trial, value)``.

With ``in_flight=k > 1`` the loop keeps k trials open: the sampler proposes trial n+1 (TPE with
its constant liar) while trial n is being evaluated in one of k - 1 worker threads (the C kernel and the numba
scorer release the GIL), so on two cores the sampler's time hides behind evaluation. Tells happen
in trial order at fixed points, so the result is still a deterministic function of the seed (but
differs from the ``in_flight=1`` result). ``processes=k`` runs k worker processes on one shared
study instead (:mod:`fireform.fitting.workers`; not deterministic).

Notes: fit noise is large for many-parameter forms. On the tiny twin with the 12-parameter
``confire_like`` truth, 300-trial TPE fits reached 0.41-0.84 (in_flight=1) and 0.77-0.86
(in_flight=2) over seeds 0-3, random search 0.53-0.63; Optuna's own ``study.optimize`` with
multivariate TPE reproduces the 0.41 of seed 0 exactly (it settles on a plateau). Compare forms
with :func:`fit_repeats`, never with one seed. On the 3 degree demo twin (9-parameter truth form;
its true parameters score 0.938) over 4 seeds: TPE 400 trials 0.790-0.900; ``tpe+cmaes`` 400
trials 0.828-0.899; CMA-ES 400 trials 0.879-0.909; CMA-ES 1200-1500 trials 0.935-0.938 (seeds
0-2). In the demo loop (CMA-ES, 800 trials, warm-started children) repeats of one form agree to
0.0001-0.0034. So the loop used ``cmaes``. The default is now ``lsq+cmaes`` (least-squares
multi-start on a JAX surrogate, then a local CMA-ES polish; :mod:`fireform.fitting.gradient`): on
noise-free known truths it reaches 0.99 of the truth in ~50-70 evaluations, and on the noisy demo
twin its seeds agree to < 1e-5; see :mod:`fireform.fitting.samplers` and docs/fitting.md.

Holdout isolation: ``data`` is Drivers (all of them are training data), a :class:`Split` (only
``split.train`` is used) or a :class:`FitContext`; the whole fit runs inside
:func:`~fireform.fitting.split.fitting_guard`, so ``Split.unseal`` raises while it runs.

Cache: see :mod:`fireform.fitting.cache`; a hit returns the stored result (``from_cache=True``)
without a single evaluation. Early stop: ``patience=p`` stops asking once p consecutive trials
have not improved the best value. Warm start: ``warm_start`` = a parent FitResult, a dict of
parameter values, or a list of them; the parent's ``top`` best trials (10) are enqueued as the
first trials (``enqueue_trial``) with the parent's values for the parameters the two forms share,
the child's defaults for the rest, and the scale re-levelled to the reference's total burned
area (:func:`rescaled`). Measured on the tiny twin (tests/fitting/test_warm_start.py): a child
that drops a spurious term reaches its parent's score at trial 1 (cold start: 26-73 trials); a
child that adds a spurious term reached it in neither mode within 150 trials.
"""

from __future__ import annotations

import math
import time
from collections import deque
from collections.abc import Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field, replace

import numpy as np
import optuna
import pandas as pd

from fireform.exceptions import FitError
from fireform.fitting.cache import as_cache, fit_key, resolve_storage, storage_url
from fireform.fitting.context import FitContext
from fireform.fitting.gradient import polish, presolve
from fireform.fitting.objective import Objective
from fireform.fitting.samplers import (DEFAULT_SAMPLER, SamplerSpec, cma_popsize, hybrid_options,
                                       local_cmaes, make_sampler, search_space)
from fireform.fitting.split import fitting_guard

__all__ = ["FitResult", "fit", "cache_key", "warm_points", "rescaled", "build_result"]

optuna.logging.set_verbosity(optuna.logging.WARNING)


@dataclass(frozen=True, eq=False)
class FitResult:
    """A finished fit: best parameters, the full training score vector, the trial history."""

    form_hash: str
    form_json: str
    params: dict[str, float]  # best parameters by name ("scale", "<term>.<param>")
    theta: np.ndarray  # the same in layout order
    value: float  # best objective value
    objective: Objective
    scores: object  # fireform.scoring.Scores of the best parameters on the training period
    trials: pd.DataFrame  # one row per finished trial (see ``_trials_frame``)
    sampler: str
    seed: int
    n_trials: int  # completed trials
    trials_requested: int
    stopped_early: bool
    sampler_seconds: float  # ask + tell, in the driving thread
    eval_seconds: float  # sum of evaluation durations (overlaps sampler time when pipelined)
    wall_seconds: float
    cache_key: str
    study_name: str
    storage: str | None  # storage string (None: in memory)
    fingerprint: str  # training data
    years: tuple[int, ...]  # training years
    warm_start: tuple[dict, ...] = ()
    from_cache: bool = False
    extra: dict = field(default_factory=dict)

    @property
    def param_names(self) -> list[str]:
        return list(self.params)

    @property
    def form(self):
        from fireform.forms import Form

        return Form.from_json(self.form_json)

    def vector(self, region: str = "global") -> dict[str, float]:
        return self.scores.vector(region)

    def overall(self, convention: str = "ilamb2", region: str = "global") -> float:
        return float(self.scores.overall(convention, region))

    def overall_table(self) -> pd.DataFrame:
        """Tidy: convention, region, value — the Overall score under every convention."""
        from fireform.scoring import CONVENTIONS

        return pd.DataFrame(
            [
                {"convention": c, "region": r, "value": self.overall(c, r)}
                for r in self.scores.regions
                for c in CONVENTIONS
            ]
        )

    def score_frame(self) -> pd.DataFrame:
        """Tidy component scores (region, component, value, reason)."""
        return self.scores.to_frame()

    def trials_to_reach(self, target: float) -> int | None:
        """Completed trials until the best value first reached ``target`` (None: never)."""
        hit = np.nonzero(self.trials["best_so_far"].to_numpy() >= target)[0]
        return int(hit[0]) + 1 if hit.size else None

    def summary(self) -> dict:
        """JSON-able headline (what the cache's .json and the journal store)."""
        from fireform.scoring import CONVENTIONS

        return {
            "form_hash": self.form_hash,
            "objective": self.objective.key(),
            "value": self.value,
            "params": self.params,
            "overall": {c: self.overall(c) for c in CONVENTIONS},
            "vector": self.vector(),
            "sampler": self.sampler,
            "seed": self.seed,
            "n_trials": self.n_trials,
            "trials_requested": self.trials_requested,
            "stopped_early": self.stopped_early,
            "sampler_seconds": self.sampler_seconds,
            "eval_seconds": self.eval_seconds,
            "wall_seconds": self.wall_seconds,
            "cache_key": self.cache_key,
            "fingerprint": self.fingerprint,
            "years": list(self.years),
        }

    def line(self) -> str:
        """One greppable summary line."""
        return (
            f"fit {self.form_hash} {self.objective.metric}[{self.objective.convention}]="
            f"{self.value:.4f} trials={self.n_trials}/{self.trials_requested} "
            f"sampler={self.sampler} seed={self.seed} wall={self.wall_seconds:.1f}s "
            f"(sampler {self.sampler_seconds:.1f}s, eval {self.eval_seconds:.1f}s) key={self.cache_key}"
        )

    def __repr__(self) -> str:
        return f"FitResult({self.line()})"


# -- warm start -------------------------------------------------------------------------------
def warm_points(form, warm_start, *, top: int = 10) -> list[dict[str, float]]:
    """Points to enqueue: shared parameters from the parent(s), the child's defaults elsewhere,
    clipped to the child's bounds. From a parent FitResult its ``top`` best distinct trials are
    taken (best first), so the sampler's first "good" set is the parent's good region rather
    than random start-up points."""
    if warm_start is None:
        return []
    if isinstance(warm_start, (FitResult, Mapping)):
        sources = [warm_start]
    elif isinstance(warm_start, Sequence) and not isinstance(warm_start, str):
        sources = list(warm_start)
    else:
        raise TypeError(
            f"warm_start must be a FitResult, a dict of parameters or a list of them, "
            f"got {type(warm_start).__name__}"
        )
    defaults = dict(zip(form.param_names, form.default_theta().tolist()))
    out: list[dict[str, float]] = []
    for src in sources:
        if isinstance(src, FitResult):
            df = src.trials.sort_values(["value", "number"], ascending=[False, True], kind="stable")
            names = [n for n in src.params if n in df.columns]
            vals_list = [dict(zip(names, map(float, r))) for r in df[names].head(top).to_numpy()]
            if not vals_list:
                vals_list = [src.params]
        else:
            vals_list = [dict(src)]
        for vals in vals_list:
            pt = {}
            for p in form.params:
                v = float(vals.get(p.name, defaults[p.name]))
                pt[p.name] = float(min(max(v, p.lo), p.hi))
            if pt not in out:
                out.append(pt)
    return out


def rescaled(form, ctx, point: Mapping[str, float]) -> dict[str, float]:
    """``point`` with its scale set so the predicted area-weighted total burned fraction equals
    the reference's over the training period (then clipped to the scale's bounds):
    scale' = scale * sum_i A_i sum_t obs_it / sum_i A_i sum_t pred_it.
    Used on warm-start points only: a child that drops or adds a term keeps its parent's shape
    but needs another overall level."""
    theta = form.theta_vector(point)
    pred = np.asarray(ctx.predict(form, theta), dtype=np.float64)
    obs = np.asarray(ctx.benchmark.obs, dtype=np.float64)
    ok = np.isfinite(pred) & np.isfinite(obs)
    a = ctx.benchmark.area[:, None]
    num, den = float((a * np.where(ok, obs, 0.0)).sum()), float((a * np.where(ok, pred, 0.0)).sum())
    out = dict(point)
    if den > 0 and num > 0:
        p = form.params[0]
        out["scale"] = float(min(max(point["scale"] * num / den, p.lo), p.hi))
    return out


# -- the fit ----------------------------------------------------------------------------------
def fit(
    form,
    data,
    *,
    objective: Objective | None = None,
    trials: int = 1000,
    sampler: str | None = None,
    seed: int = 0,
    storage=None,
    warm_start=None,
    patience: int | None = None,
    cache=None,
    in_flight: int = 1,
    processes: int = 1,
    sampler_options: Mapping | None = None,
    study_name: str | None = None,
) -> FitResult:
    """Fit ``form``'s parameters on the training data (see the module docstring).

    data: Drivers, a Split (its ``train`` only) or a FitContext (reused across fits).
    storage: None (in memory; a journal file in the run folder when ``cache`` has a folder),
        ``"journal:PATH"``, an RDB URL, or an Optuna storage object.
    cache: None, a FitCache, or a run-folder path.
    """
    if not isinstance(trials, int) or trials < 1:
        raise FitError(f"trials must be a positive integer, got {trials!r}")
    if patience is not None and (not isinstance(patience, int) or patience < 1):
        raise FitError(f"patience must be None or a positive integer, got {patience!r}")
    if in_flight < 1 or processes < 1:
        raise FitError(f"in_flight and processes must be >= 1, got {in_flight}, {processes}")
    ctx = FitContext.of(data, objective=objective)
    if sampler is None:  # lsq+cmaes runs in one process; several processes share a TPE study
        sampler = DEFAULT_SAMPLER if processes == 1 or DEFAULT_SAMPLER != "lsq+cmaes" else "tpe"
    spec = SamplerSpec(sampler, int(seed), dict(sampler_options or {}))
    if processes > 1 and spec.name == "lsq+cmaes":
        raise FitError("sampler 'lsq+cmaes' runs in one process (in_flight=2 pipelines its local "
                       "phase); use processes=1")
    warm = warm_points(form, warm_start)
    key = cache_key(form, ctx, spec=spec, trials=trials, patience=patience, in_flight=in_flight,
                    processes=processes, warm=warm)
    fc = as_cache(cache)
    if fc is not None:
        hit = fc.get(key)
        if hit is not None:
            return replace(hit, from_cache=True)
        if storage is None:
            storage = fc.study_storage(key)
    name = study_name or f"fit-{key}"
    with fitting_guard():
        if processes > 1:
            from fireform.fitting.workers import run_processes

            res = run_processes(
                form, ctx, spec=spec, trials=trials, storage=storage, study_name=name,
                warm=warm, patience=patience, processes=processes, key=key,
            )
        else:
            res = _run(form, ctx, spec=spec, trials=trials, storage=storage, study_name=name,
                       warm=warm, patience=patience, in_flight=in_flight, key=key)
    if fc is not None:
        fc.put(key, res, res.summary())
    return res


def cache_key(form, ctx: FitContext, *, spec: SamplerSpec, trials: int, patience=None,
              in_flight: int = 1, processes: int = 1, warm=()) -> str:
    """The cache key :func:`fit` gives these settings (``warm``: :func:`warm_points` output), so a
    caller (the ablation) can tell whether a fit is cached without submitting it."""
    return fit_key(
        {
            "form": form.hash,
            "data": ctx.key(),
            "sampler": spec.key(),
            "trials": trials,
            "patience": patience,
            "in_flight": in_flight,
            "processes": processes,
            "warm": [{k: repr(v) for k, v in p.items()} for p in warm],
        }
    )


def create_study(storage, name: str, sampler) -> optuna.Study:
    return optuna.create_study(
        study_name=name, storage=resolve_storage(storage), sampler=sampler,
        direction="maximize", load_if_exists=True,
    )


def _run(form, ctx: FitContext, *, spec, trials, storage, study_name, warm, patience, in_flight,
         key) -> FitResult:
    t_wall = time.perf_counter()
    space = search_space(form)
    names = list(space)
    ctx.kernel(form)  # compile (or fetch) before the clock of the first trial
    study = create_study(
        storage, study_name, make_sampler(spec, in_flight=in_flight, x0=warm[0] if warm else None)
    )
    timing: dict[int, tuple[float, float, float]] = {}
    s_sec = e_sec = 0.0
    lsq = spec.name == "lsq+cmaes"
    pre = None
    if not study.get_trials(deepcopy=False):
        if lsq:  # least-squares multi-start: warm points are its first starts (gradient.py)
            pre = presolve(form, ctx, study, space, seed=spec.seed, budget=trials,
                           warm=[rescaled(form, ctx, p) for p in warm],
                           options=spec.options, timing=timing)
            s_sec += pre["setup_seconds"] + pre["lsq_seconds"]
            e_sec += sum(timing[s["trial"]][1] for s in pre["starts"])
        else:
            for p in warm:
                study.enqueue_trial(rescaled(form, ctx, p), skip_if_exists=True)
    done = [t for t in study.get_trials(deepcopy=False) if t.state == optuna.trial.TrialState.COMPLETE]
    todo = trials - len(done)  # a resumed study only runs what is missing
    if lsq:  # its local phase drives cmaes.CMA itself (gradient.polish): no sampler per trial
        pol = polish(form, ctx, study, space, seed=spec.seed,
                     budget=max(todo - (pre["charge"] if pre else 0), 0),
                     options=spec.options, timing=timing, patience=patience, in_flight=in_flight)
        return build_result(
            form, ctx, study, spec=spec, trials=trials, storage=storage, key=key, warm=warm,
            stopped=pol["stopped"], sampler_seconds=s_sec + pol["sampler_seconds"],
            eval_seconds=e_sec + pol["eval_seconds"], wall_seconds=time.perf_counter() - t_wall,
            timing=timing, extra={"phases": pol["phases"], **({"lsq": pre} if pre else {})},
        )
    best = max((t.value for t in done), default=-math.inf)
    since = 0
    stopped = False
    # in_flight - 1 evaluation threads: one trial is always being proposed by this thread, so
    # on two cores in_flight=2 keeps exactly two busy (sampler here, evaluation there).
    pool = (ThreadPoolExecutor(max_workers=in_flight - 1, thread_name_prefix="ff-eval")
            if in_flight > 1 else None)
    pending: deque = deque()
    asked = 0
    local = (_LocalPhase(spec, trials, len(names), n_warm=len(warm)) if spec.name == "tpe+cmaes"
             else None)
    try:
        while True:
            while asked < todo and len(pending) < in_flight and not stopped:
                t0 = time.perf_counter()
                if local is not None:
                    local.maybe_switch(study, len(done) + asked)
                tr = study.ask(space)
                ds = time.perf_counter() - t0
                theta = np.array([tr.params[n] for n in names])
                fut = pool.submit(ctx.evaluate, form, theta) if pool is not None else None
                pending.append((tr, theta, fut, ds))
                asked += 1
            if not pending:
                break
            tr, theta, fut, ds = pending.popleft()
            try:
                ev = ctx.evaluate(form, theta) if fut is None else fut.result()
            except Exception as e:
                study.tell(tr, state=optuna.trial.TrialState.FAIL)
                raise FitError(
                    f"evaluating form {form.hash} at trial {tr.number} failed: {type(e).__name__}: {e}"
                ) from e
            t0 = time.perf_counter()
            study.tell(tr, ev.value)
            ds += time.perf_counter() - t0
            s_sec += ds
            e_sec += ev.seconds
            timing[tr.number] = (ds, ev.seconds, ev.raw)
            if local is not None:
                local.told(ev.value)
            if ev.value > best:
                best, since = ev.value, 0
            else:
                since += 1
                if patience is not None and since >= patience:
                    stopped = True
    finally:
        if pool is not None:
            pool.shutdown(wait=True, cancel_futures=True)
    return build_result(
        form, ctx, study, spec=spec, trials=trials, storage=storage, key=key, warm=warm,
        stopped=stopped, sampler_seconds=s_sec, eval_seconds=e_sec,
        wall_seconds=time.perf_counter() - t_wall, timing=timing,
        extra=None if local is None else {"phases": local.phases},
    )


class _LocalPhase:
    """The ``tpe+cmaes`` schedule: TPE until trial ``n_switch``, then CMA-ES from the best point
    so far; a restart (new CMA-ES at the best point, population doubled) after
    ``restart_patience`` told trials without improvement. Decisions depend only on told values,
    which arrive in trial order, so the schedule is a deterministic function of the seed."""

    def __init__(self, spec: SamplerSpec, trials: int, n_dim: int, *, n_warm: int = 0) -> None:
        o = hybrid_options(spec)
        self.seed = spec.seed
        self.sigma0 = float(o["sigma0"])
        # enqueued warm-start points are always evaluated (by the first sampler) before CMA-ES
        self.n_switch = max(n_warm, int(round(float(o["tpe_fraction"]) * trials)))
        self.popsize = int(o["popsize"] or cma_popsize(n_dim))
        # restart after 4 generations of the *current* population without gain (a fixed count
        # made a population doubled k times restart after a fraction of one generation, so the
        # population grew without bound: 450 trials of a 1-parameter term reached 6 x 2^18)
        self.fixed_patience = None if o["restart_patience"] is None else int(o["restart_patience"])
        self.patience = self.fixed_patience or 4 * self.popsize
        self.active = False
        self.restart = False
        self.best = -math.inf
        self.since = 0
        self.phases: list[dict] = []  # (start trial, popsize) of each CMA-ES run

    def told(self, value: float) -> None:
        if value > self.best:
            self.best, self.since = value, 0
        else:
            self.since += 1
            if self.active and self.since >= self.patience:
                self.restart, self.since = True, 0

    def maybe_switch(self, study, n: int) -> None:
        if n < self.n_switch or (self.active and not self.restart):
            return
        done = study.get_trials(deepcopy=False, states=(optuna.trial.TrialState.COMPLETE,))
        if not done and n > 0:
            return  # wait for a told trial to start from
        # best so far, first reached (ties resolve by trial number, as in build_result);
        # no trial yet: the centre of the (normalised) box
        x0 = max(done, key=lambda t: (t.value, -t.number)).params if done else None
        # IPOP doubling, capped at 8x: a larger population cannot finish a generation in the
        # budgets used here
        pop = self.popsize * 2 ** min(len(self.phases), 3)
        self.patience = self.fixed_patience or 4 * pop
        study.sampler = local_cmaes(seed=self.seed + 7919 * len(self.phases), x0=x0,
                                    sigma0=self.sigma0, popsize=pop, tag=f"cma{n}")
        self.phases.append({"start": n, "popsize": pop})
        self.active, self.restart, self.since = True, False, 0


def _trials_frame(study, names, timing) -> pd.DataFrame:
    """number, value, best_so_far, sampler_s, eval_s, raw, worker, then one column per parameter;
    completed trials in trial-number order."""
    rows = []
    for t in study.get_trials(deepcopy=False, states=(optuna.trial.TrialState.COMPLETE,)):
        s, e, raw = timing.get(t.number, (t.user_attrs.get("sampler_s", math.nan),
                                          t.user_attrs.get("eval_s", math.nan),
                                          t.user_attrs.get("raw", math.nan)))
        row = {"number": t.number, "value": float(t.value), "sampler_s": s, "eval_s": e,
               "raw": raw, "worker": t.user_attrs.get("worker", 0)}
        row.update({n: t.params.get(n, math.nan) for n in names})
        rows.append(row)
    df = pd.DataFrame(rows, columns=["number", "value", "sampler_s", "eval_s", "raw", "worker", *names])
    df = df.sort_values("number", kind="stable").reset_index(drop=True)
    df.insert(2, "best_so_far", df["value"].cummax())
    return df


def build_result(form, ctx, study, *, spec, trials, storage, key, warm, stopped, sampler_seconds,
                 eval_seconds, wall_seconds, timing, extra=None) -> FitResult:
    names = form.param_names
    df = _trials_frame(study, names, timing)
    if df.empty:
        raise FitError(f"fit of form {form.hash}: no trial completed")
    # Best = highest value, first reached (trial-number order, so ties resolve reproducibly).
    i = int(np.argmax(df["value"].to_numpy()))
    params = {n: float(df.at[i, n]) for n in names}
    theta = form.theta_vector(params)
    scores = ctx.scores(form, theta)
    return FitResult(
        form_hash=form.hash, form_json=form.to_json(), params=params, theta=theta,
        value=float(df.at[i, "value"]), objective=ctx.objective, scores=scores, trials=df,
        sampler=spec.name, seed=spec.seed, n_trials=int(len(df)), trials_requested=trials,
        stopped_early=bool(stopped), sampler_seconds=float(sampler_seconds),
        eval_seconds=float(eval_seconds), wall_seconds=float(wall_seconds), cache_key=key,
        study_name=study.study_name, storage=storage_url(storage), fingerprint=ctx.fingerprint,
        years=tuple(ctx.years), warm_start=tuple(warm), extra=dict(extra or {}),
    )
