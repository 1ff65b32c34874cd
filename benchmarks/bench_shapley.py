"""Shapley benchmark: exact 8-mechanism Shapley (all 256 subset fits) on the 1 degree, 16-year
twin world, and how close its warm-started fits come to plain 1000-trial TPE fits.

Target (issue 5): <= 15 minutes on 2 cores; on a sample of >= 10 subsets each fitted value within
0.005 of a plain (cold-start) 1000-trial TPE fit of the same subset. Prints, measured in this run:
fit budget (settings, trials run), wall time, fits per minute, the accuracy sample, and the ratio
to plain sequential cold-start 1000-trial fits (their mean wall time on the sample, times 256).

World: :func:`fireform.twin.demo_drivers` (the loop's demo truth, noise 0.2) at 1 degree,
2001-2016, all 16 years as training data. Form: :data:`fireform.twin.DEMO_FORM_IDS`.

    python benchmarks/bench_shapley.py [--workers 2] [--trials 150] [--sampler tpe]
        [--patience 40] [--players 8] [--sample 10] [--ref-trials 1000] [--executor local]
"""

from __future__ import annotations

import argparse
import os
import time

import numpy as np


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--executor", default="local", help="local | dask | serial")
    ap.add_argument("--trials", type=int, default=250)
    ap.add_argument("--sampler", default="tpe+cmaes", help="tpe+cmaes: local CMA-ES from the warm start")
    ap.add_argument("--patience", type=int, default=0, help="trials without gain (0: never; --generations wins)")
    ap.add_argument("--generations", type=int, default=4, help="CMA-ES generations without gain (0: use --patience)")
    ap.add_argument("--first-trials", type=int, default=None, help="broad fits (default min(3x trials, 450))")
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
    a = ap.parse_args()

    from fireform.ablation import shapley
    from fireform.twin import DEMO_FORM_IDS, demo_drivers, demo_form
    from fireform.fitting import FitContext, fit

    y0, y1 = (int(x) for x in a.years.split("-"))
    print(f"load average at start: {os.getloadavg()[0]:.2f} {os.getloadavg()[1]:.2f} "
          f"{os.getloadavg()[2]:.2f} on {os.cpu_count()} cpus", flush=True)
    t = time.perf_counter()
    d = demo_drivers(res=a.res, years=(y0, y1))
    form = demo_form(DEMO_FORM_IDS[: a.players])
    print(f"world {a.res:g} deg {y0}-{y1}: {d.n_cells} cells x {d.n_months} months "
          f"({time.perf_counter() - t:.1f}s); form {form.hash}: {len(form.terms)} terms, "
          f"{len(form.params)} parameters: {', '.join(form.term_ids)}", flush=True)

    t0 = time.perf_counter()
    last = [t0]

    def progress(k, lab, res):
        if k % 16 == 0 or k == 2 ** len(form.terms):
            now = time.perf_counter()
            print(f"  {k:4d} fits  {now - t0:7.1f}s  load {os.getloadavg()[0]:.1f}", flush=True)
            last[0] = now

    r = shapley(form, d, trials=a.trials, sampler=a.sampler, patience=a.patience or None, seed=a.seed,
                patience_generations=a.generations or None, first_trials=a.first_trials,
                broad_size=a.broad_size, executor=a.executor, workers=a.workers, cache=a.cache, progress=progress)
    wall = time.perf_counter() - t0
    s = r.subsets
    print("\n== exact Shapley ==")
    print(r.line())
    print(r.values.to_string(index=False))
    st = r.settings
    pat = (f"patience {a.generations} CMA-ES generations (4+floor(3 ln n) trials each)"
           if a.generations else f"patience {a.patience or None} trials")
    print(f"fit budget: {st.sampler} {dict(st.sampler_options)}, trials <= {a.trials} per subset, {pat}, "
          f"warm start from the 3 best immediate subsets (+ missing term at its most constant setting); "
          f"coalitions of <= {a.broad_size} terms: {a.first_trials or min(3 * a.trials, 450)} trials "
          f"of whole-box CMA-ES, no early stop; "
          f"trials run: total {int(s.n_trials.sum())}, median {int(s.n_trials.median())}, "
          f"{int(s.stopped_early.sum())}/{len(s)} stopped early")
    # monotone check: a coalition fitted well below one of its immediate subsets
    val = dict(zip(s["mask"], s["value"]))
    n = len(r.players)
    low = [m for m in val if m and val[m] < max(val[m ^ (1 << i)] for i in range(n) if (m >> i) & 1) - 0.005]
    print(f"coalitions with v(S) < max_i v(S minus i) - 0.005: {len(low)}/{len(val) - 1} "
          f"(terms that cannot be switched off, or fits short of their optimum)")
    print(f"wall time: {wall:.1f}s ({wall / 60:.2f} min) on {a.workers} workers ({r.executor}); "
          f"{r.n_fits} fits, {r.fits_run} run, {60 * r.n_fits / wall:.1f} fits/min; "
          f"sum of fit walls {s.wall_seconds.sum():.0f}s")

    # -- accuracy and speed against plain cold-start fits -----------------------------------
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
    print(f"RESULT wall_min={wall / 60:.2f} fits_per_min={60 * r.n_fits / wall:.1f} "
          f"within_0.005={within}/{len(rows)} ratio={seq / wall:.1f}")


if __name__ == "__main__":
    main()
