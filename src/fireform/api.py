"""The public entry points that span layers: a run with its report, and resuming one."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from fireform.agent import Proposer
from fireform.loop import RunResult, Spec
from fireform.loop import resume as _resume
from fireform.loop import run as _run
from fireform.report import build_report

__all__ = ["run", "resume"]


def run(spec: Spec | str | Path, *, run_dir: str | Path | None = None, root: str | Path = "runs",
        report: bool = True, echo: Callable[[str], None] | None = None,
        proposer: Proposer | None = None) -> RunResult:
    """Run the two-layer search for ``spec`` (a :class:`Spec` or a TOML path) in a new run folder
    under ``root`` (or ``run_dir``); with ``report`` the HTML report is built at the end.
    Everything lands in the folder's journal as it completes (:func:`open_run` reads it)."""
    return _run(spec, run_dir=run_dir, root=root, report=build_report if report else None,
                echo=echo, proposer=proposer)


def resume(run_dir: str | Path, *, spec: Spec | str | Path | None = None, report: bool = True,
           echo: Callable[[str], None] | None = None, proposer: Proposer | None = None) -> RunResult:
    """Resume a killed or stopped run; finished fits are never redone and the holdout is never
    read twice. ``spec``, when given, must equal the frozen one."""
    return _resume(run_dir, spec=spec, report=build_report if report else None, echo=echo,
                   proposer=proposer)
