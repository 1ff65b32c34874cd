"""``dropped``: cells and months silently lost when drivers are assembled.

``load_drivers`` keeps a cell only when the target is finite in some month and every driver is
finite in every month; a fit then never sees the others and every packed-cell check passes (a
run once dropped 30 land cells with an inf driver and logged "errors=0"). This rule looks at the
whole grid of ``drivers.ds`` and reports, with counts and region names:

- cells with a valid target where a driver is NaN or inf (per driver);
- vegetated cells (a vegetation driver such as gpp or tree_cover positive there) where the
  target is missing in every month;
- cell-months where the target is missing at a cell that is otherwise valid.

Any drop is a warning; more than ``DROP_ERROR_SHARE`` of the burning cells is an error. Cells
left out on purpose (``mask`` of ``load_drivers``, held-out regions of a Split) are not counted
unless a driver is also non-finite there. Months cut when inputs cover different periods are
not visible here (``fireform check`` on the files reports them).
"""

from __future__ import annotations

import warnings

import numpy as np

from fireform.drivers.check.report import row
from fireform.drivers.check.thresholds import DROP_ERROR_SHARE

__all__ = ["dropped", "VEGETATION"]

# Land-surface drivers that are positive where vegetation grows: where one of them is, a missing
# target is a gap in the observations, not sea or ice.
VEGETATION = ("gpp", "npp", "agb", "fuel", "tree_cover", "total_cover")


def _regions(drivers, cells: np.ndarray) -> str:
    """The regions (most cells first, at most 3) holding ``cells`` of the (lat, lon) grid."""
    hits = [(int((m & cells).sum()), k) for k, m in drivers.regions.masks.items() if k != "global"]
    hits = sorted((h for h in hits if h[0] > 0), reverse=True)[:3]
    return ", ".join(f"{k} ({n})" for n, k in hits) or "outside every named region"


def _finite_all(v: np.ndarray) -> np.ndarray:
    return np.isfinite(v).all(axis=0) if v.ndim == 3 else np.isfinite(v)


def dropped(drivers) -> list[dict]:
    """Findings ``dropped_cells`` / ``dropped_months`` (module docstring)."""
    tgt = drivers.target
    if tgt is None or tgt not in drivers:
        return []
    t = np.asarray(drivers.ds[tgt].transpose("time", "lat", "lon").values, dtype=np.float64)
    tfin = np.isfinite(t)
    tvalid = tfin.any(axis=0)
    burning = tvalid & (np.where(tfin, t, 0.0).sum(axis=0) > 0)
    n_burn = max(int(burning.sum()), 1)
    mask = np.asarray(drivers.mask, dtype=bool)
    rows = []
    limit = f"more than {DROP_ERROR_SHARE:.0%} of the {n_burn} burning cells is an error"

    def add(check: str, var: str, cells: np.ndarray, what: str, n_burning: int) -> None:
        share = n_burning / n_burn
        sev = "error" if share > DROP_ERROR_SHARE else "warning"
        rows.append(row(sev, check, var, _regions(drivers, cells).split(" (")[0], drivers.sources.get(var, ""),
                        f"{what} at {int(cells.sum())} cells, {n_burning} of them burning "
                        f"({share:.1%} of the burning cells), in {_regions(drivers, cells)}; these "
                        f"cells are dropped from fitting and scoring ({limit})"))

    all_fin = np.ones(tvalid.shape, dtype=bool)
    for name in drivers.variables:
        if name == tgt:
            continue
        v = np.asarray(drivers.ds[name].values)
        fin = _finite_all(v)
        all_fin &= fin
        bad = tvalid & ~fin & ~mask
        if bad.any():
            n_inf = int(np.isinf(v[..., bad] if v.ndim == 3 else v[bad]).sum())
            kind = f"NaN or inf ({n_inf} inf values)" if n_inf else "NaN"
            add("dropped_cells", name, bad, f"{name!r} is {kind} in some month", int((bad & burning).sum()))
    veg = np.zeros(tvalid.shape, dtype=bool)
    for name in VEGETATION:
        if name in drivers and name != tgt:
            v = np.asarray(drivers.ds[name].values)
            with warnings.catch_warnings():  # all-NaN sea cells
                warnings.simplefilter("ignore", RuntimeWarning)
                veg |= (np.nanmax(v, axis=0) if v.ndim == 3 else np.nan_to_num(v)) > 0
    gap = veg & all_fin & ~tvalid
    if gap.any():
        # Each missing vegetated cell counts as a burning cell lost: it cannot be told apart.
        add("dropped_cells", tgt, gap, f"target {tgt!r} is missing in every month where the "
            "vegetation drivers are valid", int(gap.sum()))
    part = tvalid & ~tfin.all(axis=0) & mask
    if part.any():
        n_cm = int((~tfin[:, part]).sum())
        share = int((part & burning).sum()) / n_burn
        rows.append(row("error" if share > DROP_ERROR_SHARE else "warning", "dropped_months", tgt,
                        _regions(drivers, part).split(" (")[0], drivers.sources.get(tgt, ""),
                        f"target {tgt!r} is missing in {n_cm} cell-months at {int(part.sum())} valid "
                        f"cells ({share:.1%} of the burning cells), in {_regions(drivers, part)}; "
                        f"those months are not scored ({limit})"))
    return rows
