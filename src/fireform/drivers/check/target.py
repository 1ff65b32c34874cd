"""Magnitude plausibility of the target (burned fraction), on Drivers and on the two fields a
scoring compares.

``target_magnitude``: annual burned area in Mha/yr. Near-global grids (valid cells covering at
least ``NEAR_GLOBAL_SHARE`` of the ice-free land) are held to the observed global range (GFED
~350-800 Mha/yr: a warning outside it, an error outside ``GLOBAL_BA_ERROR_MHA``, ten times beyond
it); regional grids only to a mean annual burned fraction of their land of at most
``REGIONAL_BA_MAX_SHARE`` (fire regimes differ too much between regions to scale the global range
by land area). Catches the percent-versus-fraction trap: a target 100x too large (percent
labelled as fraction) anywhere, 100x too small (divided by 100 twice) on near-global grids.

``check_burned_field``: the value checks of one burned-fraction field given to scoring
(reference or model, already converted to fraction): undecoded fills, inf, negative values,
values above 1, and the magnitude rule (an error for the reference, a warning for a model: a
model that burns too much is what scoring is there to show).
"""

from __future__ import annotations

import numpy as np

from fireform.drivers.check.report import fmt, row
from fireform.drivers.check.thresholds import (
    FILL_THRESHOLD,
    GLOBAL_BA_ERROR_MHA,
    GLOBAL_BA_OBSERVED_MHA,
    GLOBAL_LAND_M2,
    NEAR_GLOBAL_SHARE,
    RANGE_ERROR_SHARE,
    REGIONAL_BA_MAX_SHARE,
)

__all__ = ["target_magnitude", "check_burned_field", "near_global"]

M2_PER_MHA = 1e10


def near_global(land_m2: float) -> bool:
    """True when a grid's valid cells cover at least NEAR_GLOBAL_SHARE of the ice-free land."""
    return land_m2 >= NEAR_GLOBAL_SHARE * GLOBAL_LAND_M2


def target_magnitude(frac: np.ndarray, area: np.ndarray, n_months: int, *, name: str, src: str,
                     severity: str = "error") -> list[dict]:
    """Findings ``target_magnitude`` for a burned fraction ``frac`` (cells x months) on cells of
    ``area`` m2 over ``n_months`` months (module docstring)."""
    frac = np.asarray(frac, dtype=np.float64)
    area = np.asarray(area, dtype=np.float64)
    ok = np.isfinite(frac) & (np.abs(frac) < FILL_THRESHOLD)
    land = float(area[ok.any(axis=1)].sum())
    if land <= 0 or n_months < 1:
        return []
    mha = float(np.where(ok, frac, 0.0).sum(axis=1) @ area) / (n_months / 12.0) / M2_PER_MHA
    share = mha * M2_PER_MHA / land
    if near_global(land):
        lo, hi = GLOBAL_BA_ERROR_MHA
        olo, ohi = GLOBAL_BA_OBSERVED_MHA
        hint = ""
        if lo <= mha / 100 <= hi:
            hint = "; /100 it would be plausible: percent labelled as a fraction?"
        elif lo <= mha * 100 <= hi:
            hint = "; x100 it would be plausible: a fraction divided by 100 twice?"
        msg = (f"annual burned area {fmt(mha)} Mha/yr ({share:.3%} of {fmt(land / M2_PER_MHA)} Mha "
               f"of land a year) on a near-global grid; GFED observes {olo:g}-{ohi:g} Mha/yr")
        if not lo <= mha <= hi:
            return [row(severity, "target_magnitude", name, "global", src,
                        msg + f" (outside {lo:g}-{hi:g} is an error){hint}")]
        if not olo <= mha <= ohi:
            return [row("warning", "target_magnitude", name, "global", src, msg)]
        return []
    if share > REGIONAL_BA_MAX_SHARE:
        return [row(severity, "target_magnitude", name, "global", src,
                    f"mean annual burned fraction {share:.3g} of the domain's {fmt(land / M2_PER_MHA)} Mha "
                    f"of land ({fmt(mha)} Mha/yr) on a regional grid; above {REGIONAL_BA_MAX_SHARE:g} "
                    "is implausible (percent labelled as a fraction?)")]
    return []


def check_burned_field(frac: np.ndarray, area: np.ndarray, *, role: str, label: str, var: str) -> list[dict]:
    """Value checks of one (months, lat, lon) burned fraction given to scoring (module docstring);
    ``role`` is "reference" or "model", ``area`` the (lat, lon) cell areas in m2."""
    x = np.asarray(frac, dtype=np.float64)
    where = f"{role} {label!r}, variable {var!r},"
    rows = []
    fill = np.isfinite(x) & (np.abs(x) >= FILL_THRESHOLD)
    if fill.any():
        rows.append(row("error", "fill_value", var, "global", label,
                        f"{where}: {int(fill.sum())} values with |x| >= 1e30 (e.g. {fmt(float(x[fill][0]))}, "
                        "an undecoded fill value)"))
    inf = np.isinf(x)
    if inf.any():
        rows.append(row("error", "non_finite", var, "global", label,
                        f"{where}: {int(inf.sum())} inf values at {int(inf.any(axis=0).sum())} cells"))
    ok = np.isfinite(x) & ~fill
    v = x[ok]
    if v.size == 0:
        return rows + [row("error", "all_nan", var, "global", label, f"{where}: no finite value")]
    out = (v < 0) | (v > 1)
    if out.mean() > RANGE_ERROR_SHARE:
        rows.append(row("error", "range", var, "global", label,
                        f"{where}: {int(out.sum())} values ({out.mean():.2%}) outside [0, 1] as a burned "
                        f"fraction (min {fmt(float(v.min()))}, max {fmt(float(v.max()))}); a percent "
                        "labelled as a fraction, or negative burned area"))
    packed = np.where(ok, x, np.nan).reshape(x.shape[0], -1).T
    rows += target_magnitude(packed, np.asarray(area, float).ravel(), x.shape[0], name=var, src=label,
                             severity="error" if role == "reference" else "warning")
    return rows
