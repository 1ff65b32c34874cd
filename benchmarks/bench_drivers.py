"""Load + check time for the 1 degree, 16-year twin world written as netCDF.

Prints medians over repeats of: load_drivers (netCDF -> Drivers in canonical units),
add_derived, check_drivers, and check_paths (the whole `fireform check` pipeline), and the
ratio of checking to loading, measured in one run.
"""

from __future__ import annotations

import statistics
import sys
import tempfile
import time
from pathlib import Path

REPEATS = 3


def _median_time(fn, repeats: int = REPEATS) -> tuple[float, float, object]:
    """Median wall and CPU (this process) seconds over ``repeats`` calls, and the last result.
    CPU time is printed too because the machine's 2 cores are shared: wall time includes waiting."""
    walls, cpus, out = [], [], None
    for _ in range(repeats):
        t0, c0 = time.perf_counter(), time.process_time()
        out = fn()
        walls.append(time.perf_counter() - t0)
        cpus.append(time.process_time() - c0)
    return statistics.median(walls), statistics.median(cpus), out


def main() -> int:
    try:
        from fireform.twin import make_world, write_world
    except ImportError as e:
        print(f"bench_drivers: the twin-world generator is not available yet ({e}); "
              "fireform.twin.make_world is needed - nothing measured.")
        return 0
    from fireform.drivers.check import check_drivers, check_paths
    from fireform.drivers.derived import add_derived
    from fireform.drivers.load import load_drivers

    t0 = time.perf_counter()
    world = make_world(res=1.0, years=(2001, 2016), seed=0)
    t_make = time.perf_counter() - t0
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "world.nc"
        write_world(path, world)
        size_mb = path.stat().st_size / 1e6
        target = "burned_fraction" if "burned_fraction" in world.data_vars else None
        load_drivers(path, target=target)  # warm-up: pint registry and netCDF library set-up
        t_load, c_load, d = _median_time(lambda: load_drivers(path, target=target))
        have = [n for n in ("dryness", "pr_annual", "gpp_mean_12m") if n not in d]
        t_derived, c_derived, dd = _median_time(lambda: add_derived(d, have))
        t_check, c_check, rep = _median_time(lambda: check_drivers(dd, holdout_years=(2014, 2016)))
        t_paths, c_paths, rep_paths = _median_time(
            lambda: check_paths([path], holdout_years=(2014, 2016))
        )
    print(f"twin world 1 deg 2001-2016: {d.n_cells} land cells x {d.n_months} months, "
          f"{len(d.variables)} variables, netCDF {size_mb:.1f} MB (make_world {t_make:.2f} s, once)")
    print(f"medians over {REPEATS} repeats: wall s / cpu s")
    print(f"load_drivers          {t_load:7.3f} / {c_load:7.3f}")
    print(f"add_derived ({len(have)})       {t_derived:7.3f} / {c_derived:7.3f}")
    print(f"check_drivers         {t_check:7.3f} / {c_check:7.3f}  -> {rep.summary()}")
    print(f"check_paths (CLI)     {t_paths:7.3f} / {c_paths:7.3f}  -> {rep_paths.summary()}")
    print(f"load + check = {t_load + t_check:.3f} s wall, {c_load + c_check:.3f} s cpu; "
          f"ratio check/load (cpu) = {c_check / c_load:.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
