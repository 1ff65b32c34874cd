"""``Drivers``: inputs in canonical units on one grid, with cell areas, mask, regions and a
packed cells x months float32 view for the fast kernels and the scorer.

Conventions every stage relies on:
- ``ds`` has dims ``(time, lat, lon)`` for dynamic and ``(lat, lon)`` for static variables; ``time``
  holds month starts as ``datetime64[ns]`` (one entry per calendar month, no gaps).
- Packed cells are the valid cells (``mask``) in C order (lat-major); ``cell_index`` maps back.
- ``array(name)`` returns float32 ``(n_cells, n_months)`` for dynamic variables and
  ``(n_cells, 1)`` for static ones, so terms of static inputs are computed per cell.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from functools import cached_property

import numpy as np
import pandas as pd
import xarray as xr

from fireform.drivers.catalog import variable
from fireform.drivers.regions import RegionSet
from fireform.drivers.years import year_list
from fireform.exceptions import MissingVariableError, TimeMismatchError

__all__ = ["Drivers", "spherical_cell_area", "month_lengths"]

EARTH_RADIUS_M = 6_371_000.0  # ILAMB 2.x uses the same mean radius for cell areas.


def spherical_cell_area(lat: np.ndarray, lon: np.ndarray) -> np.ndarray:
    """Cell areas (m2) of a regular lat/lon grid from cell centres; edges at mid-points.

    A = R^2 (lon1 - lon0) (sin lat1 - sin lat0), the exact spherical area of a lat/lon cell.
    """
    lat = np.asarray(lat, dtype=float)
    lon = np.asarray(lon, dtype=float)

    def edges(c: np.ndarray, lo: float | None, hi: float | None) -> np.ndarray:
        if c.size == 1:
            raise ValueError("a grid needs at least two cells along each axis to infer edges")
        mid = 0.5 * (c[1:] + c[:-1])
        e = np.concatenate([[c[0] - (mid[0] - c[0])], mid, [c[-1] + (c[-1] - mid[-1])]])
        if lo is not None:
            e = np.clip(e, lo, hi)
        return e

    late = np.deg2rad(edges(lat, -90.0, 90.0))
    lone = np.deg2rad(edges(lon, None, None))
    dsin = np.abs(np.diff(np.sin(late)))
    dlon = np.abs(np.diff(lone))
    return EARTH_RADIUS_M**2 * dsin[:, None] * dlon[None, :]


def month_lengths(time: pd.DatetimeIndex | np.ndarray) -> np.ndarray:
    """Days in each month of a month-start time axis (the dt weights ILAMB uses)."""
    t = pd.DatetimeIndex(time)
    return np.asarray(t.days_in_month, dtype=float)


@dataclass(frozen=True, eq=False)
class Drivers:
    """Inputs in canonical units on one grid. Build with ``load_drivers`` or ``synth``."""

    ds: xr.Dataset
    cell_area: np.ndarray  # (lat, lon) m2
    mask: np.ndarray  # (lat, lon) bool: cells used for fitting and scoring
    regions: RegionSet
    target: str | None = "burned_fraction"
    sources: dict[str, str] = field(default_factory=dict)  # variable -> file it came from

    # -- axes ---------------------------------------------------------------------------------
    @property
    def lat(self) -> np.ndarray:
        return np.asarray(self.ds["lat"].values)

    @property
    def lon(self) -> np.ndarray:
        return np.asarray(self.ds["lon"].values)

    @property
    def time(self) -> pd.DatetimeIndex:
        return pd.DatetimeIndex(self.ds["time"].values)

    @property
    def years(self) -> np.ndarray:
        return np.unique(self.time.year)

    @property
    def variables(self) -> list[str]:
        return [str(v) for v in self.ds.data_vars]

    @cached_property
    def cell_index(self) -> tuple[np.ndarray, np.ndarray]:
        iy, ix = np.nonzero(self.mask)
        return iy, ix

    @property
    def n_cells(self) -> int:
        return int(self.cell_index[0].size)

    @property
    def n_months(self) -> int:
        return int(self.ds.sizes["time"])

    @cached_property
    def area(self) -> np.ndarray:
        """Packed cell areas (m2), float64 (n_cells,)."""
        iy, ix = self.cell_index
        return np.asarray(self.cell_area[iy, ix], dtype=float)

    @cached_property
    def dt(self) -> np.ndarray:
        """Month lengths in days (n_months,)."""
        return month_lengths(self.time)

    @cached_property
    def region_masks(self) -> dict[str, np.ndarray]:
        """Region masks over packed cells."""
        return self.regions.packed(self.cell_index)

    # -- data ---------------------------------------------------------------------------------
    def __contains__(self, name: str) -> bool:
        return name in self.ds.data_vars

    def is_static(self, name: str) -> bool:
        return "time" not in self.ds[name].dims

    def array(self, name: str) -> np.ndarray:
        """Packed float32 view: (n_cells, n_months) for dynamic, (n_cells, 1) for static."""
        cache = self.__dict__.setdefault("_packed", {})
        if name not in cache:
            if name not in self.ds.data_vars:
                raise MissingVariableError(
                    f"variable {name!r} is not in these drivers; they hold: {', '.join(self.variables)}"
                )
            da = self.ds[name]
            iy, ix = self.cell_index
            if "time" in da.dims:
                v = da.transpose("time", "lat", "lon").values[:, iy, ix].T
            else:
                v = da.transpose("lat", "lon").values[iy, ix][:, None]
            arr = np.ascontiguousarray(v, dtype=np.float32)
            arr.setflags(write=False)
            cache[name] = arr
        return cache[name]

    def units(self, name: str) -> str:
        return str(self.ds[name].attrs.get("units", variable(name).units))

    # -- subsetting ---------------------------------------------------------------------------
    def select_years(self, years) -> "Drivers":
        """A new Drivers holding only the given years: a list, a (first, last) tuple or "2001-2010"."""
        years = year_list(years)
        keep = np.isin(self.time.year, years)
        if not keep.any():
            raise TimeMismatchError(
                f"none of the years {years[0]}..{years[-1]} are in these drivers "
                f"({self.years[0]}..{self.years[-1]})"
            )
        return Drivers(
            ds=self.ds.isel(time=np.nonzero(keep)[0]),
            cell_area=self.cell_area,
            mask=self.mask,
            regions=self.regions,
            target=self.target,
            sources=dict(self.sources),
        )

    def with_mask(self, mask: np.ndarray) -> "Drivers":
        """A new Drivers using only the cells of ``mask`` (lat, lon) bool."""
        return Drivers(ds=self.ds, cell_area=self.cell_area, mask=np.asarray(mask, bool),
                       regions=self.regions, target=self.target, sources=dict(self.sources))

    def with_variables(self, **arrays: xr.DataArray) -> "Drivers":
        """A new Drivers with variables added or replaced (already in canonical units)."""
        return Drivers(
            ds=self.ds.assign(arrays),
            cell_area=self.cell_area,
            mask=self.mask,
            regions=self.regions,
            target=self.target,
            sources={**self.sources, **{k: "derived" for k in arrays}},
        )

    def fingerprint(self) -> str:
        """A content hash of grid, time, mask and every variable's values (stable across runs)."""
        h = hashlib.sha256()
        h.update(np.ascontiguousarray(self.lat, dtype=np.float64).tobytes())
        h.update(np.ascontiguousarray(self.lon, dtype=np.float64).tobytes())
        h.update(np.asarray(self.time.asi8).tobytes())
        h.update(np.ascontiguousarray(self.mask).tobytes())
        for name in sorted(self.variables):
            h.update(name.encode())
            h.update(np.ascontiguousarray(self.ds[name].values, dtype=np.float64).tobytes())
        return h.hexdigest()[:16]

    def __repr__(self) -> str:
        return (
            f"Drivers({self.n_cells} cells x {self.n_months} months "
            f"{self.time[0]:%Y-%m}..{self.time[-1]:%Y-%m}, vars={self.variables}, "
            f"regions={self.regions.name})"
        )
