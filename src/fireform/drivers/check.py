"""Input checks: inputs are validated as seriously as outputs (an optimizer fits bugs too).

Two entry points, one report:
- ``check_paths(paths)`` reads raw netCDF/zarr files generically (never the curated bundle
  loaders' corrections): identifies each variable (mapping, else standard_name / variable name /
  file name heuristics, reported), checks units, magnitudes, undecoded fill values, coverage,
  ranges and time encodings; then, when the files assemble into Drivers, runs ``check_drivers``.
- ``check_drivers(drivers)`` checks canonical-unit Drivers: coverage, ranges, magnitudes, drivers
  zero or constant where the target burns (per region), derived drivers whose relation to their
  raw inputs has the wrong sign, and drift between training and holdout years.

Findings are a tidy DataFrame with columns severity (error | warning | info), check, variable,
region, file, message; every message carries the numbers behind it.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from fireform.drivers.catalog import catalog
from fireform.drivers.dataset import Drivers
from fireform.drivers.units import conversion, parse_units
from fireform.exceptions import FireformError, InputCheckError, UnitsError

__all__ = [
    "InputReport",
    "Identification",
    "check_paths",
    "check_drivers",
    "identify",
    "COLUMNS",
    "FILL_THRESHOLD",
    "TYPICAL_MEDIAN",
]

COLUMNS = ["severity", "check", "variable", "region", "file", "message"]
FILL_THRESHOLD = 1e30  # |x| >= this is an undecoded fill value (netCDF default is 9.97e36)
SHARE_ZERO_CONSTANT = 0.5  # share of burning cells at which a zero/constant driver is flagged
MIN_BURNING_CELLS = 3
RANGE_ERROR_SHARE = 1e-3  # more than 0.1% of values outside the catalog range is an error
DRIFT_WARNING, DRIFT_ERROR = 0.5, 3.0  # |standardised mean difference| holdout vs training
SIGN_MIN_ABS_R = 0.05

# Where the median of finite values of a variable lies for real data (canonical units); a median
# outside is a magnitude implausible for the declared units (e.g. kg m-2 s-1 declared as mm day-1).
TYPICAL_MEDIAN: dict[str, tuple[float, float]] = {
    "pr": (0.01, 30.0),
    "tas": (200.0, 320.0),
    "tasmax": (205.0, 330.0),
    "vpd": (0.01, 6.0),
    "vpd_max": (0.01, 10.0),
    "rh": (3.0, 100.0),
    "gpp": (1.0, 5000.0),
    "lightning": (1e-4, 50.0),
    "wind": (0.1, 20.0),
    "agb": (0.01, 40.0),
}

# Units a value might really be in, tried when the declared ones look wrong (by dimensionality
# of the catalog units).
_CANDIDATE_UNITS = {
    "kPa": ["Pa", "hPa", "kPa"],
    "K": ["K", "degC"],
    "mm day-1": ["kg m-2 s-1", "mm day-1", "mm month-1", "m day-1"],
    "1": ["1", "%"],
    "percent": ["1", "%"],
    "kg m-2": ["kg m-2", "Mg ha-1", "g m-2"],
    "g m-2 yr-1": ["kg m-2 s-1", "g m-2 day-1", "g m-2 yr-1", "kg m-2 yr-1"],
    "km-2 month-1": ["km-2 month-1", "km-2 day-1", "km-2 yr-1", "m-2 s-1"],
    "day": ["day", "1"],
}

_STANDARD_NAMES = {
    "precipitation_flux": "pr",
    "precipitation_amount": "pr",
    "air_temperature": "tas",
    "relative_humidity": "rh",
    "wind_speed": "wind",
    "burned_area_fraction": "burned_fraction",
    "gross_primary_productivity_of_biomass_expressed_as_carbon": "gpp",
    "net_primary_productivity_of_biomass_expressed_as_carbon": "npp",
    "vegetation_carbon_content": "agb",
    "area_fraction": None,
}

# Aliases (lower case, longest first when matched) of variable and file names.
_ALIASES: dict[str, tuple[str, ...]] = {
    "burned_fraction": ("burned_fraction", "burntfractionall", "percentage_of_area_burned",
                        "burnt_area", "burned_area", "burntarea", "burnedarea", "burnt", "burned", "ba"),
    "tasmax": ("tasmax", "tas_max", "tmax", "tx"),
    "tas": ("tas_mean", "tas", "t2m", "tmean", "temperature"),
    "pr": ("pr_mean", "precipitation", "precip", "prec", "pr", "tp"),
    "vpd_max": ("vpd_max", "vpdmax"),
    "vpd": ("vpd_mean", "vpd"),
    "rh": ("rh", "hurs", "relative_humidity"),
    "dry_days": ("dry_days", "drydays", "dry_day"),
    "consec_dry_days": ("consec_dry", "cdd"),
    "lightning": ("lightning", "cloud2ground", "flash_rate", "flashes", "lght"),
    "tree_cover": ("tree_cover", "treecover", "tree_cover_vcf"),
    "total_cover": ("total_cover", "totalcover"),
    "agb": ("agb", "cveg", "biomass", "cvegag"),
    "gpp": ("gpp",),
    "npp": ("npp",),
    "popd": ("popd", "population_density", "pop_den", "popden"),
    "cropland": ("cropland", "crop", "crops"),
    "soil_moisture": ("soil_moisture", "mrso", "swc", "sm"),
    "wind": ("wind", "sfcwind", "ws"),
    "fuel": ("fuel", "litter", "clitter"),
}


@dataclass(frozen=True)
class Identification:
    """How a raw variable was mapped to a catalog name, and why."""

    file: str
    var: str
    name: str | None
    how: str  # "mapping" | "name" | "standard_name" | "file name" | "unidentified"
    conflict: str = ""


# -- report -------------------------------------------------------------------------------------
@dataclass(frozen=True)
class InputReport:
    """Findings of the input checks (tidy DataFrame, ``COLUMNS``) and any recorded override."""

    findings: pd.DataFrame = field(default_factory=lambda: pd.DataFrame(columns=COLUMNS))
    overridden: bool = False

    @property
    def errors(self) -> pd.DataFrame:
        return self.findings[self.findings["severity"] == "error"]

    @property
    def warnings(self) -> pd.DataFrame:
        return self.findings[self.findings["severity"] == "warning"]

    @property
    def ok(self) -> bool:
        return self.errors.empty

    def __add__(self, other: "InputReport") -> "InputReport":
        df = pd.concat([self.findings, other.findings], ignore_index=True)
        return InputReport(df, overridden=self.overridden or other.overridden)

    def raise_if_errors(self, override: bool = False) -> "InputReport":
        """Raise InputCheckError when there are errors, unless ``override``; an override is
        recorded in the returned report (an ``override`` warning naming how many errors)."""
        if self.ok:
            return self
        if not override:
            lines = [f"- [{r.check}] {r.variable} {r.region}: {r.message}".replace("  ", " ")
                     for r in self.errors.head(10).itertuples()]
            more = len(self.errors) - len(lines)
            raise InputCheckError(
                f"input checks found {len(self.errors)} error(s); fix them or override explicitly:\n"
                + "\n".join(lines) + (f"\n... and {more} more" if more > 0 else "")
            )
        note = _row("warning", "override", "", "", "",
                    f"{len(self.errors)} input error(s) overridden explicitly by the user")
        return InputReport(
            pd.concat([self.findings, pd.DataFrame([note], columns=COLUMNS)], ignore_index=True),
            overridden=True,
        )

    def summary(self) -> dict[str, int]:
        return {s: int((self.findings["severity"] == s).sum()) for s in ("error", "warning", "info")}

    def to_json(self, path: str | os.PathLike | None = None) -> str:
        text = json.dumps(
            {"ok": self.ok, "overridden": self.overridden, "summary": self.summary(),
             "findings": self.findings.to_dict(orient="records")},
            indent=2,
        )
        if path is not None:
            Path(path).write_text(text)
        return text


def _row(severity: str, check: str, variable: str, region: str, file: str, message: str) -> dict:
    return dict(severity=severity, check=check, variable=variable, region=region, file=file, message=message)


def _report(rows: list[dict]) -> InputReport:
    return InputReport(pd.DataFrame(rows, columns=COLUMNS))


def _median(x: np.ndarray) -> float:
    """Median of finite values; on a regular subsample of at most 1e6 values (a magnitude check
    needs no more, and a full median of a global monthly field is slow)."""
    x = np.ravel(x)
    step = max(1, x.size // 1_000_000)
    return float(np.median(x[::step]))


def _fmt(x: float) -> str:
    return f"{x:.4g}"


# -- identification -----------------------------------------------------------------------------
def _norm(s: str) -> str:
    return re.sub(r"[^a-z0-9]+", "_", s.lower()).strip("_")


def _match_alias(text: str) -> str | None:
    t = _norm(text)
    best: tuple[int, str] | None = None
    for name, aliases in _ALIASES.items():
        for a in aliases:
            if t == a or re.search(rf"(^|_){re.escape(a)}(_|$)", t):
                if best is None or len(a) > best[0]:
                    best = (len(a), name)
    return best[1] if best else None


def identify(ds, var: str, file: str, mapping: Mapping | None = None) -> Identification:
    """The catalog name of raw variable ``var`` of ``file``: from the mapping, else by variable
    name, standard_name and, last, the file name. A file name naming another variable than the
    metadata is recorded as a conflict."""
    stem = Path(file).stem
    if mapping:
        for name, ref in mapping.items():
            fref, vref = ref if isinstance(ref, tuple) else (None, ref)
            hit = (vref == var and (fref is None or Path(str(fref)).name == Path(file).name)) or (
                not isinstance(ref, tuple) and ref in (file, Path(file).name, stem)
            )
            if hit:
                return Identification(file, var, name, "mapping")
    cat = catalog()
    from_file = _match_alias(stem)
    attrs = ds[var].attrs
    std = attrs.get("standard_name")
    guess, how = None, "unidentified"
    if var in cat:
        guess, how = var, "name"
    elif std in _STANDARD_NAMES and _STANDARD_NAMES[std]:
        guess, how = _STANDARD_NAMES[std], "standard_name"
    elif _match_alias(var):
        guess, how = _match_alias(var), "name"
    elif from_file:
        guess, how = from_file, "file name"
    conflict = ""
    if guess and from_file and from_file != guess and how != "file name":
        conflict = (
            f"the file name {Path(file).name!r} suggests {from_file!r} but the metadata "
            f"(variable {var!r}" + (f", standard_name {std!r}" if std else "") + f") says {guess!r}"
        )
    return Identification(file, var, guess, how, conflict)


# -- raw files ----------------------------------------------------------------------------------
def _suggest_units(values: np.ndarray, name: str) -> str | None:
    """A unit under which the values fall in the catalog range with a typical median."""
    v = catalog()[name]
    finite = values[np.isfinite(values)]
    if finite.size == 0:
        return None
    med = _median(finite)
    for cand in _CANDIDATE_UNITS.get(v.units, []):
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
    from fireform.drivers.load import month_index

    if "time" not in ds.variables:
        return None, []
    t = ds["time"]
    try:
        idx = month_index(ds, label=file)
    except FireformError as e:
        return None, [_row("error", "time", "time", "", file, str(e))]
    stamp = ""
    if np.issubdtype(t.dtype, np.number) and t.attrs.get("units"):
        import cftime

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
) -> InputReport:
    """Check raw files generically. ``target``: raw variable name or catalog name of the target
    (default: whatever is identified as ``burned_fraction``). When the files assemble into Drivers
    (``load_drivers`` with the identified variables) ``check_drivers`` runs on them too."""
    from fireform.drivers.load import _data_vars, grid_coords, open_file

    if isinstance(paths, (str, os.PathLike)):
        paths = [paths]
    rows: list[dict] = []
    opened: list[tuple[str, object]] = []
    for p in paths:
        try:
            opened.append((str(p), open_file(p)))
        except FireformError as e:
            rows.append(_row("error", "read", "", "", str(p), str(e)))
    ids: list[Identification] = []
    for f, ds in opened:
        dv = _data_vars(ds)
        if not dv:
            rows.append(_row("error", "variables", "", "", f, "no gridded data variable in the file"))
        for v in dv:
            i = identify(ds, v, f, mapping)
            ids.append(i)
            if i.name is None:
                rows.append(_row("info", "identify", v, "", f, f"variable {v!r} not identified with any catalog variable; skipped"))
                continue
            rows.append(_row("info", "identify", i.name, "", f, f"variable {v!r} identified as {i.name!r} by {i.how}"))
            if i.conflict:
                rows.append(_row("warning", "identify", i.name, "", f, i.conflict))
    # Several files claiming the same catalog variable: prefer those whose file name agrees.
    ids.sort(key=lambda i: bool(i.conflict))
    named = pd.Series([i.name for i in ids if i.name], dtype=object)
    for name, n in named.value_counts().items():
        if n > 1:
            who = [f"{Path(i.file).name}:{i.var}" for i in ids if i.name == name]
            rows.append(_row("warning", "identify", name, "", "",
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
        rows.append(_row("error", "target", target, "", "", f"target {target!r} is in none of the files"))
    encodings: dict[str, dict] = {}
    good: dict[str, tuple[str, str]] = {}
    for i in ids:
        if i.name is None:
            continue
        ds = dict(opened)[i.file]
        rows_i, ok = _check_raw_variable(ds, i, target_valid, grid_ref)
        rows += rows_i
        enc, trows = _time_info(ds, i.file)
        rows += trows
        if enc is not None:
            encodings[i.file] = enc
        if ok and i.name not in good and not trows:
            good[i.name] = (i.file, i.var)
    if len({(e["units"], e["calendar"], e["stamp"]) for e in encodings.values()}) > 1:
        groups: dict[str, list[str]] = {}
        for f, e in encodings.items():
            key = f"{e['units']} ({e['calendar']}, {e['stamp'] or 'stamped'}) {e['first']}..{e['last']}"
            groups.setdefault(key, []).append(Path(f).name)
        detail = "; ".join(f"{', '.join(fs)}: {k}" for k, fs in groups.items())
        rows.append(_row("warning", "time", "time", "", "",
                         f"time encodings differ between files (aligned on year-month): {detail}"))
    periods = {(e["first"], e["last"]) for e in encodings.values()}
    if len(periods) > 1:
        rows.append(_row("warning", "time", "time", "", "",
                         f"files cover different periods ({', '.join(f'{a}..{b}' for a, b in sorted(periods))}); "
                         "cut to the common period"))
    for _, ds in opened:
        ds.close()
    report = _report(rows)
    # Drivers-level checks on whatever assembles cleanly.
    tname = tid.name if tid is not None and tid.name in good else None
    if good and (tname or target is None):
        from fireform.drivers.load import load_drivers

        try:
            d = load_drivers([str(p) for p in paths if str(p) in {f for f, _ in good.values()}],
                             mapping=good, target=tname, regions=regions)
        except FireformError as e:
            report += _report([_row("warning", "assemble", "", "", "", f"drivers-level checks skipped: {e}")])
        else:
            report += check_drivers(d, holdout_years=holdout_years)
    return report


def _check_raw_variable(ds, i: Identification, target_valid, grid_ref) -> tuple[list[dict], bool]:
    """Checks of one raw variable; returns (findings, usable for assembling Drivers)."""
    from fireform.drivers.load import grid_coords

    rows: list[dict] = []
    cat = catalog()[i.name]
    da = ds[i.var]
    f, name = i.file, i.name
    ok = True
    a = np.asarray(da.values)
    if not np.issubdtype(a.dtype, np.floating):
        a = a.astype(np.float64)
    la, lo = grid_coords(da)
    if grid_ref is not None and la and lo:
        rf, rlat, rlon = grid_ref
        for axis, x, y in (("lat", np.sort(np.asarray(ds[la].values)), np.sort(rlat)),
                           ("lon", np.sort(np.asarray(ds[lo].values)), np.sort(rlon))):
            if x.shape != y.shape or not np.allclose(x, y, atol=1e-6):
                rows.append(_row("error", "grid", name, "", f,
                                 f"coordinate {axis!r} differs from the target's ({Path(rf).name}): "
                                 f"{x.size} values {_fmt(x[0])}..{_fmt(x[-1])} vs {y.size} values {_fmt(y[0])}..{_fmt(y[-1])}"))
                ok = False
    # Undecoded fill values.
    fill = np.isfinite(a) & (np.abs(a) >= FILL_THRESHOLD)
    if fill.any():
        cells = fill.any(axis=0) if a.ndim == 3 else fill
        inside = int((cells & target_valid).sum()) if target_valid is not None and cells.shape == target_valid.shape else None
        sev = "error" if inside is None or inside > 0 else "warning"
        where = (f"{inside} of them where the target is valid" if inside is not None else "target unknown")
        rows.append(_row(sev, "fill_value", name, "", f,
                         f"{int(fill.sum())} values in {int(cells.sum())} cells have |x| >= 1e30 "
                         f"(e.g. {_fmt(float(a[fill][0]))}, the netCDF default fill) but are not decoded as "
                         f"missing (_FillValue={da.encoding.get('_FillValue', da.attrs.get('_FillValue'))}); {where}"))
        ok = ok and sev != "error"
        a = np.where(fill, np.nan, a)
    finite = np.isfinite(a)
    if not finite.any():
        rows.append(_row("error", "all_nan", name, "", f, f"variable {i.var!r}: all {a.size} values are NaN or fill"))
        return rows, False
    # Coverage where the target is valid.
    if target_valid is not None and name != "burned_fraction":
        cov = finite.all(axis=0) if a.ndim == 3 else finite
        if cov.shape == target_valid.shape:
            gap = target_valid & ~cov
            if gap.any():
                rows.append(_row("error", "coverage", name, "", f,
                                 f"NaN/missing in {int(gap.sum())} of {int(target_valid.sum())} cells where the target is valid"))
    # Units.
    units = da.attrs.get("units")
    fin_vals = a[finite]
    lo_raw, hi_raw = float(fin_vals.min()), float(fin_vals.max())
    med_raw = _median(fin_vals)
    vals_desc = f"values {_fmt(lo_raw)}..{_fmt(hi_raw)} (median {_fmt(med_raw)})"
    try:
        c = conversion(units, cat.units, file=f, var=i.var)
    except UnitsError as e:
        sug = _suggest_units(a, name)
        hint = f"; the {vals_desc} are plausible as {sug!r}" if sug else f"; {vals_desc}"
        if i.conflict:
            hint += f" (but {i.conflict})"
        kind = "missing" if units is None or str(units).strip() == "" else "not convertible"
        rows.append(_row("error", "units", name, "", f, f"units {kind} for {name!r}: {e}{hint}"))
        return rows, False
    q = parse_units(units)
    if q.magnitude != 1:
        rows.append(_row("info", "units", name, "", f,
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
            rows.append(_row("error", "magnitude", name, "", f,
                             f"{vals_desc} are implausible in the declared units {units!r} "
                             f"({_fmt(lo_c)}..{_fmt(hi_c)} {cat.units}); they make sense in {sug!r}"))
            ok = False
        elif implausible:
            rows.append(_row("warning", "magnitude", name, "", f,
                             f"median {_fmt(med_c)} {cat.units} is outside the typical {typ[0]:g}..{typ[1]:g}"))
    if out.any():
        share = out.sum() / out.size
        sev = "error" if share > RANGE_ERROR_SHARE else "warning"
        rows.append(_row(sev, "range", name, "", f,
                         f"{int(out.sum())} values ({share:.1%}) outside the catalog range "
                         f"[{cat.lo:g}, {cat.hi:g}] {cat.units} after conversion (min {_fmt(lo_c)}, max {_fmt(hi_c)})"))
        ok = ok and sev != "error"
    if name in ("pr",) and lo_c < 0:
        rows.append(_row("error", "negative", name, "", f, f"negative precipitation: minimum {_fmt(lo_c)} {cat.units}"))
        ok = False
    if cat.kind == "dynamic" and "time" not in da.dims:
        rows.append(_row("info", "static", name, "", f, f"{name!r} has no time axis; used as a static field"))
    return rows, ok


# -- drivers ------------------------------------------------------------------------------------
def check_drivers(drivers: Drivers, *, holdout_years=None) -> InputReport:
    """Checks on canonical-unit Drivers (see the module docstring); region-aware."""
    from fireform.drivers.derived import derived_spec

    rows: list[dict] = []
    cat = catalog()
    tgt = drivers.target if drivers.target in drivers else None
    burning = None
    if tgt is not None:
        t = drivers.array(tgt)
        burning = np.nansum(t, axis=1) > 0
    regions = drivers.region_masks
    for name in drivers.variables:
        src = drivers.sources.get(name, "")
        a = drivers.array(name)
        v = cat.get(name)
        if v is None:
            rows.append(_row("warning", "catalog", name, "", src, f"{name!r} is not a catalog variable; unchecked"))
            continue
        finite = np.isfinite(a)
        fill = finite & (np.abs(a) >= FILL_THRESHOLD)
        if fill.any():
            rows.append(_row("error", "fill_value", name, "global", src,
                             f"{int(fill.sum())} values with |x| >= 1e30 (undecoded fill) in {int(fill.any(axis=1).sum())} valid cells"))
        if name != tgt and not finite.all():
            bad = ~finite.all(axis=1)
            rows.append(_row("error", "coverage", name, "global", src,
                             f"NaN in {int((~finite).sum())} values at {int(bad.sum())} of {drivers.n_cells} valid cells"))
        ok = finite & ~fill
        if not ok.any():
            rows.append(_row("error", "all_nan", name, "global", src, f"no finite value in {a.size}"))
            continue
        x = a[ok] if not ok.all() else a.ravel()
        out = (x < v.lo) | (x > v.hi)
        if out.any():
            share = out.mean()
            rows.append(_row("error" if share > RANGE_ERROR_SHARE else "warning", "range", name, "global", src,
                             f"{int(out.sum())} values ({share:.2%}) outside [{v.lo:g}, {v.hi:g}] {v.units} "
                             f"(min {_fmt(float(x.min()))}, max {_fmt(float(x.max()))})"))
        typ = TYPICAL_MEDIAN.get(name)
        med = _median(x)
        if typ is not None and not typ[0] <= med <= typ[1]:
            rows.append(_row("warning", "magnitude", name, "global", src,
                             f"median {_fmt(med)} {v.units} is outside the typical {typ[0]:g}..{typ[1]:g}"))
        if burning is not None and name != tgt:
            rows += _zero_constant(drivers, name, a, burning, regions, v.role == "derived", src)
    rows += _derived_signs(drivers, derived_spec)
    if holdout_years is not None:
        rows += _drift(drivers, holdout_years)
    return _report(rows)


def _zero_constant(drivers, name, a, burning, regions, derived: bool, src: str) -> list[dict]:
    rows = []
    static = a.shape[1] == 1
    with np.errstate(invalid="ignore"):
        zero = np.nanmax(np.abs(a), axis=1) == 0
        const_t = (np.nanmax(a, axis=1) - np.nanmin(a, axis=1)) == 0
    for reg, m in regions.items():
        cells = m & burning
        n = int(cells.sum())
        if n < MIN_BURNING_CELLS:
            continue
        nz = int((zero & cells).sum())
        vals = a[cells]
        fin = vals[np.isfinite(vals)]
        if nz / n >= SHARE_ZERO_CONSTANT:
            sev = "warning" if static and not derived else "error"
            rows.append(_row(sev, "zero_where_burning", name, reg, src,
                             f"{name!r} is zero in every month at {nz} of {n} burning cells ({nz / n:.0%}) of region {reg!r}"))
            continue
        if fin.size and fin.max() == fin.min():
            rows.append(_row("error" if derived or not static else "warning", "constant_where_burning", name, reg, src,
                             f"{name!r} has the single value {_fmt(float(fin[0]))} over all {n} burning cells of region {reg!r}"))
            continue
        if not static:
            nc = int((const_t & ~zero & cells).sum())
            if nc / n >= SHARE_ZERO_CONSTANT:
                rows.append(_row("error" if derived else "warning", "constant_where_burning", name, reg, src,
                                 f"{name!r} is constant in time at {nc} of {n} burning cells ({nc / n:.0%}) of region {reg!r}"))
    return rows


def _derived_signs(drivers, derived_spec) -> list[dict]:
    rows = []
    cat = catalog()
    for name in drivers.variables:
        if name not in cat or cat[name].role != "derived":
            continue
        try:
            spec = derived_spec(name)
        except FireformError:
            continue
        y = drivers.array(name)
        for inp, sign in spec.expected_sign.items():
            if inp not in drivers:
                continue
            x = np.broadcast_to(drivers.array(inp), y.shape)
            ok = np.isfinite(x) & np.isfinite(y)
            if ok.sum() < 3 or np.std(x[ok]) == 0 or np.std(y[ok]) == 0:
                continue
            r = float(np.corrcoef(x[ok].astype(float), y[ok].astype(float))[0, 1])
            want = "positive" if sign > 0 else "negative"
            if np.sign(r) != sign and abs(r) >= SIGN_MIN_ABS_R:
                rows.append(_row("error", "derived_sign", name, "global", "derived",
                                 f"correlation of {name!r} with its input {inp!r} is {r:+.3f}; it must be {want}"))
            elif abs(r) < SIGN_MIN_ABS_R:
                rows.append(_row("warning", "derived_sign", name, "global", "derived",
                                 f"correlation of {name!r} with its input {inp!r} is {r:+.3f} (expected clearly {want})"))
    return rows


def _drift(drivers: Drivers, holdout_years) -> list[dict]:
    from fireform.drivers.dataset import _year_list

    rows = []
    hold = np.isin(drivers.time.year, _year_list(holdout_years))
    if not hold.any() or hold.all():
        return [_row("warning", "drift", "", "global", "",
                     f"holdout years {holdout_years} leave {int(hold.sum())} holdout and {int((~hold).sum())} training months; drift not checked")]
    for name in drivers.variables:
        if drivers.is_static(name):
            continue
        a = drivers.array(name)
        tr, ho = a[:, ~hold], a[:, hold]
        tr, ho = tr[np.isfinite(tr)], ho[np.isfinite(ho)]
        if tr.size < 2 or ho.size < 2:
            continue
        sd = float(np.std(tr))
        if sd == 0:
            continue
        d = (float(np.mean(ho)) - float(np.mean(tr))) / sd
        if abs(d) >= DRIFT_WARNING:
            rows.append(_row("error" if abs(d) >= DRIFT_ERROR else "warning", "drift", name, "global",
                             drivers.sources.get(name, ""),
                             f"holdout mean {_fmt(float(np.mean(ho)))} vs training mean {_fmt(float(np.mean(tr)))} "
                             f"= {d:+.2f} training standard deviations"))
    return rows

