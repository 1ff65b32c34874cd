"""Grids of a model and a reference, and ILAMB 2.x's way of putting both on one grid.

ILAMB 2.7.3 (``Variable.__init__``, ``ilamblib._composeGrids``, ``Variable.interpolate``), which
``read_grid``, ``compose`` and ``nearest`` reproduce step by step, in the same floating-point
operations (so the composed grid, and which source cell each composed cell takes, are the same):

1. Reading a grid: a latitude axis that decreases is flipped (its bounds as ``[::-1, ::-1]``);
   longitudes above 180 move by -360 (bounds too, each value on its own); the columns are rolled
   so the smallest longitude comes first (a first/last bound left on the wrong side of the
   dateline moves by 360, at most to -180/180). Bounds come from the file when its coordinate
   names them (CF ``bounds``), else from mid-points between centres, the outer ones half a step
   out. Bounds are then clipped to [-90, 90] and [-180, 180].
2. Composing: the sorted unique union of both grids' bounds, dropping values outside
   [-90, 90] / [-180, 180]; consecutive values make the cells; centres are the mid-points.
3. Mapping: each composed cell takes the source cell whose centre is nearest in latitude and,
   separately, in longitude (first on ties; no wrap at the dateline, no masking outside the
   source's extent: edge cells are repeated outwards).
4. Cell areas of the composed grid: R^2 (sin lat1 - sin lat0) (lon1 - lon0) from its bounds.
   But the interpolated variables keep only the centres, so 2.x's maps made by
   ``spatialDifference`` (the Bias and the phase-shift maps, hence the Bias and Seasonal scores)
   carry areas from bounds rebuilt at mid-points between centres (``rebuilt``): the same on a
   uniform grid, different where composed cells have unequal widths.

Where fireform departs (files ILAMB would reject or misread): bounds rows are sorted (lo, hi),
and a longitude axis that is not strictly increasing after step 1 raises ``ScoringError``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from fireform.drivers.dataset import EARTH_RADIUS_M
from fireform.exceptions import ScoringError

__all__ = ["Grid", "ReadGrid", "read_grid", "compose", "nearest", "take", "rebuilt",
           "bounds_from_centres"]


@dataclass(frozen=True, eq=False)
class Grid:
    """A regular-in-topology lat/lon grid: centres ascending, bounds (n, 2) as (lo, hi)."""

    lat: np.ndarray
    lon: np.ndarray
    lat_bnds: np.ndarray
    lon_bnds: np.ndarray

    @property
    def shape(self) -> tuple[int, int]:
        return (self.lat.size, self.lon.size)

    @property
    def size(self) -> int:
        return self.lat.size * self.lon.size

    def area(self) -> np.ndarray:
        """Cell areas (m2), ILAMB's ``CellAreas`` from bounds: R^2 dsin(lat) dlon (radians)."""
        dsin = (np.sin(self.lat_bnds[:, 1] * np.pi / 180.0)
                - np.sin(self.lat_bnds[:, 0] * np.pi / 180.0))
        dlon = (self.lon_bnds[:, 1] - self.lon_bnds[:, 0]) * np.pi / 180.0
        return EARTH_RADIUS_M**2 * np.outer(dsin, dlon)

    @classmethod
    def from_centres(cls, lat, lon) -> "Grid":
        """A grid of ascending centres, its cell edges at the mid-points between them."""
        lat, lon = np.asarray(lat, dtype=float), np.asarray(lon, dtype=float)
        return cls(lat, lon, bounds_from_centres(lat), bounds_from_centres(lon))

    def same_as(self, other: "Grid") -> bool:
        """Exactly the same cells (bounds equal to the last bit)."""
        return (self.shape == other.shape and np.array_equal(self.lat_bnds, other.lat_bnds)
                and np.array_equal(self.lon_bnds, other.lon_bnds))

    def describe(self) -> str:
        """``"180x360 (1 x 1 deg, lat -90..90, lon -180..180)"``; a range where widths vary."""

        def width(b: np.ndarray) -> str:
            w = b[:, 1] - b[:, 0]
            lo, hi = float(w.min()), float(w.max())
            return f"{lo:.4g}" if hi - lo <= 1e-6 * max(hi, 1e-12) else f"{lo:.4g}..{hi:.4g}"

        return (f"{self.lat.size}x{self.lon.size} "
                f"({width(self.lat_bnds)} x {width(self.lon_bnds)} deg, "
                f"lat {self.lat_bnds.min():g}..{self.lat_bnds.max():g}, "
                f"lon {self.lon_bnds.min():g}..{self.lon_bnds.max():g})")


def bounds_from_centres(x: np.ndarray) -> np.ndarray:
    """(n, 2) bounds at mid-points between centres, the outer ones half a step out (ILAMB's
    ``_createBnds``, same operations)."""
    x = np.asarray(x, dtype=float)
    b = np.zeros((x.size, 2))
    b[1:, 0] = 0.5 * (x[:-1] + x[1:])
    b[:-1, 1] = 0.5 * (x[:-1] + x[1:])
    b[0, 0] = x[0] - 0.5 * (x[1] - x[0])
    b[-1, 1] = x[-1] + 0.5 * (x[-1] - x[-2])
    return b


def _shift_lon(x: np.ndarray) -> np.ndarray:
    """ILAMB's ``_shiftLon``: values above 180 move by -360, below -180 by +360."""
    return (x <= 180) * x + (x > 180) * (x - 360) + (x < -180) * 360


@dataclass(frozen=True, eq=False)
class ReadGrid:
    """A normalised grid and the index arrays that put a file's data in its order:
    ``data[..., lat_order, :][..., lon_order]``."""

    grid: Grid
    lat_order: np.ndarray
    lon_order: np.ndarray

    def put(self, data: np.ndarray) -> np.ndarray:
        """(..., nlat, nlon) data in file order -> in the grid's order (no copy if the same)."""
        x = np.asarray(data)
        if not np.array_equal(self.lat_order, np.arange(self.lat_order.size)):
            x = x[..., self.lat_order, :]
        if not np.array_equal(self.lon_order, np.arange(self.lon_order.size)):
            x = x[..., self.lon_order]
        return x


def _axis(values, bnds, name: str, label: str) -> tuple[np.ndarray, np.ndarray | None]:
    x = np.asarray(values, dtype=float)
    if x.ndim != 1:
        raise ScoringError(f"{label}: {name} must be 1-D (a regular lat/lon grid), got shape "
                           f"{x.shape}; curvilinear grids are not supported")
    if x.size < 2:
        raise ScoringError(f"{label}: {name} has {x.size} value(s); a grid needs at least 2 "
                           "along each axis")
    if not np.isfinite(x).all():
        raise ScoringError(f"{label}: {name} has non-finite values: {x[~np.isfinite(x)][:3]}")
    b = None
    if bnds is not None:
        b = np.asarray(bnds, dtype=float)
        if b.shape != (x.size, 2) or not np.isfinite(b).all():
            raise ScoringError(f"{label}: {name} bounds must be finite with shape ({x.size}, 2), "
                               f"got {b.shape}")
    return x, b


def read_grid(lat, lon, lat_bnds=None, lon_bnds=None, *, label: str = "<grid>") -> ReadGrid:
    """Normalise a file's grid the way ILAMB 2.7.3 reads it (module docstring, step 1)."""
    lat, lb = _axis(lat, lat_bnds, "latitude", label)
    lon, ob = _axis(lon, lon_bnds, "longitude", label)
    lat_order = np.arange(lat.size)
    d = np.diff(lat)
    if np.all(d < 0):
        lat, lat_order = lat[::-1], lat_order[::-1]
        if lb is not None:
            lb = lb[::-1, ::-1]
    elif not np.all(d > 0):
        raise ScoringError(f"{label}: latitude is not monotonic (first values {lat[:4]})")
    lon = _shift_lon(lon)
    if ob is not None:
        ob = _shift_lon(ob)
    s = int(lon.argmin())
    lon, lon_order = np.roll(lon, -s), np.roll(np.arange(lon.size), -s)
    if ob is not None:
        ob = np.roll(ob, -s, axis=0)
        if ob[0, 0] > ob[0, 1]:
            ob[0, 0] = max(ob[0, 0] - 360, -180)
        if ob[-1, 1] < ob[-1, 0]:
            ob[-1, 1] = min(ob[-1, 1] + 360, +180)
    if not np.all(np.diff(lon) > 0):
        raise ScoringError(f"{label}: longitude is not strictly increasing once moved to -180..180 "
                           f"(values {lon[:4]}...); duplicated or unordered longitudes")
    if lb is None:
        lb = bounds_from_centres(lat)
    if ob is None:
        ob = bounds_from_centres(lon)
    lb = np.sort(lb.clip(-90, 90), axis=1)
    ob = np.sort(ob.clip(-180, 180), axis=1)
    outside = (lat < lb[:, 0]) | (lat > lb[:, 1])
    if outside.any():
        i = int(np.flatnonzero(outside)[0])
        raise ScoringError(f"{label}: latitude {lat[i]:g} lies outside its bounds {lb[i].tolist()}")
    outside = (lon < ob[:, 0]) | (lon > ob[:, 1])
    if outside.any():
        i = int(np.flatnonzero(outside)[0])
        raise ScoringError(f"{label}: longitude {lon[i]:g} lies outside its bounds "
                           f"{ob[i].tolist()}")
    return ReadGrid(Grid(lat, lon, lb, ob), lat_order, lon_order)


def _compose_axis(a: np.ndarray, b: np.ndarray, lim: float) -> tuple[np.ndarray, np.ndarray]:
    e = np.unique(np.hstack([a.flatten(), b.flatten()]))
    e = e[(e >= -lim) * (e <= +lim)]
    bnds = np.vstack([e[:-1], e[1:]]).T
    return bnds.mean(axis=1), bnds


def compose(a: Grid, b: Grid) -> Grid:
    """ILAMB 2.x's composed grid: every cell boundary of both grids (module docstring, step 2)."""
    lat, lb = _compose_axis(a.lat_bnds, b.lat_bnds, 90.0)
    lon, ob = _compose_axis(a.lon_bnds, b.lon_bnds, 180.0)
    return Grid(lat, lon, lb, ob)


def rebuilt(grid: Grid) -> Grid:
    """The grid with bounds rebuilt from its centres, clipped (what a 2.x ``Variable`` built
    from centres only carries; module docstring, step 4)."""
    return Grid(grid.lat, grid.lon, bounds_from_centres(grid.lat).clip(-90, 90),
                bounds_from_centres(grid.lon).clip(-180, 180))


def nearest(src: Grid, dst: Grid) -> tuple[np.ndarray, np.ndarray]:
    """(rows, cols): the source cell each destination cell takes (module docstring, step 3)."""
    rows = np.abs(dst.lat[:, None] - src.lat).argmin(axis=1)
    cols = np.abs(dst.lon[:, None] - src.lon).argmin(axis=1)
    return rows, cols


def take(data: np.ndarray, rows: np.ndarray, cols: np.ndarray) -> np.ndarray:
    """(..., nlat, nlon) -> (..., rows.size, cols.size) by the index arrays of ``nearest``."""
    return np.asarray(data)[..., rows[:, None], cols[None, :]]
