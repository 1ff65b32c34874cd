"""Predictions on the grid, recomputed for the report from what the Run holds.

The journal keeps scores and residual summaries, not the fields. The views that need fields
(mean maps, Taylor diagram, annual totals, biome and GFED tables, response curves) get them
here: the run's spec says how to load its drivers (:func:`fireform.loop.data.load_run_drivers`),
:func:`fireform.loop.data.run_split` cuts them with the spec's years, and the baseline and final
forms predict with their fitted parameters (``form.predict(fit.params, drivers)``).

The holdout years are read only through the Split's ``unseal(reason)`` and only for a finished
run (its holdout was already scored); every read is listed in :attr:`GridData.holdout_reads`.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from fireform.drivers import Drivers
from fireform.fitting import HoldoutRead
from fireform.loop import Run
from fireform.loop.data import load_run_drivers, run_split

__all__ = ["Period", "GridData", "load_grid_data", "M2_PER_MHA"]

M2_PER_MHA = 1e10  # 1 Mha = 1e6 ha = 1e10 m2


@dataclass
class Period:
    """Observed and modelled burned fraction per month over one period's packed cells."""

    name: str  # "train" | "holdout"
    time: pd.DatetimeIndex
    obs: np.ndarray  # (n_cells, n_months)
    model: dict[str, np.ndarray]  # "baseline" | "final" -> (n_cells, n_months)
    drivers: Drivers

    @property
    def years(self) -> np.ndarray:
        return np.asarray(self.time.year)

    def annual_mean(self, x: np.ndarray) -> np.ndarray:
        """Mean over the period's whole years of each cell's annual sum (fraction per year)."""
        yrs = np.unique(self.years)
        return np.nanmean(np.stack([np.nansum(x[:, self.years == y], axis=1) for y in yrs]), axis=0)


@dataclass
class GridData:
    lat: np.ndarray
    lon: np.ndarray
    iy: np.ndarray
    ix: np.ndarray
    area: np.ndarray  # packed cell areas, m2
    regions: dict[str, np.ndarray]  # label -> packed bool
    periods: dict[str, Period] = field(default_factory=dict)
    holdout_reads: list[HoldoutRead] = field(default_factory=list)
    holdout_note: str = ""

    def grid(self, packed: np.ndarray) -> np.ndarray:
        """(lat, lon) map of packed per-cell values (NaN off the cells)."""
        g = np.full((self.lat.size, self.lon.size), np.nan)
        g[self.iy, self.ix] = packed
        return g


def _packed(form, params, drivers: Drivers) -> np.ndarray:
    da = form.predict(params, drivers)
    iy, ix = drivers.cell_index
    return np.asarray(da.transpose("time", "lat", "lon").values[:, iy, ix].T, dtype=float)


def _period(run: Run, name: str, drivers: Drivers) -> Period:
    model = {}
    for label, fit in (("baseline", run.baseline), ("final", run.final)):
        if fit is not None:
            model[label] = _packed(run.form(fit.form_hash), fit.params, drivers)
    obs = np.asarray(drivers.array(drivers.target or "burned_fraction"), dtype=float)
    for m in model.values():  # compare like with like: no model value where nothing was observed
        m[~np.isfinite(obs)] = np.nan
    return Period(name, drivers.time, obs, model, drivers)


def load_grid_data(run: Run) -> GridData:
    """Training period always; the holdout too when the run is finished (read through unseal)."""
    drivers, derived = load_run_drivers(run.spec)
    reads: list[HoldoutRead] = []
    split = run_split(drivers, derived, run.spec, on_read=reads.append)
    train = split.train
    iy, ix = train.cell_index
    gd = GridData(lat=train.lat, lon=train.lon, iy=iy, ix=ix, area=train.area,
                  regions={k: np.asarray(v, bool) for k, v in train.region_masks.items()})
    gd.periods["train"] = _period(run, "train", train)
    if run.status != "finished":
        gd.holdout_note = (f"Holdout maps are drawn only for a finished run (status {run.status}): "
                           "its holdout is read once, when it is scored at the end.")
    elif not split.holdout_years:
        gd.holdout_note = "The spec has no holdout years."
    else:
        held = split.unseal("report: holdout mean maps, Taylor diagram and totals of a finished run")
        same = np.array_equal(held.mask, train.mask)
        if not same:  # held-out regions: drawn on the training cells, so every view shares one grid
            held = held.with_mask(train.mask)
        gd.periods["holdout"] = _period(run, "holdout", held)
        gd.holdout_reads = reads
        r = reads[-1]
        gd.holdout_note = (f"The holdout years {', '.join(map(str, r.years))} were read for this "
                           f"report through the split's seal (reason: {r.reason}; data fingerprint "
                           f"{r.fingerprint}); the run had already scored them."
                           + ("" if same else " Held-out regions are left out of the holdout views "
                              "(they are drawn on the training cells)."))
    return gd
