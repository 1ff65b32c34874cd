"""netCDF / zarr files or xarray Datasets -> ``Drivers`` in canonical units on one grid.

What ``load_drivers`` guarantees (or raises a FireformError naming file, variable and value):
- every variable converted to the catalog's canonical units (``units.conversion``);
- time on month starts (``datetime64[ns]``), aligned on year-month whatever each file's time
  encoding (units, calendar, mid-month or month-start stamps), cut to the common period; an
  annual series (one step per year: land use, population) beside monthly inputs holds each
  year's value over its 12 months;
- one grid: latitude and longitude sorted ascending, identical across inputs;
- spherical cell areas and a valid-cell mask (target finite in some month, every driver finite).
Everything is read and validated before the ``Drivers`` is built; the inputs are never modified.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import cftime
import numpy as np
import pandas as pd
import xarray as xr

from fireform.drivers.catalog import variable
from fireform.drivers.dataset import Drivers, spherical_cell_area
from fireform.drivers.from_model import derive_from_model
from fireform.drivers.identify import identify
from fireform.drivers.regions import RegionSet, region_set
from fireform.drivers.units import conversion, is_area
from fireform.exceptions import (
    CorruptFileError,
    DataNotFoundError,
    GridMismatchError,
    InvalidValueError,
    MissingVariableError,
    TimeMismatchError,
)

__all__ = [
    "load_drivers",
    "open_file",
    "month_index",
    "data_vars",
    "grid_coords",
    "Source",
    "PR_NEGATIVE_TOLERANCE",
    "area_as_fraction",
    "identified",
]

LAT_NAMES = ("lat", "latitude", "y", "nav_lat")
LON_NAMES = ("lon", "longitude", "x", "nav_lon")
# Precipitation below -tolerance (mm day-1) is an error; round-off negatives above it are set to 0
# (regridded reanalyses carry values like -1e-9).
PR_NEGATIVE_TOLERANCE = 1e-6


@dataclass(frozen=True)
class Source:
    """One opened input: a label for messages (file path or ``<dataset>``) and its Dataset."""

    label: str
    ds: xr.Dataset


def open_file(path: str | os.PathLike) -> xr.Dataset:
    """Open a netCDF file or zarr store without decoding times (``month_index`` does that).

    Missing paths raise DataNotFoundError; unreadable files CorruptFileError.
    """
    p = Path(path)
    if not p.exists():
        raise DataNotFoundError(f"file {str(p)!r} does not exist")
    try:
        if p.is_dir() or p.suffix == ".zarr":
            return xr.open_zarr(p, decode_times=False)
        return xr.open_dataset(p, decode_times=False)
    except Exception as e:  # netCDF4/h5netcdf/zarr raise many types for bad bytes
        raise CorruptFileError(
            f"file {str(p)!r} cannot be read as netCDF/zarr ({type(e).__name__}: {e})"
        ) from None


def grid_coords(da: xr.DataArray | xr.Dataset) -> tuple[str, str]:
    """The names of the latitude and longitude dimensions (CF names or common spellings)."""

    def find(names: tuple[str, ...], std: str) -> str | None:
        for d in da.dims:
            c = da[d] if d in da.coords else None
            if c is not None and c.attrs.get("standard_name") == std:
                return str(d)
        for d in da.dims:
            if str(d).lower() in names:
                return str(d)
        return None

    return find(LAT_NAMES, "latitude"), find(LON_NAMES, "longitude")  # type: ignore[return-value]


def _time_bounds_name(ds: xr.Dataset, tname: str) -> str | None:
    b = ds[tname].attrs.get("bounds")
    return b if b and b in ds.variables else None


def month_index(ds: xr.Dataset | xr.DataArray, *, label: str = "<dataset>", tname: str = "time") -> pd.DatetimeIndex:
    """Month starts (``datetime64[ns]``) of each time step, whatever the encoding.

    Numeric times are decoded with cftime from their ``units``/``calendar`` ("months since" is
    handled by calendar arithmetic); when time bounds exist their midpoint is used, so stamps at
    the start, middle or end of a month all map to that month.
    """
    t = ds[tname]
    vals = t.values
    units = t.attrs.get("units")
    if np.issubdtype(vals.dtype, np.datetime64):
        idx = pd.DatetimeIndex(vals)
        years, months = np.asarray(idx.year), np.asarray(idx.month)
    elif vals.dtype == object:  # cftime objects
        years = np.array([v.year for v in vals])
        months = np.array([v.month for v in vals])
    else:
        if not units or "since" not in str(units):
            raise TimeMismatchError(
                f"{label}: time coordinate {tname!r} has no 'units ... since ...' attribute "
                f"(units={units!r}); cannot place it on calendar months"
            )
        num = np.asarray(vals, dtype=float)
        if isinstance(ds, xr.Dataset):
            b = _time_bounds_name(ds, tname)
            if b is not None:
                num = np.asarray(ds[b].values, dtype=float).mean(axis=-1)
        step, _, ref = str(units).partition(" since ")
        cal = t.attrs.get("calendar", "standard")
        if step.strip().lower() in ("month", "months"):
            r = cftime.datetime.strptime(ref.strip()[:10], "%Y-%m-%d", calendar=cal)
            total = r.year * 12 + (r.month - 1) + np.floor(num).astype(int)
            years, months = total // 12, total % 12 + 1
        else:
            try:
                dates = cftime.num2date(num, str(units), calendar=cal, only_use_cftime_datetimes=True)
            except Exception as e:
                raise TimeMismatchError(
                    f"{label}: cannot decode time {tname!r} with units {units!r}, calendar "
                    f"{cal!r} ({type(e).__name__}: {e})"
                ) from None
            dates = np.atleast_1d(dates)
            years = np.array([d.year for d in dates])
            months = np.array([d.month for d in dates])
    idx = pd.DatetimeIndex(
        pd.to_datetime({"year": years, "month": months, "day": 1})
    ).as_unit("ns")
    if idx.has_duplicates:
        dup = idx[idx.duplicated()][0]
        raise TimeMismatchError(f"{label}: month {dup:%Y-%m} appears more than once in {tname!r}")
    return idx


# -- sources and mapping ------------------------------------------------------------------------
def _open_sources(sources) -> list[Source]:
    if isinstance(sources, (xr.Dataset, str, os.PathLike)):
        sources = [sources]
    out: list[Source] = []
    for k, s in enumerate(sources):
        if isinstance(s, Source):
            out.append(s)
        elif isinstance(s, xr.Dataset):
            out.append(Source(f"<dataset {k}>" if len(sources) > 1 else "<dataset>", s))
        else:
            out.append(Source(str(s), open_file(s)))
    return out


def data_vars(ds: xr.Dataset) -> list[str]:
    """Data variables that are not bounds or auxiliary 1-d coordinates."""
    bounds = {ds[v].attrs.get("bounds") for v in ds.variables}
    return [
        str(v) for v in ds.data_vars
        if v not in bounds and not str(v).endswith(("_bnds", "_bounds")) and ds[v].ndim >= 2
    ]


def _find_source(srcs: list[Source], ref: str) -> Source | None:
    for s in srcs:
        if s.label == ref or Path(s.label).name == ref or Path(s.label).stem == ref:
            return s
    return None


def _resolve(srcs: list[Source], name: str, ref) -> tuple[Source, str]:
    """(source, variable) for catalog ``name`` from a mapping value (or the name itself)."""
    if isinstance(ref, tuple):
        fref, vname = ref
        s = _find_source(srcs, str(fref))
        if s is None:
            raise DataNotFoundError(
                f"mapping for {name!r} names file {fref!r}, which is not among the sources: "
                f"{', '.join(x.label for x in srcs)}"
            )
        if vname not in s.ds.data_vars:
            raise MissingVariableError(
                f"file {s.label}: variable {vname!r} (mapped to {name!r}) is missing; "
                f"the file has: {', '.join(data_vars(s.ds)) or 'no data variables'}"
            )
        return s, vname
    ref = str(ref)
    s = _find_source(srcs, ref)
    if s is not None:  # a file: its one data variable, or the one named like the catalog entry
        dv = data_vars(s.ds)
        if name in dv:
            return s, name
        if len(dv) == 1:
            return s, dv[0]
        raise MissingVariableError(
            f"file {s.label}: cannot tell which variable is {name!r}; the file has: "
            f"{', '.join(dv) or 'no data variables'} (map it as (file, variable))"
        )
    for s in srcs:
        if ref in s.ds.data_vars:
            return s, ref
    have = "; ".join(f"{x.label}: {', '.join(data_vars(x.ds)) or '-'}" for x in srcs)
    raise MissingVariableError(
        f"variable {ref!r} (for {name!r}) is in none of the sources; they have: {have}"
    )


def identified(srcs: list[Source]) -> dict[str, list[tuple[Source, str]]]:
    """Catalog name -> the (source, variable) parts holding it, for every variable the catalog's
    vocabulary names (catalog name, CMOR name or alias, standard_name), as `fireform check`
    identifies it; exact catalog names win, then the first file; file-name guesses are left to
    `check`, too weak to load silently. Further files with the same variable name are further
    time chunks of it (CMIP's ``..._185001-189912.nc``, ``..._190001-194912.nc``)."""
    sel: dict[str, list[tuple[Source, str]]] = {}
    for exact in (True, False):
        for s in srcs:
            for v in data_vars(s.ds):
                i = identify(s.ds, v, s.label)
                if i.name is None or i.how not in ("name", "standard_name") or (v == i.name) != exact:
                    continue
                parts = sel.get(i.name)
                if parts is None:
                    sel[i.name] = [(s, v)]
                elif parts[0][1] == v and all(p[0] is not s for p in parts):
                    parts.append((s, v))
    return sel


def _selection(srcs: list[Source], mapping: Mapping | None,
               target: str | None) -> dict[str, list[tuple[Source, str]]]:
    """Catalog name -> the (source, variable) parts that hold it: from the mapping (a value may
    list several refs: the time chunks of one variable), else :func:`identified`."""
    if mapping:
        sel = {name: [_resolve(srcs, name, r) for r in (ref if isinstance(ref, list) else [ref])]
               for name, ref in mapping.items()}
        for name in sel:
            variable(name)  # unknown catalog names fail with the valid list
    else:
        sel = identified(srcs)
    if target is not None and target not in sel:
        have = "; ".join(f"{x.label}: {', '.join(data_vars(x.ds)) or '-'}" for x in srcs)
        raise MissingVariableError(
            f"target variable {target!r} is in none of the sources (and not in the mapping); "
            f"they have: {have}"
        )
    return sel


# -- one variable -------------------------------------------------------------------------------
@dataclass(frozen=True)
class _Loaded:
    name: str
    label: str
    data: np.ndarray  # (time, lat, lon) or (lat, lon), canonical units, float32
    lat: np.ndarray
    lon: np.ndarray
    months: pd.DatetimeIndex | None
    raw_units: str
    annual: bool = False  # one value per year in the file, held over that year's 12 months


def _load_one(name: str, src: Source, vname: str) -> _Loaded:
    da = src.ds[vname]
    where = f"file {src.label}, variable {vname!r}"
    latn, lonn = grid_coords(da)
    if latn is None or lonn is None:
        raise GridMismatchError(
            f"{where}: no latitude/longitude dimensions among {list(da.dims)} "
            f"(expected one of {LAT_NAMES} and {LON_NAMES})"
        )
    tname = next((str(d) for d in da.dims if str(d).lower() in ("time", "t")), None)
    extra = [d for d in da.dims if d not in (latn, lonn, tname) and da.sizes[d] != 1]
    if extra:
        raise GridMismatchError(f"{where}: unexpected dimensions {extra} besides time, lat, lon")
    da = da.squeeze([d for d in da.dims if d not in (latn, lonn, tname)], drop=True)
    months = month_index(src.ds, label=src.label, tname=tname) if tname else None
    order = [tname, latn, lonn] if tname else [latn, lonn]
    da = da.transpose(*order)
    lat = np.asarray(da[latn].values, dtype=float)
    lon = np.asarray(da[lonn].values, dtype=float)
    vals = np.asarray(da.values)
    if not np.issubdtype(vals.dtype, np.floating):
        vals = vals.astype(np.float64)
    # Months in time order whatever the file's order (a reversed time axis is still monthly data).
    if months is not None and not months.is_monotonic_increasing:
        it = np.argsort(months.asi8, kind="stable")
        months, vals = months[it], vals[it]
    # Sort axes ascending so files that store latitude north-to-south still share one grid.
    if np.any(np.diff(lat) < 0):
        iy = np.argsort(lat, kind="stable")
        vals, lat = vals[..., iy, :], lat[iy]
    if np.any(np.diff(lon) < 0):
        ix = np.argsort(lon, kind="stable")
        vals, lon = vals[..., ix], lon[ix]
    units = da.attrs.get("units")
    frac = area_as_fraction(vals, units, lat, lon, file=src.label, var=vname) if name == "burned_fraction" else None
    if frac is not None:
        vals, units = frac, f"{units} (divided by the cell area)"
    else:
        conv = conversion(units, variable(name).units, file=src.label, var=vname)
        if not conv.identity:  # in float64, then back to float32 storage
            vals = conv.apply(vals.astype(np.float64))
    if not np.isfinite(vals).any():
        raise InvalidValueError(
            f"{where} ({name}): every value is NaN or missing ({vals.size} values)"
        )
    if name in ("pr", "pr_annual"):
        neg = vals < -PR_NEGATIVE_TOLERANCE
        if neg.any():
            k = np.unravel_index(np.argmin(np.where(neg, vals, np.inf)), vals.shape)
            at = ", ".join(
                f"{d}={v}" for d, v in zip(
                    ["time", "lat", "lon"][-len(k):],
                    ([f"{months[k[0]]:%Y-%m}"] if months is not None else []) + [lat[k[-2]], lon[k[-1]]],
                )
            )
            raise InvalidValueError(
                f"{where} ({name}): negative precipitation {vals[k]:.6g} {variable(name).units} "
                f"at {at} ({int(neg.sum())} negative values)"
            )
        vals = np.where((vals < 0) & (vals >= -PR_NEGATIVE_TOLERANCE), 0.0, vals)
    return _Loaded(name, src.label, vals.astype(np.float32, copy=False), lat, lon, months, str(units))


def _joined(parts: list[_Loaded]) -> _Loaded:
    """One variable from the time chunks of a run split over several files: same grid, months
    that do not overlap (an overlap is an error naming both files and the first shared month)."""
    if len(parts) == 1:
        return parts[0]
    first = parts[0]
    for p in parts[1:]:
        _check_grid(first, p)
        if first.months is None or p.months is None:
            raise GridMismatchError(
                f"{first.name}: two files give it ({first.label}, {p.label}) and one has no time axis; "
                "a static variable belongs in one file"
            )
    parts = sorted(parts, key=lambda p: p.months[0])  # type: ignore[index]
    for a, b in zip(parts, parts[1:]):
        shared = a.months.intersection(b.months)  # type: ignore[union-attr]
        if not shared.empty:
            raise TimeMismatchError(
                f"{first.name}: files {a.label} and {b.label} both hold {shared[0]:%Y-%m} "
                f"({len(shared)} shared months); time chunks of one variable must not overlap"
            )
    months = parts[0].months.append([p.months for p in parts[1:]])  # type: ignore[union-attr]
    return _Loaded(first.name, " + ".join(p.label for p in parts),
                   np.concatenate([p.data for p in parts], axis=0), first.lat, first.lon,
                   pd.DatetimeIndex(months), first.raw_units)


def _is_annual(months: pd.DatetimeIndex | None) -> bool:
    """One time step per year, 12 months apart (land use, population: yearly in LUH2/ISIMIP)."""
    if months is None or len(months) < 2:
        return False
    n = np.asarray(months.year) * 12 + np.asarray(months.month)
    return bool(np.all(np.diff(n) == 12))


def _monthly(x: _Loaded) -> _Loaded:
    """An annual series as monthly: each year's value for every month of that year (a yearly
    state such as population or crop fraction, not a flux to spread)."""
    assert x.months is not None
    months = pd.DatetimeIndex([pd.Timestamp(year=int(y), month=m, day=1) for y in x.months.year
                               for m in range(1, 13)]).as_unit("ns")
    return _Loaded(x.name, x.label, np.repeat(x.data, 12, axis=0), x.lat, x.lon, months, x.raw_units, annual=True)


def area_as_fraction(values: np.ndarray, units: str | None, lat: np.ndarray, lon: np.ndarray, *,
                     file: str, var: str) -> np.ndarray | None:
    """A burned area given per cell as an area (GFED5 writes km2 per month) as the fraction of each
    cell's spherical area; None when ``units`` are not an area. ``values``: (..., lat, lon) in the
    order of ``lat`` and ``lon`` (either direction)."""
    if not is_area(units):
        return None
    iy, ix = np.argsort(lat, kind="stable"), np.argsort(lon, kind="stable")
    area = np.empty((lat.size, lon.size))
    area[np.ix_(iy, ix)] = spherical_cell_area(np.asarray(lat)[iy], np.asarray(lon)[ix])
    return conversion(units, "m2", file=file, var=var).apply(np.asarray(values, dtype=np.float64)) / area


def _check_grid(ref: _Loaded, other: _Loaded) -> None:
    for axis, a, b in (("lat", ref.lat, other.lat), ("lon", ref.lon, other.lon)):
        if a.shape != b.shape or not np.allclose(a, b, atol=1e-6, rtol=0):
            if a.shape != b.shape:
                detail = f"{a.size} vs {b.size} values ({a[0]:g}..{a[-1]:g} vs {b[0]:g}..{b[-1]:g})"
            else:
                k = int(np.argmax(~np.isclose(a, b, atol=1e-6, rtol=0)))
                detail = f"first difference at index {k}: {a[k]:g} vs {b[k]:g}"
            raise GridMismatchError(
                f"grids differ in coordinate {axis!r}: {ref.name} from {ref.label} vs "
                f"{other.name} from {other.label}: {detail}"
            )


def load_drivers(
    sources: str | os.PathLike | xr.Dataset | Sequence[str | os.PathLike | xr.Dataset | Source],
    *,
    mapping: Mapping[str, str | tuple[str, str] | list[str | tuple[str, str]]]
    | Mapping[str, list[tuple[str, str]]] | None = None,
    target: str | None = "burned_fraction",
    regions: str | RegionSet = "ilamb",
    mask: np.ndarray | None = None,
    data_dir: str | os.PathLike | None = None,
) -> Drivers:
    """Read, convert and align inputs into a ``Drivers``.

    sources: netCDF/zarr paths and/or xarray Datasets (or ``Source`` records: a Dataset with the
        label that messages should name, e.g. the file an in-memory correction came from).
    mapping: catalog name -> variable name (searched in every source), file (path, name or stem:
        its single data variable) or (file, variable), or a list of those (time chunks). Without a mapping every data variable whose
        name is a catalog name is taken.
    target: catalog name of the target (None for drivers only).
    regions: "ilamb" (ILAMB 2.x boxes), "gfed" (basis-region map from the bundle in ``data_dir``
        or $FIREFORM_DATA), "global", or a RegionSet on this grid.
    mask: optional (lat, lon) boolean mask (sorted-ascending grid) ANDed with the valid cells.
    """
    srcs = _open_sources(sources)
    try:
        sel = _selection(srcs, mapping, target)
        loaded = [_joined([_load_one(name, s, v) for s, v in parts]) for name, parts in sel.items()]
    finally:
        for s in srcs:
            if not s.label.startswith("<"):
                s.ds.close()
    if target is not None:
        tgt = next(x for x in loaded if x.name == target)
        if tgt.months is None:
            raise TimeMismatchError(f"target {target!r} from {tgt.label} has no time dimension")
    if any(x.months is not None and not _is_annual(x.months) for x in loaded):  # monthly inputs
        loaded = [_monthly(x) if _is_annual(x.months) else x for x in loaded]
    ref = loaded[0]
    for x in loaded[1:]:
        _check_grid(ref, x)
    dyn = [x for x in loaded if x.months is not None]
    if not dyn:
        raise TimeMismatchError("no input has a time dimension; drivers need monthly data")
    common = dyn[0].months
    assert common is not None  # dyn: the inputs with months
    for x in dyn[1:]:
        common = common.intersection(x.months)
    if common.empty:
        spans = "; ".join(f"{x.name} ({x.label}): {m[0]:%Y-%m}..{m[-1]:%Y-%m}" for x in dyn if (m := x.months) is not None)
        raise TimeMismatchError(f"the inputs share no month: {spans}")
    full = pd.date_range(common[0], common[-1], freq="MS").as_unit("ns")
    if len(full) != len(common):
        gap = full.difference(common)[0]
        raise TimeMismatchError(
            f"the common period {common[0]:%Y-%m}..{common[-1]:%Y-%m} has gaps (first missing month {gap:%Y-%m})"
        )
    lat, lon = ref.lat, ref.lon
    data: dict[str, tuple] = {}
    for x in loaded:
        attrs = {"units": variable(x.name).units, "source_file": x.label, "source_units": x.raw_units}
        if x.annual:
            attrs["time_step"] = "annual in the file: each year's value held over its 12 months"
        if x.months is None:
            data[x.name] = (("lat", "lon"), x.data, attrs)
        else:
            pos = x.months.get_indexer(common)
            whole = pos.size == x.months.size and np.array_equal(pos, np.arange(pos.size))
            data[x.name] = (("time", "lat", "lon"), x.data if whole else x.data[pos], attrs)
    origin = {x.name: x.label for x in loaded}
    # VPD, soil wetness, agb and fuel from the model outputs they come from (stated formulas)
    derive_from_model(data, origin)
    ds = xr.Dataset(data, coords={"time": common.values, "lat": lat, "lon": lon})
    valid = np.ones((lat.size, lon.size), dtype=bool)
    for name, da in ds.data_vars.items():
        v = da.values
        if name == target:
            valid &= np.isfinite(v).any(axis=0)
        else:
            valid &= np.isfinite(v).all(axis=0) if v.ndim == 3 else np.isfinite(v)
    if mask is not None:
        m = np.asarray(mask, dtype=bool)
        if m.shape != valid.shape:
            raise GridMismatchError(f"mask has shape {m.shape}; the grid is {valid.shape} (lat, lon)")
        valid &= m
    if not valid.any():
        raise InvalidValueError(
            "no valid cell: no cell has the target and every driver finite "
            f"(variables: {', '.join(ds.data_vars)})"
        )
    return Drivers(
        ds=ds,
        cell_area=spherical_cell_area(lat, lon),
        mask=valid,
        regions=region_set(regions, lat, lon, data_dir=data_dir),
        target=target,
        sources=origin,
    )
