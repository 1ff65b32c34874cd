"""Time per full scoring (all components, global + 14 ILAMB boxes) on a 1-degree, 16-year world:
fast path, plain reference path, and ilamb3 (global only, its four analyses), one core.

Data: the synthetic twin world if ``fireform.drivers.synth`` provides one at 1 degree, else random
burned fractions of the same shape (~21,500 land cells x 192 months). Reports wall-clock and CPU
(thread) time; on a shared machine CPU time is the fairer figure.
"""

from __future__ import annotations

import os

os.environ.setdefault("OMP_NUM_THREADS", "1")
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

import time  # noqa: E402
import warnings  # noqa: E402

import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402


def world():
    from fireform.drivers.regions import ilamb_regions

    lat = np.arange(-89.5, 90.0, 1.0)
    lon = np.arange(-179.5, 180.0, 1.0)
    rng = np.random.default_rng(0)
    try:
        from global_land_mask import globe

        land = globe.is_land(*np.meshgrid(lat, lon, indexing="ij"))
    except Exception:  # noqa: BLE001 - fall back to a random mask of the same size
        land = rng.random((lat.size, lon.size)) < 21500 / 64800
    time_ = pd.date_range("2001-01-01", periods=192, freq="MS")
    n = int(land.sum())
    season = np.cos(2 * np.pi * (np.arange(192) % 12) / 12.0)
    obs = (rng.random((n, 192)) ** 3 * 0.02 * (1.2 + season)).astype(np.float32)
    pred = (rng.random((n, 192)) ** 3 * 0.02 * (1.2 + np.roll(season, 1))).astype(np.float32)
    rs = ilamb_regions(lat, lon)
    iy, ix = np.nonzero(land)
    masks = {k: m[iy, ix] for k, m in rs.masks.items()}
    from fireform.drivers.dataset import spherical_cell_area

    area = spherical_cell_area(lat, lon)[iy, ix]
    return lat, lon, land, time_, obs, pred, masks, area


def timed(f, repeat):
    wall, cpu = [], []
    for _ in range(repeat):
        t0, c0 = time.perf_counter(), time.thread_time()
        f()
        wall.append(time.perf_counter() - t0)
        cpu.append(time.thread_time() - c0)
    return float(np.median(wall)), float(np.median(cpu))


def main():
    from fireform.scoring import Benchmark

    lat, lon, land, time_, obs, pred, masks, area = world()
    t0 = time.perf_counter()
    b = Benchmark.prepare(obs, area=area, time=time_, regions=masks, n_grid=lat.size * lon.size)
    prep = time.perf_counter() - t0
    b.score(pred)  # compile (cached on disk after the first run)
    fast = timed(lambda: b.score(pred), 15)
    plain = timed(lambda: b.score_plain(pred), 2)
    diff = np.nanmax(np.abs(b.score(pred).values - b.score_plain(pred).values))

    from tests.scoring.reference_tools import World, run_ilamb3

    full_o = np.full((192, lat.size, lon.size), np.nan)
    full_m = full_o.copy()
    iy, ix = np.nonzero(land)
    full_o[:, iy, ix] = obs.T
    full_m[:, iy, ix] = pred.T
    w = World("bench", lat, lon, time_, full_o, full_m, ["global"])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        il3 = timed(lambda: run_ilamb3(w, mass_weighting=True), 1)

    print(f"world: {obs.shape[0]} cells x {obs.shape[1]} months, {len(masks)} regions; prepare {prep*1e3:.0f} ms")
    print(f"{'path':<28}{'wall ms':>10}{'cpu ms':>10}{'cpu ratio to fast':>20}")
    for name, (wall, cpu) in [("fast (all regions)", fast), ("plain (all regions)", plain),
                              ("ilamb3 (global only)", il3)]:
        print(f"{name:<28}{wall*1e3:>10.1f}{cpu*1e3:>10.1f}{cpu/fast[1]:>20.1f}")
    print(f"max |fast - plain| = {diff:.2e}; target <= 20 ms per full scoring: "
          f"{'met' if fast[1] <= 0.020 else 'NOT met'} (cpu {fast[1]*1e3:.1f} ms)")


if __name__ == "__main__":
    import sys
    sys.path.insert(0, os.path.join(os.path.dirname(__file__), ".."))
    main()
