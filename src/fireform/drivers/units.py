"""CF unit strings -> the catalog's canonical units, once, at the edge.

Parsing uses pint with cf-xarray's unit registry, so CF spellings ("kg m-2 s-1", "%", "degC",
"1.15740740740741e-11 m-2.s-1") parse. Every conversion is affine, y = scale * x + offset, so it
is computed once from two pint evaluations and then applied to whole arrays without pint.

Notes
-----
Water fluxes: CF reports precipitation as a mass flux (kg m-2 s-1) and fireform uses a depth
rate (mm day-1). The two are not dimensionally convertible; they are related by the density of
liquid water, 1000 kg m-3, which makes 1 kg m-2 of water exactly 1 mm deep. ``conversion``
applies that identity explicitly (and only) when the source is a mass per area (per time) and
the target a length (per time), instead of hiding it in a custom pint context.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache

import numpy as np

from fireform.drivers.catalog import variable
from fireform.exceptions import UnitsError

__all__ = ["Conversion", "conversion", "convert", "parse_units", "is_area", "ureg", "WATER_DENSITY"]

WATER_DENSITY = "1000 kg m-3"  # 1 kg m-2 of liquid water is 1 mm deep


@lru_cache(maxsize=1)
def ureg():
    """The shared pint registry (cf-xarray's, which understands CF unit strings)."""
    # cf_xarray builds its pint registry on import (~0.3 s): only when a unit is first parsed
    from cf_xarray.units import units

    return units


@dataclass(frozen=True)
class Conversion:
    """y = scale * x + offset, from ``source`` units to ``target`` units."""

    source: str
    target: str
    scale: float
    offset: float = 0.0
    note: str = ""  # e.g. the water-density identity when it was used

    @property
    def identity(self) -> bool:
        return self.scale == 1.0 and self.offset == 0.0

    def apply(self, x):
        if self.identity:
            return x
        return x * self.scale + self.offset if self.offset else x * self.scale


def _where(file: str | None, var: str | None) -> str:
    parts = []
    if file:
        parts.append(f"file {file}")
    if var:
        parts.append(f"variable {var!r}")
    return ", ".join(parts) if parts else "input"


# " C " between units is carbon ("kg C m-2", "gC m-2"), not coulomb: carbon mass is the
# catalog's convention already, so the token carries no conversion.
_CARBON = re.compile(r"(?<![A-Za-z_])(k?g)?C(?![A-Za-z_0-9])")
# Counted things (lightning flashes, people) are numbers, not units: "flashes km-2 day-1" is
# km-2 day-1. "fl" would otherwise parse as femtolitre, turning a flash density into a volume.
_COUNTS = re.compile(
    r"(?<![A-Za-z_])(flashes|flash|fl|strokes|stroke|inhabitants|inhabitant|people|persons|person|"
    r"individuals|capita|counts|count)(?![A-Za-z_0-9])",
    re.IGNORECASE,
)


def parse_units(units: str | None, *, file: str | None = None, var: str | None = None):
    """Parse a CF unit string into a pint Quantity (magnitude = any scale factor in the string).

    Missing (None or empty) and unparseable strings raise UnitsError naming file and variable.
    """
    if units is None or str(units).strip() == "":
        raise UnitsError(f"{_where(file, var)}: units are missing (no 'units' attribute)")
    s = _CARBON.sub(lambda m: f" {m.group(1) or ''} ", str(units))
    s = _COUNTS.sub(" ", s).strip()
    s = re.sub(r"^\s*/", "1/", s) or "1"  # "flashes/km2/day" leaves "/km2/day"
    try:
        q = ureg().parse_expression(s)
    except Exception as e:  # pint raises several types for bad strings
        raise UnitsError(
            f"{_where(file, var)}: cannot parse units {units!r} ({type(e).__name__}: {e})"
        ) from None
    if not hasattr(q, "units"):  # a bare number such as "1e-3"
        q = ureg().Quantity(float(q), "1")
    return q


def is_area(units: str | None) -> bool:
    """``units`` parse as an area (a burned area per cell, as GFED5 writes in km2); missing or
    unparseable units are not (the ordinary conversion names their problem)."""
    try:
        return bool(units) and parse_units(units).dimensionality == ureg().parse_expression("m2").dimensionality
    except UnitsError:
        return False


def _is_water_mass(dim) -> bool:
    """Mass per area, or mass per area per time (a water amount or flux)."""
    p = ureg().parse_expression
    return dim in (p("kg m-2").dimensionality, p("kg m-2 s-1").dimensionality)


def conversion(
    source: str | None,
    target: str,
    *,
    file: str | None = None,
    var: str | None = None,
) -> Conversion:
    """The affine conversion from ``source`` to ``target`` units.

    Raises UnitsError (naming file, variable, the units string and the expected units) when the
    source is missing, unparseable or not convertible.
    """
    q = parse_units(source, file=file, var=var)
    t = parse_units(target, file=file, var=var)
    note = ""
    water = q / ureg().parse_expression(WATER_DENSITY)
    if (
        q.dimensionality != t.dimensionality
        and _is_water_mass(q.dimensionality)
        and water.dimensionality == t.dimensionality
    ):
        # 1 kg m-2 of water = 1 mm: divide the mass per area by the density of liquid water.
        q = water
        note = "water mass flux to depth: 1 kg m-2 = 1 mm (density 1000 kg m-3)"
    if q.dimensionality != t.dimensionality:
        raise UnitsError(
            f"{_where(file, var)}: units {source!r} ({q.dimensionality}) cannot be converted to "
            f"the expected {target!r} ({t.dimensionality})"
        )
    Q = ureg().Quantity
    try:
        # Two points of the affine map; Quantity(x * magnitude, unit) keeps offset units right.
        y0 = Q(0.0 * q.magnitude, q.units).to(t.units).magnitude / t.magnitude
        y1 = Q(1.0 * q.magnitude, q.units).to(t.units).magnitude / t.magnitude
    except Exception as e:
        raise UnitsError(
            f"{_where(file, var)}: units {source!r} cannot be converted to the expected "
            f"{target!r} ({type(e).__name__}: {e})"
        ) from None
    return Conversion(str(source), target, float(y1 - y0), float(y0), note)


def convert(values, source: str | None, name: str, *, file: str | None = None, var: str | None = None):
    """``values`` in ``source`` units converted to the canonical units of catalog ``name``."""
    c = conversion(source, variable(name).units, file=file, var=var or name)
    return c.apply(np.asarray(values) if not hasattr(values, "dims") else values)
