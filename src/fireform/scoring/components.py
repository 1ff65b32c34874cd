"""Component scores, written plainly, one function per formula (the reference path).

This module is the readable definition; ``fast.py`` computes the same numbers in one fused pass
and is tested against it to 1e-9. Arrays are packed cells x months, ``NaN`` = missing.

ILAMB 2.x (``ilamblib.AnalysisMeanStateSpace``, ``Variable.py``), at a cell, with
``rbar``/``cbar`` the ``dt``-weighted period means (``TimeAxis.dt``):

- sigma_ref = sqrt( sum w_rms (r - rbar)^2 / sum w_rms )   (``Variable.rms``, ``TimeAxis.w_rms``)
- Bias      s_B = exp(-|cbar - rbar| / sigma_ref); where sigma_ref = 0, 2.x's masked division
  leaves the numerator and un-masks it, so s_B = exp(-|cbar - rbar|) there (reproduced).
- RMSE      cycle basis: climatologies over whole years from the first January, each minus its
  unweighted 12-slot mean; crmse = sqrt( sum_m d_m (dc_m - dr_m)^2 / sum_m d_m ), d_m = noleap
  month length; series basis: crmse = sqrt( sum dt ((c - cbar) - (r - rbar))^2 / sum dt ).
  s_R = exp(-crmse / sigma_ref), masked where sigma_ref = 0. Scores below 1e-16 are set to 0.
- Seasonal  t = noleap mid-month day of the climatology maximum; delta = t_c - t_r wrapped to
  [-182.5, 182.5]; s_S = (1 + cos(2 pi |delta| / 365)) / 2.
- IAV       sigma_iav = rms of (x - its climatology at the step's slot) with ``w_rms``;
  s_I = exp(-|sigma_c - sigma_r| / sigma_r), masked where sigma_r = 0.
- Region    S = sum s A w / sum A w over cells where s is defined, w = rbar (mass weighting) or 1.
  Bias and Seasonal use ``area_diff`` for A: 2.x makes their maps with ``spatialDifference``,
  whose result carries areas from bounds rebuilt at mid-points between cell centres (equal to
  the cell areas on a uniform grid; not on a grid composed from two grids, ``regrid.py``).
- Spatial   on the period-mean maps in a region: sigma = std(cbar)/std(rbar) (unweighted, ddof 0,
  both clipped at 1e-12), s_D = 4 (1 + R) / ((sigma + 1/sigma)^2 (1 + 1)).
  ``spatial`` uses 2.x's correlation, whose n counts every cell of the grid (masked, ocean and
  out-of-region cells included): it equals the Pearson correlation of the two maps padded with
  zeros to the full grid (``n_grid`` cells). ``spatial_plain`` uses the Pearson correlation of the
  valid region cells. The native Overall uses ``spatial`` (as 2.x does).

Cells enter 2.x's scores only when both period means are defined (``ref_and_com``).

ilamb3 2026.4.20 (``ilamb3/analysis/*.py``):

- ``bias_ilamb3``   norm = time-weighted std of r (real month lengths); exp(-|bias|/norm); mass
  weighting by rbar when on; no 1e-16 floor.
- ``rmse_ilamb3``   full series (``score_basis`` is ignored by ilamb3), centred RMSE over steps
  where both are defined, noleap day-15 centred weights; exp(-crmse/crms); area weights only;
  undefined below 24 months.
- ``seasonal_ilamb3`` unweighted monthly means over all years (partial years too); argmax month
  (NaN filled with 0); shift wrapped to [-6, 6] months; s = 1 - |shift|/6; area weights only.
- ``spatial_ilamb3`` plain Pearson correlation and unweighted std over cells where both are
  defined; skipped (NaN) when the reference's spatial std is ~0 (``np.allclose(std, 0)``).
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass

import numpy as np

from fireform.scoring.timeaxis import MID_MONTHS, TimeAxis

__all__ = [
    "COMPONENTS",
    "NATIVE_COMPONENTS",
    "ILAMB3_COMPONENTS",
    "CellFields",
    "period_mean",
    "weighted_rms_about",
    "climatology",
    "monthly_means_all_years",
    "time_of_max",
    "wrap_days",
    "score_exp",
    "bias_score_map",
    "crmse_cycle",
    "crmse_series",
    "seasonal_score_map",
    "iav_sigma",
    "region_mean",
    "spatial_distribution",
    "score_plain",
]

COMPONENTS: tuple[str, ...] = (
    "bias", "rmse", "seasonal", "spatial", "iav",
    "rmse_cycle", "rmse_series", "spatial_plain",
    "bias_ilamb3", "rmse_ilamb3", "seasonal_ilamb3", "spatial_ilamb3",
)
NATIVE_COMPONENTS = ("bias", "rmse", "seasonal", "spatial")
ILAMB3_COMPONENTS = ("bias_ilamb3", "rmse_ilamb3", "seasonal_ilamb3", "spatial_ilamb3")
_IDX = {c: i for i, c in enumerate(COMPONENTS)}


def _div(a, b):
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.true_divide(a, b)


def period_mean(x: np.ndarray, w: np.ndarray) -> np.ndarray:
    """sum w x / sum w over defined steps, per cell (NaN when none is defined)."""
    ok = ~np.isnan(x)
    return _div(np.where(ok, x, 0.0) @ w, ok @ w)


def weighted_rms_about(x: np.ndarray, centre: np.ndarray, w: np.ndarray) -> np.ndarray:
    """sqrt( sum w (x - centre)^2 / sum w ) over defined steps."""
    ok = ~np.isnan(x)
    d = np.where(ok, x - centre[:, None], 0.0)
    return np.sqrt(_div((d * d) @ w, ok @ w))


def climatology(x: np.ndarray, axis: TimeAxis) -> np.ndarray:
    """ILAMB 2.x ``annualCycle``: mean over whole years of each of 12 slots (n, 12)."""
    if axis.cycle_years == 0:
        return np.full((x.shape[0], 12), np.nan)
    v = x[:, axis.window].reshape(x.shape[0], axis.cycle_years, 12)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        return np.nanmean(v, axis=1)


def monthly_means_all_years(x: np.ndarray, axis: TimeAxis) -> np.ndarray:
    """ilamb3 ``groupby('time.month').mean()``: every step counts, calendar months (n, 12)."""
    out = np.full((x.shape[0], 12), np.nan)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        for m in range(12):
            sel = axis.month == m
            if sel.any():
                out[:, m] = np.nanmean(x[:, sel], axis=1)
    return out


def time_of_max(clim: np.ndarray) -> np.ndarray:
    """Slot index of the maximum (first on ties; NaN slots ignored); -1 where all NaN."""
    allnan = np.isnan(clim).all(axis=1)
    idx = np.argmax(np.where(np.isnan(clim), -np.inf, clim), axis=1)
    return np.where(allnan, -1, idx)


def wrap_days(shift: np.ndarray) -> np.ndarray:
    """ILAMB 2.x ``phaseShift``: into [-182.5, 182.5] days."""
    shift = shift + (shift < -0.5 * 365.0) * 365.0
    return shift - (shift > 0.5 * 365.0) * 365.0


def score_exp(err: np.ndarray, norm: np.ndarray) -> np.ndarray:
    """ILAMB 2.x ``Score``: exp(-|err/norm|), < 1e-16 set to 0, NaN where norm = 0."""
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        s = np.exp(-np.abs(err / norm))
    s = np.where(s < 1e-16, 0.0, s)
    return np.where(norm == 0, np.nan, s)


def bias_score_map(rbar, cbar, sigma):
    """2.x bias score; where sigma = 0 the un-normalised exp(-|bias|) (2.x's masked division)."""
    b = cbar - rbar
    s = score_exp(b, sigma)
    with np.errstate(over="ignore"):
        raw = np.exp(-np.abs(b))
    raw = np.where(raw < 1e-16, 0.0, raw)
    return np.where(sigma == 0, raw, s)


def crmse_cycle(clim_r: np.ndarray, clim_c: np.ndarray, slot_days: np.ndarray) -> np.ndarray:
    """Centred RMSE of the two climatologies (each minus its unweighted slot mean)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        dr = clim_r - np.nanmean(clim_r, axis=1, keepdims=True)
        dc = clim_c - np.nanmean(clim_c, axis=1, keepdims=True)
    e = dc - dr
    ok = ~np.isnan(e)
    e = np.where(ok, e, 0.0)
    return np.sqrt(_div((e * e) @ slot_days, ok @ slot_days))


def crmse_series(r, c, rbar, cbar, w) -> np.ndarray:
    """Centred RMSE of the full series over steps where both are defined."""
    e = (c - cbar[:, None]) - (r - rbar[:, None])
    ok = ~np.isnan(e)
    e = np.where(ok, e, 0.0)
    return np.sqrt(_div((e * e) @ w, ok @ w))


def seasonal_score_map(clim_r, clim_c) -> tuple[np.ndarray, np.ndarray]:
    """2.x seasonal score and phase shift (days) per cell."""
    ir, ic = time_of_max(clim_r), time_of_max(clim_c)
    tr = np.where(ir >= 0, MID_MONTHS[np.maximum(ir, 0)], np.nan)
    tc = np.where(ic >= 0, MID_MONTHS[np.maximum(ic, 0)], np.nan)
    shift = wrap_days(tc - tr)
    return (1.0 + np.cos(np.abs(shift) / 365.0 * 2.0 * np.pi)) * 0.5, shift


def iav_sigma(x: np.ndarray, clim: np.ndarray, axis: TimeAxis) -> np.ndarray:
    """rms over time of x minus its climatology at each step's slot (2.x ``ExtendAnnualCycle``)."""
    if axis.cycle_years == 0:
        return np.full(x.shape[0], np.nan)
    ext = clim[:, axis.slot]
    # 2.x subtracts masked arrays, then re-masks with x's mask: where the slot is undefined the
    # raw value survives.
    resid = np.where(np.isnan(ext), x, x - ext)
    ok = ~np.isnan(resid)
    resid = np.where(ok, resid, 0.0)
    return np.sqrt(_div((resid * resid) @ axis.w_rms, ok @ axis.w_rms))


def region_mean(score: np.ndarray, weight: np.ndarray, regions: np.ndarray) -> np.ndarray:
    """sum s w / sum w over the cells of each region where s is defined (NaN if sum w = 0)."""
    ok = ~np.isnan(score)
    num = regions.astype(float) @ np.where(ok, score * weight, 0.0)
    den = regions.astype(float) @ np.where(ok, weight, 0.0)
    return np.where(den > 0, _div(num, den), np.nan)


def spatial_distribution(x, y, *, n_grid: int | None) -> tuple[float, float, float]:
    """(normalised std, correlation, score) of maps y vs x (1-D, defined cells only).

    ``n_grid`` given: 2.x's correlation with n = n_grid; None: the plain Pearson correlation.
    """
    if x.size == 0:
        return np.nan, np.nan, np.nan
    std0 = max(float(np.std(x)), 1e-12)
    std = max(float(np.std(y)), 1e-12) / std0
    if n_grid is None:
        xc, yc = x - x.mean(), y - y.mean()
        den = np.sqrt((xc * xc).sum()) * np.sqrt((yc * yc).sum())
        r = float(_div((xc * yc).sum(), den))
    else:
        n = float(n_grid)
        xbar, ybar = x.sum() / n, y.sum() / n
        num = (x * y).sum() - n * xbar * ybar
        with np.errstate(invalid="ignore"):
            den = np.sqrt((x * x).sum() - n * xbar * xbar) * np.sqrt((y * y).sum() - n * ybar * ybar)
        r = float(_div(num, den))
    score = 4.0 * (1.0 + r) / ((std + 1.0 / std) ** 2 * 2.0)
    return std, r, score


def _std_ilamb3(x, w):
    """xarray ``weighted(w).std`` over defined steps (ddof 0)."""
    return weighted_rms_about(x, period_mean(x, w), w)


@dataclass(frozen=True, eq=False)
class CellFields:
    """Per-cell intermediate fields of one scoring (for residual maps and diagnostics)."""

    valid: np.ndarray  # cells in 2.x's ref_and_com
    rbar: np.ndarray
    cbar: np.ndarray
    sigma_ref: np.ndarray
    clim_r: np.ndarray
    clim_c: np.ndarray
    shift_days: np.ndarray
    cell_scores: dict[str, np.ndarray]


def score_plain(
    obs: np.ndarray,
    pred: np.ndarray,
    *,
    area: np.ndarray,
    axis: TimeAxis,
    regions: np.ndarray,
    mass_weighting: bool,
    rmse_basis: str,
    n_grid: int,
    area_diff: np.ndarray | None = None,
) -> tuple[np.ndarray, CellFields]:
    """All components for all regions, straight from the formulas: (n_regions, n_components).

    ``area_diff``: the areas 2.x weighs Bias and Seasonal by (module docstring); default ``area``.
    """
    r = np.asarray(obs, dtype=float)
    c = np.asarray(pred, dtype=float)
    regions = np.asarray(regions, dtype=bool)
    nreg = regions.shape[0]
    out = np.full((nreg, len(COMPONENTS)), np.nan)

    # -- ILAMB 2.x ---------------------------------------------------------------------------
    rbar0, cbar0 = period_mean(r, axis.dt), period_mean(c, axis.dt)
    valid = ~np.isnan(rbar0) & ~np.isnan(cbar0)
    R = np.where(valid[:, None], r, np.nan)
    C = np.where(valid[:, None], c, np.nan)
    rbar, cbar = np.where(valid, rbar0, np.nan), np.where(valid, cbar0, np.nan)
    sigma = weighted_rms_about(R, rbar, axis.w_rms)
    clim_r, clim_c = climatology(R, axis), climatology(C, axis)

    s_bias = np.where(valid, bias_score_map(rbar, cbar, sigma), np.nan)
    s_rc = score_exp(crmse_cycle(clim_r, clim_c, axis.slot_days), sigma)
    s_rs = score_exp(crmse_series(R, C, rbar, cbar, axis.dt), sigma)
    s_seas, shift = seasonal_score_map(clim_r, clim_c)
    sig_r, sig_c = iav_sigma(R, clim_r, axis), iav_sigma(C, clim_c, axis)
    s_iav = score_exp(sig_c - sig_r, sig_r)

    w = area * (np.where(valid, rbar, 0.0) if mass_weighting else 1.0)
    w = np.where(valid, w, 0.0)
    ad = area if area_diff is None else np.asarray(area_diff, dtype=float)
    wd = np.where(valid, ad * (np.where(valid, rbar, 0.0) if mass_weighting else 1.0), 0.0)
    cycle_ok = axis.cycle_years > 0
    maps = {
        "bias": s_bias,
        "rmse_cycle": s_rc if cycle_ok else np.full_like(s_bias, np.nan),
        "rmse_series": s_rs,
        "seasonal": s_seas if cycle_ok else np.full_like(s_bias, np.nan),
        "iav": s_iav,
    }
    maps["rmse"] = maps["rmse_cycle"] if rmse_basis == "cycle" else maps["rmse_series"]
    for name, m in maps.items():
        out[:, _IDX[name]] = region_mean(m, wd if name in ("bias", "seasonal") else w, regions)
    for k in range(nreg):
        sel = regions[k] & valid
        out[k, _IDX["spatial"]] = spatial_distribution(rbar[sel], cbar[sel], n_grid=n_grid)[2]
        out[k, _IDX["spatial_plain"]] = spatial_distribution(rbar[sel], cbar[sel], n_grid=None)[2]

    # -- ilamb3 -------------------------------------------------------------------------------
    rm3, cm3 = period_mean(r, axis.dt_actual), period_mean(c, axis.dt_actual)
    norm3 = _std_ilamb3(r, axis.dt_actual)
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        s_b3 = np.exp(-np.abs(cm3 - rm3) / norm3)
    w3mass = area * (np.where(np.isnan(rm3), 0.0, rm3) if mass_weighting else 1.0)
    out[:, _IDX["bias_ilamb3"]] = region_mean(s_b3, w3mass, regions)

    if axis.n >= 24:
        wr = axis.w_ilamb3_rmse
        rmr, rmc = period_mean(r, wr), period_mean(c, wr)
        crmse3 = crmse_series(r, c, rmr, rmc, wr)
        crms3 = weighted_rms_about(r, rmr, wr)
        with np.errstate(divide="ignore", invalid="ignore"):
            s_r3 = np.exp(-crmse3 / crms3)
        out[:, _IDX["rmse_ilamb3"]] = region_mean(s_r3, area, regions)
    else:
        s_r3 = np.full(r.shape[0], np.nan)

    if axis.n >= 12:
        mr, mc = monthly_means_all_years(r, axis), monthly_means_all_years(c, axis)
        ir = np.where(np.isnan(mr).all(axis=1), np.nan, np.argmax(np.nan_to_num(mr, nan=0.0), axis=1))
        ic = np.where(np.isnan(mc).all(axis=1), np.nan, np.argmax(np.nan_to_num(mc, nan=0.0), axis=1))
        sh = ic - ir
        sh = np.where(sh > 6, sh - 12, sh)
        sh = np.where(sh < -6, sh + 12, sh)
        s_s3 = 1.0 - np.abs(sh) / 6.0
        out[:, _IDX["seasonal_ilamb3"]] = region_mean(s_s3, area, regions)
    else:
        s_s3 = np.full(r.shape[0], np.nan)

    for k in range(nreg):
        x, y = rm3[regions[k]], cm3[regions[k]]
        xs = x[~np.isnan(x)]
        if xs.size == 0 or np.allclose(float(np.std(xs)), 0.0):
            continue
        both = ~np.isnan(x) & ~np.isnan(y)
        ref_std, com_std = np.std(xs), np.std(y[~np.isnan(y)])
        # A spatially uniform model map has no correlation: NaN (as the fast path), not a crash.
        with np.errstate(divide="ignore", invalid="ignore"):
            corr = np.corrcoef(x[both], y[both])[0, 1] if both.sum() > 1 else np.nan
            sd = com_std / ref_std
            out[k, _IDX["spatial_ilamb3"]] = 4 * (1 + corr) / ((sd + 1 / sd) ** 2 * 2)

    fields = CellFields(
        valid=valid, rbar=rbar, cbar=cbar, sigma_ref=sigma, clim_r=clim_r, clim_c=clim_c,
        shift_days=shift,
        cell_scores={**maps, "bias_ilamb3": s_b3, "rmse_ilamb3": s_r3, "seasonal_ilamb3": s_s3},
    )
    return out, fields
