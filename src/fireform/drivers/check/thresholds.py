"""The numbers behind the input checks (each says what it separates)."""

from __future__ import annotations

__all__ = ["FILL_THRESHOLD", "SHARE_ZERO_CONSTANT", "MIN_BURNING_CELLS", "RANGE_ERROR_SHARE",
           "DRIFT_WARNING", "DRIFT_ERROR", "SIGN_MIN_ABS_R", "TYPICAL_MEDIAN", "CANDIDATE_UNITS",
           "DROP_ERROR_SHARE", "BLOCK_BURNED_SHARE", "STATIC_CONSTANT_SHARE", "SEASONAL_FLAT_REL",
           "GLOBAL_LAND_M2", "NEAR_GLOBAL_SHARE", "GLOBAL_BA_OBSERVED_MHA", "GLOBAL_BA_ERROR_MHA",
           "REGIONAL_BA_MAX_SHARE", "TARGET_TOLERANCE", "REGIONAL_LOW_MEDIAN", "REGIONAL_LOW_FACTOR"]

FILL_THRESHOLD = 1e30  # |x| >= this is an undecoded fill value (netCDF default is 9.97e36)
SHARE_ZERO_CONSTANT = 0.5  # share of burning cells at which a zero/constant driver is flagged
MIN_BURNING_CELLS = 3
RANGE_ERROR_SHARE = 1e-3  # more than 0.1% of values outside the catalog range is an error
TARGET_TOLERANCE = 1e-6  # a target value beyond its physical range by more than this is an error
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
    "cveg": (0.01, 30.0),  # whole-plant carbon: a domain median above 30 kg C m-2 exceeds tropical forest
}

# Variables whose median over a regional domain can really fall below TYPICAL_MEDIAN's lower
# bound (a desert has little rain, GPP or biomass; the Arctic little lightning or VPD): on a
# regional grid their median is an error only below lower bound / REGIONAL_LOW_FACTOR (a unit
# slip is a factor of 1000 or more), a warning in between. Near-global grids are held to the
# typical range.
REGIONAL_LOW_MEDIAN = frozenset({"pr", "lightning", "gpp", "agb", "cveg", "vpd", "vpd_max"})
REGIONAL_LOW_FACTOR = 100.0

# Units a value might really be in, tried when the declared ones look wrong (by dimensionality
# of the catalog units).
CANDIDATE_UNITS = {
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


# Cells dropped when drivers are assembled (a driver non-finite, or the target missing where
# every driver is valid): more than this share of the burning cells (by count) is an error; any
# drop at all is reported (warning) with counts and regions. 1%: one cell in a hundred is noise
# at a coastline; 30 land cells of a 5 degree world (~5%) are a broken driver.
DROP_ERROR_SHARE = 0.01
# A connected block of cells where a dynamic driver is constant in time (zero included) is an
# error when it holds at least this share of the total burned area (and MIN_BURNING_CELLS cells).
BLOCK_BURNED_SHARE = 0.02
# A static field with one value on at least this share of the valid cells is "constant over
# land" (a broken regrid that broadcast one value, or a fill written as data).
STATIC_CONSTANT_SHARE = 0.9
# A seasonal variable (catalog ``seasonal: true``) whose mean seasonal cycle has a range below
# this fraction of the variable's spread over all cells and months has no seasonal cycle.
SEASONAL_FLAT_REL = 1e-4
# Target magnitude: annual burned area. Ice-free land is ~1.33e14 m2 (Antarctica and Greenland
# excluded); a grid whose valid cells cover at least NEAR_GLOBAL_SHARE of it is near-global and
# held to the global range. GFED4.1s observes ~350-500 Mha/yr, GFED5 ~770 Mha/yr: outside the
# observed range is a warning, outside ten times beyond it (a percent/fraction slip is 100x) an
# error. Regional grids: the mean annual burned fraction of the domain's land above
# REGIONAL_BA_MAX_SHARE is an error (the most fire-prone savanna regions burn ~0.3-0.5 of their
# area a year); a regional target 100x too small cannot be told from a region that rarely burns.
GLOBAL_LAND_M2 = 1.33e14
NEAR_GLOBAL_SHARE = 0.5
GLOBAL_BA_OBSERVED_MHA = (350.0, 800.0)
GLOBAL_BA_ERROR_MHA = (35.0, 8000.0)
REGIONAL_BA_MAX_SHARE = 1.0
