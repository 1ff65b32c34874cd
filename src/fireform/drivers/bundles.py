"""Loaders for the real-data bundle in ``$FIREFORM_DATA`` (see the bundle's README.md).

Each loader returns fireform records in canonical units. Where a file's metadata is wrong the
loader corrects it explicitly, with a comment saying what was wrong; the generic
``fireform check`` on the raw files still reports every such problem (it never uses these
corrections).
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import xarray as xr

from fireform.drivers.regions import RegionSet, gfed_regions
from fireform.exceptions import DataNotFoundError

__all__ = [
    "IsimipAR6",
    "data_root",
    "bundle_path",
    "bundle_info",
    "load_isimip3a_ar6",
    "load_gfed_regions",
    "load_biomes",

    "BIOME_NAMES",
    "GLOBAL",
]

GLOBAL = "GLOBAL"  # the sum over all AR6 land regions, added by load_isimip3a_ar6

# WWF terrestrial biomes (Olson et al. 2001), codes of wwf_terr_ecos_0p5.nc.
BIOME_NAMES: dict[int, str] = {
    1: "Tropical & Subtropical Moist Broadleaf Forests",
    2: "Tropical & Subtropical Dry Broadleaf Forests",
    3: "Tropical & Subtropical Coniferous Forests",
    4: "Temperate Broadleaf & Mixed Forests",
    5: "Temperate Conifer Forests",
    6: "Boreal Forests/Taiga",
    7: "Tropical & Subtropical Grasslands, Savannas & Shrublands",
    8: "Temperate Grasslands, Savannas & Shrublands",
    9: "Flooded Grasslands & Savannas",
    10: "Montane Grasslands & Shrublands",
    11: "Tundra",
    12: "Mediterranean Forests, Woodlands & Scrub",
    13: "Deserts & Xeric Shrublands",
    14: "Mangroves",
    98: "Lakes",
    99: "Rock and ice",
}


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


# -- isimip3a_ar6 -------------------------------------------------------------------------------
@dataclass(frozen=True)
class IsimipAR6:
    """Monthly burned area (Mha per month) per IPCC AR6 land region.

    ``obs`` and ``models``: index = month-start DatetimeIndex, columns = MultiIndex
    (region, source). ``regions`` are the 43 AR6 labels plus ``GLOBAL`` (their sum; NaN in a
    month where any region is missing, so a gap never shows up as less fire).
    """

    obs: pd.DataFrame
    models: pd.DataFrame
    regions: list[str]
    obs_sources: list[str]
    model_sources: list[str]
    units: str = "Mha month-1"

    @property
    def sources(self) -> list[str]:
        return self.obs_sources + self.model_sources

    def series(self, source: str, region: str = GLOBAL) -> pd.Series:
        """One source's monthly series in one region."""
        frame = self.obs if source in self.obs_sources else self.models
        if (region, source) not in frame.columns:
            from fireform.exceptions import UnknownNameError

            raise UnknownNameError(
                f"no series for region {region!r}, source {source!r}; regions: "
                f"{', '.join(self.regions)}; sources: {', '.join(self.sources)}"
            )
        return frame[(region, source)]

    def annual(self, frame: str = "obs") -> pd.DataFrame:
        """Calendar-year totals (Mha yr-1); a year with any missing month is NaN."""
        df = self.obs if frame == "obs" else self.models
        return df.resample("YS").sum(min_count=12).where(df.resample("YS").count() == 12)


def _read_wide(path: Path) -> pd.DataFrame:
    """A ``REGION|SOURCE`` x ``YYYY-MM`` csv as (region, source) columns plus a GLOBAL sum."""
    df = pd.read_csv(path, index_col=0)
    df.index = pd.DatetimeIndex(pd.to_datetime(df.index, format="%Y-%m"), name="time").as_unit("ns")
    cols = [tuple(c.split("|", 1)) for c in df.columns]
    df.columns = pd.MultiIndex.from_tuples(cols, names=["region", "source"])
    df = df.astype(float).sort_index(axis=1)
    sources = df.columns.get_level_values("source").unique()
    # skipna=False: a region's missing month must not read as less burning globally.
    total = pd.concat(
        {(GLOBAL, s): df.xs(s, axis=1, level="source").sum(axis=1, skipna=False) for s in sources},
        axis=1,
    )
    total.columns.names = ["region", "source"]
    return pd.concat([df, total], axis=1)


def load_isimip3a_ar6(data_dir: str | os.PathLike | None = None) -> IsimipAR6:
    """GFED5 and FireCCI5.1 observations and the seven ISIMIP3a obsclim models per AR6 region."""
    obs = _read_wide(bundle_path("isimip3a_ar6", "ar6_obs_burned_area_Mha_per_month_wide.csv", data_dir=data_dir))
    models = _read_wide(
        bundle_path("isimip3a_ar6", "ar6_obsclim_burned_area_Mha_per_month_wide.csv", data_dir=data_dir)
    )
    ar6 = sorted(set(obs.columns.get_level_values("region")) - {GLOBAL})
    return IsimipAR6(
        obs=obs,
        models=models,
        regions=ar6 + [GLOBAL],
        obs_sources=sorted(obs.columns.get_level_values("source").unique()),
        model_sources=sorted(models.columns.get_level_values("source").unique()),
    )


# -- gfed_regions, biomes -----------------------------------------------------------------------
def load_gfed_regions(lat, lon, *, data_dir: str | os.PathLike | None = None) -> RegionSet:
    """``global`` plus the 14 GFED basis regions (BONA..AUST) on the grid ``lat``, ``lon``."""
    path = bundle_path("gfed_regions", "gridlist_pan_gfed_ISO3_UN.csv", data_dir=data_dir)
    cells = pd.read_csv(path, usecols=["Lon", "Lat", "GFED-region"])
    return gfed_regions(
        np.asarray(lat), np.asarray(lon),
        cells["Lat"].to_numpy(), cells["Lon"].to_numpy(), cells["GFED-region"].to_numpy(),
    )


def load_biomes(data_dir: str | os.PathLike | None = None) -> xr.DataArray:
    """WWF biome codes (1..14; 98 lakes, 99 rock and ice; NaN ocean) on the global 0.5 degree grid,
    dims (lat, lon) with latitude ascending; ``attrs['flag_meanings']`` maps code -> name."""
    path = bundle_path("biomes", "wwf_terr_ecos_0p5.nc", data_dir=data_dir)
    from fireform.drivers.load import open_file

    with open_file(path) as ds:
        da = ds["layer"].load()
    da = da.rename({"latitude": "lat", "longitude": "lon"}).sortby("lat")
    da.name = "biome"
    da.attrs = {"long_name": "WWF terrestrial biome", "flag_meanings": dict(BIOME_NAMES), "source": str(path)}
    return da

