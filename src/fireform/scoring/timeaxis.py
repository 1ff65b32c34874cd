"""The time weights ILAMB 2.x and ilamb3 use, derived from a month-start time axis.

Both tools weight time means by interval lengths, but not the same intervals:

- ILAMB 2.x converts every calendar to ``noleap`` on reading (``ilamblib.GetTime``), so a month
  mean is weighted by its noleap length (February is always 28 days): ``dt``.
- ``Variable.rms()`` (used for sigma_ref and the IAV) rebuilds time bounds from the mid-month
  times (``_createBnds``), so its weights are centred differences of mid-month times (the
  mid-point taken in the standard calendar, then moved to noleap by date: Feb 15 12:00 in a
  leap year):
  ``w_rms`` (interior months (len[t-1]/2 + len[t] + len[t+1]/2) / 2; the end months the one-sided
  difference).
- ``Variable.annualCycle`` starts at ``argmin(t_mid[:11] % 365)`` (the first January when one is
  among the first 11 months) and averages whole years only; its 12 slots are labelled with the
  noleap mid-month days and weighted by noleap month lengths (``constants.mid_months``,
  ``bnd_months``).
- ilamb3 weights period means and the bias normaliser by the time bounds of the file (real month
  lengths, February 29 in leap years): ``dt_actual``; its RMSE first moves to a noleap calendar
  stamped on day 15 without bounds, so it weights by centred differences of those stamps
  (``w_ilamb3_rmse``); its annual cycle is an unweighted ``groupby("time.month").mean()``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from fireform.exceptions import ScoringError

__all__ = ["TimeAxis", "MID_MONTHS", "NOLEAP_MONTH_DAYS"]

NOLEAP_MONTH_DAYS = np.array([31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31], dtype=float)
_BND_MONTHS = np.concatenate([[0.0], np.cumsum(NOLEAP_MONTH_DAYS)])
MID_MONTHS = 0.5 * (_BND_MONTHS[:-1] + _BND_MONTHS[1:])  # 15.5, 45.0, ... (ILAMB constants)


def _centred_widths(t: np.ndarray) -> np.ndarray:
    """Widths of bounds placed half-way between points, ends one-sided (ILAMB ``_createBnds``)."""
    if t.size == 1:
        return np.ones(1)
    b = np.empty(t.size + 1)
    b[1:-1] = 0.5 * (t[:-1] + t[1:])
    b[0] = t[0] - 0.5 * (t[1] - t[0])
    b[-1] = t[-1] + 0.5 * (t[-1] - t[-2])
    return np.diff(b)


@dataclass(frozen=True, eq=False)
class TimeAxis:
    """Every time weight and index the scorers need, computed once from month starts."""

    time: pd.DatetimeIndex
    dt: np.ndarray  # ILAMB 2.x mean weights (noleap lengths, or actual lengths if asked)
    w_rms: np.ndarray  # ILAMB 2.x rms() weights (centred differences of mid-month times)
    month: np.ndarray  # calendar month index 0..11 of each step
    cycle_begin: int  # first step of the whole-year climatology window
    cycle_years: int  # whole years in the window (0: no climatology)
    slot: np.ndarray  # climatology slot of each step (ILAMB ExtendAnnualCycle), -1 if none
    slot_days: np.ndarray  # 12 slot weights (noleap month lengths)
    dt_actual: np.ndarray  # ilamb3 mean weights (real month lengths)
    w_ilamb3_rmse: np.ndarray  # ilamb3 RMSE weights (centred differences of noleap day-15 stamps)

    @property
    def n(self) -> int:
        return int(self.time.size)

    @classmethod
    def from_index(cls, time, *, calendar: str = "noleap") -> "TimeAxis":
        t = pd.DatetimeIndex(time)
        if t.size == 0:
            raise ScoringError("the time axis is empty")
        if not (t.is_month_start.all() and (t.hour == 0).all()):
            raise ScoringError(
                f"time must hold month starts (YYYY-MM-01); got {t[~t.is_month_start][:3].tolist()}"
            )
        months = t.year * 12 + t.month - 1
        if t.size > 1 and not np.all(np.diff(months) == 1):
            raise ScoringError("time must be consecutive months without gaps or duplicates")
        if calendar not in ("noleap", "actual"):
            raise ScoringError(f"calendar must be 'noleap' or 'actual', got {calendar!r}")
        m = np.asarray(t.month - 1)
        noleap_len = NOLEAP_MONTH_DAYS[m]
        actual_len = np.asarray(t.days_in_month, dtype=float)
        # noleap days since 1850-01-01 of each month start and mid-month. 2.x takes the mid-point
        # in the file's (standard) calendar and moves it to noleap by its date components, so a
        # leap February's mid-point lands half a day later (Feb 15 12:00) than a noleap one.
        start = (np.asarray(t.year) - 1850) * 365.0 + _BND_MONTHS[m]
        mid = start + 0.5 * actual_len
        dt = noleap_len if calendar == "noleap" else actual_len
        w_rms = _centred_widths(mid)
        n = t.size
        if n >= 12:
            begin = int(np.argmin(mid[: min(11, n)] % 365.0))
            years = (n - begin) // 12
        else:
            begin, years = 0, 0
        # ExtendAnnualCycle: nearest labelled slot to the step's day of year.
        slot = np.abs((mid[:, None] % 365.0) - MID_MONTHS[None, :]).argmin(axis=1)
        if years == 0:
            slot = np.full(n, -1)
        stamp15 = start + 14.0  # ilamb3 convert_calendar_monthly_noleap: day 15, no bounds
        w3 = _centred_widths_ilamb3(stamp15)
        return cls(
            time=t, dt=dt, w_rms=w_rms, month=m, cycle_begin=begin, cycle_years=int(years),
            slot=slot.astype(np.int64), slot_days=NOLEAP_MONTH_DAYS.copy(),
            dt_actual=actual_len, w_ilamb3_rmse=w3,
        )

    @property
    def window(self) -> slice:
        return slice(self.cycle_begin, self.cycle_begin + 12 * self.cycle_years)


def _centred_widths_ilamb3(t: np.ndarray) -> np.ndarray:
    """ilamb3 ``compute_time_measures`` without bounds: mean of the two adjacent differences."""
    if t.size == 1:
        return np.ones(1)
    d = np.diff(t)
    d = np.concatenate([[d[0]], d, [d[-1]]])
    return 0.5 * (d[:-1] + d[1:])
