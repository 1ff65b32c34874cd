"""Twin-world generation at the acceptance size: ``fireform synth --res 1 --years 2001-2016``.

Runs the CLI in a subprocess under ``/usr/bin/time -v`` (wall time and peak resident memory of
the whole command, imports included) and, in this process, times the two stages separately.
Targets (issue 2): < 60 s wall and < 4 GB peak on 2 cores. Prints one line per measurement and
the ratio to its target.

    python benchmarks/bench_synth.py [--res 1] [--years 2001-2016] [--repeat 1]
"""

from __future__ import annotations

import argparse
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

TARGET_S = 60.0
TARGET_GB = 4.0


def run_cli(res: float, years: str, out: Path) -> tuple[float, float]:
    """(wall seconds, peak RSS GB) of one ``fireform synth`` run."""
    exe = Path(sys.executable).with_name("fireform")
    cmd = [str(exe), "synth", "--res", str(res), "--years", years, "--out", str(out)]
    timer = shutil.which("time") or "/usr/bin/time"
    if Path(timer).exists():
        p = subprocess.run([timer, "-v", *cmd], capture_output=True, text=True, check=True)
        wall = re.search(r"Elapsed \(wall clock\) time \(h:mm:ss or m:ss\): (\S+)", p.stderr).group(1)
        parts = [float(x) for x in wall.split(":")]
        secs = sum(v * 60**i for i, v in enumerate(reversed(parts)))
        rss_kb = float(re.search(r"Maximum resident set size \(kbytes\): (\d+)", p.stderr).group(1))
        return secs, rss_kb / 1024**2
    t0 = time.perf_counter()  # no GNU time: wall only
    subprocess.run(cmd, capture_output=True, check=True)
    return time.perf_counter() - t0, float("nan")


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--res", type=float, default=1.0)
    ap.add_argument("--years", default="2001-2016")
    ap.add_argument("--repeat", type=int, default=1)
    a = ap.parse_args()
    first, last = (int(x) for x in a.years.split("-"))

    from fireform.twin import land_grid, make_world, write_world

    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "world.nc"
        land_grid(a.res)  # warm the land-mask cache so the CLI runs measure steady state
        walls, peaks = [], []
        for _ in range(a.repeat):
            w, m = run_cli(a.res, a.years, out)
            walls.append(w)
            peaks.append(m)
        size_mb = out.stat().st_size / 1e6
        wall, peak = statistics.median(walls), max(peaks)
        print(f"synth cli  res={a.res:g} years={a.years}: wall median {wall:.1f} s "
              f"(target {TARGET_S:.0f} s, ratio {wall / TARGET_S:.2f}); peak RSS {peak:.2f} GB "
              f"(target {TARGET_GB:.0f} GB, ratio {peak / TARGET_GB:.2f}); file {size_mb:.0f} MB")
        t0 = time.perf_counter()
        ds = make_world(res=a.res, years=(first, last))
        t1 = time.perf_counter()
        write_world(out, ds)
        t2 = time.perf_counter()
        print(f"synth stages: make_world {t1 - t0:.1f} s, write_world {t2 - t1:.1f} s "
              f"(write share {(t2 - t1) / (t2 - t0):.2f})")


if __name__ == "__main__":
    main()
