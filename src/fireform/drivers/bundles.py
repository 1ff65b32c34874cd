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

from fireform.drivers.load import Source, load_drivers, month_index, open_file
from fireform.drivers.paths import bundle_path
from fireform.drivers.regions import RegionSet
from fireform.exceptions import UnknownNameError

__all__ = [
    "IsimipAR6",
    "load_isimip3a_ar6",
    "load_biomes",
    "load_pantanal",

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
def load_biomes(data_dir: str | os.PathLike | None = None) -> xr.DataArray:
    """WWF biome codes (1..14; 98 lakes, 99 rock and ice; NaN ocean) on the global 0.5 degree grid,
    dims (lat, lon) with latitude ascending; ``attrs['flag_meanings']`` maps code -> name."""
    path = bundle_path("biomes", "wwf_terr_ecos_0p5.nc", data_dir=data_dir)
    with open_file(path) as ds:
        da = ds["layer"].load()
    da = da.rename({"latitude": "lat", "longitude": "lon"}).sortby("lat")
    da.name = "biome"
    da.attrs = {"long_name": "WWF terrestrial biome", "flag_meanings": dict(BIOME_NAMES), "source": str(path)}
    return da



# -- pantanal -----------------------------------------------------------------------------------
NETCDF_DEFAULT_FILL = 9.969209968386869e36  # netCDF's default float fill (no _FillValue attr)


def _pantanal_file(name: str, data_dir) -> tuple[str, xr.Dataset]:
    p = bundle_path("pantanal", name, data_dir=data_dir)
    with open_file(p) as ds:
        return str(p), ds.load()


def _mask_default_fill(da: xr.DataArray) -> xr.DataArray:
    # Written without a _FillValue attribute, so the netCDF default fill 9.97e36 is not decoded:
    # 23 cells outside the Pantanal hold it. Mask it explicitly.
    return da.where(np.abs(da) < 1e30)


def load_pantanal(*, regions: str | RegionSet = "global", data_dir: str | os.PathLike | None = None):
    """The Pantanal example (ConFire, Kelley et al.): burned fraction + drivers, 2010-2012, 0.5 deg.

    Every metadata problem of the raw files is corrected here, explicitly (see the comments);
    ``fireform check`` on the raw files reports each of them.
    """
    srcs: list[Source] = []
    mapping: dict[str, tuple[str, str]] = {}

    def add(name: str, label: str, da: xr.DataArray, ds: xr.Dataset, units: str | None = None) -> None:
        da = da.copy()
        if units is not None:
            da.attrs["units"] = units
        keep = ds[[c for c in ("time_bnds",) if c in ds.variables]] if "time" in da.dims else xr.Dataset()
        out = keep.assign({name: da})
        srcs.append(Source(label, out))
        mapping[name] = (label, name)

    # burnt_area.nc: metadata right ('%' of the cell; month-start "days since 1901-01-01" times,
    # unlike the mid-month "days since 1661-01-01" of the climate files: aligned by year-month).
    lab, ds = _pantanal_file("burnt_area.nc", data_dir)
    add("burned_fraction", lab, ds["percentage_of_area_burned"], ds)

    lab, ds = _pantanal_file("pr_mean.nc", data_dir)
    add("pr", lab, ds["pr"], ds)  # kg m-2 s-1, right; converted with 1 kg m-2 = 1 mm

    lab, ds = _pantanal_file("tas_mean.nc", data_dir)
    add("tas", lab, ds["tas"], ds)

    # tas_max.nc: the variable is named 'tas' with the same standard_name as the mean file; only
    # cell_methods ("maximum") says it is the monthly maximum temperature -> tasmax.
    lab, ds = _pantanal_file("tas_max.nc", data_dir)
    add("tasmax", lab, ds["tas"], ds)

    # vpd_mean.nc / vpd_max.nc: variable 'unknown' declares units 'K', but VPD is a pressure and
    # the values (1454..4150 and 2276..6269) are Pascals (1.5-6 kPa, normal for a hot dry season).
    lab, ds = _pantanal_file("vpd_mean.nc", data_dir)
    add("vpd", lab, ds["unknown"], ds, units="Pa")
    lab, ds = _pantanal_file("vpd_max.nc", data_dir)
    add("vpd_max", lab, ds["unknown"], ds, units="Pa")

    # dry_days.nc: variable named 'pr' with standard_name precipitation_flux and units '1'. The
    # values (0.036..1, minimum exactly 1/28 in a February) are the FRACTION of days in the month
    # that were dry, not a flux; times days-in-month gives the dry-day count in 'day'.
    lab, ds = _pantanal_file("dry_days.nc", data_dir)
    ndays = xr.DataArray(month_index(ds, label=lab).days_in_month.to_numpy(float), dims="time")
    dd = ds["pr"] * ndays
    dd.attrs = {"long_name": "dry days in the month"}
    add("dry_days", lab, dd, ds, units="day")

    # consec_dry_mean.nc: also named 'pr' / precipitation_flux / units '1'; the values are whole
    # numbers 1..116 of days (longest consecutive dry spell; cell_methods says maximum despite the
    # file name) -> units 'day'.
    lab, ds = _pantanal_file("consec_dry_mean.nc", data_dir)
    add("consec_dry_days", lab, ds["pr"], ds, units="day")

    # lightning.nc: units '1.15740740740741e-11 m-2.s-1' are right but odd: 1/(86400 s * 1e6 m2)
    # = flashes km-2 day-1; pint converts them as written (no correction needed).
    lab, ds = _pantanal_file("lightning.nc", data_dir)
    add("lightning", lab, ds["cloud2ground"], ds)

    # Tree_cover_vcf.nc / Total_cover_vcf.nc: no units attribute; values 0.19..0.69 and 0.94..1.0
    # are already fractions (MODIS VCF / 100) -> '1'. Undecoded default fills masked.
    lab, ds = _pantanal_file("Tree_cover_vcf.nc", data_dir)
    add("tree_cover", lab, _mask_default_fill(ds["Tree_cover"]), ds, units="1")
    lab, ds = _pantanal_file("Total_cover_vcf.nc", data_dir)
    add("total_cover", lab, _mask_default_fill(ds["total_cover"]), ds, units="1")

    # cveg.nc: variable named 'variable', no units. Values 7.5..98.6 cannot be kg C m-2 (that is
    # 4x the densest tropical forests); as Mg C ha-1 they are 0.75..9.9 kg C m-2, the range of
    # Pantanal savanna to forest. Undecoded default fills masked.
    lab, ds = _pantanal_file("cveg.nc", data_dir)
    add("agb", lab, _mask_default_fill(ds["variable"]), ds, units="Mg ha-1")

    return load_drivers(srcs, mapping=mapping, target="burned_fraction", regions=regions, data_dir=data_dir)
