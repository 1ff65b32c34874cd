"""What several commands share: the data options (``--data``, ``--obs``, ``--mapping``,
``--target``) and reading them into Drivers, through the input gate.

``@data_options`` adds the four options (and ``--override-checks``) to a command and hands it one
:class:`DataOptions`; :func:`load_checked` reads one into Drivers exactly as a run's ``[data]``
section is read (``fireform.loop``: files identified by the catalog's vocabulary, a mapping that
adds to what was identified, observations apart from model output remapped onto its grid).
``--data`` takes several files, folders or globs after one flag (``--data a.nc b.nc``,
``--data 'dir/*.nc'``): :func:`spread_multi` rewrites the command line before Click parses it.
"""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import typer

from fireform.drivers import Drivers, InputReport, gate, gate_paths, load_drivers, load_pantanal
from fireform.loop import expand_paths, identified_mapping, load_model_obs
from fireform.loop.spec import DataSpec
from fireform.twin import demo_drivers

__all__ = ["DataOptions", "data_options", "load_data", "load_checked", "say_override", "spread_multi",
           "parse_mapping", "OVERRIDE_HELP", "DATA_HELP"]

OVERRIDE_HELP = "fit or score despite input-check errors (recorded in the input report)"
DATA_HELP = ("model output / drivers: netCDF/zarr files, folders or globs, several after one --data "
             "('--data a.nc b.nc', \"--data 'dir/*.nc'\"); or 'pantanal', 'demo[:RES]'")
MULTI_OPTIONS = ("--data",)
_DATA_LIKE = (".nc", ".nc4", ".cdf", ".netcdf", ".zarr", ".h5")


def _data_like(token: str) -> bool:
    return (token.lower().endswith(_DATA_LIKE) or any(c in token for c in "*?[")
            or (Path(token).is_dir() and not token.lower().endswith(".json")))


def spread_multi(args: Sequence[str]) -> list[str]:
    """``--data a.nc b.nc c.nc`` -> ``--data a.nc --data b.nc --data c.nc``: the tokens after a
    multi-value flag that look like data (netCDF/zarr names, globs, folders) each get the flag, so
    a positional argument after them (``FORM.json``) is still read as one."""
    out: list[str] = []
    k = 0
    args = list(args)
    while k < len(args):
        a = args[k]
        out.append(a)
        k += 1
        if a in MULTI_OPTIONS and k < len(args):
            out.append(args[k])  # the flag's own value, whatever it looks like
            k += 1
            while k < len(args) and not args[k].startswith("-") and _data_like(args[k]):
                out += [a, args[k]]
                k += 1
    return out


def parse_mapping(items: Sequence[str] | None) -> dict[str, str]:
    """``NAME=VAR`` items (catalog name = variable in the files) as a dict."""
    out: dict[str, str] = {}
    for it in items or ():
        name, eq, var = str(it).partition("=")
        if not eq or not name.strip() or not var.strip():
            raise typer.BadParameter(f"{it!r}: expected NAME=VAR (a catalog name, '=', the variable's name "
                                     "in the files), e.g. --mapping rh=hurs", param_hint="--mapping")
        out[name.strip()] = var.strip()
    return out


@dataclass(frozen=True)
class DataOptions:
    """The data options of a command: ``data`` (files, folders, globs, or a named dataset),
    ``obs`` (observation files: the target, apart from the model files), ``mapping`` (catalog
    name -> variable, added to what is identified), ``target`` (the burned-area variable of the
    observations, or of ``data`` without ``obs``), ``override`` (--override-checks)."""

    data: list[str] = field(default_factory=list)
    obs: list[str] = field(default_factory=list)
    mapping: dict[str, str] = field(default_factory=dict)
    target: str | None = None
    override: bool = False

    @property
    def named(self) -> bool:
        return len(self.data) == 1 and (self.data[0].lower() == "pantanal" or self.data[0].lower().startswith("demo"))


def data_options(func: Callable[..., Any] | None = None, *, required: bool = True) -> Any:
    """Add ``--data``, ``--obs``, ``--mapping``, ``--target`` and ``--override-checks`` to a
    command; it receives them as one :class:`DataOptions` in its ``data_opts`` parameter.
    ``@data_options`` or ``@data_options(required=False)`` (``--data`` optional)."""
    if func is None:
        return functools.partial(_add_data_options, required=required)
    return _add_data_options(func, required=required)


def _add_data_options(func: Callable[..., Any], *, required: bool) -> Callable[..., Any]:
    sig = inspect.signature(func, eval_str=True)
    own = [p for p in sig.parameters.values() if p.name != "data_opts"]
    kw = inspect.Parameter.KEYWORD_ONLY
    added = [
        inspect.Parameter("data", kw, annotation=list[str] if required else list[str] | None,
                          default=typer.Option(... if required else None, "--data", help=DATA_HELP)),
        inspect.Parameter("obs", kw, annotation=list[str] | None, default=typer.Option(
            None, "--obs", help="observed burned area (netCDF, any grid; remapped conservatively onto the "
                                "model grid): the target, apart from the --data model output")),
        inspect.Parameter("mapping", kw, annotation=list[str] | None, default=typer.Option(
            None, "--mapping", help="NAME=VAR, repeatable: catalog name = variable in the files; adds to "
                                    "(never drops) the variables identified by name or standard_name")),
        inspect.Parameter("target", kw, annotation=str | None, default=typer.Option(
            None, "--target", help="the burned-area variable (of --obs, or of --data without --obs); "
                                   "default: identified")),
        inspect.Parameter("override_checks", kw, annotation=bool,
                          default=typer.Option(False, "--override-checks", help=OVERRIDE_HELP)),
    ]

    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        opts = DataOptions(data=list(kwargs.pop("data") or []), obs=list(kwargs.pop("obs") or []),
                           mapping=parse_mapping(kwargs.pop("mapping")), target=kwargs.pop("target"),
                           override=bool(kwargs.pop("override_checks")))
        return func(*args, data_opts=opts, **kwargs)

    params = own + added
    wrapper.__signature__ = sig.replace(parameters=params)  # type: ignore[attr-defined]
    wrapper.__annotations__ = {p.name: p.annotation for p in params}
    return wrapper


def say_override(report: InputReport) -> None:
    """One line on stderr when errors were overridden (the report records it too)."""
    if report.overridden:
        typer.secho(f"input checks: {report.summary()['error']} error(s) overridden by --override-checks "
                    "(recorded in the input report)", fg=typer.colors.YELLOW, err=True)


def _opts(data: DataOptions | Sequence[str], override: bool | None) -> DataOptions:
    if isinstance(data, DataOptions):
        return data if override is None else DataOptions(data.data, data.obs, data.mapping, data.target, override)
    return DataOptions(data=[str(x) for x in data], override=bool(override))


def load_checked(data: DataOptions | Sequence[str], *, override: bool | None = None) -> tuple[Drivers, InputReport]:
    """``load_data`` behind the input gate: raw files are checked before they are loaded (the
    report of ``fireform check``), the assembled Drivers after (dropped cells included); errors
    refuse with InputCheckError unless ``override``."""
    o = _opts(data, override)
    before = None
    if not o.named:
        files = expand_paths(o.data, what="--data")
        if o.obs:  # model files (their own burned area is no target) and observations apart
            before = gate_paths(files, override=o.override, assemble=False)
            before = before + gate_paths(expand_paths(o.obs, what="--obs"), target=o.target,
                                         override=o.override, assemble=False)
        else:
            before = gate_paths(files, target=o.target, override=o.override, assemble=False)
    drivers = load_data(o)
    report = gate(drivers, override=o.override, before=before)
    say_override(report)
    return drivers, report


def load_data(data: DataOptions | Sequence[str]) -> Drivers:
    """``pantanal`` (the bundle's example), ``demo`` or ``demo:RES`` (the demo's twin world,
    2001-2012, at RES degrees, default 3), or netCDF/zarr files, folders and globs: with ``obs``
    the model files give the drivers and the observations the target (``fireform.loop``'s
    ``load_model_obs``, as a spec's ``data.model`` / ``data.obs``), else the files give both."""
    o = _opts(data, None)
    if o.named and o.data[0].lower() == "pantanal":
        return load_pantanal()
    if o.named:
        _, _, res = o.data[0].partition(":")
        return demo_drivers(res=float(res or 3.0))
    files = expand_paths(o.data, what="--data")
    if o.obs:
        return load_model_obs(DataSpec(source="files", model=files, obs=list(o.obs), mapping=o.mapping,
                                       obs_var=o.target))
    mapping = dict(o.mapping)
    if o.target:
        mapping["burned_fraction"] = o.target
    return load_drivers(files, mapping=identified_mapping(files, mapping) or None)
