"""``shapley``: how much of a form's fitted skill each mechanism carries.

Players are the form's terms (mechanism ids). The value of a coalition S is the *fitted training
objective* of the sub-form ``form.subset(S)`` (scale x the terms of S; the empty coalition is
the scale alone), each sub-form fitted by :func:`fireform.fitting.fit` with the same settings.
In a multiplicative formula a term's contribution is conditional on the others, so one-at-a-
time ablation misses interactions; the Shapley value averages each term's marginal contribution
over all coalitions of the others (formulas in :mod:`fireform.ablation.exact`).

- ``method="exact"`` (default up to ``max_exact`` = 10 players): all 2^n sub-forms are fitted,
  bottom-up by size, each warm-started from its fitted immediate subsets
  (:mod:`fireform.ablation.subsets`), every fit cached (:class:`~fireform.fitting.FitCache`).
- ``method="permutation" | "kernelshap" | "svarm"`` (default ``"permutation"`` above
  ``max_exact``): shapiq estimators with replicate t intervals (:mod:`fireform.ablation.sampled`);
  shapiq's batches of coalitions are fitted in parallel, warm-started the same way.

Every fit keeps the full training score vector of its best parameters (every region x every
component; ``FitResult.scores``), so the per-region and per-component decompositions come from
the same fits: the game is the same, only the column of the value matrix changes.

The value of a coalition is a fitted value, so it carries fit noise (a few 1e-3 for 150-trial
fits); a Shapley value or share below that is not distinguishable from zero.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from fireform.ablation import exact as ex
from fireform.ablation.executors import Executor, SerialExecutor, make_executor
from fireform.ablation.sampled import METHODS, MemoGame, estimate
from fireform.ablation.subsets import SubsetRunner, label
from fireform.ablation.tasks import FitSettings
from fireform.exceptions import FitError
from fireform.fitting import FitCache, FitContext, gate_inputs
from fireform.fitting.cache import as_cache
from fireform.fitting.objective import WORST
from fireform.fitting.samplers import SUBSET_SAMPLER
from fireform.forms import Form
from fireform.scoring import COMPONENTS, CONVENTIONS

if TYPE_CHECKING:
    from fireform.drivers import Drivers
    from fireform.fitting import Objective, Split

__all__ = ["shapley", "ShapleyResult", "MAX_EXACT", "LOCAL_REFINER", "FIRST_CONVERGE", "value_matrix", "metric_columns",
           "cannot_be_neutral"]

MAX_EXACT = 10
# every coalition beyond the broad ones: CMA-ES started at the best of its warm-start points (no
# TPE phase) with a step of 0.02 of the normalised box. Its warm points sit close to the optimum;
# a step of 0.1 perturbs all n parameters at once (norm ~0.1 sqrt(n)). Measured on 11 sampled
# coalitions of 3-7 terms (1 degree demo): 0.02 with 4 generations of patience scored >= 0.1
# with 8 in 11/11 (up to +0.041), in fewer trials (docs/ablation.md)
LOCAL_REFINER = {"tpe_fraction": 0.0, "sigma0": 0.02}
# the broad fits (coalitions of <= broad_size terms) stop once 4 CMA-ES generations in a row all
# scored within 1e-3 (the loop's fit-noise floor) of the best: the search has collapsed, and
# without restarts it finds nothing more. Replayed on the 37 broad fits of the 8-term benchmark
# (1 degree, 450 trials each, no stop): 13684 trials instead of 16650, none ending more than
# 0.00022 below its 450-trial value. A budget by parameter count (100 + 40 n trials) or a
# patience (even 25 generations without a gain of 1e-4) lost 0.012-0.017: broad CMA-ES still
# improves after 400 trials on 3-9 parameters (docs/ablation.md)
FIRST_CONVERGE = (4, 1e-3)


def metric_columns(regions, *, components=None, conventions=None) -> list[tuple[str, str]]:
    """(region, metric) columns of the value matrix: every component, then ``overall_<conv>``
    for every convention, per region."""
    comps = list(components or COMPONENTS)
    convs = list(conventions or CONVENTIONS)
    return [(r, m) for r in regions for m in (*comps, *(f"overall_{c}" for c in convs))]


def value_matrix(results, columns) -> np.ndarray:
    """(len(results), 1 + len(columns)): the fitted objective, then every (region, metric) score
    of each FitResult's best parameters (no refit: ``FitResult.scores`` holds them). A score
    that is not finite (undefined: e.g. the spatial correlation of the scale-only form, which is
    uniform in space) counts as 0.0, the worst score, as it does in the objective itself
    (:data:`fireform.fitting.objective.WORST`)."""
    out = np.full((len(results), 1 + len(columns)), np.nan)
    for i, r in enumerate(results):
        out[i, 0] = r.value
        s = r.scores
        vec = {reg: s.vector(reg) for reg in s.regions}
        for j, (reg, m) in enumerate(columns, start=1):
            if m.startswith("overall_"):
                out[i, j] = s.overall(m[len("overall_"):], reg)
            else:
                out[i, j] = vec[reg].get(m, np.nan)
    return np.where(np.isfinite(out), out, WORST)


@dataclass(frozen=True, eq=False)
class ShapleyResult:
    """Tidy tables of one Shapley ablation (all DataFrames; see ``shapley``).

    values        player, value, share, rank, lo, hi, method — of the training objective;
                  shares sum to 1, values to ``total_gain`` = v(all) - v(scale only)
    interactions  a, b, value, lo, hi — pairwise Shapley interaction indices (objective)
    subsets       one row per fitted coalition: subset, size, mask, value, fit statistics,
                  warm_from, start_value (the best source's optimum with the terms it lacks at
                  their most constant settings, evaluated as the fit's trial: value >= it), one
                  bool column per player
    regions       region, player, value, share — the objective's metric in every region
    components    region, metric, player, value, share — every component and every Overall
                  convention, every region (metric names: components, ``overall_<conv>``)
    subset_scores subset, region, metric, value — the raw per-coalition score vectors
    """

    values: pd.DataFrame
    interactions: pd.DataFrame
    subsets: pd.DataFrame
    regions: pd.DataFrame
    components: pd.DataFrame
    subset_scores: pd.DataFrame
    players: tuple[str, ...]
    form_json: str
    form_hash: str
    objective: object
    method: str
    settings: FitSettings
    total_gain: float
    n_fits: int  # coalitions fitted (cache hits included)
    fits_run: int  # fits that actually ran
    wall_seconds: float
    executor: str
    fits: dict = field(default_factory=dict, repr=False)  # subset label -> FitResult
    # the broad fits' settings (coalitions of at most broad_size terms), before per-form resolution
    first_settings: FitSettings | None = None

    @property
    def form(self):
        return Form.from_json(self.form_json)

    def fit_of(self, names=()) :
        """The FitResult of the coalition ``names`` (term ids; () = the scale alone)."""
        order = [p for p in self.players if p in set(names)]
        try:
            return self.fits[label(order)]
        except KeyError:
            raise FitError(f"coalition {label(order)!r} was not fitted ({self.method} Shapley)") from None

    @property
    def full_fit(self):
        return self.fit_of(self.players)

    def share(self, player: str) -> float:
        return float(self.values.set_index("player").at[player, "share"])

    def line(self) -> str:
        parts = " ".join(f"{r.player}={r.share:.3f}" for r in self.values.itertuples())
        return (f"shapley {self.form_hash} {self.method} players={len(self.players)} "
                f"fits={self.n_fits} (ran {self.fits_run}) gain={self.total_gain:.4f} "
                f"wall={self.wall_seconds:.1f}s | {parts}")

    def below_subsets(self, tol: float = 0.005) -> pd.DataFrame:
        """Coalitions fitted more than ``tol`` below their best immediate subset, with the cause.

        A coalition can always switch an added term towards its most constant setting, so it
        ends below a subset only if the fit fell short (``cause`` "fit short": its start, the
        subset's optimum with the term at that setting, scored within ``tol`` of the subset) or
        the term cannot be constant inside its bounds (``cause`` "cannot be neutral": that
        start already costs more than ``tol``; ``start_gap`` says how much). Columns: subset,
        added (the term), value, subset_value, gap (value - subset_value), start_gap, cause.
        A coalition whose start is unknown (no source) has cause "unknown"."""
        s = self.subsets
        val = dict(zip(s["mask"], s["value"]))
        lab = dict(zip(s["mask"], s["subset"]))
        start = dict(zip(s["mask"], s["start_value"]))
        rows = []
        for m in sorted(val, key=lambda m: (int(ex.popcount(m)), m)):
            subs = [(val[m ^ (1 << i)], i) for i in range(len(self.players))
                    if (m >> i) & 1 and (m ^ (1 << i)) in val]
            if not subs:
                continue
            vb, i = max(subs)
            gap = val[m] - vb
            if gap >= -tol:
                continue
            sg = start.get(m, np.nan) - vb
            cause = "unknown" if not np.isfinite(sg) else ("cannot be neutral" if sg < -tol else "fit short")
            rows.append({"subset": lab[m], "added": self.players[i], "value": val[m], "subset_value": vb,
                         "gap": gap, "start_gap": sg, "cause": cause})
        return pd.DataFrame(rows, columns=["subset", "added", "value", "subset_value", "gap", "start_gap",
                                           "cause"])

    def cannot_be_neutral(self, tol: float = 0.005) -> pd.DataFrame:
        """The terms that cannot be switched off inside their bounds (:func:`cannot_be_neutral`)."""
        return cannot_be_neutral(self.below_subsets(tol))

    def tables(self) -> dict[str, pd.DataFrame]:
        return {k: getattr(self, k) for k in
                ("values", "interactions", "subsets", "regions", "components", "subset_scores")}

    def to_dir(self, out) -> dict[str, Path]:
        """Write every table as ``<out>/shapley_<name>.csv``; returns the paths."""
        out = Path(out)
        out.mkdir(parents=True, exist_ok=True)
        paths = {}
        for k, df in self.tables().items():
            p = out / f"shapley_{k}.csv"
            df.to_csv(p, index=False)
            paths[k] = p
        return paths


def cannot_be_neutral(below: pd.DataFrame) -> pd.DataFrame:
    """From :meth:`ShapleyResult.below_subsets`: per term whose most constant setting already
    costs its coalitions more than the tolerance (term, coalitions, cost_min, cost_max, costs as
    positive score differences). Such a term's Shapley value includes that cost: a negative
    share says the term cannot be left neutral on these data, not only that it explains nothing."""
    cols = ["term", "coalitions", "cost_min", "cost_max"]
    if below is None or below.empty:
        return pd.DataFrame(columns=cols)
    b = below[below["cause"] == "cannot be neutral"]
    rows = [{"term": t, "coalitions": int(len(g)), "cost_min": float(-g["start_gap"].max()),
             "cost_max": float(-g["start_gap"].min())} for t, g in b.groupby("added", sort=True)]
    return pd.DataFrame(rows, columns=cols)


def _context(drivers: Drivers | Split | FitContext, objective: Objective | None, *, check: bool = True,
             override: bool = False) -> FitContext:
    # The input gate once for every subset fit (they share this context, which remembers it).
    ctx = FitContext.of(drivers, objective=objective)
    gate_inputs(ctx, check=check, override=override)
    return ctx


def shapley(
    form: Form,
    drivers: Drivers | Split | FitContext,
    *,
    objective=None,
    trials: int = 250,
    executor: Executor | str | None = None,
    sampler: str = SUBSET_SAMPLER,
    seed: int = 0,
    patience: int | None = None,
    patience_generations: int | None = 4,
    first_trials: int | None = None,
    first_patience_generations: int | None = None,
    first_converge_generations: int | None = FIRST_CONVERGE[0],
    first_converge_tol: float = FIRST_CONVERGE[1],
    first_sampler: str | None = None,
    broad_size: int = 2,
    sampler_options: dict | None = None,
    method: str = "auto",
    max_exact: int = MAX_EXACT,
    budget: int | None = None,
    replicates: int = 6,
    level: float = 0.95,
    warm_parents: int = 3,
    cache=None,
    workers: int | None = None,
    scheduler: str | None = None,
    progress: Callable[[int, str, object], None] | None = None,
    check: bool = True,
    override_checks: bool = False,
    top: Mapping[str, float] | None = None,
) -> ShapleyResult:
    """Shapley values of ``form``'s terms for the fitted training objective.

    drivers: Drivers (all training), a Split (``train`` only), or a FitContext (reused).
    objective: a :class:`fireform.fitting.Objective` (default: overall, ilamb2, global).
    trials / sampler / seed / patience / sampler_options: every subset's fit (one setting);
        coalitions of at most ``broad_size`` terms (2: single terms, pairs and the scale alone)
        get ``first_trials`` (default 3 x trials, at most 450) without patience (their term
        shapes seed every larger coalition), with ``first_sampler`` (default: ``sampler``, but
        broad ``cmaes`` for the local ``tpe+cmaes``); they stop only once converged:
        ``first_converge_generations`` (4) CMA-ES generations in a row all scoring within
        ``first_converge_tol`` (1e-3) of the best (None: never; :data:`FIRST_CONVERGE`);
        ``first_patience_generations`` stops them after that many CMA-ES generations
        without gain (default None: never; measured to lose up to 0.017).
    patience_generations: early stop counted in CMA-ES generations instead of trials: a
        sub-form with n parameters stops after g x (4 + floor(3 ln n)) trials without gain
        (overrides ``patience``).
    executor: None (a local process pool of ``workers``, in-process when 1 core), "serial",
        "local", "dask", an Executor (:mod:`fireform.ablation.executors`); ``scheduler``: a Dask
        scheduler address or scheduler file (the executor is then Dask).
    method: "auto" (exact up to ``max_exact`` players, else "permutation"), "exact",
        "permutation", "kernelshap", "svarm". Sampled: ``budget`` coalitions per replicate
        (default 16 n), ``replicates`` runs for a ``level`` t interval.
    cache: a FitCache or a folder (fits on disk as they finish; a rerun recomputes nothing).
    progress: called as progress(n_done, subset_label, FitResult) after each coalition.
    check / override_checks: the input gate on the training drivers, before any fit
        (:mod:`fireform.fitting.inputs`; errors raise InputCheckError unless overridden).
    top: the whole form's fitted parameters (e.g. the run's incumbent). The grand coalition then
        starts exactly on that optimum and every other coalition also from it with the terms it
        lacks removed (scale re-levelled), beside its bottom-up sources: without it a game built
        only bottom-up can end its larger coalitions in another basin, below the fit it ablates
        (measured on a six-term twin-world incumbent: grand coalition 0.8671 against its own fit
        0.8812).
    """
    t0 = time.perf_counter()
    players = tuple(form.term_ids)
    n = len(players)
    if n == 0:
        raise FitError(f"form {form.hash} has no terms: nothing to ablate")
    if isinstance(broad_size, bool) or not isinstance(broad_size, int) or broad_size < 0:
        raise FitError(f"broad_size must be an integer >= 0 (coalition size), got {broad_size!r}")
    if method == "auto":
        method = "exact" if n <= max_exact else "permutation"
    if method != "exact" and method not in METHODS:
        raise FitError(f"unknown Shapley method {method!r}; valid: exact, {', '.join(METHODS)}")
    if method == "exact" and n > max(max_exact, 0) and n > ex.MAX_EXACT:
        raise FitError(f"exact Shapley over {n} players is 2^{n} fits; use a sampled method")
    ctx = _context(drivers, objective, check=check, override=override_checks)
    if sampler_options is None and sampler == "tpe+cmaes":
        sampler_options = dict(LOCAL_REFINER)
    settings = FitSettings(trials=int(trials), sampler=sampler, seed=int(seed),
                           patience=None if patience_generations else patience,
                           sampler_options=tuple(sorted((sampler_options or {}).items())),
                           patience_generations=patience_generations or None)
    # single terms search their whole box (nothing to inherit): a local refiner's options do
    # not apply to them, CMA-ES's broad start does
    fs = first_sampler or ("cmaes" if sampler == "tpe+cmaes" else sampler)
    first = replace(settings, trials=int(first_trials or min(3 * trials, 450)), patience=None,
                    patience_generations=first_patience_generations or None, sampler=fs,
                    converge_generations=first_converge_generations or None,
                    converge_tol=float(first_converge_tol),
                    sampler_options=settings.sampler_options if fs == sampler else ())
    fc = as_cache(cache)
    if fc is None:
        fc = FitCache()
    root = None if fc.root is None else str(fc.root)
    own = not isinstance(executor, Executor)
    exe = make_executor(executor, workers=workers, scheduler=scheduler)
    try:
        exe.bind(ctx.drivers, ctx.fingerprint)
        runner = SubsetRunner(form, players, ctx, settings, exe, cache=fc, cache_root=root,
                              warm_parents=warm_parents, first_settings=first,
                              broad_size=broad_size, top=None if top is None else dict(top), progress=progress)
        if method == "exact":
            return _exact(form, players, ctx, runner, settings, exe, t0)
        return _sampled(form, players, ctx, runner, settings, exe, t0, method=method,
                        budget=budget or 16 * n, replicates=replicates, level=level, seed=seed)
    finally:
        if own:
            exe.close()


# -- assembling the tables ---------------------------------------------------------------------
def _shares(phi: np.ndarray, gain: np.ndarray) -> np.ndarray:
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(gain != 0, phi / gain, np.nan)


def _subset_tables(runner: SubsetRunner, players, columns, V, masks):
    rows: list[dict] = []
    srows: list[dict] = []
    for i, m in enumerate(masks):
        sf = runner.fitted[m]
        r = sf.result
        row = {"subset": sf.label, "size": len(sf.members), "mask": int(m), "value": r.value,
               "n_trials": r.n_trials, "trials_requested": r.trials_requested,
               "stopped_early": r.stopped_early, "wall_seconds": r.wall_seconds,
               "eval_seconds": r.eval_seconds, "from_cache": r.from_cache,
               "cache_key": r.cache_key, "warm_from": ";".join(sf.warm_from),
               "start_value": sf.start_value}
        row.update({p: p in sf.members for p in players})
        rows.append(row)
        srows.extend({"subset": sf.label, "region": reg, "metric": met, "value": V[i, j + 1]}
                     for j, (reg, met) in enumerate(columns))
    return pd.DataFrame(rows), pd.DataFrame(srows)


def _decomposition(players, columns, phi_cols, gain_cols, objective) -> tuple[pd.DataFrame, pd.DataFrame]:
    rows: list[dict] = []
    for j, (reg, met) in enumerate(columns):
        sh = _shares(phi_cols[:, j], np.full(len(players), gain_cols[j]))
        rows.extend({"region": reg, "metric": met, "player": p, "value": float(phi_cols[i, j]),
                     "share": float(sh[i]), "total_gain": float(gain_cols[j])}
                    for i, p in enumerate(players))
    comp = pd.DataFrame(rows)
    om = (f"overall_{objective.convention}" if objective.metric == "overall" else objective.metric)
    reg = comp[comp.metric == om].drop(columns="metric").reset_index(drop=True)
    return reg, comp


def _values_table(players, phi, gain, lo, hi, method) -> pd.DataFrame:
    sh = _shares(phi, np.full(len(players), gain))
    df = pd.DataFrame({"player": list(players), "value": phi, "share": sh, "lo": lo, "hi": hi,
                       "method": method})
    df["rank"] = df["value"].rank(ascending=False, method="first").astype(int)
    return df[["player", "value", "share", "rank", "lo", "hi", "method"]]


def _inter_table(players, inter, lo, hi) -> pd.DataFrame:
    n = len(players)
    return pd.DataFrame([{"a": players[i], "b": players[j], "value": float(inter[i, j]),
                          "lo": float(lo[i, j]), "hi": float(hi[i, j])}
                         for i in range(n) for j in range(i + 1, n)],
                        columns=["a", "b", "value", "lo", "hi"])


def _exact(form: Form, players, ctx: FitContext, runner, settings, exe, t0) -> ShapleyResult:
    n = len(players)
    masks = list(ex.masks_of(n))
    # bottom-up: a coalition waits for its immediate subsets (its warm-start sources)
    runner.run(masks, deps=lambda m: {m ^ (1 << i) for i in range(n) if (m >> i) & 1})
    results = [runner.fitted[m].result for m in masks]
    columns = metric_columns(results[0].scores.regions)
    V = value_matrix(results, columns)
    phi = ex.shapley_values(V, n)
    inter_m = ex.interaction_indices(V[:, 0], n)
    gain = V[-1] - V[0]
    nan = np.full(n, np.nan)
    values = _values_table(players, phi[:, 0], float(gain[0]), nan, nan, "exact")
    inter = _inter_table(players, inter_m, np.full((n, n), np.nan), np.full((n, n), np.nan))
    regions, comps = _decomposition(players, columns, phi[:, 1:], gain[1:], ctx.objective)
    subsets, sscores = _subset_tables(runner, players, columns, V, masks)
    return _result(form, players, ctx, runner, settings, exe, t0, "exact", values, inter, subsets,
                   regions, comps, sscores, float(gain[0]), masks)


def _sampled(form: Form, players, ctx: FitContext, runner, settings, exe, t0, *, method, budget, replicates, level,
             seed) -> ShapleyResult:
    n = len(players)
    columns: list = []

    def evaluate(new: list[int]) -> dict[int, np.ndarray]:
        # one shapiq batch: fitted in parallel, waves by size (smaller coalitions warm-start larger)
        batch = set(new)
        runner.run(new, deps=lambda m: {x for x in batch if ex.popcount(x) < ex.popcount(m)})
        res = [runner.fitted[m].result for m in new]
        if not columns:
            columns.extend(metric_columns(res[0].scores.regions))
        return dict(zip(new, value_matrix(res, columns)))

    game = MemoGame(n, evaluate, column=0)
    est = estimate(game, method=method, budget=budget, replicates=replicates, level=level, seed=seed)
    values = _values_table(players, est.values, float(est.values.sum()), est.lo, est.hi, method)
    inter = _inter_table(players, est.interactions, est.inter_lo, est.inter_hi)
    # per region / component: the same estimator on the same coalitions (the memo), other columns
    phis, gains = [], []
    for j in range(len(columns)):
        g = MemoGame(n, evaluate, column=j + 1)
        g.memo = game.memo
        e = estimate(g, method=method, budget=budget, replicates=replicates, level=level,
                     seed=seed, interactions=False)
        phis.append(e.values)
        gains.append(float(e.values.sum()))
    regions, comps = _decomposition(players, columns, np.array(phis).T, np.array(gains), ctx.objective)
    masks = sorted(runner.fitted, key=lambda m: (int(ex.popcount(m)), m))
    V = value_matrix([runner.fitted[m].result for m in masks], columns)
    subsets, sscores = _subset_tables(runner, players, columns, V, masks)
    return _result(form, players, ctx, runner, settings, exe, t0, method, values, inter, subsets,
                   regions, comps, sscores, float(est.values.sum()), masks)


def _result(form: Form, players, ctx: FitContext, runner, settings, exe, t0, method, values, inter, subsets, regions,
            comps, sscores, gain, masks) -> ShapleyResult:
    return ShapleyResult(
        values=values, interactions=inter, subsets=subsets, regions=regions, components=comps,
        subset_scores=sscores, players=players, form_json=form.to_json(), form_hash=form.hash,
        objective=ctx.objective, method=method, settings=settings, total_gain=gain,
        n_fits=len(masks), fits_run=runner.fits_run, wall_seconds=time.perf_counter() - t0,
        executor=exe.describe() if not isinstance(exe, SerialExecutor) else "serial",
        fits={runner.fitted[m].label: runner.fitted[m].result for m in masks},
        first_settings=runner.first_settings,
    )
