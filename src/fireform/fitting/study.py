"""The pieces of a fit around the sampler loop: warm-start points (and their scale re-levelled),
the Optuna study, and the :class:`FitResult` built from a finished study."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING

import numpy as np
import optuna
import pandas as pd

from fireform.exceptions import FitError
from fireform.fitting.cache import resolve_storage, storage_url
from fireform.fitting.result import FitResult

if TYPE_CHECKING:
    from fireform.fitting.context import FitContext
    from fireform.fitting.samplers import SamplerSpec
    from fireform.forms import Form

__all__ = ["warm_points", "rescaled", "start_points", "point_values", "create_study", "trials_frame", "build_result"]


def warm_points(form: Form, warm_start, *, top: int = 10) -> list[dict[str, float]]:
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
    defaults: dict[str, float] = dict(zip(form.param_names, form.default_theta().tolist()))
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


def rescaled(form: Form, ctx: FitContext, point: Mapping[str, float]) -> dict[str, float]:
    """``point`` with its scale set so the predicted area-weighted total burned fraction equals
    the reference's over the training period (then clipped to the scale's bounds):
    scale' = scale * sum_i A_i sum_t obs_it / sum_i A_i sum_t pred_it.
    Used on warm-start points only: a child that drops or adds a term keeps its parent's shape
    but needs another overall level."""
    theta = form.theta_vector(point)
    pred = np.asarray(ctx.predict(form, theta), dtype=np.float64)
    if np.isfinite(pred).all():  # the reference's side is the context's, computed once
        w, num = ctx.level_weights()
        den = float((w * pred).sum())
    else:
        obs = np.asarray(ctx.benchmark.obs, dtype=np.float64)
        ok = np.isfinite(pred) & np.isfinite(obs)
        a = ctx.benchmark.area[:, None]
        num, den = float((a * np.where(ok, obs, 0.0)).sum()), float((a * np.where(ok, pred, 0.0)).sum())
    out = dict(point)
    if den > 0 and num > 0:
        p = form.params[0]
        out["scale"] = float(min(max(point["scale"] * num / den, p.lo), p.hi))
    return out


def start_points(form: Form, ctx: FitContext, warm, exact=()) -> list[dict[str, float]]:
    """The points a fit evaluates first: each ``warm`` point re-levelled (:func:`rescaled`), then
    each ``exact`` point as given (its scale kept), duplicates dropped."""
    out: list[dict[str, float]] = []
    for p in [rescaled(form, ctx, p) for p in warm] + [dict(p) for p in exact]:
        if p not in out:
            out.append(p)
    return out


def point_values(result: FitResult, points) -> list[float]:
    """The objective value of each of ``points`` in ``result.trials`` (the trial whose every
    parameter equals the point's; NaN where no trial does: a point never evaluated)."""
    df = result.trials
    names = list(result.params)
    arr = df[names].to_numpy(dtype=np.float64) if len(df) else np.empty((0, len(names)))
    out = []
    for p in points:
        hit = np.all(arr == np.array([float(p[n]) for n in names]), axis=1)
        out.append(float(df["value"].to_numpy()[hit].max()) if hit.any() else math.nan)
    return out


def create_study(storage, name: str, sampler) -> optuna.Study:
    return optuna.create_study(
        study_name=name, storage=resolve_storage(storage), sampler=sampler,
        direction="maximize", load_if_exists=True,
    )


def trials_frame(study, names, timing) -> pd.DataFrame:
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


def build_result(form: Form, ctx: FitContext, study, *, spec: SamplerSpec, trials, storage, key, warm, stopped, sampler_seconds,
                 eval_seconds, wall_seconds, timing, extra=None, best_scores=None) -> FitResult:
    """The FitResult of a finished study: its best trial (highest value, first reached) and that
    trial's full score vector (``best_scores`` = (trial number, ScoreCard) when the fit kept the
    one it told, else scored again)."""
    names = form.param_names
    df = trials_frame(study, names, timing)
    if df.empty:
        raise FitError(f"fit of form {form.hash}: no trial completed")
    # Best = highest value, first reached (trial-number order, so ties resolve reproducibly).
    i = int(np.argmax(df["value"].to_numpy()))
    params = {n: float(df.at[i, n]) for n in names}
    theta = form.theta_vector(params)
    if best_scores is not None and best_scores[1] is not None and best_scores[0] == int(df.at[i, "number"]):
        scores = best_scores[1]
    else:
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
