"""``Benchmark``: a reference prepared once, scoring predictions fast (all components, all regions).

Everything that depends only on the reference (period means, sigma_ref, climatologies, phase,
IAV, ilamb3's normalisers, cell weights, region groups, month/slot tables) is computed in
``prepare``; ``score`` runs one fused kernel (``fast.py``) that returns region sums
(n_regions x 31), then turns them into scores with a few operations on (n_regions,) vectors.
``score_plain`` runs the readable reference path (``components.score_plain``) on the same inputs.
"""

from __future__ import annotations

import functools
import warnings
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from fireform.exceptions import ScoringError, UnknownNameError
from fireform.scoring import components as cp
from fireform.scoring import fast as F
from fireform.scoring.card import ScoreCard
from fireform.scoring.components import COMPONENTS, MID_MONTHS
from fireform.scoring.fast import score_regions
from fireform.scoring.overall import overall
from fireform.scoring.residuals import Residuals, residuals
from fireform.scoring.timeaxis import TimeAxis

__all__ = ["Benchmark", "Scores", "values_from_sums"]

# component columns of the two conventions' families (``Benchmark.score(pred, ilamb3=False)``)
_ILAMB3_COLS = np.array([j for j, c in enumerate(COMPONENTS) if c.endswith("_ilamb3")])
_TWO_X_COLS = np.array([j for j, c in enumerate(COMPONENTS) if not c.endswith("_ilamb3")])

_IDX = {c: i for i, c in enumerate(COMPONENTS)}


@dataclass(frozen=True, eq=False)
class Scores:
    """Component scores, (n_regions x n_components), with the reasons for every NaN."""

    values: np.ndarray
    regions: tuple[str, ...]
    components: tuple[str, ...] = COMPONENTS
    reasons: dict[tuple[str, str], str] = field(default_factory=dict)

    def _row(self, region: str) -> np.ndarray:
        if region not in self.regions:
            raise UnknownNameError(f"unknown region {region!r}; valid: {', '.join(self.regions)}")
        return self.values[self.regions.index(region)]

    def get(self, component: str, region: str = "global") -> float:
        if component not in self.components:
            raise UnknownNameError(
                f"unknown component {component!r}; valid: {', '.join(self.components)}"
            )
        return float(self._row(region)[self.components.index(component)])

    def vector(self, region: str = "global") -> dict[str, float]:
        return dict(zip(self.components, map(float, self._row(region))))

    def overall(self, convention: str = "ilamb2", region: str = "global") -> float:
        return overall(self.vector(region), convention)

    @classmethod
    def from_frame(cls, frame: pd.DataFrame) -> "Scores":
        """The inverse of :meth:`to_frame` (region and component order as first seen)."""
        regions = tuple(dict.fromkeys(str(r) for r in frame["region"]))
        comps = tuple(dict.fromkeys(str(c) for c in frame["component"]))
        values = np.full((len(regions), len(comps)), np.nan)
        reasons: dict[tuple[str, str], str] = {}
        reason = frame["reason"] if "reason" in frame else [""] * len(frame)
        for r, c, v, why in zip(frame["region"], frame["component"], frame["value"], reason):
            values[regions.index(str(r)), comps.index(str(c))] = np.nan if v is None else float(v)
            if why:
                reasons[(str(r), str(c))] = str(why)
        return cls(values, regions, comps, reasons)

    def to_frame(self) -> pd.DataFrame:
        """Tidy: region, component, value, reason."""
        rows = [
            {"region": r, "component": c, "value": float(self.values[i, j]),
             "reason": self.reasons.get((r, c), "")}
            for i, r in enumerate(self.regions) for j, c in enumerate(self.components)
        ]
        return pd.DataFrame(rows)


@dataclass(frozen=True, eq=False)
class Benchmark:
    """A prepared reference. Build with ``Benchmark.prepare`` or ``Benchmark.from_drivers``."""

    obs: np.ndarray
    area: np.ndarray
    axis: TimeAxis
    region_labels: tuple[str, ...]
    region_matrix: np.ndarray  # (n_regions, n_cells) bool
    mass_weighting: bool
    rmse_basis: str
    n_grid: int
    units: str
    pre: dict = field(repr=False)

    # -- construction ---------------------------------------------------------------------
    @classmethod
    def prepare(
        cls,
        obs,
        *,
        area,
        time,
        regions: dict[str, np.ndarray] | None = None,
        mass_weighting: bool = True,
        rmse_basis: str = "cycle",
        obs_mask: np.ndarray | None = None,
        n_grid: int | None = None,
        calendar: str = "noleap",
        units: str = "1",
        area_diff=None,
    ) -> "Benchmark":
        """Prepare a reference (n_cells, n_months) for scoring.

        ``n_grid``: cells of the full lat/lon grid (2.x's spatial correlation counts them all);
        default n_cells. ``calendar="noleap"`` weights months as 2.x does after converting to
        noleap (February = 28 days); ``"actual"`` uses real month lengths. ``obs_mask``: cells
        (n_cells,) or cell-months to treat as missing. ``area_diff``: the areas 2.x weighs Bias and
        Seasonal by (``components`` docstring; a composed grid's ``regrid.rebuilt(grid).area()``);
        default ``area``.
        """
        obs = np.asarray(obs)
        if obs.ndim != 2 or not np.issubdtype(obs.dtype, np.floating):
            raise ScoringError(f"obs must be a float (n_cells, n_months) array, got {obs.dtype} {obs.shape}")
        axis = TimeAxis.from_index(time, calendar=calendar)
        if obs.shape[1] != axis.n:
            raise ScoringError(f"obs has {obs.shape[1]} months but time has {axis.n}")
        if obs_mask is not None:
            m = np.asarray(obs_mask, dtype=bool)
            obs = np.where(m if m.ndim == 2 else m[:, None], np.nan, obs).astype(obs.dtype)
        obs = np.ascontiguousarray(obs)
        area = np.asarray(area, dtype=float)
        if area.shape != (obs.shape[0],):
            raise ScoringError(f"area has shape {area.shape}, expected ({obs.shape[0]},) cells")
        area_diff = area if area_diff is None else np.asarray(area_diff, dtype=float)
        if area_diff.shape != area.shape:
            raise ScoringError(f"area_diff has shape {area_diff.shape}, expected ({obs.shape[0]},) cells")
        if regions is None:
            regions = {"global": np.ones(obs.shape[0], bool)}
        labels = tuple(regions)
        rm = np.array([np.asarray(regions[k], dtype=bool) for k in labels])
        if rm.shape != (len(labels), obs.shape[0]):
            raise ScoringError(f"region masks must be ({obs.shape[0]},) booleans; got {rm.shape[1:]}")
        if rmse_basis not in ("cycle", "series"):
            raise ScoringError(f"rmse_basis must be 'cycle' or 'series', got {rmse_basis!r}")
        pre = _precompute(obs, area, axis, rm, mass_weighting, area_diff)
        return cls(obs, area, axis, labels, rm, bool(mass_weighting), rmse_basis,
                   int(n_grid or obs.shape[0]), units, pre)

    @classmethod
    def from_drivers(cls, drivers, *, years=None, regions=None, mass_weighting: bool = True,
                     **kw) -> "Benchmark":
        """From ``Drivers`` (their target variable); ``years`` selects a period."""
        d = drivers.select_years(years) if years is not None else drivers
        masks = d.region_masks if regions is None else regions
        return cls.prepare(
            d.array(d.target), area=d.area, time=d.time, regions=masks,
            mass_weighting=mass_weighting, n_grid=int(d.lat.size * d.lon.size),
            units=d.units(d.target), **kw,
        )

    @property
    def n_cells(self) -> int:
        return int(self.obs.shape[0])

    @property
    def time(self) -> pd.DatetimeIndex:
        return self.axis.time

    # -- scoring ----------------------------------------------------------------------------
    def check(self, pred) -> np.ndarray:
        pred = np.asarray(pred)
        if pred.shape != self.obs.shape:
            raise ScoringError(
                f"prediction shape {pred.shape} differs from the reference's {self.obs.shape} "
                f"(cells x months; the reference covers {self.time[0]:%Y-%m}..{self.time[-1]:%Y-%m})"
            )
        if not np.issubdtype(pred.dtype, np.floating):
            raise ScoringError(f"prediction must be floating point, got {pred.dtype}")
        return np.ascontiguousarray(pred)

    def score(self, pred, *, ilamb3: bool = True) -> Scores:
        """All components for all regions (fast path). ``ilamb3=False``: the ILAMB 2.x
        components only (the same values; the ilamb3 ones NaN, with the reason), for a fit whose
        objective reads nothing else."""
        pred = self.check(pred)
        p = self.pre
        acc = score_regions(pred, self.obs, ref=p["ref"], dr=p["dr"], axis=self.axis,
                            tables=p["tables"], seas_tab=p["seas_tab"], groups=p["groups"], ilamb3=ilamb3)
        return self._assemble(acc, ilamb3=ilamb3)

    def score_plain(self, pred) -> Scores:
        """All components for all regions via the readable reference path."""
        pred = self.check(pred)
        values, _ = cp.score_plain(
            self.obs, pred, area=self.area, axis=self.axis, regions=self.region_matrix,
            mass_weighting=self.mass_weighting, rmse_basis=self.rmse_basis, n_grid=self.n_grid,
            area_diff=self.pre["area_diff"],
        )
        return Scores(values, self.region_labels, COMPONENTS, self._reasons(values, pred))

    def cell_fields(self, pred) -> cp.CellFields:
        pred = self.check(pred)
        return cp.score_plain(
            self.obs, pred, area=self.area, axis=self.axis, regions=self.region_matrix,
            mass_weighting=self.mass_weighting, rmse_basis=self.rmse_basis, n_grid=self.n_grid,
            area_diff=self.pre["area_diff"],
        )[1]

    def card(self, pred, *, model: str = "model", period: str = "all"):
        return ScoreCard.from_scores(self.score(pred), model=model, period=period)

    def residuals(self, pred) -> Residuals:
        return residuals(self, pred)

    # -- internals --------------------------------------------------------------------------
    def _assemble(self, acc: np.ndarray, *, ilamb3: bool = True) -> Scores:
        """Region scores from the region sums of ``fast.score_regions`` (n_regions, N_ACC)."""
        p = self.pre
        out = values_from_sums(acc, rmse_basis=self.rmse_basis, n_grid=float(self.n_grid),
                               ref_std3=p["ref_std3"], ref_std3_ok=p["ref_std3_ok"])
        if ilamb3:
            return Scores(out, self.region_labels, COMPONENTS, self._reasons(out, None))
        # a fit's 2.x-only evaluation (every trial): the ilamb3 columns and their reasons are fixed
        out[:, _ILAMB3_COLS] = np.nan
        reasons = self._reasons(out[:, _TWO_X_COLS], None, columns=_TWO_X_COLS)
        reasons.update(self._skipped3)
        return Scores(out, self.region_labels, COMPONENTS, reasons)

    @functools.cached_property
    def _skipped3(self) -> dict:
        return {(r, COMPONENTS[j]): "not computed: this evaluation scored the ILAMB 2.x components only"
                for r in self.region_labels for j in _ILAMB3_COLS}

    def _reasons(self, values: np.ndarray, pred, *, columns=None) -> dict:
        """Why each NaN in ``values`` is NaN (``columns``: the component index of each column
        of ``values``, default all)."""
        p, reasons = self.pre, {}
        for i, jj in zip(*np.nonzero(np.isnan(values))):
            j = jj if columns is None else columns[jj]
            reg, comp = self.region_labels[i], COMPONENTS[j]
            if p["n_ref_cells"][i] == 0:
                why = "no cell of this region has reference data"
            elif p["ref_burns"][i] == 0:
                why = "the reference never burns in this region"
            elif comp == "iav" and self.axis.cycle_years == 1:
                # one year's climatology is the year itself: no interannual variability to score
                why = "IAV needs >= 2 whole years; the period has 1"
            elif comp in ("rmse_cycle", "seasonal", "iav") or (comp == "rmse" and self.rmse_basis == "cycle"):
                why = "no whole year from the first January: no annual cycle" if self.axis.cycle_years == 0 else "no cell with a defined score"
            elif comp == "rmse_ilamb3" and self.axis.n < 24:
                why = "ilamb3 skips RMSE below 24 months"
            elif comp == "spatial_ilamb3" and not p["ref_std3_ok"][i]:
                why = "no spatial variance in the reference (ilamb3 skips the region)"
            else:
                why = "no cell with a defined score (prediction missing or reference constant)"
            reasons[(reg, comp)] = why
        return reasons


def values_from_sums(acc: np.ndarray, *, rmse_basis: str, n_grid, ref_std3: np.ndarray,
                     ref_std3_ok: np.ndarray) -> np.ndarray:
    """Component scores (rows, n_components) from sums of ``fast.score_regions`` (rows, N_ACC).

    A row is any set of cells whose sums were added up: a region, or a bootstrap replicate's
    resampled blocks (:mod:`fireform.scoring.bootstrap`). ``n_grid`` (scalar or per row): the
    cells 2.x's spatial correlation counts; ``ref_std3`` / ``ref_std3_ok``: the reference's
    spatial std over the row's cells and whether ilamb3 scores the row (per row)."""
    out = np.full((acc.shape[0], len(COMPONENTS)), np.nan)
    with np.errstate(divide="ignore", invalid="ignore"):
        for name, a in (("bias", F.A_BIAS), ("rmse_cycle", F.A_RMSE_CYCLE),
                        ("rmse_series", F.A_RMSE_SERIES), ("seasonal", F.A_SEASONAL),
                        ("iav", F.A_IAV), ("bias_ilamb3", F.A_BIAS3),
                        ("rmse_ilamb3", F.A_RMSE3), ("seasonal_ilamb3", F.A_SEASONAL3)):
            num, den = acc[:, a], acc[:, a + 1]
            out[:, _IDX[name]] = np.where(den > 0, num / den, np.nan)
    out[:, _IDX["rmse"]] = out[:, _IDX["rmse_cycle" if rmse_basis == "cycle" else "rmse_series"]]
    cnt, sx, sy, sxx, syy, sxy = acc[:, F.A_SP:F.A_SP + 6].T
    with np.errstate(divide="ignore", invalid="ignore"):
        std0 = np.maximum(np.sqrt(np.maximum(sxx / cnt - (sx / cnt) ** 2, 0.0)), 1e-12)
        std = np.maximum(np.sqrt(np.maximum(syy / cnt - (sy / cnt) ** 2, 0.0)), 1e-12) / std0
        N = np.asarray(n_grid, dtype=float)
        rq = (sxy - sx * sy / N) / (np.sqrt(sxx - sx * sx / N) * np.sqrt(syy - sy * sy / N))
        vx, vy = sxx - sx * sx / cnt, syy - sy * sy / cnt
        rp = (sxy - sx * sy / cnt) / (np.sqrt(vx) * np.sqrt(vy))
        f = (std + 1.0 / std) ** 2 * 2.0
        out[:, _IDX["spatial"]] = np.where(cnt > 0, 4.0 * (1.0 + rq) / f, np.nan)
        out[:, _IDX["spatial_plain"]] = np.where(cnt > 0, 4.0 * (1.0 + rp) / f, np.nan)
        # ilamb3: std over each map's own defined cells, correlation over both
        ny, sy3, syy3 = acc[:, F.A_SY3:F.A_SY3 + 3].T
        com_std = np.sqrt(np.maximum(syy3 / ny - (sy3 / ny) ** 2, 0.0))
        nb, bx, by, bxx, byy, bxy = acc[:, F.A_SB3:F.A_SB3 + 6].T
        corr = (bxy - bx * by / nb) / (np.sqrt(bxx - bx * bx / nb) * np.sqrt(byy - by * by / nb))
        sd = com_std / ref_std3
        s3 = 4 * (1 + corr) / ((sd + 1 / sd) ** 2 * 2)
    out[:, _IDX["spatial_ilamb3"]] = np.where(ref_std3_ok, s3, np.nan)
    return out


def _precompute(obs, area, axis: TimeAxis, rm: np.ndarray, mass: bool, area_diff: np.ndarray) -> dict:
    r = np.asarray(obs, dtype=float)
    rbar_raw = cp.period_mean(r, axis.dt)
    r_ok = ~np.isnan(rbar_raw)
    R = np.where(r_ok[:, None], r, np.nan)
    rbar = rbar_raw
    sigma = cp.weighted_rms_about(R, rbar, axis.w_rms)
    clim_r = cp.climatology(R, axis)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        dr = clim_r - np.nanmean(clim_r, axis=1, keepdims=True)
    ir = cp.time_of_max(clim_r)
    tr = np.where(ir >= 0, MID_MONTHS[np.maximum(ir, 0)], np.nan)
    sig_iav_r = cp.iav_sigma(R, clim_r, axis)
    rm3 = cp.period_mean(r, axis.dt_actual)
    norm3 = cp.weighted_rms_about(r, rm3, axis.dt_actual)
    rmw = cp.period_mean(r, axis.w_ilamb3_rmse)
    crms3 = cp.weighted_rms_about(r, rmw, axis.w_ilamb3_rmse)
    mr = cp.monthly_means_all_years(r, axis)
    ir3 = np.where(np.isnan(mr).all(axis=1), np.nan, np.argmax(np.nan_to_num(mr, nan=0.0), axis=1))
    M = rm.astype(float)
    w2 = area * (np.where(r_ok, rbar, 0.0) if mass else 1.0)
    w2d = area_diff * (np.where(r_ok, rbar, 0.0) if mass else 1.0)
    w3b = area * (np.where(np.isnan(rm3), 0.0, rm3) if mass else 1.0)
    rm3_ok = ~np.isnan(rm3)
    rm3_0 = np.where(rm3_ok, rm3, 0.0)
    S = M @ np.stack([rm3_ok.astype(float), rm3_0, rm3_0 * rm3_0], axis=1)
    with np.errstate(divide="ignore", invalid="ignore"):
        ref_std3 = np.sqrt(np.maximum(S[:, 2] / S[:, 0] - (S[:, 1] / S[:, 0]) ** 2, 0.0))
    ref_std3_ok = (S[:, 0] > 0) & ~np.isclose(ref_std3, 0.0)
    obs_complete = ~np.isnan(r).any(axis=1)
    # one row per cell, columns ``fast.REF_COLS``
    ref = np.stack([np.where(r_ok, rbar, np.nan), r_ok.astype(float), sigma, ir.astype(float),
                    sig_iav_r, rm3, norm3, rmw, crms3, ir3, w2, w3b, area,
                    obs_complete.astype(float), w2d], axis=1)
    return dict(
        ref=np.ascontiguousarray(ref), tables=F.month_tables(axis), seas_tab=F.seasonal_table(),
        groups=F.region_groups(rm), obs_complete=obs_complete, area_diff=area_diff,
        rbar_raw=np.where(r_ok, rbar_raw, np.nan), r_ok=r_ok, rbar=rbar, sigma=sigma, dr=np.ascontiguousarray(dr), tr=tr,
        sig_iav_r=sig_iav_r, rm3=rm3, norm3=norm3, rmw=rmw, crms3=crms3, ir3=ir3, M=M,
        rm3_ok=rm3_ok,
        rm3_0=rm3_0, ref_std3=ref_std3, ref_std3_ok=ref_std3_ok,
        n_ref_cells=M @ r_ok.astype(float),
        ref_burns=M @ (np.where(r_ok, np.abs(rbar), 0.0) > 0).astype(float),
    )
