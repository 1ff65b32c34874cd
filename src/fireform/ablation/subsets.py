"""Fitting many sub-forms of one form: dependency order, warm starts, cache, executor.

Warm start (where the speed comes from). A subset S is fitted after its *sources*: the already
fitted subsets at the smallest Hamming distance from S (for the exact path, bottom-up by size,
these are its k immediate subsets S \\ {i}, all fitted before S becomes ready). From the best
``warm_parents`` (3) sources (by training objective) S gets, as its first trials:

1. the *union* point: the scale of the best source, and for every term of S the parameters of
   the best source holding that term (a term no source holds starts at its defaults); ``fit``
   re-levels its scale to the reference's total (``rescaled``);
2. each source's *exact start*: its best parameters as they are, each term it lacks at its most
   constant setting (:func:`neutral_setting`) and the scale divided by those terms' levels,
   evaluated as given (``fit(warm_exact=...)``, no re-levelling). For a term that can be
   constant this predicts exactly what the source predicts, so S's fit, whose best is never
   below its first trials, never ends below its best immediate subset. Where S does end below
   it, the added term cannot be constant inside its bounds, and ``SubsetFit.start_value`` (the
   best source's exact start) says by how much that alone costs. Measured at 3 degrees (demo
   world, 2001-2016, 5 players): re-levelling these points to the reference's total, as before,
   put cropland+gpp 0.007 below gpp alone (0.9256 against 0.9327; the exact start scores 0.9322);
   every coalition still below a subset by > 0.005 now holds ``fuel_biomass_hump``, a
   log-Gaussian (sigma <= 2) whose most constant setting costs 0.009-0.065 of the subset's value.

The union point is usually within noise of S's optimum: each term's shape was fitted in k-1
contexts, and the sources that share most of S fix most of its parameters, so the sampler only
refines. The smallest coalitions (up
to ``broad_size`` terms: single terms and pairs by default) are what every larger coalition
inherits, so they get their own, broad budget (``first_settings``: by default 3x the trials of
CMA-ES over the whole box, no patience; a fit ends early only once CMA-ES has converged, 4
generations in a row within 1e-3 of the best, ``shapley.FIRST_CONVERGE``). Measured on the 1 degree demo world: a 1-parameter
term stopped early from its defaults stayed 0.03 below a 1000-trial fit; a pair refined locally
from its sources (hyperarid + lightning) stayed 0.007 below, in the basin where the hyperarid
term is switched off, while broad CMA-ES found the plain-TPE optimum (0.5402 vs 0.5399); every
coalition holding them inherited the gap.

Determinism: the sources of S are chosen among subsets fitted *before this batch started* plus
S's declared dependencies (all finished when S is submitted), never among fits that merely
happened to finish earlier, so the warm-start points, and hence every FitResult (fixed seed),
are the same on one core, a process pool or a Dask cluster, whatever the completion order.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING

import numpy as np
from scipy.optimize import minimize

from fireform.ablation.exact import members, popcount
from fireform.ablation.tasks import FitSettings, SubsetTask
from fireform.exceptions import FitError
from fireform.fitting import SamplerSpec, fit_key, warm_points
from fireform.fitting.study import point_values

if TYPE_CHECKING:
    from fireform.fitting import FitContext, FitResult
    from fireform.forms import Form

__all__ = ["SubsetFit", "SubsetRunner", "Neutral", "label", "expected_key", "neutral_setting", "neutral_params",
           "exact_start"]


def label(names) -> str:
    """A subset's name: term ids joined by '+', or '(scale)' for the empty subset."""
    return "+".join(names) or "(scale)"


@dataclass(frozen=True)
class SubsetFit:
    mask: int
    members: tuple[str, ...]
    result: FitResult
    warm_from: tuple[str, ...]  # labels of the warm-start sources
    # the value of the first exact warm point: the best source's optimum with the terms it lacks
    # at their most constant settings (NaN: no source). The fit's value is never below it.
    start_value: float = float("nan")

    @property
    def label(self) -> str:
        return label(self.members)


def expected_key(form: Form, ctx: FitContext, settings: FitSettings, warm, warm_exact=()) -> str:
    """The cache key ``fit`` will give this fit, so a cached subset is never even submitted."""
    spec = SamplerSpec(settings.sampler, int(settings.seed), tuple(dict(settings.sampler_options).items()))
    return fit_key(form, ctx, spec=spec, trials=settings.trials, patience=settings.patience,
                   in_flight=settings.in_flight, warm=warm_points(form, list(warm) or None),
                   warm_exact=warm_points(form, list(warm_exact) or None), converge=settings.converge)


@dataclass(frozen=True)
class Neutral:
    """A term's most constant setting (:func:`neutral_setting`)."""

    params: dict[str, float]  # the term's parameters (prefixed names, the scale excluded)
    level: float  # the term's mean there, weighted by area x reference burned area
    cv: float  # its area-weighted coefficient of variation there (0: exactly constant)


@dataclass(frozen=True)
class _Weights:
    """What :func:`_cv_and_level` needs of the reference, built once per term: for a prediction
    finite everywhere (the usual case) the CV's weights are the cell areas and the level's
    weights area x reference burned area; bit for bit the arrays the general path builds."""

    w: np.ndarray  # A_i over every cell x month
    tot: float
    wo: np.ndarray  # A_i max(obs_it, 0) where obs is finite, else 0
    wo_sum: float

    @classmethod
    def of(cls, a: np.ndarray, obs: np.ndarray) -> "_Weights":
        w = np.broadcast_to(a, obs.shape).copy()
        wo = np.where(np.isfinite(obs), a * np.maximum(np.nan_to_num(obs), 0.0), 0.0)
        return cls(w, float(w.sum()), wo, float(wo.sum()))


def _cv_and_level(pred: np.ndarray, a: np.ndarray, obs: np.ndarray,
                  wts: _Weights | None = None) -> tuple[float, float]:
    ok = np.isfinite(pred)
    if wts is not None and ok.all():
        m = float((wts.w * pred).sum()) / wts.tot if wts.tot > 0 else np.nan
        if not m > 0:
            return np.inf, np.nan
        cv = float(np.sqrt((wts.w * (pred - m) ** 2).sum() / wts.tot)) / m
        level = float((wts.wo * pred).sum() / wts.wo_sum) if wts.wo_sum > 0 else m
        return cv, level
    w = np.where(ok, a, 0.0)
    tot = float(w.sum())
    if tot <= 0:
        return np.inf, np.nan
    m = float((w * np.where(ok, pred, 0.0)).sum()) / tot
    if not m > 0:
        return np.inf, np.nan
    cv = float(np.sqrt((w * np.where(ok, pred - m, 0.0) ** 2).sum() / tot)) / m
    wo = np.where(ok & np.isfinite(obs), a * np.maximum(np.nan_to_num(obs), 0.0), 0.0)
    level = float((wo * np.where(ok, pred, 0.0)).sum() / wo.sum()) if wo.sum() > 0 else m
    return cv, level


def neutral_setting(single: Form, ctx: FitContext, *, n: int = 48, seed: int = 0) -> Neutral:
    """The setting of the term of a one-term form ``single`` (scale x term) whose prediction is
    closest to a constant: the smallest area-weighted coefficient of variation
    CV = sqrt(sum_i A_i sum_t (p_it - m)^2 / sum A T) / m, m the weighted mean, among the term's
    defaults, the corners of its box (up to 4 parameters) and ``n`` points drawn uniformly in it
    (log-uniformly for log parameters), then refined by a bounded Nelder-Mead search.
    In a multiplicative form a constant term is absorbed by the scale: a coalition S that adds
    this term to a fitted subset, with the scale divided by the term's ``level``, predicts what
    the subset predicts. A term that cannot be constant inside its bounds gets its least varying
    setting, and ``cv`` says how far from constant that is."""
    params = single.params[1:]  # the scale is not the term's
    if not params:
        return Neutral({}, 1.0, 0.0)
    lo = np.array([np.log(p.lo) if p.log else p.lo for p in params])
    hi = np.array([np.log(p.hi) if p.log else p.hi for p in params])
    logs = np.array([bool(p.log) for p in params])
    # the scale at 1 (whatever its bounds): the float32 prediction is then the term itself, and a
    # term that is exactly 1 gets a level of exactly 1
    base = {**dict(zip(single.param_names, single.default_theta().tolist())), "scale": 1.0}
    a = np.asarray(ctx.benchmark.area, dtype=np.float64)[:, None]
    obs = np.asarray(ctx.benchmark.obs, dtype=np.float64)
    wts = _Weights.of(a, obs)  # the reference's side once, not once per candidate (8x faster)

    def point(u) -> dict[str, float]:
        v = lo + np.clip(u, 0.0, 1.0) * (hi - lo)
        v = np.where(logs, np.exp(np.where(logs, v, 0.0)), v)
        return {**base, **{p.name: float(min(max(x, p.lo), p.hi)) for p, x in zip(params, v)}}

    memo: dict[tuple, tuple[float, float]] = {}

    def cv_of(u) -> float:
        k = tuple(np.round(np.clip(u, 0.0, 1.0), 12))
        if k not in memo:
            pred = np.asarray(ctx.predict(single, point(np.array(k))), dtype=np.float64)
            memo[k] = _cv_and_level(pred, a, obs, wts)
        return memo[k][0]

    u_def = np.array([((np.log(base[p.name]) if p.log else base[p.name]) - a0) / (b0 - a0) if b0 > a0 else 0.5
                      for p, a0, b0 in zip(params, lo, hi)])
    rng = np.random.default_rng(seed)
    cands = [u_def]
    if len(params) <= 4:  # a term is often flattest at a bound (a rate at its smallest)
        cands += [np.array(c, dtype=float) for c in np.ndindex(*(2,) * len(params))]
    cands += list(rng.random((n, len(params))))
    best = min(cands, key=cv_of)
    if np.isfinite(cv_of(best)) and cv_of(best) > 1e-9:
        r = minimize(cv_of, best, method="Nelder-Mead", bounds=[(0.0, 1.0)] * len(params),
                     options={"maxfev": 20 * len(params), "xatol": 1e-3, "fatol": 1e-6})
        if cv_of(r.x) < cv_of(best):
            best = np.clip(r.x, 0.0, 1.0)
    k = tuple(np.round(np.clip(best, 0.0, 1.0), 12))
    cv, level = memo[k]
    pt = point(np.array(k))
    return Neutral({p.name: pt[p.name] for p in params}, float(level) if np.isfinite(level) else 1.0, float(cv))


def exact_start(form: Form, params: Mapping[str, float], neutral: Callable[[str], Neutral]) -> dict[str, float]:
    """``params`` (a fit of a sub-form of ``form``) as a start of ``form``, to be evaluated as given
    (``fit(warm_exact=...)``): each term it lacks at its most constant setting (``neutral(term
    id)``) and the scale divided by those terms' levels, within the scale's bounds. For terms that
    can be constant this predicts exactly what the fit predicts, so a fit of ``form`` never ends
    below it; a term that cannot be constant shows in its cv."""
    names = set(form.param_names)
    pt = {k: v for k, v in params.items() if k in names}
    held = {k.split(".", 1)[0] for k in params}
    level = 1.0
    for tid in form.term_ids:
        if tid not in held:
            nt = neutral(tid)
            pt.update(nt.params)
            level *= nt.level
    sc = form.params[0]
    pt["scale"] = float(min(max(params["scale"] / level, sc.lo), sc.hi))
    return pt


def neutral_params(single: Form, ctx: FitContext, *, n: int = 48, seed: int = 0) -> dict[str, float]:
    """The parameters of :func:`neutral_setting` (the term's most constant setting)."""
    return neutral_setting(single, ctx, n=n, seed=seed).params


class SubsetRunner:
    """Fits sub-forms of ``form`` (by bitmask over ``players``) through an executor."""

    def __init__(self, form: Form, players, ctx: FitContext, settings: FitSettings, executor, *, cache=None,
                 cache_root: str | None = None, warm_parents: int = 3,
                 first_settings: FitSettings | None = None, broad_size: int = 2,
                 top: dict[str, float] | None = None,
                 progress: Callable[[int, str, object], None] | None = None) -> None:
        self.form = form
        self.players = tuple(players)
        self.ctx = ctx
        self.settings = settings
        # the smallest coalitions (up to broad_size terms) are what every larger coalition
        # inherits its term shapes from: they get their own, broad budget
        self.first_settings = first_settings or settings
        self.broad_size = int(broad_size)
        self.executor = executor
        self.cache = cache
        self.cache_root = cache_root
        self.warm_parents = int(warm_parents)
        # the whole form's fitted optimum (the run's incumbent): every coalition also starts from
        # it with the terms it lacks removed, so the game is anchored on the optimum it ablates
        self.top = None if top is None else {k: float(v) for k, v in top.items()}
        self.progress = progress
        self.fitted: dict[int, SubsetFit] = {}
        self._neutral: dict[str, Neutral] = {}
        self.fits_run = 0  # fits that ran (not served by the cache)
        self.seconds = 0.0

    # -- warm start ------------------------------------------------------------------------
    def sources(self, mask: int, allowed: set[int]) -> list[int]:
        cands = [m for m in allowed if m in self.fitted and m != mask]
        if not cands:
            return []
        dist = {m: int(popcount(m ^ mask)) for m in cands}
        d0 = min(dist.values())
        near = [m for m in cands if dist[m] == d0]
        near.sort(key=lambda m: (-self.fitted[m].result.value, m))
        return near[: self.warm_parents]

    def neutral(self, tid: str) -> Neutral:
        """Term ``tid``'s most constant setting and its level (computed once)."""
        if tid not in self._neutral:
            self._neutral[tid] = neutral_setting(self.form.subset([tid]), self.ctx)
        return self._neutral[tid]

    def warm(self, mask: int, srcs: list[int]) -> tuple[tuple[dict, ...], tuple[dict, ...]]:
        """(points ``fit`` re-levels, points it evaluates exactly as given) for coalition ``mask``:
        from its sources, and from ``top`` (the whole form's optimum: as it is for the grand
        coalition, first; re-levelled, the removed terms' level going with them, for the others)."""
        sub = self.form.subset(members(mask, self.players))
        relevel, exact = self._from_sources(sub, srcs) if srcs else ((), ())
        top = None if self.top is None or not mask else {k: v for k, v in self.top.items() if k in sub.param_names}
        if top is None or set(top) != set(sub.param_names):
            return relevel, exact
        if mask == (1 << len(self.players)) - 1:
            return relevel, (top, *exact)
        return (*relevel, top), exact

    def _from_sources(self, sub: Form, srcs: list[int]) -> tuple[tuple[dict, ...], tuple[dict, ...]]:
        best = self.fitted[srcs[0]].result.params
        union = {"scale": best["scale"]}
        for tid in sub.term_ids:
            for s in srcs:  # best source first
                p = self.fitted[s].result.params
                vals = {k: v for k, v in p.items() if k.split(".", 1)[0] == tid}
                if vals:
                    union.update(vals)
                    break
        exact: list[dict] = []
        for s in srcs:
            pt = exact_start(sub, self.fitted[s].result.params, self.neutral)
            if pt not in exact:
                exact.append(pt)
        return (union,), tuple(exact)

    # -- running ---------------------------------------------------------------------------
    def settings_for(self, mask: int) -> FitSettings:
        st = self.first_settings if int(popcount(mask)) <= self.broad_size else self.settings
        n_params = len(self.form.subset(members(mask, self.players)).params)
        return st.resolved(n_params)

    def _task(self, mask: int, srcs: list[int]) -> tuple[SubsetTask, Form]:
        names = members(mask, self.players)
        sub = self.form.subset(names)
        warm, exact = self.warm(mask, srcs)
        task = SubsetTask(key=label(names), form_json=sub.to_json(), warm=warm, warm_exact=exact,
                          objective=self.ctx.objective, settings=self.settings_for(mask),
                          data_key=self.ctx.fingerprint, cache_root=self.cache_root)
        return task, sub

    def _record(self, mask: int, res: FitResult, srcs: list[int], start: dict | None = None) -> None:
        sv = point_values(res, [start])[0] if start else np.nan
        self.fitted[mask] = SubsetFit(mask, members(mask, self.players), res,
                                      tuple(label(members(s, self.players)) for s in srcs), float(sv))
        if self.cache is not None:
            self.cache.put(res.cache_key, res)
        if self.progress is not None:
            self.progress(len(self.fitted), label(members(mask, self.players)), res)

    def run(self, masks: Iterable[int], *, deps: Callable[[int], set[int]]) -> dict[int, SubsetFit]:
        """Fit every mask in ``masks`` (skipping fitted ones); a mask is submitted once all of
        ``deps(mask)`` are fitted."""
        t0 = time.perf_counter()
        masks = list(masks)
        prior = set(self.fitted)
        todo = sorted(set(masks) - prior, key=lambda m: (int(popcount(m)), m))
        todo_set = set(todo)
        dep = {m: set(deps(m)) & (todo_set | prior) for m in todo}
        submitted: dict[str, tuple[int, list[int], dict | None]] = {}
        waiting = list(todo)
        while waiting or submitted:
            progressed = False
            for m in list(waiting):
                if not dep[m] <= set(self.fitted):
                    continue
                waiting.remove(m)
                srcs = self.sources(m, prior | dep[m])
                task, sub = self._task(m, srcs)
                hit = None
                if self.cache is not None:
                    hit = self.cache.get(expected_key(sub, self.ctx, task.settings, task.warm, task.warm_exact))
                start = task.warm_exact[0] if task.warm_exact else None
                if hit is not None:
                    self._record(m, replace(hit, from_cache=True), srcs, start)
                    progressed = True
                    continue
                submitted[task.key] = (m, srcs, start)
                self.executor.submit(task)
            if progressed:
                continue  # a cache hit may have made more masks ready
            if not submitted:
                if waiting:
                    raise FitError(f"subset fits stuck: {len(waiting)} subsets wait on unfitted dependencies")
                break
            key, res = self.executor.next_done()
            m, srcs, start = submitted.pop(key)
            if not res.from_cache:
                self.fits_run += 1
            self._record(m, res, srcs, start)
        self.seconds += time.perf_counter() - t0
        return {m: self.fitted[m] for m in masks}
