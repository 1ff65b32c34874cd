"""Checks of canonical-unit Drivers: coverage, ranges, magnitudes, drivers zero or constant where
the target burns (per region), derived drivers whose relation to their inputs has the wrong
sign, and drift between training and holdout years."""

from __future__ import annotations

import numpy as np

from fireform.drivers.catalog import catalog
from fireform.drivers.check.report import InputReport, fmt, median, report, row
from fireform.drivers.check.thresholds import (
    DRIFT_ERROR,
    DRIFT_WARNING,
    FILL_THRESHOLD,
    MIN_BURNING_CELLS,
    RANGE_ERROR_SHARE,
    SHARE_ZERO_CONSTANT,
    SIGN_MIN_ABS_R,
    TYPICAL_MEDIAN,
)
from fireform.drivers.dataset import Drivers
from fireform.drivers.derived import derived_spec
from fireform.drivers.years import year_list
from fireform.exceptions import FireformError

__all__ = ["check_drivers"]


def check_drivers(drivers: Drivers, *, holdout_years=None) -> InputReport:
    """Checks on canonical-unit Drivers (see the module docstring); region-aware."""
    rows: list[dict] = []
    cat = catalog()
    tgt = drivers.target if drivers.target is not None and drivers.target in drivers else None
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
            rows.append(row("warning", "catalog", name, "", src, f"{name!r} is not a catalog variable; unchecked"))
            continue
        finite = np.isfinite(a)
        fill = finite & (np.abs(a) >= FILL_THRESHOLD)
        if fill.any():
            rows.append(row("error", "fill_value", name, "global", src,
                             f"{int(fill.sum())} values with |x| >= 1e30 (undecoded fill) in {int(fill.any(axis=1).sum())} valid cells"))
        if name != tgt and not finite.all():
            bad = ~finite.all(axis=1)
            rows.append(row("error", "coverage", name, "global", src,
                             f"NaN in {int((~finite).sum())} values at {int(bad.sum())} of {drivers.n_cells} valid cells"))
        ok = finite & ~fill
        if not ok.any():
            rows.append(row("error", "all_nan", name, "global", src, f"no finite value in {a.size}"))
            continue
        x = a[ok] if not ok.all() else a.ravel()
        out = (x < v.lo) | (x > v.hi)
        if out.any():
            share = out.mean()
            rows.append(row("error" if share > RANGE_ERROR_SHARE else "warning", "range", name, "global", src,
                             f"{int(out.sum())} values ({share:.2%}) outside [{v.lo:g}, {v.hi:g}] {v.units} "
                             f"(min {fmt(float(x.min()))}, max {fmt(float(x.max()))})"))
        typ = TYPICAL_MEDIAN.get(name)
        med = median(x)
        if typ is not None and not typ[0] <= med <= typ[1]:
            rows.append(row("warning", "magnitude", name, "global", src,
                             f"median {fmt(med)} {v.units} is outside the typical {typ[0]:g}..{typ[1]:g}"))
        if burning is not None and name != tgt:
            rows += _zero_constant(drivers, name, a, burning, regions, v.role == "derived", src)
    rows += _derived_signs(drivers, derived_spec)
    if holdout_years is not None:
        rows += _drift(drivers, holdout_years)
    return report(rows)


def _zero_constant(drivers: Drivers, name, a, burning, regions, derived: bool, src: str) -> list[dict]:
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
            rows.append(row(sev, "zero_where_burning", name, reg, src,
                             f"{name!r} is zero in every month at {nz} of {n} burning cells ({nz / n:.0%}) of region {reg!r}"))
            continue
        if fin.size and fin.max() == fin.min():
            rows.append(row("error" if derived or not static else "warning", "constant_where_burning", name, reg, src,
                             f"{name!r} has the single value {fmt(float(fin[0]))} over all {n} burning cells of region {reg!r}"))
            continue
        if not static:
            nc = int((const_t & ~zero & cells).sum())
            if nc / n >= SHARE_ZERO_CONSTANT:
                rows.append(row("error" if derived else "warning", "constant_where_burning", name, reg, src,
                                 f"{name!r} is constant in time at {nc} of {n} burning cells ({nc / n:.0%}) of region {reg!r}"))
    return rows


def _derived_signs(drivers: Drivers, derived_spec) -> list[dict]:
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
                rows.append(row("error", "derived_sign", name, "global", "derived",
                                 f"correlation of {name!r} with its input {inp!r} is {r:+.3f}; it must be {want}"))
            elif abs(r) < SIGN_MIN_ABS_R:
                rows.append(row("warning", "derived_sign", name, "global", "derived",
                                 f"correlation of {name!r} with its input {inp!r} is {r:+.3f} (expected clearly {want})"))
    return rows


def _drift(drivers: Drivers, holdout_years) -> list[dict]:
    rows = []
    hold = np.isin(drivers.time.year, year_list(holdout_years))
    if not hold.any() or hold.all():
        return [row("warning", "drift", "", "global", "",
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
            rows.append(row("error" if abs(d) >= DRIFT_ERROR else "warning", "drift", name, "global",
                             drivers.sources.get(name, ""),
                             f"holdout mean {fmt(float(np.mean(ho)))} vs training mean {fmt(float(np.mean(tr)))} "
                             f"= {d:+.2f} training standard deviations"))
    return rows


