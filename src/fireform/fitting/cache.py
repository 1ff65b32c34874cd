"""Fit cache and study storage: an identical fit is never run twice.

Key (:func:`fit_key`): sha256 of the canonical JSON of (form hash, training-data fingerprint and
years, objective, sampler name/seed/options, trials, patience, trials in flight, warm-start
points, cache format version); the first 20 hex digits.

:class:`FitCache` keeps results in memory and, with a ``root`` folder (the run folder), on disk:
``<root>/fits/<key>.json`` (the :class:`~fireform.fitting.result.FitResult` as JSON, written
atomically; never pickle, which runs code when read). The Optuna study of a fit with a run folder
lives in ``<root>/studies/<key>.journal`` (Optuna's ``JournalFileBackend``) unless another
storage is given, so a killed fit resumes from its journal.

Storage strings (:func:`resolve_storage`): ``None`` (in memory), ``"journal:PATH"`` or a path
ending in ``.journal`` / ``.log`` (journal file; several processes may share it), or an RDB URL
``sqlite:///PATH``, ``postgresql://...``, ``mysql://...`` (several machines).
"""

from __future__ import annotations

import hashlib
import json
import os
import threading
from pathlib import Path
from typing import TYPE_CHECKING

import optuna
from optuna.storages.journal import JournalFileBackend, JournalFileOpenLock

from fireform.exceptions import CorruptFileError, FitError
from fireform.fitting.result import FitResult

if TYPE_CHECKING:
    from fireform.fitting.context import FitContext
    from fireform.fitting.samplers import SamplerSpec
    from fireform.forms import Form

__all__ = ["FitCache", "fit_key", "resolve_storage", "storage_url", "CACHE_VERSION"]

CACHE_VERSION = 2  # 2: JSON records, the key from the form, data and settings


def fit_key(form: Form, ctx: FitContext, *, spec: SamplerSpec, trials: int, patience: int | None = None, in_flight: int = 1,
            processes: int = 1, warm=(), warm_exact=(), converge: tuple[int, float] | None = None) -> str:
    """The key of a fit: sha256 of the canonical JSON of (form hash, training data and objective
    (``ctx.key()``), sampler name/seed/options, trials, patience, trials in flight, processes,
    warm-start points (``warm_points`` output), exact warm points if any, cache version); the
    first 20 hex digits. Every caller (``fit``, the ablation deciding what is cached, the loop's
    journal) uses this one."""
    parts = {
        "form": form.hash, "data": ctx.key(), "sampler": spec.key(), "trials": int(trials),
        "patience": patience, "in_flight": int(in_flight), "processes": int(processes),
        "warm": [{k: repr(v) for k, v in p.items()} for p in warm],
    }
    if warm_exact:  # only when given: the keys of fits without them stay what they were
        parts["warm_exact"] = [{k: repr(v) for k, v in p.items()} for p in warm_exact]
    if converge is not None:  # likewise
        parts["converge"] = [int(converge[0]), repr(float(converge[1]))]
    text = json.dumps({"v": CACHE_VERSION, **parts}, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(text.encode()).hexdigest()[:20]


class FitCache:
    """Fit results by key: in memory, and on disk under ``root`` when given."""

    def __init__(self, root: str | os.PathLike | None = None) -> None:
        self.root = None if root is None else Path(root)
        self._mem: dict[str, object] = {}
        self._lock = threading.Lock()
        if self.root is not None:
            (self.root / "fits").mkdir(parents=True, exist_ok=True)
            (self.root / "studies").mkdir(parents=True, exist_ok=True)

    def _path(self, key: str) -> Path:
        assert self.root is not None
        return self.root / "fits" / f"{key}.json"

    def get(self, key: str):
        with self._lock:
            if key in self._mem:
                return self._mem[key]
        if self.root is not None and self._path(key).is_file():
            p = self._path(key)
            try:
                res = FitResult.from_dict(json.loads(p.read_text()))
            except (ValueError, KeyError, TypeError) as e:
                raise CorruptFileError(f"fit cache file {p} is not a fit record ({type(e).__name__}: {e}); "
                                       "delete it to refit") from None
            with self._lock:
                self._mem[key] = res
            return res
        return None

    def put(self, key: str, result: FitResult) -> None:
        with self._lock:
            self._mem[key] = result
        if self.root is None:
            return
        p = self._path(key)
        tmp = p.with_suffix(f".{os.getpid()}.{threading.get_ident()}.tmp")
        tmp.write_text(json.dumps(result.to_dict(), sort_keys=True))
        os.replace(tmp, p)  # readers see the old file or the whole new one

    def __contains__(self, key: str) -> bool:
        return self.get(key) is not None

    def study_storage(self, key: str) -> str | None:
        """The default storage string of a fit in this run folder (None without a folder)."""
        if self.root is None:
            return None
        return f"journal:{self.root / 'studies' / (key + '.journal')}"

    def __repr__(self) -> str:
        return f"FitCache(root={str(self.root) if self.root else None!r}, {len(self._mem)} in memory)"


def as_cache(cache) -> FitCache | None:
    if cache is None or isinstance(cache, FitCache):
        return cache
    if isinstance(cache, (str, os.PathLike)):
        return FitCache(cache)
    raise TypeError(f"cache must be None, a FitCache or a folder path, got {type(cache).__name__}")


def storage_url(storage) -> str | None:
    """A storage given as a string, normalised (None stays None; objects are not strings)."""
    if storage is None or isinstance(storage, optuna.storages.BaseStorage):
        return None
    s = str(storage)
    if s.startswith("journal:"):
        return s
    if s.endswith((".journal", ".log")) and "://" not in s:
        return f"journal:{s}"
    return s


def resolve_storage(storage) -> optuna.storages.BaseStorage:
    """An Optuna storage from ``None`` / a storage string / a storage object."""
    if storage is None:
        return optuna.storages.InMemoryStorage()
    if isinstance(storage, optuna.storages.BaseStorage):
        return storage
    s = storage_url(storage)
    assert s is not None  # None and storage objects returned above
    if s.startswith("journal:"):
        path = s[len("journal:"):]
        Path(path).parent.mkdir(parents=True, exist_ok=True)
        # open(O_EXCL)-based lock: works on every POSIX file system, NFS included.
        return optuna.storages.JournalStorage(
            JournalFileBackend(path, lock_obj=JournalFileOpenLock(path))
        )
    if "://" in s:
        return optuna.storages.RDBStorage(s)
    raise FitError(
        f"storage {storage!r} is not understood: use 'journal:PATH', a .journal path, or an RDB "
        "URL (sqlite:///run/fits.db, postgresql://user@host/db)"
    )
