"""What several commands share: reading ``--data`` into Drivers, through the input gate."""

from __future__ import annotations

import typer

from fireform.drivers import Drivers, InputReport, gate, gate_paths, load_drivers, load_pantanal
from fireform.twin import demo_drivers

__all__ = ["load_data", "load_checked", "say_override", "OVERRIDE_HELP"]

OVERRIDE_HELP = "fit or score despite input-check errors (recorded in the input report)"


def _named(data: list[str]) -> bool:
    return len(data) == 1 and (data[0].lower() == "pantanal" or data[0].lower().startswith("demo"))


def say_override(report: InputReport) -> None:
    """One line on stderr when errors were overridden (the report records it too)."""
    if report.overridden:
        typer.secho(f"input checks: {report.summary()['error']} error(s) overridden by --override-checks "
                    "(recorded in the input report)", fg=typer.colors.YELLOW, err=True)


def load_checked(data: list[str], *, override: bool = False) -> tuple[Drivers, InputReport]:
    """``load_data`` behind the input gate: raw files are checked before they are loaded (the
    report of ``fireform check``), the assembled Drivers after (dropped cells included); errors
    refuse with InputCheckError unless ``override``."""
    before = None if _named(data) else gate_paths(data, override=override, assemble=False)
    drivers = load_data(data)
    report = gate(drivers, override=override, before=before)
    say_override(report)
    return drivers, report


def load_data(data: list[str]) -> Drivers:
    """``pantanal`` (the bundle's example), ``demo`` or ``demo:RES`` (the demo's twin world,
    2001-2012, at RES degrees, default 3), or netCDF/zarr paths read by ``load_drivers``."""
    if len(data) == 1 and data[0].lower() == "pantanal":
        return load_pantanal()
    if len(data) == 1 and data[0].lower().startswith("demo"):
        _, _, res = data[0].partition(":")
        return demo_drivers(res=float(res or 3.0))
    return load_drivers([str(p) for p in data])
