"""Where the real-data bundle lives (``$FIREFORM_DATA``) and its files."""

from __future__ import annotations

import os
from pathlib import Path

import pandas as pd

from fireform.exceptions import DataNotFoundError

__all__ = ["data_root", "bundle_path", "bundle_info"]


def data_root(data_dir: str | os.PathLike | None = None) -> Path:
    """The bundle folder: ``data_dir`` if given, else ``$FIREFORM_DATA``; must exist."""
    if data_dir is None:
        env = os.environ.get("FIREFORM_DATA")
        if not env:
            raise DataNotFoundError(
                "FIREFORM_DATA is not set: point it at the real-data bundle folder "
                "(for example `export FIREFORM_DATA=../shared/data`)"
            )
        data_dir = env
    root = Path(data_dir)
    if not root.is_dir():
        raise DataNotFoundError(
            f"the data bundle folder {str(root)!r} (FIREFORM_DATA) does not exist or is not a folder"
        )
    return root


def bundle_path(*parts: str, data_dir: str | os.PathLike | None = None) -> Path:
    """A file inside the bundle; a missing file raises DataNotFoundError naming it."""
    p = data_root(data_dir).joinpath(*parts)
    if not p.exists():
        raise DataNotFoundError(f"bundle file {str(p)!r} is missing")
    return p


def bundle_info(data_dir: str | os.PathLike | None = None) -> pd.DataFrame:
    """One row per bundle file: dataset, file, size_kb."""
    root = data_root(data_dir)
    rows = [
        {"dataset": p.parent.name, "file": p.name, "size_kb": round(p.stat().st_size / 1024, 1)}
        for p in sorted(root.glob("*/*"))
        if p.is_file()
    ]
    return pd.DataFrame(rows, columns=["dataset", "file", "size_kb"])
