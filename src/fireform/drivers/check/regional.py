"""Rules for the seed's class of bug: a driver that is wrong over part of the world while it looks
fine globally (the seed paper's ED model was fitted to rank 1 with a driver zeroed over a fire
region). Each rule is weighted by where the target burns, so a driver flat over a desert is not an
error but the same driver flat over a savanna is.

- ``constant_block``: a connected block of cells (4-neighbours, wrapping at the dateline) where a
  dynamic driver is constant in time (zero included) and which holds at least
  ``BLOCK_BURNED_SHARE`` of the burned area. Catches a driver zeroed or frozen over an area that
  no region box matches (a broken tile, a regrid hole filled with a constant).
- ``no_seasonality``: a variable the catalog declares seasonal (``seasonal: true``) whose mean
  seasonal cycle is flat at the cells holding most of the burned area. Catches annual values
  repeated over the months, or a climatological mean broadcast in time.
- ``static_constant``: a static field with one value on ``STATIC_CONSTANT_SHARE`` of the valid
  cells. Catches a broken regrid that broadcast one value over land.
"""

from __future__ import annotations

import warnings

import numpy as np
from scipy import ndimage

from fireform.drivers.catalog import catalog
from fireform.drivers.check.report import fmt, row
from fireform.drivers.check.thresholds import (
    BLOCK_BURNED_SHARE,
    MIN_BURNING_CELLS,
    SEASONAL_FLAT_REL,
    SHARE_ZERO_CONSTANT,
    STATIC_CONSTANT_SHARE,
)

__all__ = ["burned_weights", "constant_blocks", "no_seasonality", "static_constant", "where"]


def burned_weights(drivers) -> np.ndarray:
    """Burned area (m2, summed over months) per packed cell; cell areas when there is no target
    or it never burns (so the rules still weigh by land)."""
    tgt = drivers.target
    if tgt is not None and tgt in drivers:
        w = np.nansum(drivers.array(tgt).astype(np.float64), axis=1) * drivers.area
        if np.isfinite(w).all() and w.sum() > 0:
            return w
    return np.asarray(drivers.area, dtype=np.float64)


def where(drivers, cells: np.ndarray) -> tuple[str, str]:
    """A block of packed cells in words: (the region holding most of it, its lat/lon box and the
    two regions holding most of it with their cell counts)."""
    iy, ix = drivers.cell_index
    lat, lon = drivers.lat[iy[cells]], drivers.lon[ix[cells]]
    regs = [(int((m & cells).sum()), k) for k, m in drivers.region_masks.items() if k != "global"]
    regs = sorted((r for r in regs if r[0] > 0), reverse=True)[:2]
    names = ", ".join(f"{k} ({n} cells)" for n, k in regs) or "no named region"
    main = regs[0][1] if regs else "global"
    return main, f"lat {lat.min():g}..{lat.max():g}, lon {lon.min():g}..{lon.max():g}; mostly in {names}"


def _label_wrapped(grid: np.ndarray, lon: np.ndarray) -> np.ndarray:
    """Connected components (4-neighbours) of a (lat, lon) boolean grid; on a global grid the
    first and last longitude columns are neighbours."""
    lab, _ = ndimage.label(grid)
    step = float(np.median(np.diff(lon))) if lon.size > 1 else 0.0
    if lon.size > 2 and abs((lon[-1] - lon[0]) + step - 360.0) < 0.5 * step:
        for j in np.nonzero(grid[:, 0] & grid[:, -1])[0]:
            a, b = lab[j, 0], lab[j, -1]
            if a != b:
                lab[lab == b] = a
    return lab


def constant_blocks(drivers, name: str, a: np.ndarray, w: np.ndarray, src: str,
                    skip_regions: set[str]) -> list[dict]:
    """``constant_block`` findings for one dynamic driver (module docstring). Blocks lying mostly
    in a region that a region rule already flagged for this variable are not repeated."""
    if a.shape[1] < 2:
        return []
    with np.errstate(invalid="ignore"):
        flat = (np.nanmax(a, axis=1) - np.nanmin(a, axis=1)) == 0
    if not flat.any() or flat.all():  # all flat: the global zero/constant rule reports it
        return []
    iy, ix = drivers.cell_index
    grid = np.zeros(drivers.mask.shape, dtype=bool)
    grid[iy, ix] = flat
    cell_lab = _label_wrapped(grid, drivers.lon)[iy, ix]
    total = float(w.sum())
    rows = []
    regions = drivers.region_masks
    for k in np.unique(cell_lab[flat]):
        cells = cell_lab == k
        share = float(w[cells].sum()) / total if total > 0 else 0.0
        n_burn = int((w[cells] > 0).sum())
        if n_burn < MIN_BURNING_CELLS or share < BLOCK_BURNED_SHARE:
            continue
        inside = [r for r in skip_regions if (regions[r] & cells).sum() >= 0.5 * cells.sum()]
        if inside:
            continue
        vals = a[cells, 0]
        zero = bool(np.all(vals == 0))
        what = ("zero in every month" if zero
                else f"constant in time (values {fmt(float(np.nanmin(vals)))}..{fmt(float(np.nanmax(vals)))})")
        main, box = where(drivers, cells)
        # A non-seasonal driver (biomass) may be a map repeated over the months: a warning
        # unless it is zero; a seasonal one frozen in time cannot be real.
        v = catalog().get(name)
        sev = "error" if zero or (v is not None and (v.seasonal or v.role == "derived")) else "warning"
        rows.append(row(sev, "constant_block", name, main,
                        src, f"{name!r} is {what} over a connected block of {int(cells.sum())} cells "
                        f"({box}) holding {share:.1%} of the burned area, while it "
                        f"varies in time elsewhere (a block of >= {BLOCK_BURNED_SHARE:.0%} is an error)"))
    return rows


def no_seasonality(drivers, name: str, a: np.ndarray, w: np.ndarray, src: str) -> list[dict]:
    """``no_seasonality`` for a catalog-seasonal dynamic driver (module docstring)."""
    v = catalog().get(name)
    if v is None or not v.seasonal or a.shape[1] < 12:
        return []
    month = np.asarray(drivers.time.month)
    with warnings.catch_warnings():  # cells with a month never finite
        warnings.simplefilter("ignore", RuntimeWarning)
        clim = np.stack([np.nanmean(a[:, month == m], axis=1) for m in range(1, 13)], axis=1)
        amp = np.nanmax(clim, axis=1) - np.nanmin(clim, axis=1)
        spread = float(np.nanstd(a, dtype=np.float64))
        level = float(np.nanmean(np.abs(a), dtype=np.float64))
    # Constant everywhere (up to float32 round-off): the zero/constant rules say so.
    if not np.isfinite(spread) or spread <= 1e-6 * level:
        return []
    flat = amp <= SEASONAL_FLAT_REL * spread
    total = float(w.sum())
    share = float(w[flat].sum()) / total if total > 0 else 0.0
    if share < SHARE_ZERO_CONSTANT:
        return []
    return [row("error", "no_seasonality", name, "global", src,
                f"{name!r} has no seasonal cycle (mean seasonal range <= {SEASONAL_FLAT_REL:g} x its "
                f"spread {fmt(spread)} {v.units}) at {int(flat.sum())} of {flat.size} cells holding "
                f"{share:.0%} of the burned area; the catalog declares {name!r} seasonal (annual values "
                "repeated over the months, or a climatology broadcast in time?)")]


def static_constant(drivers, name: str, a: np.ndarray, src: str, near_global: bool) -> list[dict]:
    """``static_constant`` for a static field (module docstring). One value of 0 on a regional
    grid is a warning only (a region can have no cropland at all)."""
    x = a[:, 0]
    fin = x[np.isfinite(x)]
    if fin.size < 10:
        return []
    vals, counts = np.unique(fin, return_counts=True)
    k = int(np.argmax(counts))
    share = counts[k] / fin.size
    if share < STATIC_CONSTANT_SHARE:
        return []
    sev = "error" if vals[k] != 0 or near_global else "warning"
    v = catalog().get(name)
    return [row(sev, "static_constant", name, "global", src,
                f"static {name!r} has the single value {fmt(float(vals[k]))} {v.units if v else ''} on "
                f"{counts[k]} of {fin.size} valid cells ({share:.0%}); a field constant over land "
                "(>= {:.0%}) is a broken regrid or a fill written as data".format(STATIC_CONSTANT_SHARE))]
