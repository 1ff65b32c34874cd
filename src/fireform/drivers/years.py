"""Year ranges, one parser for every command and spec: ``"2001-2016"``, ``"2005"``,
``(first, last)`` or a list of years."""

from __future__ import annotations

from collections.abc import Iterable

from fireform.exceptions import InvalidValueError

__all__ = ["parse_years", "year_list"]


def parse_years(text: str, *, what: str = "years") -> tuple[int, int]:
    """``"2001-2016"`` -> (2001, 2016); ``"2005"`` -> (2005, 2005); errors name ``what``."""
    a, sep, b = str(text).strip().partition("-")
    try:
        first = int(a)
        last = int(b) if sep else first
    except ValueError:
        raise InvalidValueError(f"{what} {text!r}: expected YYYY-YYYY (e.g. 2001-2016) or YYYY") from None
    if last < first:
        raise InvalidValueError(f"{what} {text!r}: the last year comes before the first")
    return first, last


def year_list(years: str | tuple[int, int] | Iterable[int]) -> list[int]:
    """Every year of a range: a ``"2001-2010"`` string, a (first, last) tuple (inclusive), or the
    years themselves."""
    if isinstance(years, str):
        first, last = parse_years(years)
        return list(range(first, last + 1))
    if isinstance(years, tuple) and len(years) == 2:
        return list(range(int(years[0]), int(years[1]) + 1))
    return [int(y) for y in years]
