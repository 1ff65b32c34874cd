"""Checks of raw netCDF/zarr files, read generically (never the curated bundle loaders'
corrections); when the files assemble into Drivers, the drivers-level rules run on them too."""

from __future__ import annotations

import os
import warnings
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

import cftime
import numpy as np
import pandas as pd

from fireform.drivers.catalog import catalog
from fireform.drivers.check.report import InputReport, fmt, median, report, row
from fireform.drivers.check.rules import check_drivers
from fireform.drivers.check.thresholds import CANDIDATE_UNITS, FILL_THRESHOLD, RANGE_ERROR_SHARE, TYPICAL_MEDIAN
from fireform.drivers.from_model import AssumptionWarning, derivations
from fireform.drivers.identify import Identification, identify
from fireform.drivers.load import area_as_fraction, data_vars, grid_coords, load_drivers, month_index, open_file
from fireform.drivers.units import conversion, parse_units
from fireform.exceptions import FireformError, UnitsError

if TYPE_CHECKING:
    import xarray as xr

__all__ = ["check_paths"]


def _suggest_units(values: np.ndarray, name: str) -> str | None:
    """A unit under which the values fall in the catalog range with a typical median."""
    v = catalog()[name]
    finite = values[np.isfinite(values)]
    if finite.size == 0:
        return None
    med = median(finite)
    for cand in CANDIDATE_UNITS.get(v.units, []):
        try:
            c = conversion(cand, v.units)
        except UnitsError:
            continue
        lo, hi = c.apply(float(finite.min())), c.apply(float(finite.max()))
        typ = TYPICAL_MEDIAN.get(name)
        if v.lo <= lo and hi <= v.hi and (typ is None or typ[0] <= c.apply(med) <= typ[1]):
            return cand
    return None


def _time_info(ds, file: str) -> tuple[dict | None, list[dict]]:
    if "time" not in ds.variables:
        return None, []
    t = ds["time"]
    try:
        idx = month_index(ds, label=file)
    except FireformError as e:
        return None, [row("error", "time", "time", "", file, str(e))]
    stamp = ""
    if np.issubdtype(t.dtype, np.number) and t.attrs.get("units"):
        d = cftime.num2date(np.asarray(t.values[:1], float), t.attrs["units"],
                            calendar=t.attrs.get("calendar", "standard"))[0]
        stamp = "month-start" if d.day == 1 and d.hour == 0 else f"stamped day {d.day} {d.hour:02d}h"
        stamp += ", with bounds" if "bounds" in t.attrs else ""
    enc = {"units": t.attrs.get("units", "datetime64"), "calendar": t.attrs.get("calendar", "standard"),
           "stamp": stamp, "first": f"{idx[0]:%Y-%m}", "last": f"{idx[-1]:%Y-%m}", "n": len(idx)}
    return enc, []


def check_paths(
    paths: Sequence[str | os.PathLike] | str | os.PathLike,
    *,
    target: str | None = None,
    mapping: Mapping | None = None,
    holdout_years=None,
    regions: str = "ilamb",
    assemble: bool = True,
) -> InputReport:
    """Check raw files generically. ``target``: raw variable name or catalog name of the target
    (default: whatever is identified as ``burned_fraction``). When the files assemble into Drivers
    (``load_drivers`` with the identified variables) ``check_drivers`` runs on them too, unless
    ``assemble=False`` (the input gate runs it on the Drivers it actually loads)."""
    if isinstance(paths, (str, os.PathLike)):
        paths = [paths]
    rows: list[dict] = []
    opened: list[tuple[str, xr.Dataset]] = []
    for p in paths:
        try:
            opened.append((str(p), open_file(p)))
        except FireformError as e:
            rows.append(row("error", "read", "", "", str(p), str(e)))
    ids: list[Identification] = []
    for f, ds in opened:
        dv = data_vars(ds)
        if not dv:
            rows.append(row("error", "variables", "", "", f, "no gridded data variable in the file"))
        for v in dv:
            i = identify(ds, v, f, mapping)
            ids.append(i)
            if i.name is None:
                rows.append(row("info", "identify", v, "", f, f"variable {v!r} not identified with any catalog variable; skipped"))
                continue
            rows.append(row("info", "identify", i.name, "", f, f"variable {v!r} identified as {i.name!r} by {i.how}"))
            if i.conflict:
                rows.append(row("warning", "identify", i.name, "", f, i.conflict))
    # Several files claiming the same catalog variable: prefer those whose file name agrees.
    ids.sort(key=lambda i: bool(i.conflict))
    named = pd.Series([i.name for i in ids if i.name], dtype=object)
    chunked = _time_chunks(ids, dict(opened))
    for name, n in named.value_counts().items():
        if name in chunked:
            rows.append(row("info", "identify", name, "", "",
                             f"{name!r} is split in time over {n} files ({', '.join(Path(f).name for f in chunked[name])}); "
                             "joined in time order"))
        elif n > 1:
            who = [f"{Path(i.file).name}:{i.var}" for i in ids if i.name == name]
            rows.append(row("warning", "identify", name, "", "",
                             f"{n} variables identify as {name!r} ({', '.join(who)}); the first usable one is "
                             "used for the drivers-level checks"))
    # The target and the cells where it is valid.
    tid = next((i for i in ids if target and (i.var == target or i.name == target)), None) if target else None
    tid = tid or next((i for i in ids if i.name == "burned_fraction"), None)
    target_valid = None
    grid_ref = None
    if tid is not None:
        ds = dict(opened)[tid.file]
        a = np.asarray(ds[tid.var].values, dtype=float)
        a = np.where(np.abs(a) >= FILL_THRESHOLD, np.nan, a)
        target_valid = np.isfinite(a).any(axis=0) if a.ndim == 3 else np.isfinite(a)
        la, lo = grid_coords(ds[tid.var])
        grid_ref = (tid.file, np.asarray(ds[la].values), np.asarray(ds[lo].values))
    elif target:
        rows.append(row("error", "target", target, "", "", f"target {target!r} is in none of the files"))
    encodings: dict[str, dict] = {}
    good: dict[str, list[tuple[str, str]]] = {}
    times: dict[str, tuple[dict | None, list[dict]]] = {}  # per file: one time axis, decoded once
    for i in ids:
        if i.name is None:
            continue
        ds = dict(opened)[i.file]
        rows_i, ok = _check_raw_variable(ds, i, target_valid, grid_ref)
        rows += rows_i
        if i.file not in times:
            times[i.file] = _time_info(ds, i.file)
        enc, trows = times[i.file]
        rows += trows
        if enc is not None:
            encodings[i.file] = enc
        if ok and not trows and (i.name not in good or (i.name in chunked and i.file in chunked[i.name])):
            good.setdefault(i.name, []).append((i.file, i.var))
    if len({(e["units"], e["calendar"], e["stamp"]) for e in encodings.values()}) > 1:
        groups: dict[str, list[str]] = {}
        for f, en in encodings.items():
            key = f"{en['units']} ({en['calendar']}, {en['stamp'] or 'stamped'}) {en['first']}..{en['last']}"
            groups.setdefault(key, []).append(Path(f).name)
        detail = "; ".join(f"{', '.join(fs)}: {k}" for k, fs in groups.items())
        rows.append(row("warning", "time", "time", "", "",
                         f"time encodings differ between files (aligned on year-month): {detail}"))
    # a variable's period is the union of its time chunks
    span: dict[str, tuple[str, str]] = {}
    for i in ids:
        if i.name and i.file in encodings:
            enc_i = encodings[i.file]
            first, last = span.get(i.name, (enc_i["first"], enc_i["last"]))
            span[i.name] = (min(first, enc_i["first"]), max(last, enc_i["last"]))
    periods = set(span.values())
    if len(periods) > 1:
        rows.append(row("warning", "time", "time", "", "",
                         f"files cover different periods ({', '.join(f'{a}..{b}' for a, b in sorted(periods))}); "
                         "cut to the common period"))
    for _, ds in opened:
        ds.close()
    out = report(rows)
    # Drivers-level checks on whatever assembles cleanly.
    tname = tid.name if tid is not None and tid.name in good else None
    if assemble and good and (tname or target is None):
        try:
            with warnings.catch_warnings():  # assumptions become report rows below
                warnings.simplefilter("ignore", AssumptionWarning)
                d = load_drivers([str(p) for p in paths if str(p) in {f for parts in good.values() for f, _ in parts}],
                                 mapping=good, target=tname, regions=regions)
        except FireformError as e:
            out += report([row("warning", "assemble", "", "", "", f"drivers-level checks skipped: {e}")])
        else:
            out += report([row("warning" if r.assumption else "info", "derive", r.variable, "", d.sources[r.variable],
                               f"{r.variable} derived from {r.derived_from.replace(' ', ' + ')}: {r.formula}"
                               + (f"; assumes {r.assumption}" if r.assumption else ""))
                           for r in derivations(d).itertuples()])
            out += check_drivers(d, holdout_years=holdout_years)
    return out


def _time_chunks(ids: list[Identification], opened: dict) -> dict[str, list[str]]:
    """Catalog name -> its files, for a variable split in time over files: the same variable
    name in every file and month ranges that do not overlap (else: rival files, warned about)."""
    out: dict[str, list[str]] = {}
    by_name: dict[str, list[Identification]] = {}
    for i in ids:
        if i.name:
            by_name.setdefault(i.name, []).append(i)
    for name, group in by_name.items():
        if len(group) < 2 or len({i.var for i in group}) > 1 or len({i.file for i in group}) < len(group):
            continue
        try:
            spans = sorted(((month_index(opened[i.file], label=i.file), i.file) for i in group),
                           key=lambda m: m[0][0])
        except (FireformError, KeyError, TypeError, ValueError):  # no time axis, undecodable: not chunks
            continue
        if all(a[-1] < b[0] for (a, _), (b, _) in zip(spans, spans[1:])):
            out[name] = [f for _, f in spans]
    return out


def _check_raw_variable(ds, i: Identification, target_valid, grid_ref) -> tuple[list[dict], bool]:
    """Checks of one raw variable; returns (findings, usable for assembling Drivers)."""
    rows: list[dict] = []
    assert i.name is not None  # the caller skips unidentified variables
    cat = catalog()[i.name]
    da = ds[i.var]
    f, name = i.file, i.name
    ok = True
    a = np.asarray(da.values)
    if not np.issubdtype(a.dtype, np.floating):
        a = a.astype(np.float64)
    la, lo = grid_coords(da)
    units = da.attrs.get("units")
    if name == "burned_fraction" and la and lo and list(da.dims[-2:]) == [la, lo]:
        frac = area_as_fraction(a, units,
                                np.asarray(ds[la].values, float), np.asarray(ds[lo].values, float), file=f, var=i.var)
        if frac is not None:  # an area per cell, checked as the fraction the loader makes of it
            rows.append(row("info", "units", name, "", f, f"burned area in {units!r} per cell: divided by the "
                            "spherical cell area to a fraction"))
            a, units = frac, "1"
    if grid_ref is not None and la and lo:
        rf, rlat, rlon = grid_ref
        for axis, x, y in (("lat", np.sort(np.asarray(ds[la].values)), np.sort(rlat)),
                           ("lon", np.sort(np.asarray(ds[lo].values)), np.sort(rlon))):
            if x.shape != y.shape or not np.allclose(x, y, atol=1e-6):
                rows.append(row("error", "grid", name, "", f,
                                 f"coordinate {axis!r} differs from the target's ({Path(rf).name}): "
                                 f"{x.size} values {fmt(x[0])}..{fmt(x[-1])} vs {y.size} values {fmt(y[0])}..{fmt(y[-1])}"))
                ok = False
    # Undecoded fill values.
    fill = np.isfinite(a) & (np.abs(a) >= FILL_THRESHOLD)
    if fill.any():
        cells = fill.any(axis=0) if a.ndim == 3 else fill
        inside = int((cells & target_valid).sum()) if target_valid is not None and cells.shape == target_valid.shape else None
        sev = "error" if inside is None or inside > 0 else "warning"
        where = (f"{inside} of them where the target is valid" if inside is not None else "target unknown")
        rows.append(row(sev, "fill_value", name, "", f,
                         f"{int(fill.sum())} values in {int(cells.sum())} cells have |x| >= 1e30 "
                         f"(e.g. {fmt(float(a[fill][0]))}, the netCDF default fill) but are not decoded as "
                         f"missing (_FillValue={da.encoding.get('_FillValue', da.attrs.get('_FillValue'))}); {where}"))
        ok = ok and sev != "error"
        a = np.where(fill, np.nan, a)
    finite = np.isfinite(a)
    if not finite.any():
        rows.append(row("error", "all_nan", name, "", f, f"variable {i.var!r}: all {a.size} values are NaN or fill"))
        return rows, False
    # Coverage where the target is valid.
    if target_valid is not None and name != "burned_fraction":
        cov = finite.all(axis=0) if a.ndim == 3 else finite
        if cov.shape == target_valid.shape:
            gap = target_valid & ~cov
            if gap.any():
                rows.append(row("error", "coverage", name, "", f,
                                 f"NaN/missing in {int(gap.sum())} of {int(target_valid.sum())} cells where the target is valid"))
    # Units.
    fin_vals = a[finite]
    lo_raw, hi_raw = float(fin_vals.min()), float(fin_vals.max())
    med_raw = median(fin_vals)
    vals_desc = f"values {fmt(lo_raw)}..{fmt(hi_raw)} (median {fmt(med_raw)})"
    try:
        c = conversion(units, cat.units, file=f, var=i.var)
    except UnitsError as e:
        sug = _suggest_units(a, name)
        hint = f"; the {vals_desc} are plausible as {sug!r}" if sug else f"; {vals_desc}"
        if i.conflict:
            hint += f" (but {i.conflict})"
        kind = "missing" if units is None or str(units).strip() == "" else "not convertible"
        rows.append(row("error", "units", name, "", f, f"units {kind} for {name!r}: {e}{hint}"))
        return rows, False
    q = parse_units(units)
    if q.magnitude != 1:
        rows.append(row("info", "units", name, "", f,
                         f"units {units!r} carry a scale factor {q.magnitude:.6g}: 1 unit = {q.magnitude:.6g} "
                         f"{q.units:~}; converted to {cat.units} with factor {c.scale:.6g}"))
    conv = c.apply(fin_vals.astype(np.float64))
    lo_c, hi_c = float(conv.min()), float(conv.max())
    med_c = c.apply(med_raw)
    out = (conv < cat.lo) | (conv > cat.hi)
    typ = TYPICAL_MEDIAN.get(name)
    implausible = typ is not None and not (typ[0] <= med_c <= typ[1])
    if out.any() or implausible:
        sug = _suggest_units(a, name)
        alt = conversion(sug, cat.units) if sug is not None else None
        if alt is not None and sug != units and (alt.scale, alt.offset) != (c.scale, c.offset):
            rows.append(row("error", "magnitude", name, "", f,
                             f"{vals_desc} are implausible in the declared units {units!r} "
                             f"({fmt(lo_c)}..{fmt(hi_c)} {cat.units}); they make sense in {sug!r}"))
            ok = False
        elif implausible:
            assert typ is not None  # implausible needs a typical range
            rows.append(row("warning", "magnitude", name, "", f,
                             f"median {fmt(med_c)} {cat.units} is outside the typical {typ[0]:g}..{typ[1]:g}"))
    if out.any():
        share = out.sum() / out.size
        sev = "error" if share > RANGE_ERROR_SHARE else "warning"
        rows.append(row(sev, "range", name, "", f,
                         f"{int(out.sum())} values ({share:.1%}) outside the catalog range "
                         f"[{cat.lo:g}, {cat.hi:g}] {cat.units} after conversion (min {fmt(lo_c)}, max {fmt(hi_c)})"))
        ok = ok and sev != "error"
    if name in ("pr",) and lo_c < 0:
        rows.append(row("error", "negative", name, "", f, f"negative precipitation: minimum {fmt(lo_c)} {cat.units}"))
        ok = False
    if cat.kind == "dynamic" and "time" not in da.dims:
        rows.append(row("info", "static", name, "", f, f"{name!r} has no time axis; used as a static field"))
    return rows, ok


