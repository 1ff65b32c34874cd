"""``fit``: Optuna chooses a form's numbers, on the training period only.

One fit = one Optuna study driven by ask/tell:

1. ``study.ask(space)``: the sampler proposes theta (``space`` from the form's parameter records);
2. evaluate: ``kernel(theta)`` -> ``Benchmark.score`` -> ``Objective.value`` (:class:`FitContext`);
3. ``study.tell(trial, value)``.

Where the sampler is Optuna's CMA-ES (``cmaes``, the local phase of ``tpe+cmaes``) and one trial
is in flight, :class:`~fireform.fitting.cma_direct.DirectCma` proposes and records the trials
instead of ask/tell: the same trials bit for bit, at about a third of the sampler's per-trial
cost (``cma_direct.ENABLED = False`` turns it off).

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
have not improved the best value; ``converge=(w, tol)`` stops once the last w trials all
scored within tol of the best so far (the sampler has collapsed onto its best point: CMA-ES's
TolFun test, Hansen 2016, arXiv:1604.00772, on told values only). Warm start: ``warm_start`` = a parent FitResult, a dict of
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
from collections.abc import Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from typing import TYPE_CHECKING

import numpy as np
import optuna

from fireform.exceptions import FitError
from fireform.fitting import cma_direct
from fireform.fitting.cache import as_cache, fit_key
from fireform.fitting.cma_direct import DirectCma, Proposal
from fireform.fitting.context import FitContext
from fireform.fitting.gradient import polish, presolve
from fireform.fitting.inputs import gate_inputs
from fireform.fitting.objective import Objective
from fireform.fitting.result import FitResult
from fireform.fitting.samplers import (
    DEFAULT_SAMPLER,
    SamplerSpec,
    cma_popsize,
    hybrid_options,
    local_cmaes,
    make_sampler,
    search_space,
)
from fireform.fitting.split import fitting_guard
from fireform.fitting.study import (
    build_result,
    create_study,
    point_values,
    rescaled,
    start_points,
    warm_points,
)
from fireform.fitting.workers import run_processes

if TYPE_CHECKING:
    from fireform.drivers import Drivers
    from fireform.fitting.split import Split
    from fireform.forms import Form

__all__ = ["fit"]

optuna.logging.set_verbosity(optuna.logging.WARNING)


# -- the fit ----------------------------------------------------------------------------------
def fit(
    form: Form,
    data: Drivers | Split | FitContext,
    *,
    objective: Objective | None = None,
    trials: int = 1000,
    sampler: str | None = None,
    seed: int = 0,
    storage=None,
    warm_start=None,
    warm_exact=None,
    patience: int | None = None,
    converge: tuple[int, float] | None = None,
    cache=None,
    in_flight: int = 1,
    processes: int = 1,
    sampler_options: Mapping | None = None,
    study_name: str | None = None,
    check: bool = True,
    override_checks: bool = False,
) -> FitResult:
    """Fit ``form``'s parameters on the training data (see the module docstring).

    data: Drivers, a Split (its ``train`` only) or a FitContext (reused across fits).
    storage: None (in memory; a journal file in the run folder when ``cache`` has a folder),
        ``"journal:PATH"``, an RDB URL, or an Optuna storage object.
    cache: None, a FitCache, or a run-folder path.
    check / override_checks: the input gate (:mod:`fireform.fitting.inputs`): errors refuse
        with InputCheckError before any trial unless overridden; skipping or overriding is
        recorded in ``FitResult.extra["input_check"]``.
    converge: (window, tol): stop once the last ``window`` trials all scored within ``tol`` of
        the best so far (the ask/tell loop: every sampler but ``lsq+cmaes``, one process).
    warm_exact: points (dicts, or a list of them) evaluated as given, scale included (no
        re-levelling), after the ``warm_start`` points; they and their values are in
        ``FitResult.extra["warm_exact"]`` and ``["warm_exact_values"]``. Every sampler
        evaluates them, so the fit's best is never below the best of them (the Shapley subset
        fits rely on this).
    """
    inputs = gate_inputs(data, check=check, override=override_checks)
    if not isinstance(trials, int) or trials < 1:
        raise FitError(f"trials must be a positive integer, got {trials!r}")
    if patience is not None and (not isinstance(patience, int) or patience < 1):
        raise FitError(f"patience must be None or a positive integer, got {patience!r}")
    if converge is not None:
        w, tol = converge
        if isinstance(w, bool) or not isinstance(w, int) or w < 2 or not float(tol) > 0:
            raise FitError(f"converge must be (window >= 2 trials, tol > 0), got {converge!r}")
        converge = (int(w), float(tol))
    if in_flight < 1 or processes < 1:
        raise FitError(f"in_flight and processes must be >= 1, got {in_flight}, {processes}")
    ctx = FitContext.of(data, objective=objective)
    if sampler is None:  # lsq+cmaes runs in one process; several processes share a TPE study
        sampler = DEFAULT_SAMPLER if processes == 1 or DEFAULT_SAMPLER != "lsq+cmaes" else "tpe"
    spec = SamplerSpec(sampler, int(seed), tuple(dict(sampler_options or {}).items()))
    if converge is not None and (processes > 1 or spec.name == "lsq+cmaes"):
        raise FitError(f"converge is a stop of the ask/tell loop (one process, not lsq+cmaes); got "
                       f"sampler {spec.name!r}, processes={processes}")
    if processes > 1 and spec.name == "lsq+cmaes":
        raise FitError("sampler 'lsq+cmaes' runs in one process (in_flight=2 pipelines its local "
                       "phase); use processes=1")
    warm = warm_points(form, warm_start)
    exact = warm_points(form, warm_exact)
    key = fit_key(form, ctx, spec=spec, trials=trials, patience=patience, in_flight=in_flight,
                  processes=processes, warm=warm, warm_exact=exact, converge=converge)
    fc = as_cache(cache)
    if fc is not None:
        hit = fc.get(key)
        if hit is not None:
            return replace(hit, from_cache=True, extra={**hit.extra, **inputs})
        if storage is None:
            storage = fc.study_storage(key)
    name = study_name or f"fit-{key}"
    with fitting_guard():
        if processes > 1:
            res = run_processes(
                form, ctx, spec=spec, trials=trials, storage=storage, study_name=name,
                warm=warm, exact=exact, patience=patience, processes=processes, key=key,
            )
        else:
            res = _run(form, ctx, spec=spec, trials=trials, storage=storage, study_name=name,
                       warm=warm, exact=exact, patience=patience, in_flight=in_flight, key=key,
                       converge=converge)
        if exact:
            res = replace(res, extra={**res.extra, "warm_exact": [dict(p) for p in exact],
                                      "warm_exact_values": point_values(res, exact)})
    if fc is not None:
        fc.put(key, res)
    return replace(res, extra={**res.extra, **inputs})


def _run(form: Form, ctx: FitContext, *, spec: SamplerSpec, trials, storage, study_name, warm, patience, in_flight,
         key, exact=(), converge=None) -> FitResult:
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
                           warm=start_points(form, ctx, warm, exact),
                           options=spec.options, timing=timing)
            s_sec += pre["setup_seconds"] + pre["lsq_seconds"]
            e_sec += sum(timing[s["trial"]][1] for s in pre["starts"])
        else:
            for p in warm:
                study.enqueue_trial(rescaled(form, ctx, p), skip_if_exists=True)
            # exact points as given, even within Optuna's isclose tolerance of another (skip_if_exists
            # would drop an exact start lying next to a re-levelled point)
            for p in exact:
                study.enqueue_trial(dict(p))
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
    best = max((t.value for t in done if t.value is not None), default=-math.inf)  # COMPLETE trials have one
    since = 0
    stopped = False
    best_scores: tuple[int, object] | None = None  # (trial, its score vector): the best told here
    recent: deque = deque(maxlen=converge[0] if converge else 1)  # the last told values
    # in_flight - 1 evaluation threads: one trial is always being proposed by this thread, so
    # on two cores in_flight=2 keeps exactly two busy (sampler here, evaluation there).
    pool = (ThreadPoolExecutor(max_workers=in_flight - 1, thread_name_prefix="ff-eval")
            if in_flight > 1 else None)
    pending: deque = deque()
    asked = 0
    cma: DirectCma | None = None

    def tell(tr, value: float | None) -> None:  # None: the evaluation failed (a FAIL trial)
        if isinstance(tr, Proposal):  # proposed by the driver in use (one trial in flight)
            assert cma is not None
            cma.tell(tr, math.nan if value is None else value)
        elif value is None:
            study.tell(tr, state=optuna.trial.TrialState.FAIL)
        else:
            study.tell(tr, value)
    local = (_LocalPhase(spec, trials, len(names), n_warm=len(warm) + len(exact)) if spec.name == "tpe+cmaes"
             else None)
    try:
        while True:
            while asked < todo and len(pending) < in_flight and not stopped:
                t0 = time.perf_counter()
                if local is not None:
                    local.maybe_switch(study, len(done) + asked)
                prop = None
                if pool is None and cma_direct.ENABLED:  # CMA-ES without Optuna's per-trial cost
                    cma = DirectCma.current(study, space, cma)
                    prop = cma.ask() if cma is not None else None
                if prop is None:
                    trial = study.ask(space)
                    cma = None  # a trial it did not make: rebuilt from the study
                    theta = np.array([trial.params[n] for n in names])
                else:
                    theta = np.array([prop.params[n] for n in names])
                ds = time.perf_counter() - t0
                fut = pool.submit(ctx.evaluate, form, theta) if pool is not None else None
                pending.append((prop or trial, theta, fut, ds))
                asked += 1
            if not pending:
                break
            tr, theta, fut, ds = pending.popleft()
            try:
                ev = ctx.evaluate(form, theta) if fut is None else fut.result()
            except Exception as e:
                tell(tr, None)
                raise FitError(
                    f"evaluating form {form.hash} at trial {tr.number} failed: {type(e).__name__}: {e}"
                ) from e
            t0 = time.perf_counter()
            tell(tr, ev.value)
            ds += time.perf_counter() - t0
            s_sec += ds
            e_sec += ev.seconds
            timing[tr.number] = (ds, ev.seconds, ev.raw)
            if local is not None:
                local.told(ev.value)
            if ev.value > best:
                best, since = ev.value, 0
                best_scores = (tr.number, ev.scores)
            else:
                since += 1
                if patience is not None and since >= patience:
                    stopped = True
            if converge is not None:
                recent.append(ev.value)
                if len(recent) == converge[0] and min(recent) >= best - converge[1]:
                    stopped = True
    finally:
        if pool is not None:
            pool.shutdown(wait=True, cancel_futures=True)
    return build_result(
        form, ctx, study, spec=spec, trials=trials, storage=storage, key=key, warm=warm,
        stopped=stopped, sampler_seconds=s_sec, eval_seconds=e_sec,
        wall_seconds=time.perf_counter() - t_wall, timing=timing,
        extra=None if local is None else {"phases": local.phases}, best_scores=best_scores,
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


