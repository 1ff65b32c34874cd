"""Bad inputs planted in a clean twin world: each case is a function of the clean world Dataset
(canonical units, land cells finite, sea NaN) returning the broken Dataset that a user's file
would hold, with the variable at fault and the rule that must refuse it.

The first 16 are the hostile user's list from the issue (units slips, fills, NaN, inf, target out
of range); the rest are the seed paper's class of bug and its relatives.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import xarray as xr

from fireform.drivers import ilamb_regions

__all__ = ["Case", "CASES", "land_cells", "box"]


@dataclass(frozen=True)
class Case:
    name: str
    variable: str  # the variable the refusal must name
    rules: tuple[str, ...]  # any of these rules may refuse it (several often fire)
    plant: Callable[[xr.Dataset], xr.Dataset]


def land_cells(ds: xr.Dataset, n: int, *, seed: int = 0, burning: bool = True) -> tuple[np.ndarray, np.ndarray]:
    """``n`` land cells (finite target, burning if asked), reproducibly chosen."""
    bf = ds["burned_fraction"].values
    ok = np.isfinite(bf).any(axis=0) & (~burning | (np.nansum(bf, axis=0) > 0))
    iy, ix = np.nonzero(ok)
    k = np.random.default_rng(seed).choice(iy.size, size=n, replace=False)
    return iy[k], ix[k]


def box(ds: xr.Dataset, region: str) -> np.ndarray:
    """The (lat, lon) mask of an ILAMB region on the world's grid."""
    return ilamb_regions(ds["lat"].values, ds["lon"].values).mask(region)


def _set(ds, name, values, units=None):
    attrs = dict(ds[name].attrs)
    if units is not None:
        attrs["units"] = units
    return ds.assign({name: ds[name].copy(data=np.asarray(values, dtype=ds[name].dtype)).assign_attrs(attrs)})


def _scale(name, k, units=None):
    return lambda ds: _set(ds, name, ds[name].values * k, units)


def _relabel(name, units, offset=0.0):
    return lambda ds: _set(ds, name, ds[name].values + offset, units)


def _cells(name, value, n=30):
    def plant(ds):
        v = ds[name].values.copy()
        iy, ix = land_cells(ds, n)
        v[..., iy, ix] = value
        return _set(ds, name, v)
    return plant


def _region(name, value, region="shaf"):
    def plant(ds):
        v = ds[name].values.copy()
        m = box(ds, region) & np.isfinite(ds["burned_fraction"].values).any(axis=0)
        v[..., m] = value
        return _set(ds, name, v)
    return plant


def _straddling_block(ds):
    """Lightning zero over a block crossing the nhaf/shaf boundary (half of each box)."""
    v = ds["lightning"].values.copy()
    lat, lon = ds["lat"].values, ds["lon"].values
    m = ((lat > -12) & (lat < 12))[:, None] & ((lon > 10) & (lon < 35))[None, :]
    v[:, m] = 0.0
    return _set(ds, "lightning", v)


def _annual_mean(name):
    def plant(ds):
        da = ds[name]
        return _set(ds, name, da.groupby("time.year").mean("time").sel(year=da["time.year"]).values)
    return plant


def _static_constant(ds):
    v = ds["tree_cover"].values.copy()
    v[np.isfinite(v)] = 0.3  # a broken regrid broadcast one value over land
    return _set(ds, "tree_cover", v)


def _negative_pr(ds):
    v = ds["pr"].values.copy()
    iy, ix = land_cells(ds, 30)
    v[:, iy, ix] = -v[:, iy, ix] - 0.5
    return _set(ds, "pr", v)


CASES: tuple[Case, ...] = (
    # -- the hostile user's 16 ------------------------------------------------------------------
    Case("tas_degC_labelled_K", "tas", ("range", "magnitude"), _relabel("tas", "K", -273.15)),
    Case("tasmax_degC_labelled_K", "tasmax", ("range", "magnitude"), _relabel("tasmax", "K", -273.15)),
    Case("pr_mm_day_labelled_kg_m2_s", "pr", ("range", "magnitude"), _relabel("pr", "kg m-2 s-1")),
    Case("pr_kg_m2_s_labelled_mm_day", "pr", ("magnitude",), _scale("pr", 1 / 86400.0)),
    Case("gpp_x1000", "gpp", ("range", "magnitude"), _scale("gpp", 1000.0)),
    Case("npp_x1000", "npp", ("range",), _scale("npp", 1000.0)),
    Case("vpd_Pa_labelled_kPa", "vpd", ("range", "magnitude"), _scale("vpd", 1000.0)),
    Case("rh_fraction_labelled_percent", "rh", ("magnitude",), _scale("rh", 0.01)),
    Case("tree_cover_percent_labelled_fraction", "tree_cover", ("range",), _scale("tree_cover", 100.0)),
    Case("soil_moisture_percent_labelled_fraction", "soil_moisture", ("range",), _scale("soil_moisture", 100.0)),
    Case("burned_fraction_above_1", "burned_fraction", ("range",), _cells("burned_fraction", 1.5)),
    Case("burned_fraction_negative", "burned_fraction", ("range",), _cells("burned_fraction", -0.01)),
    Case("fill_9.97e36_in_vpd", "vpd", ("fill_value",), _cells("vpd", 9.969209968386869e36)),
    Case("fill_9.97e36_in_target", "burned_fraction", ("fill_value",), _cells("burned_fraction", 9.969209968386869e36)),
    Case("nan_in_30_cells_of_pr", "pr", ("coverage", "dropped_cells"), _cells("pr", np.nan)),
    Case("pr_negative", "pr", ("negative", "range"), _negative_pr),
    # -- the seed's class of bug and the rest of the issue -----------------------------------------
    Case("vpd_zero_over_shaf", "vpd", ("zero_where_burning",), _region("vpd", 0.0, "shaf")),
    Case("lightning_zero_block_across_nhaf_shaf", "lightning", ("constant_block", "zero_where_burning"),
         _straddling_block),
    Case("tree_cover_constant_over_land", "tree_cover", ("static_constant",), _static_constant),
    Case("tas_no_seasonality", "tas", ("no_seasonality",), _annual_mean("tas")),
    Case("target_percent_labelled_fraction", "burned_fraction", ("range", "target_magnitude"),
         _scale("burned_fraction", 100.0)),
    Case("target_x0.01", "burned_fraction", ("target_magnitude",), _scale("burned_fraction", 0.01)),
    Case("inf_in_30_cells_of_vpd", "vpd", ("coverage", "dropped_cells", "range"), _cells("vpd", np.inf)),
    Case("nan_block_in_gpp_over_shaf", "gpp", ("coverage", "dropped_cells"), _region("gpp", np.nan, "shaf")),
    Case("nan_block_in_target_over_nhaf", "burned_fraction", ("dropped_cells",),
         _region("burned_fraction", np.nan, "nhaf")),
)
