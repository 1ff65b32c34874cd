"""The one input gate every path that fits or scores passes through.

``gate(drivers)`` runs the drivers-level checks (``check_drivers``: the same rules and report as
``fireform check``) and refuses with ``InputCheckError`` (listing the errors: rule, variable,
region, numbers) unless ``override=True``; an override is recorded in the returned report (an
``override`` warning row, ``report.overridden``). ``gate_paths(paths)`` does the same for raw
files before they are loaded (``check_paths``: identification, units, magnitudes, fills, then the
drivers-level rules on what assembles), so a file the loader would reject or silently repair is
refused with the rule that failed, not with a loader error.

Who calls it: ``fireform fit | shapley | score`` (``--override-checks``),
``fireform.fitting.fit`` and ``fireform.ablation.shapley`` (``check=True`` /
``override_checks=False``), ``fireform.scoring.score`` (burned-fraction fields:
``check_burned_field``), and the loop's ``_prepare`` (its report is journaled).

A report is remembered per Drivers object (weakly): the Shapley ablation fits 2^N subsets of one
training set and checks it once; an override given for a Drivers object holds for later calls on
that same object (it was given explicitly for that data, and stays recorded in its report).
"""

from __future__ import annotations

import os
import weakref
from collections.abc import Callable, Sequence

from fireform.drivers.check.files import check_paths
from fireform.drivers.check.report import InputReport, report
from fireform.drivers.check.rules import check_drivers
from fireform.drivers.check.target import check_burned_field
from fireform.drivers.dataset import Drivers

__all__ = ["gate", "gate_paths", "gate_fields", "merge"]

_SEEN: "weakref.WeakKeyDictionary[Drivers, InputReport]" = weakref.WeakKeyDictionary()


def merge(first: InputReport, second: InputReport) -> InputReport:
    """Both reports' findings, a finding present in both (same rule, variable, region and
    message) once."""
    both = first + second
    f = both.findings.drop_duplicates(subset=["severity", "check", "variable", "region", "message"])
    return InputReport(f.reset_index(drop=True), overridden=both.overridden)


def gate(drivers: Drivers, *, override: bool = False, holdout_years=None,
         before: InputReport | None = None,
         on_report: Callable[[InputReport], None] | None = None) -> InputReport:
    """Check ``drivers`` and refuse on errors (module docstring). ``before``: a report of the raw
    files these drivers were read from (``gate_paths``), merged into the returned one.
    ``on_report``: called with the report (the override recorded) before any refusal, so a
    caller can journal what refused it.

    Returns the report (with the override recorded when errors were overridden); raises
    ``InputCheckError`` listing the errors otherwise.
    """
    seen = _SEEN.get(drivers) if holdout_years is None else None
    if seen is None:
        seen = check_drivers(drivers, holdout_years=holdout_years)
        if before is not None:
            seen = merge(before, seen)
        if holdout_years is None:
            _SEEN[drivers] = seen
    if not seen.ok and not seen.overridden and override:
        seen = seen.raise_if_errors(override=True)  # records the override
        if holdout_years is None:
            _SEEN[drivers] = seen
    if on_report is not None:
        on_report(seen)
    return seen if seen.overridden else seen.raise_if_errors()


def gate_paths(paths: Sequence[str | os.PathLike], *, target: str | None = None,
               override: bool = False, assemble: bool = True) -> InputReport:
    """``check_paths(paths)`` (the report of ``fireform check``) and refuse on errors unless
    ``override`` (recorded). ``assemble=False``: the raw-file checks only, for a caller that
    loads the Drivers itself and passes them to ``gate`` (one load instead of two)."""
    return check_paths([str(p) for p in paths], target=target,
                       assemble=assemble).raise_if_errors(override=override)


def gate_fields(reference, model, *, override: bool = False) -> InputReport:
    """The gate of a scoring: ``reference`` and ``model`` are (frac, area, label, var) with
    ``frac`` the (months, lat, lon) burned fraction after unit conversion and ``area`` its (lat,
    lon) cell areas (m2). The reference gets every value rule and the magnitude rule as errors;
    the model the value rules (a model burning too much is what scoring is there to show: a
    magnitude warning). Refuses on errors unless ``override`` (recorded)."""
    rows = []
    for role, (frac, area, label, var) in (("reference", reference), ("model", model)):
        rows += check_burned_field(frac, area, role=role, label=label, var=var)
    return report(rows).raise_if_errors(override=override)
