"""Catalog drivers from what land models write: derived once, at load time, with stated formulas.

CMIP6/TRENDY output has no VPD, no relative soil wetness, no above-ground biomass and no fine
fuel under those names (DATA_CONVENTIONS.md). ``load_drivers`` reads the model outputs they come
from (catalog role ``source``: huss, ps, mrso, mrsos, mrsofc, cveg, clitter) in canonical units,
derives every catalog driver that is absent and derivable, then drops the sources. A driver
already present in the inputs is never replaced. The first rule whose inputs are all present
wins (the order below is the order of preference).

Each derived variable carries ``derived_from``, ``formula`` and, where the derivation rests on
one, ``assumption`` attributes; an assumption is also raised as an ``AssumptionWarning`` so a
modeller sees it in the run log (:func:`derivations` lists them from a ``Drivers``).

Notes
-----
- VPD is computed from monthly means. e_s is convex in T, so this underestimates the monthly
  mean of daily VPD (by a few percent where the diurnal and day-to-day temperature range is
  large); the fitted parameters of VPD mechanisms absorb a scale, not a shape.
- Soil wetness from mrso / mrsofc is relative to field capacity over the whole column (frozen
  water included), not 0 = wilting point, 1 = saturation as the catalog describes: values above
  field capacity are clipped to 1.
- agb = 0.75 cVeg assumes a root:shoot ratio of 1/3, a forest-weighted central value of
  Mokany2006; grasslands and savannas hold far more carbon below ground (root:shoot 1-4), so
  agb is overestimated there.
- fuel = cLitter counts all litter carbon as fine fuel. CMIP6 keeps coarse woody debris apart
  (cCwd), but cLitter includes below-ground litter in some models.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable, Mapping
from dataclasses import dataclass

import numpy as np
import pandas as pd

from fireform.drivers.catalog import catalog

__all__ = ["Derivation", "DERIVATIONS", "AssumptionWarning", "derive_from_model", "derivations", "saturation_vp",
           "ABOVE_GROUND_FRACTION"]

# above-ground share of vegetation carbon (root:shoot 1/3; Mokany2006, see Notes)
ABOVE_GROUND_FRACTION = 0.75


class AssumptionWarning(UserWarning):
    """A driver was derived under a stated assumption (the warning says which)."""


def saturation_vp(tas_k: np.ndarray) -> np.ndarray:
    """Saturation vapour pressure over water (kPa) at ``tas_k`` (K): Tetens, FAO-56 eq. 11 - the
    formula the twin world makes its VPD with, so a derived VPD reproduces it."""
    t = tas_k - 273.15
    return 0.6108 * np.exp(17.27 * t / (t + 237.3))


def _vpd_rh(v: Mapping[str, np.ndarray]) -> np.ndarray:
    return np.maximum(saturation_vp(v["tas"]) * (1.0 - v["rh"] / 100.0), 0.0)


def _vpd_huss(v: Mapping[str, np.ndarray]) -> np.ndarray:
    q, p = v["huss"], v["ps"]
    e = q * p / (0.622 + 0.378 * q)  # vapour pressure (kPa) from specific humidity
    return np.maximum(saturation_vp(v["tas"]) - e, 0.0)


def _own_range(x: np.ndarray) -> np.ndarray:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # all-NaN cells (ocean) stay NaN
        lo, hi = np.nanmin(x, axis=0), np.nanmax(x, axis=0)
    span = hi - lo
    # a cell whose wetness never changes carries no signal: mid-range, not a division by zero
    return np.where(span > 0, (x - lo) / np.where(span > 0, span, 1.0), 0.5)


@dataclass(frozen=True)
class Derivation:
    """One way to make catalog driver ``name`` from the catalog variables ``needs``."""

    name: str
    needs: tuple[str, ...]
    formula: str
    compute: Callable[[Mapping[str, np.ndarray]], np.ndarray]
    assumption: str = ""


DERIVATIONS: tuple[Derivation, ...] = (
    Derivation("vpd", ("tas", "rh"),
               "VPD = e_s(T) (1 - RH/100), e_s = 0.6108 exp(17.27 T / (T + 237.3)) kPa, T in degC",
               _vpd_rh),
    Derivation("vpd", ("tas", "huss", "ps"),
               "VPD = max(e_s(T) - e, 0), e = q p / (0.622 + 0.378 q), e_s as Tetens (kPa)",
               _vpd_huss),
    Derivation("soil_moisture", ("mrso", "mrsofc"), "soil_moisture = clip(mrso / mrsofc, 0, 1)",
               lambda v: np.clip(v["mrso"] / np.where(v["mrsofc"] > 0, v["mrsofc"], np.nan), 0.0, 1.0),
               "wetness relative to field capacity over the whole soil column; wetter than field "
               "capacity is 1"),
    Derivation("soil_moisture", ("mrso",),
               "soil_moisture = (mrso - min mrso) / (max mrso - min mrso), per cell over the loaded months",
               lambda v: _own_range(v["mrso"]),
               "no mrsofc: each cell's soil moisture is normalised by its own range over the loaded "
               "period (0 = its driest month, 1 = its wettest), so wetness is not comparable across cells"),
    Derivation("soil_moisture", ("mrsos",),
               "soil_moisture = (mrsos - min mrsos) / (max mrsos - min mrsos), per cell over the loaded months",
               lambda v: _own_range(v["mrsos"]),
               "only the top 10 cm layer (mrsos), normalised by each cell's own range over the loaded "
               "period: surface wetness stands in for the root zone"),
    Derivation("agb", ("cveg",), f"agb = {ABOVE_GROUND_FRACTION} cVeg",
               lambda v: ABOVE_GROUND_FRACTION * v["cveg"],
               f"above-ground share {ABOVE_GROUND_FRACTION} of vegetation carbon (root:shoot 1/3, "
               "Mokany2006); overestimates agb in grasslands and savannas"),
    Derivation("fuel", ("clitter",), "fuel = cLitter",
               lambda v: v["clitter"],
               "all litter carbon counted as fine fuel (coarse woody debris is apart, in cCwd)"),
)


def derive_from_model(data: dict[str, tuple], sources: dict[str, str]) -> list[Derivation]:
    """Add to ``data`` (catalog name -> (dims, values, attrs), values aligned on one time axis
    and grid, canonical units) every absent driver a rule can derive; drop the ``source``-role
    variables; update ``sources`` (name -> where it came from). Returns the rules applied."""
    cat = catalog()
    applied: list[Derivation] = []
    for rule in DERIVATIONS:
        if rule.name in data or not all(n in data for n in rule.needs):
            continue
        vals = {n: np.asarray(data[n][1], dtype=np.float64) for n in rule.needs}
        with np.errstate(invalid="ignore", divide="ignore"):
            out = np.asarray(rule.compute(vals), dtype=np.float64)
        dims = max((data[n][0] for n in rule.needs), key=len)
        from_ = ", ".join(f"{n} ({sources.get(n, '?')})" for n in rule.needs)
        attrs = {"units": cat[rule.name].units, "source_file": f"derived from {from_}",
                 "derived_from": " ".join(rule.needs), "formula": rule.formula}
        if rule.assumption:
            attrs["assumption"] = rule.assumption
            warnings.warn(f"{rule.name} derived from {from_}: {rule.assumption}", AssumptionWarning, stacklevel=3)
        data[rule.name] = (dims, out.astype(np.float32), attrs)
        sources[rule.name] = f"derived from {from_}"
        applied.append(rule)
    for n in [n for n in data if n in cat and cat[n].role == "source"]:
        del data[n]
        sources.pop(n, None)
    return applied


def derivations(drivers) -> pd.DataFrame:
    """The derived-at-load drivers of a ``Drivers``: variable, derived_from, formula, assumption."""
    rows = [{"variable": n, "derived_from": a.get("derived_from", ""), "formula": a.get("formula", ""),
             "assumption": a.get("assumption", "")}
            for n in drivers.ds.data_vars if "formula" in (a := drivers.ds[n].attrs)]
    return pd.DataFrame(rows, columns=["variable", "derived_from", "formula", "assumption"])
