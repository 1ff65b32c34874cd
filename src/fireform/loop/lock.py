"""One writer per run folder: a lock file holding the writer's PID and host.

``RunLock(folder)`` is taken with ``O_CREAT | O_EXCL`` (atomic on POSIX file systems). A lock
whose process is gone (same host, PID no longer running) is stale: the next writer takes it
over and says so. Readers (``open_run``, ``runs list``, ``report``) never take it; they use
:func:`holder` to tell a run in progress from one that was killed ("interrupted").
"""

from __future__ import annotations

import json
import os
import socket
import time
from pathlib import Path

from fireform.exceptions import FireformError

__all__ = ["RunLock", "holder", "LOCK_NAME"]

LOCK_NAME = "run.lock"


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # someone else's process: alive
        return True
    return True


def holder(folder: str | Path) -> dict | None:
    """The live writer of ``folder`` ({pid, host, since}), or None (no lock, or a stale one)."""
    p = Path(folder) / LOCK_NAME
    try:
        info = json.loads(p.read_text())
    except (OSError, ValueError):
        return None
    if info.get("host") == socket.gethostname() and not _alive(int(info.get("pid", -1))):
        return None
    return info


class RunLock:
    """The run folder's write lock (a context manager); ``stale`` says whether a dead writer's
    lock was taken over."""

    def __init__(self, folder: str | Path) -> None:
        self.path = Path(folder) / LOCK_NAME
        self.stale: dict | None = None

    def __enter__(self) -> RunLock:
        me = {"pid": os.getpid(), "host": socket.gethostname(), "since": time.time()}
        for _ in range(2):
            try:
                fd = os.open(self.path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o644)
            except FileExistsError:
                live = holder(self.path.parent)
                if live is not None:
                    since = time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(live.get("since", 0)))
                    raise FireformError(
                        f"run folder {self.path.parent} is being written by process {live.get('pid')} "
                        f"on {live.get('host')} (since {since}); one writer per run folder: wait for "
                        f"it to finish or stop it, then `fireform resume {self.path.parent}`"
                    ) from None
                try:
                    self.stale = json.loads(self.path.read_text())
                except (OSError, ValueError):
                    self.stale = {}
                self.path.unlink(missing_ok=True)  # the writer died: take over its lock
                continue
            with os.fdopen(fd, "w") as f:
                json.dump(me, f)
            return self
        raise FireformError(f"could not take the lock {self.path} (another writer raced for it)")

    def __exit__(self, *exc) -> None:
        self.path.unlink(missing_ok=True)
