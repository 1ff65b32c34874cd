"""Shapley benchmark: exact 8-mechanism Shapley (all 256 subset fits) on the 1 degree, 16-year
twin world, and how close its warm-started fits come to plain 1000-trial TPE fits.

Target (issue 5): <= 15 minutes on 2 cores; on a sample of >= 10 subsets each fitted value within
0.005 of a plain (cold-start) 1000-trial TPE fit of the same subset. Prints, measured in this run:
fit budget (settings, trials run), wall time, fits per minute, the accuracy sample, and the ratio
to plain sequential cold-start 1000-trial fits (their mean wall time on the sample, times 256).

Monotone check (issue 15): every coalition more than 0.005 (and more than ``--noise``) below its
best immediate subset, with its cause: the added term cannot reach neutral (the subset's optimum
with the term at its most constant setting, ``ShapleyResult.subsets.start_value``, already scores
below the subset) or the fit fell short of that start. Wall and CPU time (driver + workers).

World: :func:`fireform.twin.demo_drivers` (the loop's demo truth, noise 0.2) at 1 degree,
2001-2016, all 16 years as training data. Form: :data:`fireform.twin.DEMO_FORM_IDS`.

    python benchmarks/bench_shapley.py [--workers 2] [--trials 150] [--sampler tpe]
        [--patience 40] [--players 8] [--sample 10] [--ref-trials 1000] [--executor local]
        [--first-converge 4] [--first-tol 1e-3] [--save fits.pkl]
"""

from __future__ import annotations

import argparse
import os
import resource
import time

import numpy as np

_NEUTRAL: dict[str, dict] = {}


def start_value(ctx, form, sub_params: dict, tid: str) -> float:
    """The value of the coalition ``form`` (its best immediate subset + term ``tid``) at the
    subset's optimum with ``tid`` at its most constant setting (``neutral_params``) and the scale
    divided by the term's level there (its mean weighted by area x reference burned area): the
    start a fit of ``form`` is given (``ShapleyResult.subsets.start_value``); computed here so the
    check also runs on fits made without it."""
    from fireform.ablation.subsets import neutral_params

    single = form.subset([tid])
    neu = _NEUTRAL.get(tid)
    if neu is None:
        neu = _NEUTRAL[tid] = neutral_params(single, ctx)
    pt1 = dict(zip(single.param_names, single.default_theta().tolist()))
    pt1.update(neu)
    term = np.asarray(ctx.predict(single, pt1), dtype=np.float64) / pt1["scale"]
    w = np.asarray(ctx.benchmark.area, dtype=np.float64)[:, None] * np.nan_to_num(
        np.maximum(np.asarray(ctx.benchmark.obs, dtype=np.float64), 0.0))
    ok = np.isfinite(term)
    level = float((w * np.where(ok, term, 0.0)).sum() / np.where(ok, w, 0.0).sum())
    pt = {k: v for k, v in sub_params.items() if k in form.param_names}
    pt.update(neu)
    sc = form.params[0]
    pt["scale"] = float(min(max(sub_params["scale"] / level, sc.lo), sc.hi))
    return ctx.evaluate(form, form.theta_vector(pt)).value


def monotone_report(r, d, *, tols) -> None:
    """Coalitions fitted below their best immediate subset, each with its cause
    (``ShapleyResult.below_subsets``): the added term cannot reach neutral (its start, the
    subset's optimum with the term at its most constant setting, already scores below the
    subset) or the fit fell short (it ended below a start that did not). Fits made without a
    start (old caches) get theirs evaluated here."""
    from fireform.fitting import FitContext

    if not hasattr(r, "below_subsets"):
        print("monotone check: this library has no ShapleyResult.below_subsets")
        return
    low_all = r.below_subsets(min(tols))
    ctx = None
    rows = []
    for x in low_all.itertuples():
        sg, how = x.start_gap, "fit's first trial"
        if x.cause == "unknown":
            ctx = ctx or FitContext(d)
            sub = "+".join(t for t in x.subset.split("+") if t != x.added) or "(scale)"
            sg = start_value(ctx, r.fits[x.subset].form, r.fits[sub].params, x.added) - x.subset_value
            how = "evaluated by the benchmark"
        rows.append((x.subset, x.added, x.value, x.subset_value, x.gap, sg, how))
    n_coal = len(r.subsets) - 1
    for tol in sorted(set(tols), reverse=True):
        low = [x for x in rows if x[4] < -tol]
        neutral = [x for x in low if x[5] < -tol]
        short = [x for x in low if x[5] >= -tol]
        by_term: dict[str, int] = {}
        for x in neutral:
            by_term[x[1]] = by_term.get(x[1], 0) + 1
        print(f"coalitions with v(S) < max_i v(S minus i) - {tol:g}: {len(low)}/{n_coal}; "
              f"cause: added term cannot reach neutral (its neutral start is already > {tol:g} below the "
              f"subset) {len(neutral)} ({', '.join(f'{k} {v}' for k, v in sorted(by_term.items()))}); "
              f"fit short of its start's subset {len(short)}")
    for x in rows:
        if x[4] < -max(tols) and x[5] >= -max(tols):
            print(f"  SHORT {x[0]}: v {x[2]:.4f} < subset without {x[1]} {x[3]:.4f} ({x[4]:+.4f}); "
                  f"its neutral start {x[5]:+.4f} ({x[6]})")
    costs: dict[str, list[float]] = {}
    for x in rows:
        if x[5] < -max(tols):
            costs.setdefault(x[1], []).append(x[5])
    for k, v in sorted(costs.items()):
        print(f"  {k}: its most constant setting costs {-max(v):.4f} to {-min(v):.4f} of the subset's value "
              f"on {len(v)} coalitions (cannot be switched off inside its bounds)")


def _broad_stop(r) -> str:
    """How the broad fits stop, as the run's settings say."""
    f = getattr(r, "first_settings", None)
    if f is None:
        return "a library without broad-fit settings"
    parts = []
    if f.converge_generations:
        parts.append(f"stop once {f.converge_generations} generations score within {f.converge_tol:g} of the best")
    if f.patience_generations:
        parts.append(f"patience {f.patience_generations} generations")
    return "; ".join(parts) or "no early stop"


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--executor", default="local", help="local | dask | serial")
    ap.add_argument("--trials", type=int, default=250)
    ap.add_argument("--sampler", default="tpe+cmaes", help="tpe+cmaes: local CMA-ES from the warm start")
    ap.add_argument("--patience", type=int, default=0, help="trials without gain (0: never; --generations wins)")
    ap.add_argument("--generations", type=int, default=4, help="CMA-ES generations without gain (0: use --patience)")
    ap.add_argument("--first-trials", type=int, default=None, help="broad fits (default min(3x trials, 450))")
    ap.add_argument("--first-generations", type=int, default=0,
                    help="broad fits stop after this many CMA-ES generations without gain (0: never)")
    ap.add_argument("--first-converge", type=int, default=None,
                    help="broad fits stop once this many CMA-ES generations all score within --first-tol "
                         "of the best (default: shapley's, 4; 0: never)")
    ap.add_argument("--first-tol", type=float, default=None)
    ap.add_argument("--broad-size", type=int, default=2, help="coalitions of up to this many terms get the broad fit")
    ap.add_argument("--players", type=int, default=8)
    ap.add_argument("--sample", type=int, default=10, help="subsets checked against plain TPE")
    ap.add_argument("--ref-trials", type=int, default=1000)
    ap.add_argument("--ref-seeds", type=int, default=1,
                    help="plain TPE reference seeds per subset (>= 2 also prints the reference's own "
                         "seed-to-seed spread: how far two plain 1000-trial fits of one subset differ)")
    ap.add_argument("--res", type=float, default=1.0)
    ap.add_argument("--years", default="2001-2016")
    ap.add_argument("--cache", default=None, help="fit cache folder (default: none, all fits run)")
    ap.add_argument("--ref-cache", default=None, help="cache folder for the plain reference fits")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--noise", type=float, default=1e-3,
                    help="fit noise for the monotone check (the loop's floor, budget.min_noise)")
    ap.add_argument("--save", default=None,
                    help="pickle each fit's trial values (subset, parameters, values in trial order) here")
    a = ap.parse_args()

    from fireform.ablation import shapley
    from fireform.fitting import FitContext, fit
    from fireform.twin import DEMO_FORM_IDS, demo_drivers, demo_form

    y0, y1 = (int(x) for x in a.years.split("-"))
    print(f"load average at start: {os.getloadavg()[0]:.2f} {os.getloadavg()[1]:.2f} "
          f"{os.getloadavg()[2]:.2f} on {os.cpu_count()} cpus", flush=True)
    t = time.perf_counter()
    d = demo_drivers(res=a.res, years=(y0, y1))
    form = demo_form(DEMO_FORM_IDS[: a.players])
    print(f"world {a.res:g} deg {y0}-{y1}: {d.n_cells} cells x {d.n_months} months "
          f"({time.perf_counter() - t:.1f}s); form {form.hash}: {len(form.terms)} terms, "
          f"{len(form.params)} parameters: {', '.join(form.term_ids)}", flush=True)

    def cpu_split() -> tuple[float, float]:  # this process, its reaped children (the pool's workers, once closed)
        me, ch = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
        return me.ru_utime + me.ru_stime, ch.ru_utime + ch.ru_stime

    def cpu_now() -> float:
        return sum(cpu_split())

    t0 = time.perf_counter()
    c0 = cpu_now()
    d0 = cpu_split()[0]
    last = [t0]

    def progress(k, lab, res):
        if k % 16 == 0 or k == 2 ** len(form.terms):
            now = time.perf_counter()
            print(f"  {k:4d} fits  {now - t0:7.1f}s  load {os.getloadavg()[0]:.1f}", flush=True)
            last[0] = now

    more = {"first_patience_generations": a.first_generations} if a.first_generations else {}
    if a.first_converge is not None:
        more["first_converge_generations"] = a.first_converge
    if a.first_tol is not None:
        more["first_converge_tol"] = a.first_tol
    r = shapley(form, d, **more, trials=a.trials, sampler=a.sampler, patience=a.patience or None, seed=a.seed,
                patience_generations=a.generations or None, first_trials=a.first_trials,
                broad_size=a.broad_size, executor=a.executor, workers=a.workers, cache=a.cache, progress=progress)
    wall = time.perf_counter() - t0
    cpu = cpu_now() - c0
    # first, so a library older than this benchmark (a baseline) still reports its times
    drv = cpu_split()[0] - d0
    print(f"cpu time: {cpu:.1f}s (this process and its workers: driver {drv:.1f}s, workers {cpu - drv:.1f}s); load average now "
          f"{os.getloadavg()[0]:.2f} {os.getloadavg()[1]:.2f} {os.getloadavg()[2]:.2f}", flush=True)
    s = r.subsets
    print("\n== exact Shapley ==")
    print(r.line())
    print(r.values.to_string(index=False))
    st = r.settings
    pat = (f"patience {a.generations} CMA-ES generations (4+floor(3 ln n) trials each)"
           if a.generations else f"patience {a.patience or None} trials")
    print(f"fit budget: {st.sampler} {dict(st.sampler_options)}, trials <= {a.trials} per subset, {pat}, "
          f"warm start from the 3 best immediate subsets (+ missing term at its most constant setting); "
          f"coalitions of <= {a.broad_size} terms: {r.subsets[r.subsets['size'] <= a.broad_size].trials_requested.max()} "
          f"trials of whole-box CMA-ES ({_broad_stop(r)}); "
          f"trials run: total {int(s.n_trials.sum())}, median {int(s.n_trials.median())}, "
          f"{int(s.stopped_early.sum())}/{len(s)} stopped early")
    monotone_report(r, d, tols=(0.005, a.noise))
    if a.save:
        import pickle

        with open(a.save, "wb") as f:
            pickle.dump({k: {"n_params": len(v.params), "values": v.trials["value"].to_numpy(),
                             "value": v.value} for k, v in r.fits.items()}, f)
    print(f"wall time: {wall:.1f}s ({wall / 60:.2f} min) on {a.workers} workers ({r.executor}); "
          f"{r.n_fits} fits, {r.fits_run} run, {60 * r.n_fits / wall:.1f} fits/min; "
          f"sum of fit walls {s.wall_seconds.sum():.0f}s")

    # -- accuracy and speed against plain cold-start fits -----------------------------------
    if a.sample <= 0:
        print(f"RESULT wall_min={wall / 60:.2f} cpu_min={cpu / 60:.2f} fits_per_min={60 * r.n_fits / wall:.1f}")
        return
    rng = np.random.default_rng(a.seed)
    by_size = {k: s[s["size"] == k] for k in sorted(s["size"].unique()) if k > 0}
    picks = []
    sizes = [k for k in by_size]
    while len(picks) < min(a.sample, len(s) - 1):  # stratified by size, round robin
        for k in sizes:
            cand = by_size[k][~by_size[k].subset.isin(picks)]
            if len(cand) and len(picks) < a.sample:
                picks.append(cand.subset.iloc[int(rng.integers(len(cand)))])
    ctx = FitContext(d)
    print(f"\n== plain cold-start TPE, {a.ref_trials} trials, sequential, on {len(picks)} subsets ==")
    rows, spread = [], []
    for lab in picks:
        sub = r.fits[lab].form
        refs = [fit(sub, ctx, trials=a.ref_trials, sampler="tpe", seed=a.seed + k, cache=a.ref_cache)
                for k in range(max(a.ref_seeds, 1))]
        ref, ours = refs[0], r.fits[lab]
        rows.append((lab, ours.value, ref.value, ours.n_trials, ref.wall_seconds))
        more = ""
        if len(refs) > 1:
            vals = [x.value for x in refs]
            spread.append(max(vals) - min(vals))
            more = (f"  other seeds {' '.join(f'{v:.4f}' for v in vals[1:])} (spread {spread[-1]:.4f};"
                    f" ours - best {ours.value - max(vals):+.4f})")
        print(f"  {lab:<70s} ours {ours.value:.4f} ({ours.n_trials:3d} trials)  plain {ref.value:.4f}"
              f"  diff {ours.value - ref.value:+.4f}  plain wall {ref.wall_seconds:.1f}s"
              f"{' (cached)' if ref.from_cache else ''}{more}", flush=True)
    diffs = np.array([o - p for _, o, p, _, _ in rows])
    plain_mean = float(np.mean([w for *_, w in rows]))
    within = int(np.sum(np.abs(diffs) <= 0.005))
    print(f"accuracy: ours - plain: min {diffs.min():+.4f} median {np.median(diffs):+.4f} "
          f"max {diffs.max():+.4f}; |diff| <= 0.005 on {within}/{len(rows)}; "
          f"ours >= plain - 0.005 on {int(np.sum(diffs >= -0.005))}/{len(rows)}")
    if spread:
        sp = np.array(spread)
        print(f"plain TPE's own spread over {a.ref_seeds} seeds (max - min per subset): median "
              f"{np.median(sp):.4f}, max {sp.max():.4f}; > 0.005 on {int(np.sum(sp > 0.005))}/{len(sp)}")
    seq = plain_mean * r.n_fits
    print(f"plain sequential cold-start estimate: {plain_mean:.1f}s per {a.ref_trials}-trial fit "
          f"(mean of the {len(rows)} sampled subsets, sizes stratified) x {r.n_fits} = {seq:.0f}s "
          f"({seq / 60:.1f} min); ratio plain / ours = {seq / wall:.1f}x")
    print(f"load average at end: {os.getloadavg()[0]:.2f} {os.getloadavg()[1]:.2f} {os.getloadavg()[2]:.2f}")
    print(f"RESULT wall_min={wall / 60:.2f} cpu_min={cpu / 60:.2f} fits_per_min={60 * r.n_fits / wall:.1f} "
          f"within_0.005={within}/{len(rows)} ratio={seq / wall:.1f}")


if __name__ == "__main__":
    main()
