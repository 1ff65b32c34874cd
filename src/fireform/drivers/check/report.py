"""``InputReport``: the findings of the input checks as a tidy table, and the row helpers."""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from fireform.exceptions import InputCheckError

__all__ = ["InputReport", "COLUMNS", "row", "report", "median", "fmt"]

COLUMNS = ["severity", "check", "variable", "region", "file", "message"]


@dataclass(frozen=True)
class InputReport:
    """Findings of the input checks (tidy DataFrame, ``COLUMNS``) and any recorded override."""

    findings: pd.DataFrame = field(default_factory=lambda: pd.DataFrame(columns=COLUMNS))
    overridden: bool = False

    @property
    def errors(self) -> pd.DataFrame:
        return self.findings[self.findings["severity"] == "error"]

    @property
    def warnings(self) -> pd.DataFrame:
        return self.findings[self.findings["severity"] == "warning"]

    @property
    def ok(self) -> bool:
        return self.errors.empty

    def __add__(self, other: "InputReport") -> "InputReport":
        df = pd.concat([self.findings, other.findings], ignore_index=True)
        return InputReport(df, overridden=self.overridden or other.overridden)

    def raise_if_errors(self, override: bool = False) -> "InputReport":
        """Raise InputCheckError when there are errors, unless ``override``; an override is
        recorded in the returned report (an ``override`` warning naming how many errors)."""
        if self.ok:
            return self
        if not override:
            lines = [f"- [{r.check}] {r.variable} {r.region}{_in(r.file)}: {r.message}".replace("  ", " ")
                     for r in self.errors.head(10).itertuples()]
            more = len(self.errors) - len(lines)
            raise InputCheckError(
                f"input checks found {len(self.errors)} error(s); nothing was fitted or scored. Fix "
                "the inputs, or override explicitly (--override-checks on the command line, "
                "override_checks=True in the API; the override is recorded):\n"
                + "\n".join(lines) + (f"\n... and {more} more" if more > 0 else "")
            )
        note = row("warning", "override", "", "", "",
                    f"{len(self.errors)} input error(s) overridden explicitly by the user")
        return InputReport(
            pd.concat([self.findings, pd.DataFrame([note], columns=COLUMNS)], ignore_index=True),
            overridden=True,
        )

    def summary(self) -> dict[str, int]:
        return {s: int((self.findings["severity"] == s).sum()) for s in ("error", "warning", "info")}

    def to_json(self, path: str | os.PathLike | None = None) -> str:
        text = json.dumps(
            {"ok": self.ok, "overridden": self.overridden, "summary": self.summary(),
             "findings": self.findings.to_dict(orient="records")},
            indent=2,
        )
        if path is not None:
            Path(path).write_text(text)
        return text


def _in(file) -> str:
    """`` (in NAME)`` for a finding's file (its base name; derived drivers say so)."""
    return f" (in {Path(str(file)).name})" if file else ""


def row(severity: str, check: str, variable: str, region: str, file: str, message: str) -> dict:
    return dict(severity=severity, check=check, variable=variable, region=region, file=file, message=message)


def report(rows: list[dict]) -> InputReport:
    return InputReport(pd.DataFrame(rows, columns=COLUMNS))


def median(x: np.ndarray) -> float:
    """Median of finite values; on a regular subsample of at most 1e6 values (a magnitude check
    needs no more, and a full median of a global monthly field is slow)."""
    x = np.ravel(x)
    step = max(1, x.size // 1_000_000)
    return float(np.median(x[::step]))


def fmt(x: float) -> str:
    return f"{x:.4g}"

