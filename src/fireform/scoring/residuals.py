"""Residual diagnostics: per region what is wrong and by how much; per cell maps of it.

Per region (ILAMB 2.x definitions, 2.x weights): period-mean bias (area-weighted mean of
cbar - rbar, its sign and its size relative to the reference mean), mean |phase shift| in months
(2.x's "Phase Shift": area mean of |shift days| / 30), the spatial correlation (plain Pearson and
2.x's quirk), and both regional mean seasonal cycles (area-weighted, 12 slots). Per cell: the
period-mean residual cbar - rbar and the phase shift in months (signed, + = model peaks later),
as packed arrays plus ``to_grid`` to map them.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass

import numpy as np
import pandas as pd

from fireform.scoring.components import spatial_distribution

__all__ = ["Residuals", "residuals"]


@dataclass(frozen=True, eq=False)
class Residuals:
    regions: pd.DataFrame  # region, bias, bias_sign, bias_relative, phase_shift_months, corr...
    cycles: pd.DataFrame  # region, slot (1..12), reference, model
    cell_bias: np.ndarray  # (n_cells,) cbar - rbar, NaN where not scored
    cell_shift_months: np.ndarray  # (n_cells,) signed phase shift, months

    @staticmethod
    def to_grid(values: np.ndarray, cell_index, shape) -> np.ndarray:
        """Unpack a per-cell array onto a (lat, lon) grid (NaN elsewhere)."""
        g = np.full(shape, np.nan)
        g[cell_index] = values
        return g


def residuals(bench, pred) -> Residuals:
    f = bench.cell_fields(pred)
    area = bench.area
    rows, cyc = [], []
    bias = f.cbar - f.rbar
    shift_m = f.shift_days / 30.0
    for k, reg in enumerate(bench.region_labels):
        sel = bench.region_matrix[k] & f.valid
        a = area[sel]
        if not sel.any():
            rows.append({"region": reg, "n_cells": 0})
            continue
        b = float(np.sum(bias[sel] * a) / a.sum())
        rmean = float(np.sum(f.rbar[sel] * a) / a.sum())
        ok = sel & ~np.isnan(shift_m)
        ps = float(np.sum(np.abs(shift_m[ok]) * area[ok]) / area[ok].sum()) if ok.any() else np.nan
        _, rq, _ = spatial_distribution(f.rbar[sel], f.cbar[sel], n_grid=bench.n_grid)
        _, rp, _ = spatial_distribution(f.rbar[sel], f.cbar[sel], n_grid=None)
        rows.append({
            "region": reg, "n_cells": int(sel.sum()), "bias": b, "bias_sign": int(np.sign(b)),
            "bias_relative": b / rmean if rmean else np.nan, "phase_shift_months": ps,
            "spatial_corr": rp, "spatial_corr_ilamb2": rq,
        })
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)
            for name, clim in (("reference", f.clim_r), ("model", f.clim_c)):
                c = clim[sel]
                okc = ~np.isnan(c)
                num = np.where(okc, c, 0.0).T @ a
                den = okc.T.astype(float) @ a
                for s in range(12):
                    cyc.append({"region": reg, "slot": s + 1, "series": name,
                                "value": num[s] / den[s] if den[s] > 0 else np.nan})
    cycles = pd.DataFrame(cyc)
    if not cycles.empty:
        cycles = cycles.pivot_table(index=["region", "slot"], columns="series", values="value",
                                    sort=False).reset_index()
    return Residuals(pd.DataFrame(rows), cycles, np.where(f.valid, bias, np.nan),
                     np.where(f.valid, shift_m, np.nan))
