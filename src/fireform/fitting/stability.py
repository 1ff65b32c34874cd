"""Parameter stability: refit on perturbed inputs and see which numbers the data pins down.

Published experience: after an input bug was fixed, every parameter of a winning form moved
5-10x while the form still won. ``stability`` makes that visible before anyone quotes a number.

Each replicate r perturbs the training drivers (:func:`perturb`) and refits:
- **bootstrapped years**: the training years are resampled with replacement (a block bootstrap
  with one-year blocks, keeping each year's seasonal cycle intact) and relabelled consecutively
  from the first training year, so the time axis stays one entry per calendar month;
- **multiplicative noise**: every input the form reads (never the target) is multiplied by
  exp(noise * z), z ~ N(0, 1) independently per value, then clipped to the catalog's valid range.

Per parameter (``Stability.params``): the base fit's value, the replicates' median / min / max,
``fold`` = max / min (positive parameters), ``rel_spread`` = (max - min) / |base|, and
``range_fraction`` = (max - min) / (hi - lo) measured in the sampler's coordinates (log10 for log
parameters): the share of its allowed range over which the parameter wanders. A parameter is
flagged ``slack`` when range_fraction > ``slack`` (default 0.25): the data does not pin it.
Per replicate (``Stability.scores``): the objective on its own perturbed data, and the replicate's
parameters scored on the unperturbed training data (what a user would get from that number).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
import xarray as xr

from fireform.drivers.catalog import catalog
from fireform.fitting.context import FitContext
from fireform.fitting.fit import FitResult, fit
from fireform.fitting.objective import Objective
from fireform.fitting.split import training_drivers

__all__ = ["Stability", "stability", "perturb"]


def perturb(drivers, *, rng: np.random.Generator, bootstrap: bool = True, noise: float = 0.02,
            variables=None):
    """Perturbed copy of ``drivers`` (see the module docstring)."""
    ds = drivers.ds
    if bootstrap:
        years = np.unique(drivers.time.year)
        pick = rng.choice(years, size=years.size, replace=True)
        parts = [ds.isel(time=np.nonzero(drivers.time.year == y)[0]) for y in pick]
        dyn = [v for v in ds.data_vars if "time" in ds[v].dims]
        cat = xr.concat([p[dyn] for p in parts], dim="time")
        new_time = pd.date_range(f"{years[0]}-01-01", periods=cat.sizes["time"], freq="MS")
        cat = cat.assign_coords(time=new_time)
        static = ds[[v for v in ds.data_vars if "time" not in ds[v].dims]]
        ds = xr.merge([cat, static], combine_attrs="override")
        for v in drivers.ds.data_vars:
            ds[v].attrs = dict(drivers.ds[v].attrs)
    if noise > 0:
        names = [v for v in (variables or ds.data_vars) if v in ds.data_vars and v != drivers.target]
        cat_ = catalog()
        upd = {}
        for v in names:
            da = ds[v]
            x = da.values * np.exp(noise * rng.standard_normal(da.shape)).astype(da.dtype)
            if v in cat_:
                x = np.clip(x, cat_[v].lo, cat_[v].hi)
            upd[v] = da.copy(data=x.astype(da.dtype))
        ds = ds.assign(**upd)
    return type(drivers)(
        ds=ds, cell_area=drivers.cell_area, mask=drivers.mask, regions=drivers.regions,
        target=drivers.target, sources=dict(drivers.sources),
    )


@dataclass(frozen=True, eq=False)
class Stability:
    params: pd.DataFrame  # param, base, median, min, max, fold, rel_spread, range_fraction, slack
    scores: pd.DataFrame  # replicate, value_perturbed, value_on_training
    base: FitResult
    fits: tuple[FitResult, ...]

    @property
    def slack(self) -> list[str]:
        return self.params.loc[self.params["slack"], "param"].tolist()

    @property
    def score_spread(self) -> dict[str, float]:
        x = self.scores["value_on_training"].to_numpy(dtype=float)
        return {"base": self.base.value, "std": float(np.std(x, ddof=1)) if x.size > 1 else 0.0,
                "min": float(x.min()), "max": float(x.max())}


def stability(
    form,
    data,
    *,
    replicates: int = 5,
    trials: int = 300,
    bootstrap: bool = True,
    noise: float = 0.02,
    slack: float = 0.25,
    seed: int = 0,
    objective: Objective | None = None,
    base: FitResult | None = None,
    **fit_kwargs,
) -> Stability:
    """Refit ``form`` on ``replicates`` perturbed copies of the training data."""
    ctx = FitContext.of(data, objective=objective)
    base = base or fit(form, ctx, trials=trials, seed=seed, **fit_kwargs)
    drivers = training_drivers(ctx.drivers)
    ss = np.random.SeedSequence([int(seed), 4242])
    fits, rows = [], []
    for r, child in enumerate(ss.spawn(replicates)):
        rng = np.random.default_rng(child)
        d = perturb(drivers, rng=rng, bootstrap=bootstrap, noise=noise,
                    variables=[v for v in form.inputs if v in drivers])
        # a resample of gated drivers: the base fit's gate stands for it
        rctx = FitContext(d, objective=ctx.objective).mark_checked("resample of gated training drivers")
        f = fit(form, rctx, trials=trials, seed=seed + r + 1, **fit_kwargs)
        fits.append(f)
        rows.append({"replicate": r, "value_perturbed": f.value,
                     "value_on_training": ctx.objective.value(ctx.scores(form, f.theta))})
    P = np.array([f.theta for f in fits])
    prow = []
    for j, p in enumerate(form.params):
        x = P[:, j]
        b = float(base.theta[j])
        if p.log:
            frac = (np.log10(x.max()) - np.log10(x.min())) / (np.log10(p.hi) - np.log10(p.lo))
        else:
            frac = (x.max() - x.min()) / (p.hi - p.lo)
        prow.append({
            "param": p.name, "base": b, "median": float(np.median(x)), "min": float(x.min()),
            "max": float(x.max()),
            "fold": float(x.max() / x.min()) if x.min() > 0 else np.nan,
            "rel_spread": float((x.max() - x.min()) / abs(b)) if b != 0 else np.nan,
            "range_fraction": float(frac), "slack": bool(frac > slack),
        })
    return Stability(pd.DataFrame(prow), pd.DataFrame(rows), base, tuple(fits))
