"""Input checks: inputs are validated as seriously as outputs (an optimizer fits bugs too).

Two entry points, one report:
- ``check_paths(paths)`` reads raw netCDF/zarr files generically (never the curated bundle
  loaders' corrections): identifies each variable (mapping, else standard_name / variable name /
  file name heuristics, reported), checks units, magnitudes, undecoded fill values, coverage,
  ranges and time encodings; then, when the files assemble into Drivers, runs ``check_drivers``.
- ``check_drivers(drivers)`` checks canonical-unit Drivers: coverage, ranges, magnitudes, drivers
  zero or constant where the target burns (per region), derived drivers whose relation to their
  raw inputs has the wrong sign, and drift between training and holdout years.

``gate(drivers)`` / ``gate_paths(paths)`` run them and refuse on errors unless overridden: the one
input gate of every command and API call that fits or scores (``gate.py``).

Findings are a tidy DataFrame with columns severity (error | warning | info), check, variable,
region, file, message; every message carries the numbers behind it.
"""


from fireform.drivers.check.files import check_paths
from fireform.drivers.check.gate import gate, gate_fields, gate_paths
from fireform.drivers.check.report import COLUMNS, InputReport
from fireform.drivers.check.rules import check_drivers
from fireform.drivers.check.target import check_burned_field
from fireform.drivers.check.thresholds import FILL_THRESHOLD, TYPICAL_MEDIAN
from fireform.drivers.identify import Identification, identify

__all__ = ["InputReport", "Identification", "check_paths", "check_drivers", "identify", "COLUMNS",
           "FILL_THRESHOLD", "TYPICAL_MEDIAN", "gate", "gate_paths", "gate_fields", "check_burned_field"]
