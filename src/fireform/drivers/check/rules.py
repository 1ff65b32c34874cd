"""Checks of canonical-unit Drivers: coverage, ranges, magnitudes (an error here: the loader
cannot see a unit slip), drivers zero or constant where the target burns (per region, per
connected block, by burned area; every driver, raw or derived), seasonality, static fields
constant over land, the target's magnitude, cells dropped at assembly, derived drivers whose
relation to their inputs has the wrong sign, and drift between training and holdout years."""

from __future__ import annotations

import numpy as np

from fireform.drivers.catalog import catalog
from fireform.drivers.check.assembly import dropped
from fireform.drivers.check.regional import burned_weights, constant_blocks, no_seasonality, static_constant
from fireform.drivers.check.report import InputReport, fmt, median, report, row
from fireform.drivers.check.target import near_global, target_magnitude
from fireform.drivers.check.thresholds import (
    DRIFT_ERROR,
    DRIFT_WARNING,
    FILL_THRESHOLD,
    MIN_BURNING_CELLS,
    RANGE_ERROR_SHARE,
    REGIONAL_LOW_FACTOR,
    REGIONAL_LOW_MEDIAN,
    SHARE_ZERO_CONSTANT,
    SIGN_MIN_ABS_R,
    TARGET_TOLERANCE,
    TYPICAL_MEDIAN,
)
from fireform.drivers.dataset import Drivers
from fireform.drivers.derived import derived_spec
from fireform.drivers.years import year_list
from fireform.exceptions import FireformError

__all__ = ["check_drivers"]


def check_drivers(drivers: Drivers, *, holdout_years=None) -> InputReport:
    """Checks on canonical-unit Drivers (see the module docstring); region-aware, weighted by
    where the target burns."""
    rows: list[dict] = []
    cat = catalog()
    tgt = drivers.target if drivers.target is not None and drivers.target in drivers else None
    burning = None
    w = burned_weights(drivers)
    if tgt is not None:
        t = drivers.array(tgt)
        burning = np.nansum(t, axis=1, dtype=np.float64) > 0
    regions = drivers.region_masks
    wide = near_global(float(drivers.area.sum()))
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
            n_inf = int(np.isinf(a).sum())
            rows.append(row("error", "coverage", name, "global", src,
                             f"NaN or inf in {int((~finite).sum())} values ({n_inf} inf) at {int(bad.sum())} "
                             f"of {drivers.n_cells} valid cells"))
        elif name == tgt and np.isinf(a).any():
            rows.append(row("error", "non_finite", name, "global", src,
                             f"inf in {int(np.isinf(a).sum())} values of the target"))
        ok = finite & ~fill
        if not ok.any():
            rows.append(row("error", "all_nan", name, "global", src, f"no finite value in {a.size}"))
            continue
        x = a[ok] if not ok.all() else a.ravel()
        out = (x < v.lo) | (x > v.hi)
        if out.any():
            share = out.mean()
            # The target's range is physical (a burned fraction below 0 or above 1 cannot be),
            # so beyond round-off any such value is an error, however few.
            beyond = (x < v.lo - TARGET_TOLERANCE) | (x > v.hi + TARGET_TOLERANCE)
            hard = name == tgt and bool(beyond.any())
            rows.append(row("error" if share > RANGE_ERROR_SHARE or hard else "warning", "range", name, "global", src,
                             f"{int(out.sum())} values ({share:.2%}) outside [{v.lo:g}, {v.hi:g}] {v.units} "
                             f"(min {fmt(float(x.min()))}, max {fmt(float(x.max()))})"))
        typ = TYPICAL_MEDIAN.get(name)
        med = median(x)
        # A median of exactly 0 is no unit slip (no lightning in an Arctic domain): the zero
        # rules judge it.
        if typ is not None and med != 0 and not typ[0] <= med <= typ[1]:
            # On canonical-unit drivers a median outside the typical range is a unit slip the
            # loader could not see (degC labelled K, kg m-2 s-1 labelled mm day-1, rh as fraction).
            lenient = not wide and name in REGIONAL_LOW_MEDIAN and typ[0] / REGIONAL_LOW_FACTOR <= med < typ[0]
            rows.append(row("warning" if lenient else "error", "magnitude", name, "global", src,
                             f"median {fmt(med)} {v.units} is outside the typical {typ[0]:g}..{typ[1]:g} "
                             f"{v.units} for real data (mislabelled units?)"))
        if name == tgt:
            rows += target_magnitude(a, drivers.area, drivers.n_months, name=name, src=src)
            continue
        if v.role == "comparison":
            # a model's own burned area: the value rules only, magnitude as a warning; where it
            # burns nothing or too much is for the scores to show, not an input error
            rows += target_magnitude(a, drivers.area, drivers.n_months, name=name, src=src, severity="warning")
            continue
        if drivers.is_static(name):
            flat = static_constant(drivers, name, a, src, wide)
            rows += flat
            if flat:  # constant over land: the per-region rows would only repeat it
                continue
        else:
            rows += no_seasonality(drivers, name, a, w, src)
        if burning is not None:
            found = _zero_constant(drivers, name, a, w, regions, v.role == "derived" or v.seasonal, src)
            rows += found
            if not drivers.is_static(name):
                flagged = {r["region"] for r in found if r["severity"] == "error"}
                rows += constant_blocks(drivers, name, a, w, src, flagged)
    rows += _derived_signs(drivers, derived_spec)
    rows += dropped(drivers)
    if holdout_years is not None:
        rows += _drift(drivers, holdout_years)
    return report(rows)


def _zero_constant(drivers: Drivers, name, a, w, regions, derived: bool, src: str) -> list[dict]:
    """A driver zero or constant over the burning cells of a region (shares by burned area).
    ``derived``: derived or catalog-seasonal, so constant in time is an error (a biomass map
    repeated over the months is common real data: a warning)."""
    rows = []
    static = a.shape[1] == 1
    with np.errstate(invalid="ignore"):
        zero = np.nanmax(np.abs(a), axis=1) == 0
        const_t = (np.nanmax(a, axis=1) - np.nanmin(a, axis=1)) == 0
    burning = w > 0
    for reg, m in regions.items():
        cells = m & burning
        n = int(cells.sum())
        if n < MIN_BURNING_CELLS:
            continue
        wr = float(w[cells].sum())
        nz = int((zero & cells).sum())
        sz = float(w[zero & cells].sum()) / wr
        vals = a[cells]
        fin = vals[np.isfinite(vals)]
        if sz >= SHARE_ZERO_CONSTANT:
            # Static fields can be zero over a whole fire region for real (no cropland in a
            # grass savanna): a warning. A dynamic driver zero in every month cannot.
            sev = "warning" if static and not derived else "error"
            rows.append(row(sev, "zero_where_burning", name, reg, src,
                             f"{name!r} is zero in every month at {nz} of {n} burning cells ({nz / n:.0%}, "
                             f"{sz:.0%} of the burned area) of region {reg!r}"))
            continue
        if fin.size and fin.max() == fin.min():
            # One non-zero value over every burning cell of a region is a regrid hole filled
            # with a constant even for a static field; a static zero may be real (no cropland).
            sev = "error" if derived or not static or fin[0] != 0 else "warning"
            rows.append(row(sev, "constant_where_burning", name, reg, src,
                             f"{name!r} has the single value {fmt(float(fin[0]))} over all {n} burning cells of region {reg!r}"))
            continue
        if not static:
            nc = int((const_t & ~zero & cells).sum())
            sc = float(w[const_t & ~zero & cells].sum()) / wr
            if sc >= SHARE_ZERO_CONSTANT:
                rows.append(row("error" if derived else "warning", "constant_where_burning", name, reg, src,
                                 f"{name!r} is constant in time at {nc} of {n} burning cells ({nc / n:.0%}, "
                                 f"{sc:.0%} of the burned area) of region {reg!r}"))
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


