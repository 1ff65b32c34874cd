"""A run's drivers, from the spec's ``[data]`` section, and its train/holdout :class:`Split`.

- ``twin``: :func:`fireform.twin.make_world` + :func:`fireform.twin.add_truth` with the demo truth
  (:data:`fireform.twin.DEMO_TRUTH`) or a form JSON file;
- ``pantanal``: :func:`fireform.drivers.load_pantanal` from ``$FIREFORM_DATA``;
- ``files``: :func:`fireform.drivers.load_drivers` on ``paths`` (drivers and target in the same
  files), or on ``model`` (the model's output: the drivers) and ``obs`` (the observations: the
  target) apart (:func:`load_model_obs`). Grids that differ meet on the coarser of the two
  (``data.grid``; or always the model's or the observations'): observations remapped by
  first-order conservative remapping with burned area conserved, model drivers as area-weighted
  means (:func:`remap_model`), so a 0.25 degree GFED is aggregated onto a 1 degree model and a
  0.5 degree model onto 2 degree observations; a burned area in
  the model files (``burntFractionAll``, identified by the catalog's vocabulary) is the model's
  own fire, kept as :data:`MODEL_FIRE` and scored beside the forms as the comparison row
  (:data:`COMPARISON_LABEL`), never fitted. A mapping adds to the identified variables
  (:func:`identified_mapping`), never drops them.

Derived drivers the library needs (running means of GPP/NPP, annual precipitation, dryness,
Nesterov) are added when their inputs are present. The holdout lives only inside the
:class:`~fireform.fitting.Split` (the library's one holdout wall): read through ``unseal``,
journaled, refused while a fit runs.
"""

from __future__ import annotations

import glob
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path

import numpy as np
import pandas as pd
import xarray as xr

from fireform.drivers import (
    Drivers,
    InputReport,
    add_derived,
    check_drivers,
    check_paths,
    derived_spec,
    load_drivers,
    load_pantanal,
    open_file,
    region_set,
    spherical_cell_area,
)
from fireform.drivers.load import Source, data_vars, identified
from fireform.exceptions import DataNotFoundError, SpecError, TimeMismatchError
from fireform.fitting import HoldoutRead, Split
from fireform.forms import Form
from fireform.loop.spec import DataSpec, Spec
from fireform.scoring.conservative import remap_conservative
from fireform.scoring.regrid import Grid, bounds_from_centres
from fireform.twin import add_truth, demo_truth, make_world, world_drivers

__all__ = ["LIBRARY_DERIVED", "MODEL_FIRE", "COMPARISON_FIT_ID", "COMPARISON_LABEL", "truth_form",
           "expand_paths", "identified_mapping", "load_model_obs", "regrid_target", "meeting_grid", "remap_model", "load_run_drivers",
           "run_split", "check_spec_data"]

LIBRARY_DERIVED = ("gpp_mean_12m", "npp_mean_12m", "pr_annual", "dryness", "nesterov")
# The model's own burned fraction (from the model files), carried in the Drivers under a name no
# form input can take, so it crosses the split like every variable: its holdout months are read
# only through the one journaled unseal.
MODEL_FIRE = "model_burned_fraction"
COMPARISON_FIT_ID = -1  # its scores' key in the journal (fit ids are positive)
COMPARISON_LABEL = "your model today"
DATA_SUFFIXES = (".nc", ".nc4", ".cdf", ".netcdf", ".zarr")


def expand_paths(patterns: Sequence[str], *, what: str = "data") -> list[str]:
    """Files from paths, folders (their netCDF/zarr files) and globs (expanded, sorted); a glob
    or folder that matches nothing is an error naming the pattern and the folder searched."""
    out: list[str] = []
    for pat in patterns:
        p = Path(pat)
        if any(c in str(pat) for c in "*?["):
            hits = sorted(glob.glob(str(pat)))
            if not hits:
                folder = next((q for q in p.parents if not any(c in str(q) for c in "*?[")), Path("."))
                raise DataNotFoundError(f"{what}: the pattern {str(pat)!r} matches no file in folder "
                                        f"{str(folder.resolve())!r}")
            out += hits
        elif p.is_dir() and p.suffix != ".zarr":
            hits = sorted(str(q) for q in p.iterdir() if q.suffix in DATA_SUFFIXES)
            if not hits:
                raise DataNotFoundError(f"{what}: folder {str(p.resolve())!r} holds no netCDF/zarr file "
                                        f"({', '.join(DATA_SUFFIXES)})")
            out += hits
        elif not p.exists():
            raise DataNotFoundError(f"{what}: file {str(pat)!r} does not exist (in folder "
                                    f"{str(p.parent.resolve())!r})")
        else:
            out.append(str(pat))
    return list(dict.fromkeys(out))


def identified_mapping(paths: Sequence[str], mapping: Mapping[str, str] | None = None
                       ) -> dict[str, str | list[str | tuple[str, str]]]:
    """Catalog name -> its (file, variable) parts (several: one variable split over files in time)
    for every variable of ``paths`` the catalog's vocabulary names (by name or standard_name, as
    ``load_drivers`` does without a mapping: exact catalog names first), then ``mapping`` on top:
    a partial mapping adds or corrects entries and never drops a variable that was identified."""
    srcs = [Source(str(f), open_file(f)) for f in paths]
    try:
        found = {s.label: data_vars(s.ds) for s in srcs}  # file -> its gridded variables
        sel: dict[str, str | list[str | tuple[str, str]]] = {
            name: [(s.label, v) for s, v in parts] for name, parts in identified(srcs).items()}
    finally:
        for s in srcs:
            s.ds.close()
    for name, ref in (mapping or {}).items():
        # the raw variable the user maps is no longer also loaded under the name it was identified as
        for was, parts in list(sel.items()):
            if was != name and isinstance(parts, list) and parts[0][1] == ref:
                del sel[was]
        chunks: list[str | tuple[str, str]] = [(str(f), ref) for f in paths if ref in found[str(f)]]
        sel[name] = chunks or ref  # not in any file: load_drivers names what the files hold
    return sel


def _same_grid(lat_a, lon_a, lat_b, lon_b) -> bool:
    """The same cells in the same order (longitudes compared modulo 360)."""
    return (np.shape(lat_a) == np.shape(lat_b) and np.shape(lon_a) == np.shape(lon_b)
            and np.allclose(lat_a, lat_b, atol=1e-6) and np.allclose(np.mod(lon_a, 360.0), np.mod(lon_b, 360.0), atol=1e-6))


def regrid_target(da: xr.DataArray, lat: np.ndarray, lon: np.ndarray) -> xr.DataArray:
    """``da`` (time, lat, lon), a burned fraction, on the grid (``lat``, ``lon``) (both ascending):
    unchanged when the grids agree (longitudes modulo 360), else remapped by first-order
    conservative remapping as a fraction of the whole destination cell (missing source cells
    count as unburned), so the burned area sum(fraction x cell area) is conserved; destination
    cells that no source cell with data overlaps are NaN."""
    slat, slon = np.asarray(da.lat.values, float), np.asarray(da.lon.values, float)
    if _same_grid(slat, slon, lat, lon):
        return da.assign_coords(lat=lat, lon=lon)
    src, dst = Grid.from_centres(slat, slon), Grid.from_centres(lat, lon)
    x = np.asarray(da.values, dtype=np.float64)
    ever = np.isfinite(x).any(axis=0)
    r = remap_conservative(np.where(np.isfinite(x), x, 0.0), src, dst)
    # the remap's coverage is the share of each destination cell under source cells; rescaled from
    # the fraction of the covered part to the fraction of the whole cell
    seen = remap_conservative(ever.astype(float), src, dst)
    vals = r.values * r.coverage
    vals = np.where(seen.values * seen.coverage > 0, vals, np.nan)
    return xr.DataArray(vals.astype(np.float32), dims=("time", "lat", "lon"),
                        coords={"time": da.time.values, "lat": lat, "lon": lon}, attrs=dict(da.attrs))


def load_model_obs(d: DataSpec) -> Drivers:
    """Drivers from the model files (``d.model``) with the target from the observation files
    (``d.obs``) remapped onto the model's grid, over the months both cover (module docstring)."""
    model_paths = expand_paths(d.model, what="data.model")
    obs_paths = expand_paths(d.obs, what="data.obs")
    model = load_drivers(model_paths, mapping=identified_mapping(model_paths, dict(d.mapping)) or None,
                         target=None, regions=d.regions, data_dir=d.data_dir)
    obs = load_drivers(obs_paths, mapping={"burned_fraction": d.obs_var} if d.obs_var else None,
                       target="burned_fraction", regions="global")
    common = model.time.intersection(obs.time)
    if common.empty:
        raise TimeMismatchError(
            f"the model files ({model.time[0]:%Y-%m}..{model.time[-1]:%Y-%m}) and the observations "
            f"({obs.time[0]:%Y-%m}..{obs.time[-1]:%Y-%m}) share no month")
    full = pd.date_range(common[0], common[-1], freq="MS")
    if len(full) != len(common):
        raise TimeMismatchError(f"the months the model files and the observations share have gaps "
                                f"(first missing {full.difference(common)[0]:%Y-%m})")
    ds = model.ds.sel(time=common.values)
    sources = dict(model.sources)
    if "burned_fraction" in ds:  # the model's own fire output: the comparison row, never the target
        ds = ds.rename({"burned_fraction": MODEL_FIRE})
        ds[MODEL_FIRE].attrs["role"] = "the model's own burned fraction (comparison, not fitted)"
        sources[MODEL_FIRE] = sources.pop("burned_fraction")
    lat, lon = model.lat, model.lon
    regions, area, mask = model.regions, model.cell_area, model.mask
    where = meeting_grid(d.grid, (model.lat, model.lon), (obs.lat, obs.lon))
    note = ("model and observations on one grid" if _same_grid(obs.lat, obs.lon, model.lat, model.lon) else
            f"grids differ (model {_cell_size(model.lat, model.lon) ** 0.5:.3g} deg, observations "
            f"{_cell_size(obs.lat, obs.lon) ** 0.5:.3g} deg): met on the {'observations' if where == 'obs' else 'model'}'s "
            f"grid (data.grid = {d.grid!r}); " + ("model drivers remapped as area-weighted means, "
                                                    if where == "obs" else "")
            + "observed burned area remapped conservatively")
    if where == "obs":
        lat, lon = obs.lat, obs.lon
        ds = remap_model(ds.where(xr.DataArray(model.mask, dims=("lat", "lon"))), lat, lon)
        regions = region_set(d.regions, lat, lon, data_dir=d.data_dir)
        area = spherical_cell_area(lat, lon)
        mask = np.ones(area.shape, dtype=bool)
        for name, v in ds.data_vars.items():  # the loader's rule: every driver finite
            if name != MODEL_FIRE:
                mask &= np.isfinite(v.values).all(axis=0) if v.ndim == 3 else np.isfinite(v.values)
    tgt = obs.ds["burned_fraction"].sel(time=common.values)
    tgt = regrid_target(tgt, lat, lon)
    tgt.attrs.update(units="1", source_file=obs.sources.get("burned_fraction", ""))
    ds = ds.assign(burned_fraction=tgt)
    mask = mask & np.isfinite(tgt.values).any(axis=0)
    if MODEL_FIRE in ds:
        mask &= np.isfinite(ds[MODEL_FIRE].values).all(axis=0)
    sources["burned_fraction"] = obs.sources.get("burned_fraction", "")
    ds.attrs["grid_note"] = note
    return Drivers(ds=ds, cell_area=area, mask=mask, regions=regions, target="burned_fraction", sources=sources)


def _cell_size(lat: np.ndarray, lon: np.ndarray) -> float:
    """Median cell size in square degrees (the resolution that decides which grid is coarser)."""
    return float(np.median(np.abs(np.diff(bounds_from_centres(lat), axis=1)))
                 * np.median(np.abs(np.diff(bounds_from_centres(lon), axis=1))))


def meeting_grid(choice: str, model: tuple[np.ndarray, np.ndarray], obs: tuple[np.ndarray, np.ndarray]) -> str:
    """"model" or "obs": the grid model output and observations are put on (``data.grid``);
    "coarser" picks the observations' grid only when its cells are larger (ties: the model's)."""
    if choice in ("model", "obs"):
        return choice
    return "obs" if _cell_size(*obs) > _cell_size(*model) * (1 + 1e-9) else "model"


def remap_model(ds: xr.Dataset, lat: np.ndarray, lon: np.ndarray) -> xr.Dataset:
    """Every variable of model drivers ``ds`` (NaN outside its valid cells) on the grid (``lat``,
    ``lon``): drivers as the area-weighted mean over the source cells with data (state and flux
    densities, fractions of a cell: first-order conservative, ESMF's "fracarea"); the model's
    own burned fraction as :func:`regrid_target` does (burned area conserved)."""
    src, dst = Grid.from_centres(ds.lat.values, ds.lon.values), Grid.from_centres(lat, lon)
    out = {}
    for name, v in ds.data_vars.items():
        if name == MODEL_FIRE:
            out[name] = regrid_target(v, lat, lon)
            continue
        r = remap_conservative(np.asarray(v.values, dtype=np.float64), src, dst)
        dims = v.dims
        coords = {"lat": lat, "lon": lon, **({"time": v.time.values} if "time" in dims else {})}
        out[name] = xr.DataArray(r.values.astype(np.float32), dims=dims, coords=coords, attrs=dict(v.attrs))
    return xr.Dataset(out, attrs=dict(ds.attrs))


def truth_form(truth: str) -> Form:
    """``"demo"`` (the demo truth) or a form JSON file with defaults."""
    if truth == "demo":
        return demo_truth()
    p = Path(truth)
    if not p.is_file():
        raise SpecError(f"data.truth {truth!r}: neither 'demo' nor an existing form JSON file")
    return Form.load(p)


def load_run_drivers(spec: Spec) -> tuple[Drivers, list[str]]:
    """Full drivers (training and holdout years) in canonical units, and the derived drivers to
    add to them (added by the split, each side from its own months: :func:`run_split`)."""
    d = spec.data
    if d.source == "twin":
        ds = make_world(res=d.res, years=d.years, seed=d.seed)
        drivers = world_drivers(add_truth(ds, truth_form(d.truth), sigma=d.noise, seed=d.seed))
    elif d.source == "pantanal":
        drivers = load_pantanal(regions=d.regions if d.regions != "ilamb" else "global", data_dir=d.data_dir)
    elif d.model:
        drivers = load_model_obs(d)
    else:
        paths = expand_paths(d.paths, what="data.paths")
        drivers = load_drivers(paths, mapping=identified_mapping(paths, dict(d.mapping)) or None,
                               regions=d.regions, data_dir=d.data_dir)
    want = list(d.derived) or list(LIBRARY_DERIVED)
    addable = []
    for name in want:
        if name in drivers:
            continue
        spec_ = derived_spec(name)
        if all(i in drivers for i in spec_.inputs):
            addable.append(name)
        elif d.derived:
            raise SpecError(f"data.derived: {name!r} needs {', '.join(spec_.inputs)}, not all in the data")
    return drivers, addable


def _region_cells(drivers: Drivers, labels) -> np.ndarray | None:
    if not labels:
        return None
    grid = np.zeros(drivers.mask.shape, bool)
    for lab in labels:
        if lab not in drivers.regions.masks:
            raise SpecError(f"split.holdout_regions: unknown region {lab!r}; the drivers' regions: "
                            f"{', '.join(drivers.regions.labels)}")
        grid |= np.asarray(drivers.regions.masks[lab], bool)
    return grid


def run_split(drivers: Drivers, derived: list[str], spec: Spec, *,
              on_read: Callable[[HoldoutRead], None]) -> Split:
    """The spec's split: training years in the open (minus held-out regions), holdout sealed;
    the derived drivers added to each side separately (no holdout value in a training one)."""
    s = spec.split

    def derive(d: Drivers) -> Drivers:
        return add_derived(d, derived) if derived else d

    return Split(drivers, train_years=tuple(s.train_years), holdout_years=tuple(s.holdout_years),
                 on_read=on_read, exclude_cells=_region_cells(drivers, s.holdout_regions), derive=derive)


def check_spec_data(spec: Spec) -> InputReport:
    """The input checks of a spec's data, as a run makes them: the raw files (model files and
    observations apart, or ``paths``) as ``fireform check`` checks them, then the drivers-level
    rules on the training drivers the run would fit on (its input gate, derived drivers added;
    the sealed holdout is not read). A report, not a refusal: the caller decides."""
    d = spec.data
    raw = None
    if d.source == "files" and d.model:
        raw = check_paths(expand_paths(d.model, what="data.model"), mapping=dict(d.mapping) or None, assemble=False)
        raw = raw + check_paths(expand_paths(d.obs, what="data.obs"), target=d.obs_var, assemble=False)
    elif d.source == "files":
        raw = check_paths(expand_paths(d.paths, what="data.paths"), mapping=dict(d.mapping) or None, assemble=False)
    drivers, derived = load_run_drivers(spec)
    split = run_split(drivers, derived, spec, on_read=lambda r: None)
    rep = check_drivers(split.train)
    return rep if raw is None else raw + rep
