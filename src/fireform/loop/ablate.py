"""The Shapley step of a run: ablate the incumbent's terms, prune those under the spec's share,
refit the pruned form and accept it when it scores within the fit noise of the incumbent."""

from __future__ import annotations

import time

import numpy as np
import pandas as pd

from fireform.ablation import ShapleyResult, shapley
from fireform.exceptions import FireformError
from fireform.loop.state import RunState, fmt

__all__ = ["shapley_and_prune", "shapley_tables", "run_shapley"]


def run_shapley(st: RunState, form, trials: int, **options) -> ShapleyResult:
    """Exact (or sampled) Shapley of ``form`` with ``shapley.sampler``, the seed and executor; subset
    fits are cached in the run folder, so a killed Shapley resumes where it was. ``options`` go
    to :func:`fireform.ablation.shapley` (e.g. ``patience_generations``)."""
    sh = st.spec.shapley
    remote = "://" in sh.executor
    return shapley(form, st.ctx, trials=trials, sampler=sh.sampler, seed=st.spec.seed,
                   cache=st.dir / "shapley", executor=None if remote else sh.executor,
                   scheduler=sh.executor if remote else None, workers=sh.workers, **options)


def shapley_tables(res: ShapleyResult) -> dict[str, pd.DataFrame]:
    """The ablation's tidy frames by kind: values (player, value, share), interactions, subsets,
    regions, components."""
    out = {name: getattr(res, name).reset_index(drop=True)
           for name in ("values", "interactions", "subsets", "regions", "components")
           if isinstance(getattr(res, name, None), pd.DataFrame)}
    if "values" not in out:
        raise FireformError(f"Shapley result {type(res).__name__} has no 'values' table")
    v = out["values"]
    if "share" not in v.columns:
        tot = v["value"].sum()
        out["values"] = v.assign(share=v["value"] / tot if tot else np.nan)
    return out


def shapley_and_prune(st: RunState) -> None:
    inc = st.incumbent
    j = st.journal
    form = j.form(inc.form_hash)
    st.final = inc
    sh = st.spec.shapley
    if not sh.enabled:
        st.say("shapley", "disabled by the spec")
        return
    if len(form.terms) > sh.max_players:
        st.say("shapley", f"skipped: {len(form.terms)} terms > shapley.max_players {sh.max_players}")
        return
    t = time.perf_counter()
    cached = j.shapley(form.hash, "values")
    if cached is None:
        res = run_shapley(st, form, sh.trials or st.spec.budget.trials)
        j.put_state(f"shapley/{form.hash}", {"method": res.method, "n_fits": res.n_fits,
                                             "fits_run": res.fits_run, "total_gain": res.total_gain,
                                             "wall_seconds": res.wall_seconds, "executor": res.executor})
        for kind, frame in shapley_tables(res).items():
            j.put_shapley(form.hash, kind, frame)
        cached = j.shapley(form.hash, "values")
        assert cached is not None  # just written
    st.say("shapley", f"{form.name or form.hash} [{form.hash}] "
           + " ".join(f"{r.player}={r.share:.2f}" for r in cached.itertuples())
           + f" | {time.perf_counter() - t:.1f}s")
    keep_ids = [r.player for r in cached.itertuples() if r.share >= sh.prune_share]
    if set(keep_ids) == set(form.term_ids) or not keep_ids:
        st.say("prune", f"nothing under share {sh.prune_share:.2f}: final = incumbent")
        return
    pruned = form.subset(keep_ids)
    j.put_form(pruned)
    warm = {k: v for k, v in inc.params.items() if k == "scale" or k.split(".")[0] in set(keep_ids)}
    rec, _ = st.fit(pruned, role="pruned", warm=warm)
    dropped = sorted(set(form.term_ids) - set(keep_ids))
    better = rec.value >= inc.value - st.noise
    st.final = rec if better else inc
    j.put_state("prune", {"dropped": dropped, "pruned_hash": pruned.hash, "pruned_fit": rec.id,
                          "accepted": bool(better)})
    st.say("prune", f"drop {','.join(dropped)} -> {','.join(pruned.term_ids)} [{pruned.hash}] obj "
           f"{fmt(rec.value)} vs {fmt(inc.value)} noise {st.noise:.4f} | "
           f"{'accepted' if better else 'refused'}")
