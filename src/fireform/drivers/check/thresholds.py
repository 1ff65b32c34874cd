"""The numbers behind the input checks (each says what it separates)."""

from __future__ import annotations

__all__ = ["FILL_THRESHOLD", "SHARE_ZERO_CONSTANT", "MIN_BURNING_CELLS", "RANGE_ERROR_SHARE",
           "DRIFT_WARNING", "DRIFT_ERROR", "SIGN_MIN_ABS_R", "TYPICAL_MEDIAN", "CANDIDATE_UNITS"]

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

