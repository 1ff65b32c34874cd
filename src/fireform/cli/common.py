"""What several commands share: reading ``--data`` into Drivers."""

from __future__ import annotations

from fireform.drivers import Drivers, load_drivers, load_pantanal
from fireform.twin import demo_drivers

__all__ = ["load_data"]


def load_data(data: list[str]) -> Drivers:
    """``pantanal`` (the bundle's example), ``demo`` or ``demo:RES`` (the demo's twin world,
    2001-2012, at RES degrees, default 3), or netCDF/zarr paths read by ``load_drivers``."""
    if len(data) == 1 and data[0].lower() == "pantanal":
        return load_pantanal()
    if len(data) == 1 and data[0].lower().startswith("demo"):
        _, _, res = data[0].partition(":")
        return demo_drivers(res=float(res or 3.0))
    return load_drivers([str(p) for p in data])
