"""The run report: static HTML built from a run's results (:class:`fireform.loop.Run`)."""

from fireform.report.html import SECTIONS, build_report

__all__ = ["build_report", "SECTIONS"]
