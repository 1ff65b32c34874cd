"""``Split``: training years in the open, holdout years sealed.

``Split(drivers, train_years=..., holdout_years=...)`` cuts the drivers once. ``split.train`` is a
new :class:`~fireform.drivers.dataset.Drivers` holding *copies* of the training months only
(``select_years`` indexes time with an integer array, which copies), so nothing reachable from it
refers to a holdout value. The holdout can be read only through ``split.unseal(reason)``, which

- refuses while any fit is running in this process (:func:`fitting_active`), so code on the
  fitting side cannot read it even by accident, and
- records every read (:class:`HoldoutRead`: when, why, which years, data fingerprint) in
  ``split.reads`` and passes it to the optional ``on_read`` callback (the loop's journal).

A Split does not pickle (the holdout would travel with it); send ``split.train`` to workers.

Derived drivers with trailing windows (``npp_mean_12m``, dryness) computed on the whole series
would carry holdout inputs into the first training months when holdout years precede training
years: give them as ``derive`` and the training side computes them from its own months.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from contextlib import contextmanager
from dataclasses import dataclass

import numpy as np

from fireform.drivers import Drivers, year_list
from fireform.exceptions import HoldoutAccessError, TimeMismatchError

__all__ = ["Split", "HoldoutRead", "fitting_active", "fitting_guard"]

_LOCK = threading.Lock()
_ACTIVE = 0  # fits running in this process


def fitting_active() -> bool:
    """True while a fit runs in this process (holdout reads are refused then)."""
    return _ACTIVE > 0


@contextmanager
def fitting_guard():
    """Mark a fit as running for the duration of the block."""
    global _ACTIVE
    with _LOCK:
        _ACTIVE += 1
    try:
        yield
    finally:
        with _LOCK:
            _ACTIVE -= 1


@dataclass(frozen=True)
class HoldoutRead:
    """One journaled read of the sealed holdout."""

    time: float  # unix seconds
    reason: str
    years: tuple[int, ...]
    fingerprint: str


class Split:
    """Training drivers in the open, holdout drivers behind :meth:`unseal`."""

    __slots__ = ("_train", "_open", "train_years", "holdout_years", "_reads", "_on_read")
    # __slots__ and no __dict__: there is no attribute through which the holdout could leak

    def __init__(
        self,
        drivers,
        *,
        train_years,
        holdout_years=None,
        on_read: Callable[[HoldoutRead], None] | None = None,
        exclude_cells: np.ndarray | None = None,
        derive: Callable[[Drivers], Drivers] | None = None,
    ) -> None:
        """``exclude_cells``: a (lat, lon) bool grid of cells held out of training (held-out
        regions); the holdout keeps every cell. ``derive`` adds derived drivers (running means,
        accumulated dryness): to the training years from the training months alone, so no holdout
        value reaches a training value whichever side of the split comes first; to the holdout
        years from the whole series (the holdout may use the training months' history)."""
        train = tuple(year_list(train_years))
        have = set(int(y) for y in drivers.years)
        hold = (
            tuple(sorted(have - set(train)))
            if holdout_years is None
            else tuple(year_list(holdout_years))
        )
        both = sorted(set(train) & set(hold))
        if both:
            raise TimeMismatchError(f"training and holdout years overlap: {both}")
        missing = sorted((set(train) | set(hold)) - have)
        if missing:
            raise TimeMismatchError(
                f"years {missing} are not in the drivers ({min(have)}..{max(have)})"
            )
        if not train:
            raise TimeMismatchError("a split needs at least one training year")
        self.train_years = train
        self.holdout_years = hold
        train_d = drivers.select_years(list(train))
        if derive is not None:
            train_d = derive(train_d)
        if exclude_cells is not None:
            train_d = train_d.with_mask(train_d.mask & ~np.asarray(exclude_cells, bool))
        self._train = train_d
        # The holdout lives only inside this closure; there is no attribute holding it.
        held = (derive(drivers) if derive is not None else drivers).select_years(list(hold)) if hold else None
        self._open = lambda: held
        self._reads: list[HoldoutRead] = []
        self._on_read = on_read

    @property
    def train(self):
        """The training-period drivers (all the fitting code ever sees)."""
        return self._train

    @property
    def reads(self) -> tuple[HoldoutRead, ...]:
        return tuple(self._reads)

    def unseal(self, reason: str):
        """The holdout drivers; journaled, and refused while a fit runs."""
        if not str(reason or "").strip():
            raise HoldoutAccessError("unsealing the holdout needs a reason (it is journaled)")
        if fitting_active():
            raise HoldoutAccessError(
                f"holdout years {list(self.holdout_years)} cannot be read while a fit is running "
                f"(reason given: {reason!r})"
            )
        held = self._open()
        if held is None:
            raise HoldoutAccessError("this split has no holdout years")
        rec = HoldoutRead(time.time(), str(reason), self.holdout_years, held.fingerprint())
        self._reads.append(rec)
        if self._on_read is not None:
            self._on_read(rec)
        return held

    def __getattr__(self, name: str):
        if "holdout" in name or name in ("drivers", "full", "all"):
            raise HoldoutAccessError(
                f"Split has no attribute {name!r}: the holdout is sealed; use split.unseal(reason)"
            )
        raise AttributeError(name)

    def __reduce__(self):
        raise HoldoutAccessError(
            "a Split cannot be pickled (the sealed holdout would travel with it); send split.train"
        )

    def __repr__(self) -> str:
        return (
            f"Split(train={self.train_years[0]}..{self.train_years[-1]} "
            f"({len(self.train_years)} years), holdout={list(self.holdout_years)} sealed, "
            f"{len(self._reads)} reads)"
        )


def training_drivers(data):
    """The drivers a fit may use: ``data.train`` for a Split, else ``data`` itself."""
    if isinstance(data, Split):
        return data.train
    if not hasattr(data, "array") or not hasattr(data, "select_years"):
        raise TypeError(f"expected Drivers or a Split, got {type(data).__name__}")
    return data


def years_of(drivers) -> tuple[int, ...]:
    return tuple(int(y) for y in np.unique(drivers.time.year))
