"""The input gate at the door of every fit (``fit(..., check=True, override_checks=False)``).

A fit of Drivers or a Split passes its training drivers through
:func:`fireform.drivers.check.gate` (the checks of ``fireform check``; errors refuse with
``InputCheckError`` before any trial). ``check=False`` or ``override_checks=True`` is an
explicit choice, recorded in the result (``FitResult.extra["input_check"]``) and logged. A
:class:`FitContext` is not re-checked: contexts are the library's own shared training sets
(Shapley subsets, the loop), built from data gated once by their caller.
"""

from __future__ import annotations

import logging

from fireform.drivers import gate
from fireform.fitting.context import FitContext
from fireform.fitting.split import training_drivers

__all__ = ["gate_inputs"]

log = logging.getLogger("fireform.fitting")


def gate_inputs(data, *, check: bool = True, override: bool = False) -> dict:
    """Gate the training drivers of ``data``; returns the note recorded in the FitResult."""
    if isinstance(data, FitContext):
        return {"input_check": "context (checked by its builder)"}
    if not check:
        log.warning("fit with check=False: the input checks were skipped by the caller")
        return {"input_check": "skipped (check=False)"}
    report = gate(training_drivers(data), override=override)
    if report.overridden:
        n = len(report.errors)
        log.warning("fit despite %d input-check error(s): overridden by the caller", n)
        return {"input_check": f"overridden ({n} error(s))",
                "input_errors": [f"[{r.check}] {r.variable} {r.region}".strip() for r in report.errors.itertuples()]}
    return {"input_check": "ok", "input_warnings": int(len(report.warnings))}
