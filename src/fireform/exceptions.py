"""Every failure fireform raises on purpose is a FireformError subclass.

One subclass per failure mode, so callers (and tests) can catch exactly the
problem they expect, and messages always name the file, variable and value.
"""

from __future__ import annotations

__all__ = [
    "FireformError",
    "DataNotFoundError",
    "MissingVariableError",
    "UnitsError",
    "GridMismatchError",
    "TimeMismatchError",
    "InvalidValueError",
    "CorruptFileError",
    "InputCheckError",
    "UnknownNameError",
    "DuplicateRegistrationError",
    "FormError",
    "ExpressionError",
    "ScoringError",
    "FitError",
    "HoldoutAccessError",
    "ExportError",
    "SpecError",
    "DataChangedError",
    "ProposalError",
    "BudgetExhaustedError",
]


class FireformError(Exception):
    """Base class of every error fireform raises deliberately."""


class DataNotFoundError(FireformError):
    """A data file or the FIREFORM_DATA bundle is missing."""


class MissingVariableError(FireformError):
    """A required variable is absent from a file or dataset."""


class UnitsError(FireformError):
    """Units are missing, unparseable, or not convertible to the canonical units."""


class GridMismatchError(FireformError):
    """Two inputs are on different grids (the message names the coordinates)."""


class TimeMismatchError(FireformError):
    """Time axes cannot be aligned (no overlap, duplicated months, wrong length)."""


class InvalidValueError(FireformError):
    """Values outside what is physically possible (negative precipitation, all-NaN)."""


class CorruptFileError(FireformError):
    """A file exists but cannot be read as netCDF/zarr."""


class InputCheckError(FireformError):
    """Input checks found errors and no override was given."""


class UnknownNameError(FireformError, KeyError):
    """An unknown mechanism, variable, region, convention or component name."""

    def __str__(self) -> str:  # KeyError would repr() the message
        return str(self.args[0]) if self.args else ""


class DuplicateRegistrationError(FireformError):
    """A registry entry with this id already exists."""


class FormError(FireformError):
    """A form is malformed (unknown term, duplicate parameter, bad structure)."""


class ExpressionError(FormError):
    """A new-term expression is outside the safe expression language."""


class ScoringError(FireformError):
    """Model and reference cannot be scored together (shape, grid, units, time)."""


class FitError(FireformError):
    """A parameter fit could not run or produced no finite result."""


class HoldoutAccessError(FireformError):
    """Code on the fitting side tried to read sealed holdout data."""


class ExportError(FireformError):
    """An export could not be produced or failed its round-trip check."""


class SpecError(FireformError):
    """An experiment spec is invalid or differs from the frozen one."""


class DataChangedError(SpecError):
    """A resumed run's input files or drivers differ from those it started with."""


class ProposalError(FireformError):
    """A proposal failed its grounding checks."""


class BudgetExhaustedError(FireformError):
    """A budget (trials, wall time, LLM tokens or cost) is spent."""
