"""Progress of a fit on stderr: trials done / total, best so far, elapsed, ETA.

The fitter drives Optuna by ask/tell (and its least-squares + CMA-ES path drives the study
itself), so no Optuna callback sees every trial; every path, though, tells each trial to the
study's storage. :class:`FitProgress` reads that storage from a thread (the same storage
object the fit writes to, or the run folder's study journal) every half second. On a terminal
the line is rewritten in place; otherwise a line is printed every 10% of the trials.
"""

from __future__ import annotations

import sys
import threading
import time
from pathlib import Path
from typing import TextIO

import optuna
from optuna.storages.journal import JournalFileBackend

__all__ = ["FitProgress", "eta_line"]

_COMPLETE = optuna.trial.TrialState.COMPLETE


def _clock(s: float) -> str:
    s = max(0, int(round(s)))
    return f"{s // 3600}h{s % 3600 // 60:02d}m" if s >= 3600 else (f"{s // 60}m{s % 60:02d}s" if s >= 60 else f"{s}s")


def eta_line(done: int, total: int, best: float | None, elapsed: float) -> str:
    """``fit 120/1000 trials (12%) best 0.8123 elapsed 12s ETA 1m28s`` (ETA from the mean time
    per trial so far; ``?`` before the first trial)."""
    pct = 100 * done / total if total else 100.0
    eta = _clock(elapsed / done * (total - done)) if done else "?"
    b = f"{best:.4f}" if best is not None else "-"
    return f"fit {done}/{total} trials ({pct:.0f}%) best {b} elapsed {_clock(elapsed)} ETA {eta}"


class FitProgress:
    """Context manager: report the progress of the one fit writing to ``storage`` (an Optuna
    storage object), or to the newest study journal under ``folder`` (a run folder's
    ``studies/``), with ``total`` trials."""

    def __init__(self, total: int, *, storage: optuna.storages.BaseStorage | None = None,
                 folder: Path | None = None, stream: TextIO | None = None, tty: bool | None = None,
                 every: float = 0.5) -> None:
        self.total = int(total)
        self.storage = storage
        self.folder = folder
        self.stream = stream or sys.stderr
        self.tty = self.stream.isatty() if tty is None else tty
        self.every = every
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._t0 = 0.0
        self._decile = -1
        self.lines: list[str] = []

    def __enter__(self) -> "FitProgress":
        self._t0 = time.perf_counter()
        self._thread = threading.Thread(target=self._loop, name="ff-progress", daemon=True)
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join()
        if exc[0] is None:
            self._show(final=True)
        elif self.tty:
            self.stream.write("\n")

    # -- reading the study --------------------------------------------------------------------
    def _source(self) -> optuna.storages.BaseStorage | None:
        if self.storage is not None:
            return self.storage
        if self.folder is None:
            return None
        files = sorted((p for p in (self.folder / "studies").glob("*.journal")
                        if p.stat().st_mtime >= time.time() - (time.perf_counter() - self._t0) - 1),
                       key=lambda p: p.stat().st_mtime)
        if not files:
            return None
        # a second reader of the fit's journal file (Optuna's journal storage allows several)
        backend = JournalFileBackend(str(files[-1]))
        return optuna.storages.JournalStorage(backend)

    def state(self) -> tuple[int, float | None]:
        """(completed trials, best value) of the newest study, (0, None) before it exists."""
        st = self._source()
        if st is None:
            return 0, None
        studies = st.get_all_studies()
        if not studies:
            return 0, None
        sid = st.get_study_id_from_name(studies[-1].study_name)  # the newest: the fit's own
        trials = st.get_all_trials(sid, deepcopy=False, states=(_COMPLETE,))
        vals = [t.value for t in trials if t.value is not None]
        return len(trials), (max(vals) if vals else None)

    # -- showing it ---------------------------------------------------------------------------
    def _show(self, final: bool = False) -> None:
        try:
            done, best = self.state()
        except Exception:  # a journal being written can be read half-way: try again next tick
            return
        done = min(done, self.total)
        line = eta_line(done, self.total, best, time.perf_counter() - self._t0)
        if self.tty:
            self.stream.write("\r" + line + ("\n" if final else ""))
            self.stream.flush()
            self.lines.append(line)
            return
        decile = 10 * done // self.total if self.total else 10
        if decile > self._decile and (done or final):
            self._decile = decile
            self.stream.write(line + "\n")
            self.stream.flush()
            self.lines.append(line)

    def _loop(self) -> None:
        while not self._stop.wait(self.every):
            self._show()
